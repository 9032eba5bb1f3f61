/**
 * The scheduling policy's settings and the parts of a plan other modules read (policy.ts
 * re-exports them): in a module of their own so the plan's passes (policy-targets.ts,
 * policy-grow.ts) can name them without importing the plan.
 */

export interface PolicySettings {
  minOnS: number;
  minOffS: number;
  /** Limit on planned *increases*, kW per minute; replaces `rampPctPerMin` when set. */
  rampKwPerMin?: number | undefined;
  /** Limit on planned increases, % of the fleet's top-mode capacity per minute (default 10, used when `rampKwPerMin` is absent). */
  rampPctPerMin?: number;
  /** Floor of the percentage limit, kW per minute (default 0). */
  rampMinKwPerMin?: number;
  /** `net`: a rise of the budget itself adds to the ramp allowance (the grid sees no ramp when load follows it). Absent: `load`. */
  rampBasis?: 'net' | 'load';
  /** Switch-ons per unit in any 24 h (policy-wear.ts). Absent: unlimited. */
  maxCyclesPerDay?: number;
  /** Hold before an off unit may go on, seconds (policy-wear.ts). Absent: no hold and no top-mode rule. */
  onHoldS?: number;
  /** The even spend of the wear budget: over this many hours from a unit's first switch-on of the day; ahead of it, a unit holds `wearPaceHoldS`, doubled per cycle ahead (policy-wear.ts). Absent or 0: no pacing. */
  wearPaceH?: number;
  /**
   * On a budget that changes more often than every 10 s (a live meter), a unit goes on only
   * into room the budget has held this long, seconds, whatever `onHoldS` says. Absent or 0: off.
   */
  flickerHoldS?: number;
  /** Switch-ons a unit may take ahead of that even spend. Default 3. */
  wearPaceBurst?: number;
  /** The hold of a unit ahead of that even spend, × used / (max − used), doubling per cycle ahead, seconds. Default 15. */
  wearPaceHoldS?: number;
  /** A unit ahead of that even spend stays off at least this long after it goes off, seconds (a floor above `minOffS`). Default 0. */
  wearPaceOffS?: number;
  /** Add load only while this much headroom remains, kW. */
  hysteresisKw: number;
  /** A cut's commands must all be issued within this many seconds. */
  cutDeadlineS: number;
  /** The ramp interval of the first plan (no memory yet) and the most ramp credit any plan gets. */
  tickS: number;
  /** A rebalance must gain at least this share of the touched units' hashrate, percent. Default 3. */
  swapMinGainPct?: number;
  /** At most one rebalance per this many seconds. Default 300. */
  swapIntervalS?: number;
}

export const DEFAULT_SWAP_MIN_GAIN_PCT = 3;

export const DEFAULT_SWAP_INTERVAL_S = 300;

/** How the budget moved since the previous plan. */
export type BudgetTrend = 'up' | 'down' | 'flat';

export interface UnitTarget {
  on: boolean;
  /** Index into the unit's sorted modes (kept while off: the mode a softon will use). */
  mode: number;
  /** Draw counted for this unit in the plan (standby when off, worst case when unavailable). */
  kw: number;
  ths: number;
  changed: boolean;
  reason: string;
}

/** What stopped further increases; `hold`: the room the budget sustained over the units' holds (issue 12); `ahead`: the sender's look-ahead (BudgetReading.lowAhead). */
export type PlanLimit = 'budget' | 'ramp' | 'hysteresis' | 'fleet' | 'hold' | 'ahead';
