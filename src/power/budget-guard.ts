import type { BudgetReading } from './budget-source.js';

/**
 * The budget fail-safe, pure (issue 4): a source that goes silent must not
 * leave the fleet drawing an old, larger budget forever. Within its TTL a
 * reading is live; for `holdLastS` after that its value is held (a meter
 * blip should not shed the site); then the budget is `failsafeKw`.
 */

export type BudgetStatus = 'live' | 'holding' | 'failsafe';

export interface GuardOptions {
  holdLastS: number;
  failsafeKw: number;
}

export interface BudgetVerdict {
  kw: number;
  status: BudgetStatus;
  reason: string;
  /** Source of the reading the verdict rests on, if any. */
  source: string | undefined;
  /** When the verdict will change by itself (TTL or hold end); Infinity if never. */
  changesAtMs: number;
}

export function guardBudget(latest: BudgetReading | undefined, nowMs: number, opts: GuardOptions): BudgetVerdict {
  if (!latest) {
    return { kw: opts.failsafeKw, status: 'failsafe', reason: `no budget reading yet: fail-safe ${opts.failsafeKw} kW`, source: undefined, changesAtMs: Infinity };
  }
  const expiresAt = latest.atMs + latest.ttlMs;
  if (nowMs <= expiresAt) {
    return { kw: latest.kw, status: 'live', reason: `${latest.source}: ${latest.kw} kW`, source: latest.source, changesAtMs: expiresAt };
  }
  const holdUntil = expiresAt + opts.holdLastS * 1000;
  const silentS = Math.round((nowMs - latest.atMs) / 1000);
  if (nowMs <= holdUntil) {
    return {
      kw: latest.kw,
      status: 'holding',
      reason: `${latest.source} silent for ${silentS} s (TTL ${latest.ttlMs / 1000} s): holding ${latest.kw} kW until the hold ends`,
      source: latest.source,
      changesAtMs: holdUntil,
    };
  }
  return {
    kw: opts.failsafeKw,
    status: 'failsafe',
    reason: `${latest.source} silent for ${silentS} s (TTL ${latest.ttlMs / 1000} s + hold ${opts.holdLastS} s): fail-safe ${opts.failsafeKw} kW`,
    source: latest.source,
    changesAtMs: Infinity,
  };
}
