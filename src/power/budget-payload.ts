import { MAX_BUDGET_KW, MAX_SENDER_TTL_S, VALUE_NAME_LIST, normalizeName, parseDecimal, parseUnit, toKw, valueUnitOf } from './budget-units.js';
import { parseBoundedJson } from '../wire/bounded-json.js';
import { describePeerValue } from '../wire/peer-value.js';
import { parseAhead } from './budget-ahead.js';
import type { AheadInput } from './budget-source.js';

/**
 * Budget messages from an EMS or meter over MQTT, pure. Publishers differ:
 * Node-RED sends strings, Home Assistant bare numbers, industrial gateways
 * `{ "value", "unit" }` in W or MW, some add a timestamp. All of these are
 * read here; anything else is a reason string, counted and logged by the
 * source and never applied.
 */

/** Longest payload accepted; a budget with a unit, a TTL and a timestamp fits in a quarter of it. */
export const MAX_PAYLOAD_BYTES = 256;

export type PayloadVerdict =
  | {
      ok: true;
      kw: number;
      /** Validity the publisher asked for, seconds; the configured `ttlS` otherwise. */
      ttlS?: number;
      /** Set when the publisher sent a negative value (a meter's import), applied as 0 kW. */
      negative?: number;
      /** The publisher's look-ahead ("lowAhead" with "aheadS"): its lowest budget over the next `forS` s. */
      ahead?: AheadInput;
    }
  | { ok: false; reason: string };

export const PAYLOAD_FORMS =
  'a number of kW (12.5), a JSON string ("12.5"), {"kw": n}, {"value": n, "unit": "kW"|"MW"|"W"}, each object optionally with "ttlS": seconds and "lowAhead" (the lowest value expected, same unit) with "aheadS": seconds';

/** Metadata keys publishers add; ignored, since a reading is stamped when it arrives. */
const IGNORED: ReadonlySet<string> = new Set(['t', 'ts', 'time', 'timestamp']);
const VALUE_KEYS = VALUE_NAME_LIST.split(', ')
  .filter((k) => valueUnitOf(k) !== 'pv_frac')
  .join(', ');

const fail = (reason: string): PayloadVerdict => ({ ok: false, reason });
const excerpt = (s: string): string => describePeerValue(s, 40);

export function parseBudgetPayload(payload: Buffer | string): PayloadVerdict {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size > MAX_PAYLOAD_BYTES) return fail(`payload longer than ${MAX_PAYLOAD_BYTES} bytes`);
  const text = (typeof payload === 'string' ? payload : payload.toString('utf8')).replace(/^\uFEFF/, '').trim();
  if (text === '') return fail(`empty payload; expected ${PAYLOAD_FORMS}`);
  const bare = parseDecimal(text);
  if (!Number.isNaN(bare)) return verdict(bare, 'kw', 'kW', undefined);
  // Depth-bounded before anything walks the value (issue 11): a nested kw reached JSON.stringify below.
  const parsed = parseBoundedJson(text, { maxDepth: 8 });
  if (!parsed.ok) {
    if (parsed.reason.startsWith('JSON nested')) return fail(`payload ${parsed.reason}; expected ${PAYLOAD_FORMS}`);
    return fail(`payload ${excerpt(text)} is neither a number nor JSON; expected ${PAYLOAD_FORMS}`);
  }
  const data = parsed.value;
  if (typeof data === 'string') {
    const v = parseDecimal(data);
    if (Number.isNaN(v)) return fail(`payload is a JSON string ${excerpt(data)}, not a number; expected ${PAYLOAD_FORMS}`);
    return verdict(v, 'kw', 'kW', undefined);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return fail(`payload is JSON ${data === null ? 'null' : Array.isArray(data) ? 'array' : typeof data}; expected ${PAYLOAD_FORMS}`);
  }
  const obj = data as Record<string, unknown>;
  let key: string | undefined;
  for (const k of Object.keys(obj)) {
    if (k === 'unit' || k === 'ttlS' || k === 'lowAhead' || k === 'aheadS' || IGNORED.has(normalizeName(k))) continue;
    const u = valueUnitOf(k);
    if (u === undefined || u === 'pv_frac') return fail(`unknown key ${describePeerValue(k, 40)}; allowed: one of ${VALUE_KEYS}, then unit, ttlS, lowAhead, aheadS (t, ts, time, timestamp are ignored)`);
    if (key !== undefined) return fail(`two value keys, ${describePeerValue(key, 40)} and ${describePeerValue(k, 40)}; send one`);
    key = k;
  }
  if (key === undefined) return fail(`JSON object without a value key; expected ${PAYLOAD_FORMS}`);
  let unit = valueUnitOf(key) as 'kW' | 'MW' | 'W';
  if ('unit' in obj) {
    const u = parseUnit(obj['unit']);
    if (!u) return fail(`unit must be "kW", "MW" or "W", got ${describePeerValue(obj['unit'], 40)}`);
    if (normalizeName(key) === 'value') unit = u;
    else if (u !== unit) return fail(`unit ${describePeerValue(obj['unit'], 40)} contradicts the key "${key}" (${unit}); send "value" with a unit, or a key that names it`);
  }
  const raw = obj[key];
  const v = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseDecimal(raw) : NaN;
  if (Number.isNaN(v)) return fail(`${key} must be a number (or a numeric string), got ${describePeerValue(raw, 40)}`);
  let ttlS: number | undefined;
  if ('ttlS' in obj) {
    const t = obj['ttlS'];
    ttlS = typeof t === 'number' ? t : typeof t === 'string' ? parseDecimal(t) : NaN;
    if (!Number.isFinite(ttlS) || ttlS <= 0 || ttlS > MAX_SENDER_TTL_S) return fail(`ttlS must be a number of seconds in (0, ${MAX_SENDER_TTL_S}], got ${describePeerValue(t, 40)}`);
  }
  const ahead = parseAhead(obj['lowAhead'], obj['aheadS'], 'lowAhead' in obj, 'aheadS' in obj, v, key, unit);
  if (typeof ahead === 'string') return fail(ahead);
  return verdict(v, key, unit, ttlS, ahead);
}

function verdict(v: number, key: string, unit: 'kW' | 'MW' | 'W', ttlS: number | undefined, ahead?: AheadInput): PayloadVerdict {
  if (!Number.isFinite(v)) return fail(`${key} must be a finite number, got ${v}`);
  const kw = v <= 0 ? 0 : toKw(v, unit);
  if (kw > MAX_BUDGET_KW) return fail(`${key} ${v} ${unit} is above ${MAX_BUDGET_KW} kW (1 GW); check the unit`);
  const out: PayloadVerdict = { ok: true, kw };
  if (ttlS !== undefined) out.ttlS = ttlS;
  if (ahead) out.ahead = ahead;
  // A net-export meter publishes import as negative: there is no surplus, and 0 kW cuts at once.
  if (v < 0) out.negative = v;
  return out;
}
