import type { BudgetReading, LowAhead } from './budget-source.js';

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
  /**
   * Issue 12 item 5, never trip the site: the process started (or restarted)
   * at `sinceMs` and has no reading yet. Until `sinceMs + holdLastS` the
   * verdict holds `heldKw`, what the devices are measured drawing, instead of
   * going straight to the fail-safe: a fresh `surplus start` with an `http`
   * source, or a proxy restart, must not switch a running site off before
   * anyone could post a budget. The loop sets it at start and drops it at the
   * first reading.
   */
  boot?: { sinceMs: number; heldKw: number };
}

export interface BudgetVerdict {
  kw: number;
  status: BudgetStatus;
  reason: string;
  /** Source of the reading the verdict rests on, if any. */
  source: string | undefined;
  /** When the verdict will change by itself (TTL or hold end); Infinity if never. */
  changesAtMs: number;
  /** True while holding the measured draw before the first reading (GuardOptions.boot): nothing is to be switched. */
  boot?: true;
  /** A live reading's look-ahead (BudgetReading.lowAhead), while it lasts. */
  lowAhead?: LowAhead;
}

export function guardBudget(latest: BudgetReading | undefined, nowMs: number, opts: GuardOptions): BudgetVerdict {
  const v = judge(latest, nowMs, opts);
  const boot = opts.boot;
  // A reading restored from before a restart may itself have run out: the boot hold still applies.
  if (v.status === 'failsafe' && boot && nowMs <= boot.sinceMs + opts.holdLastS * 1000) {
    const kw = Math.round(boot.heldKw * 1000) / 1000;
    return {
      kw,
      status: 'holding',
      reason: `no budget reading since start: holding the measured ${kw} kW for ${opts.holdLastS} s, then fail-safe ${opts.failsafeKw} kW`,
      source: v.source,
      changesAtMs: boot.sinceMs + opts.holdLastS * 1000,
      boot: true,
    };
  }
  return v;
}

function judge(latest: BudgetReading | undefined, nowMs: number, opts: GuardOptions): BudgetVerdict {
  if (!latest) {
    return { kw: opts.failsafeKw, status: 'failsafe', reason: `no budget reading yet: fail-safe ${opts.failsafeKw} kW`, source: undefined, changesAtMs: Infinity };
  }
  const expiresAt = latest.atMs + latest.ttlMs;
  if (nowMs <= expiresAt) {
    const ahead = latest.lowAhead;
    // The look-ahead counts only while the reading is live: a held or restored value has none.
    if (ahead && nowMs < ahead.untilMs) {
      return { kw: latest.kw, status: 'live', reason: `${latest.source}: ${latest.kw} kW, at lowest ${ahead.kw} kW ahead`, source: latest.source, changesAtMs: Math.min(expiresAt, ahead.untilMs), lowAhead: ahead };
    }
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
