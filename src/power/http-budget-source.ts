import type { Clock } from '../clock.js';
import { InputError } from '../errors.js';
import { describePeerValue } from '../wire/peer-value.js';
import { parseAhead } from './budget-ahead.js';
import { BaseBudgetSource, type AheadInput, type BudgetReading } from './budget-source.js';
import { MAX_BUDGET_KW, MAX_SENDER_TTL_S } from './budget-units.js';

/** Largest budget accepted over HTTP, kW: the typo guard every source shares (1 GW), not a site limit. */
export const MAX_HTTP_KW = MAX_BUDGET_KW;

/**
 * Budget set by an operator or an EMS through `PUT /api/budget` with
 * `{ "kw": number, "ttlS"?: number }` (the HTTP server checks the bearer token
 * and calls `put`). Each PUT is valid for `ttlS` (default from config); an
 * EMS that stops sending lets the fail-safe take over.
 */
export class HttpBudgetSource extends BaseBudgetSource {
  readonly name = 'http';
  constructor(
    private readonly defaultTtlS: number,
    private readonly initialKw: number | undefined,
    clock: Clock,
  ) {
    super(clock);
  }

  /** Validates a PUT body and publishes it. Throws InputError naming the field; nothing is changed then. */
  put(body: unknown): BudgetReading {
    const { kw, ttlS, ahead } = parseBudgetBody(body, this.defaultTtlS);
    if (!this.running) throw new InputError('budget source "http" is not running');
    return this.publish(kw, ttlS * 1000, ahead)!;
  }

  protected async onStart(): Promise<void> {
    if (this.initialKw !== undefined) this.publish(this.initialKw, this.defaultTtlS * 1000);
  }
  protected async onStop(): Promise<void> {}
}

/**
 * `{ "kw": number >= 0, "ttlS"?: number > 0, "lowAhead"?: kW, "aheadS"?: s }`, no other keys
 * (lowAhead with aheadS: the lowest budget the sender expects over the next aheadS seconds).
 */
export function parseBudgetBody(body: unknown, defaultTtlS: number): { kw: number; ttlS: number; ahead?: AheadInput } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InputError('budget body must be a JSON object like { "kw": 120, "ttlS": 300 }');
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !BODY_KEYS.has(k));
  if (unknown.length > 0) throw new InputError(`budget body: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).join(', ').slice(0, 120)}; allowed: kw, ttlS, lowAhead, aheadS`);
  const kw = b['kw'];
  if (typeof kw !== 'number' || !Number.isFinite(kw) || kw < 0 || kw > MAX_HTTP_KW) {
    throw new InputError(`budget body: kw must be a number of kW in 0..${MAX_HTTP_KW}, got ${kw === undefined ? 'nothing' : describePeerValue(kw, 40)}`);
  }
  const ttl = b['ttlS'];
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0 || ttl > MAX_SENDER_TTL_S)) {
    throw new InputError(`budget body: ttlS must be a number of seconds in (0, ${MAX_SENDER_TTL_S}], got ${describePeerValue(ttl, 40)}`);
  }
  // Numbers only, like kw: the body is JSON an EMS writes, not a gateway's strings.
  for (const k of ['lowAhead', 'aheadS'] as const) {
    if (b[k] !== undefined && typeof b[k] !== 'number') throw new InputError(`budget body: ${k} must be a number, got ${describePeerValue(b[k], 40)}`);
  }
  const ahead = parseAhead(b['lowAhead'], b['aheadS'], b['lowAhead'] !== undefined, b['aheadS'] !== undefined, kw, 'kw', 'kW');
  if (typeof ahead === 'string') throw new InputError(`budget body: ${ahead}`);
  return { kw, ttlS: (ttl as number | undefined) ?? defaultTtlS, ...(ahead ? { ahead } : {}) };
}

const BODY_KEYS: ReadonlySet<string> = new Set(['kw', 'ttlS', 'lowAhead', 'aheadS']);
