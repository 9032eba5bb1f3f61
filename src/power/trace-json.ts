import { describePeerValue } from '../wire/peer-value.js';
import { InputError } from '../errors.js';
import { TIME_NAME_LIST, VALUE_NAME_HINT, VALUE_NAME_LIST, namesUtc, normalizeName, parseUnit, timeKindOf, valueUnitOf, type TimeKind, type ValueUnit } from './budget-units.js';
import { TraceReader, type RawPoint, type Trace, type TraceOptions } from './trace-points.js';
import { parseTimeCell } from './trace-time.js';

/**
 * JSON schedules: an array of points, or an object holding one under
 * `points` (or `data`, `schedule`, `values`, `series`) with an optional
 * `unit` for `value` keys and pairs. A point is `{ time key, value key }`
 * (names as in CSV headers; `unit` beside `value`) or a pair `[t, kW]`.
 */

const CONTAINERS = ['points', 'data', 'schedule', 'values', 'series'];
const SHAPES = 'an array of points like [{"t": "2026-06-01T10:00:00Z", "kw": 120}] or [[t, kW], ...], or an object { "points": [...] }';

type Unit = 'kW' | 'MW' | 'W';

function unitOf(raw: unknown, label: string): Unit {
  const u = parseUnit(raw);
  if (!u) throw new InputError(`${label} must be "kW", "MW" or "W", got ${describePeerValue(raw, 40)}`);
  return u;
}

function oneKey(keys: string[], of: (k: string) => unknown, where: string, what: string): string | undefined {
  const hits = keys.filter((k) => of(k) !== undefined);
  if (hits.length > 1) throw new InputError(`${where}: has ${hits.length} ${what} keys (${hits.join(', ')}); keep one`);
  return hits[0];
}

export function parseJsonTrace(text: string, file: string, opts: TraceOptions): Trace {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  let rows: unknown[];
  let prefix = '';
  let topUnit: Unit | undefined;
  if (Array.isArray(data)) {
    rows = data;
  } else {
    const obj = data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {};
    const key = CONTAINERS.find((k) => Array.isArray(obj[k]));
    if (!key) throw new InputError(`${file}: JSON trace must be ${SHAPES}`);
    rows = obj[key] as unknown[];
    prefix = key;
    if (obj['unit'] !== undefined) topUnit = unitOf(obj['unit'], `${file}: unit`);
  }
  const reader = new TraceReader(file, opts);
  const raw: RawPoint[] = [];
  rows.forEach((row, i) => {
    const where = `${file} ${prefix}[${i}]`;
    let rawT: unknown;
    let rawV: unknown;
    let tLabel: string;
    let vLabel: string;
    let kind: TimeKind = 'auto';
    let utc = false;
    let unit: ValueUnit = topUnit ?? 'kW';
    if (Array.isArray(row)) {
      if (row.length !== 2) throw new InputError(`${where}: a pair must be [time, kW], got ${row.length} element${row.length === 1 ? '' : 's'}`);
      [rawT, rawV] = row as [unknown, unknown];
      tLabel = `${where}[0]`;
      vLabel = `${where}[1]:`;
    } else if (row !== null && typeof row === 'object') {
      const r = row as Record<string, unknown>;
      const keys = Object.keys(r);
      const tKey = oneKey(keys, timeKindOf, where, 'time');
      const vKey = oneKey(keys, valueUnitOf, where, 'value');
      if (!tKey || !vKey) throw new InputError(`${where}: needs a time key (${TIME_NAME_LIST}) and a value key (${VALUE_NAME_LIST}, ${VALUE_NAME_HINT})`);
      kind = timeKindOf(tKey)!;
      utc = namesUtc(tKey);
      unit = valueUnitOf(vKey)!;
      reader.checkSiteKw(vKey, unit);
      const generic = normalizeName(vKey) === 'value';
      if (generic) unit = topUnit ?? 'kW';
      else if (topUnit !== undefined && unit !== 'pv_frac' && unit !== topUnit) {
        // Which one the writer meant is a factor of 1000 either way: refuse, as a per-point unit against the key is.
        throw new InputError(`${where}: the key ${vKey} (${unit}) contradicts the file's "unit": "${topUnit}"; use "value" keys with the unit, or keys that name it and no "unit"`);
      }
      if ('unit' in r) {
        const u = unitOf(r['unit'], `${where}.unit:`);
        if (generic) unit = u;
        else if (u !== unit) throw new InputError(`${where}.unit: ${describePeerValue(r['unit'], 40)} contradicts the key ${vKey} (${unit}); use "value" with a unit, or a key that names it`);
      }
      rawT = r[tKey];
      rawV = r[vKey];
      tLabel = `${where}.${tKey}`;
      vLabel = `${where}.${vKey}:`;
    } else {
      throw new InputError(`${where}: must be an object like { "t": 0, "kw": 100 } or a pair [t, kW]`);
    }
    if (typeof rawT !== 'string' && typeof rawT !== 'number') {
      throw new InputError(`${tLabel}: must be a number of minutes, unix seconds or milliseconds, or an ISO 8601 time, got ${describePeerValue(rawT, 40)}`);
    }
    const t = parseTimeCell(rawT, kind, { zone: utc ? undefined : reader.zone });
    if (!t.ok) throw new InputError(`${tLabel}: ${t.reason}`);
    if (t.warning) reader.warnings.push(`${where}: ${t.warning}`);
    raw.push({ tMs: t.tMs, absolute: t.absolute, kw: reader.value(rawV, unit, vLabel, where), where });
  });
  return reader.finish(raw);
}
