import { currentKw, worstCaseKw, type FleetState, type FleetUnit } from './fleet-state.js';
import { greedy, rebalanced } from './policy-candidates.js';
import { EPS, scaleOf } from './policy-hull.js';
import { shed } from './policy-shed.js';

/**
 * The scheduling policy (issue 4), pure: (budget, fleet, now, settings, plan
 * memory) -> plan. No clock, no timers, no logger.
 *
 * Maximising hashrate under a power cap with a few discrete modes per unit is
 * a multiple-choice knapsack. We use the classic greedy on marginal
 * efficiency: each unit's options (off at standby, then its modes) are reduced
 * to their upper concave hull in (kW, TH/s); the hull's segments are taken in
 * order of TH/s gained per kW added while they fit, then a fill pass tries
 * off-hull modes (e.g. "eco") in what is left.
 *
 * Stability beats a slightly better plan (issue 4 follow-up): every switch
 * restarts a unit's boards (tens of seconds at near-full power without
 * hashing) and wears the hardware. So the plan moves with the budget:
 * - budget cut (the draw is above the budget): only shedding, least
 *   efficient whole units first (policy-shed.ts); nothing goes on or up;
 * - budget down, still fitting: nothing changes;
 * - budget up: only adding to what runs (greedy from the current state);
 *   nothing goes off or down;
 * - budget unchanged: adding too, and a rebalance towards the plan built
 *   from scratch (swapping units or re-shuffling modes) only when it hashes
 *   `swapMinGainPct` more on the units it touches, every touched unit is past
 *   its minimum on/off time and mode hold, and the last rebalance is at least
 *   `swapIntervalS` old.
 * Ties go to units already running, then priority, then fleet order.
 */

export interface PolicySettings {
  minOnS: number;
  minOffS: number;
  /** Limit on planned *increases*, kW per minute. */
  rampKwPerMin: number;
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

/** Carried from one plan to the next: the ramp limit is a rate, the budget's direction a difference. */
export interface RampMemory {
  atMs: number;
  /** Highest draw the ramp allowed at `atMs`. */
  ceilingKw: number;
  /** The budget this plan was made for (absent: the next budget counts as unchanged). */
  budgetKw?: number;
  /** When the last rebalance was made. */
  swapAtMs?: number;
}

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

export type PlanLimit = 'budget' | 'ramp' | 'hysteresis' | 'fleet';

export interface Plan {
  atMs: number;
  budgetKw: number;
  /** Fleet draw as it stood before this plan. */
  currentKw: number;
  plannedKw: number;
  plannedThs: number;
  /** The budget is below the current draw: a hard deadline, minimum on-times may be overridden. */
  cut: boolean;
  /** All decrease commands must be issued by then (cuts only). */
  deadlineMs: number | undefined;
  /** Even all-off (standby + unavailable at worst case) exceeds the budget: everything is off. */
  infeasible: boolean;
  /** How the budget moved since the previous plan (what the plan was allowed to do). */
  trend: BudgetTrend;
  /** This plan rebalances (swaps units or re-shuffles modes) at an unchanged budget. */
  rebalance: boolean;
  /** What stopped further increases. */
  limitedBy: PlanLimit;
  /** Aligned with `fleet.units`. */
  targets: UnitTarget[];
  /** Number of targets with `changed`. */
  changes: number;
  ramp: RampMemory;
  /** Re-planning before this time with unchanged inputs gives the same plan (min-times, ramp, rebalance interval). */
  revisitAtMs: number;
}

const fmt = (x: number): string => (Math.round(x * 100) / 100).toString();

export function plan(budgetKw: number, fleet: FleetState, nowMs: number, settings: PolicySettings, prev?: RampMemory): Plan {
  const units = fleet.units;
  const n = units.length;
  const minOnMs = settings.minOnS * 1000;
  const minOffMs = settings.minOffS * 1000;
  const scale = new Float64Array(n);
  let current = 0;
  let fixedKw = 0;
  let maxStepKw = 0;
  for (let i = 0; i < n; i++) {
    const u = units[i]!;
    scale[i] = scaleOf(u);
    current += currentKw(u);
    if (!u.available) fixedKw += worstCaseKw(u);
    else {
      fixedKw += u.standbyKw;
      for (const m of u.modes) maxStepKw = Math.max(maxStepKw, m.kw * scale[i]! - u.standbyKw);
    }
  }
  const cut = current > budgetKw + EPS;
  const infeasible = fixedKw > budgetKw + EPS;
  const trend: BudgetTrend =
    prev?.budgetKw === undefined ? 'flat' : budgetKw > prev.budgetKw + EPS ? 'up' : budgetKw < prev.budgetKw - EPS ? 'down' : 'flat';
  // Ramp credit accrues at most one tick per plan: the loop re-plans every tick while the
  // ramp is the limit, so a longer gap is a quiet spell, and crediting all of it would let
  // a budget step after minutes of calm switch the whole fleet on at once.
  const dtMs = Math.min(prev ? Math.max(0, nowMs - prev.atMs) : Infinity, settings.tickS * 1000);
  const ceiling = Math.max(prev?.ceilingKw ?? current, current) + (settings.rampKwPerMin * dtMs) / 60_000;
  const addLimit = Math.min(budgetKw - settings.hysteresisKw, ceiling);
  // A cut aims at the bottom of the hysteresis band, so the next small drop of a
  // falling budget (afternoon sun) does not force another cut at once.
  const bandBottom = budgetKw - settings.hysteresisKw;
  const limit = cut ? (bandBottom >= fixedKw ? bandBottom : budgetKw) : Math.min(budgetKw, Math.max(current, addLimit));

  // Levels: -1 off, else index into sorted modes. Start from what runs now.
  const level = new Int16Array(n).fill(-1);
  const mustOn = new Uint8Array(n);
  const mustOff = new Uint8Array(n);
  // A running unit keeps its mode for minOnS after a change (each change restarts its
  // boards, ~rampUpS of lost hashrate); only a cut may change it sooner.
  const pinned = new Uint8Array(n);
  // Units the plan may not touch: unavailable ones, and off ones inside their minimum off-time.
  const skip = new Uint8Array(n);
  let revisitAtMs = Infinity;
  // The current state in the plan's own terms (nominal kW times the quantised measured scale).
  let base = 0;
  for (let i = 0; i < n; i++) {
    const u = units[i]!;
    if (!u.available) {
      skip[i] = 1;
      base += worstCaseKw(u);
      continue;
    }
    if (u.on) level[i] = u.mode;
    base += u.on ? u.modes[u.mode]!.kw * scale[i]! : u.standbyKw;
    if (u.on && nowMs - u.sinceMs < minOnMs) mustOn[i] = 1;
    if (!u.on && nowMs - u.sinceMs < minOffMs) mustOff[i] = skip[i] = 1;
    if (!cut && u.on && nowMs - u.changedAtMs < minOnMs) {
      pinned[i] = 1;
      revisitAtMs = Math.min(revisitAtMs, u.changedAtMs + minOnMs);
    }
  }

  let limitedBy: PlanLimit = 'budget';
  let relaxed = false;
  let rebalance = false;
  let swapAtMs = prev?.swapAtMs;
  if (infeasible) {
    for (let i = 0; i < n; i++) level[i] = -1;
  } else if (cut) {
    relaxed = shed(units, level, base, skip, mustOn, scale, limit).relaxed;
  } else if (trend === 'down') {
    // Nothing goes on while the budget falls; the next plan at a steady budget may add.
    if (limit - current > EPS) revisitAtMs = nowMs;
  } else {
    limitedBy = greedy(units, level, skip, pinned, scale, limit, base, budgetKw, ceiling, true).limitedBy;
    if (trend === 'flat') {
      const intervalMs = (settings.swapIntervalS ?? DEFAULT_SWAP_INTERVAL_S) * 1000;
      const dueAtMs = (swapAtMs ?? -Infinity) + intervalMs;
      if (nowMs < dueAtMs) revisitAtMs = Math.min(revisitAtMs, dueAtMs);
      else {
        const better = rebalanced(units, level, skip, mustOn, pinned, scale, limit, budgetKw, ceiling, settings.swapMinGainPct ?? DEFAULT_SWAP_MIN_GAIN_PCT);
        if (better) {
          level.set(better);
          rebalance = true;
          swapAtMs = nowMs;
          revisitAtMs = Math.min(revisitAtMs, nowMs + intervalMs);
        }
      }
    }
  }

  const targets: UnitTarget[] = new Array(n);
  let plannedThs = 0;
  let changes = 0;
  let plannedKw = 0;
  for (let i = 0; i < n; i++) {
    const u = units[i]!;
    let t: UnitTarget;
    if (!u.available) {
      const on = infeasible ? false : u.on;
      t = { on, mode: u.mode, kw: worstCaseKw(u), ths: 0, changed: on !== u.on, reason: `unavailable: counted at worst-case ${fmt(worstCaseKw(u))} kW` };
    } else {
      const l = level[i]!;
      const on = l >= 0;
      const mode = on ? l : u.mode;
      const kw = on ? u.modes[l]!.kw * scale[i]! : u.standbyKw;
      const ths = on ? u.modes[l]!.ths : 0;
      const changed = on !== u.on || (on && mode !== u.mode);
      t = { on, mode, kw, ths, changed, reason: changed ? reasonFor(u, on, mode, cut, relaxed, infeasible, rebalance, budgetKw) : 'unchanged' };
      if (!changed && mustOn[i] && !relaxed) {
        const until = u.sinceMs + minOnMs;
        revisitAtMs = Math.min(revisitAtMs, until);
        t.reason = `held on: minimum on-time, ${Math.ceil((until - nowMs) / 1000)} s left`;
      } else if (!changed && mustOff[i]) {
        const until = u.sinceMs + minOffMs;
        revisitAtMs = Math.min(revisitAtMs, until);
        t.reason = `held off: minimum off-time, ${Math.ceil((until - nowMs) / 1000)} s left`;
      }
    }
    if (t.changed) changes++;
    plannedThs += t.ths;
    plannedKw += t.kw;
    targets[i] = t;
  }
  if (limitedBy === 'ramp') revisitAtMs = nowMs;
  const ceilingOut = cut ? plannedKw : Math.min(Math.max(ceiling, plannedKw), plannedKw + maxStepKw);
  const memory: RampMemory = { atMs: nowMs, ceilingKw: ceilingOut, budgetKw };
  if (swapAtMs !== undefined) memory.swapAtMs = swapAtMs;
  return {
    atMs: nowMs,
    budgetKw,
    currentKw: current,
    plannedKw,
    plannedThs,
    cut,
    deadlineMs: cut ? nowMs + settings.cutDeadlineS * 1000 : undefined,
    infeasible,
    trend,
    rebalance,
    limitedBy: infeasible || cut ? 'budget' : limitedBy,
    targets,
    changes,
    ramp: memory,
    revisitAtMs,
  };
}

function reasonFor(u: FleetUnit, on: boolean, mode: number, cut: boolean, relaxed: boolean, infeasible: boolean, rebalance: boolean, budgetKw: number): string {
  if (infeasible) return `off: even all-off exceeds the ${fmt(budgetKw)} kW budget`;
  if (!on) {
    const j = fmt(u.modes[u.mode]!.jPerTh);
    if (cut) return `shed: ${j} J/TH, least efficient, budget cut to ${fmt(budgetKw)} kW${relaxed ? ' (overrides minimum on-time)' : ''}`;
    return `shed: ${j} J/TH, swapped for more efficient units`;
  }
  const m = u.modes[mode]!;
  if (!u.on) return rebalance ? `swapped in, ${m.name}: ${fmt(m.jPerTh)} J/TH` : `restored in ${m.name}: ${fmt(m.jPerTh)} J/TH, most efficient first`;
  const from = u.modes[u.mode]!;
  if (rebalance) return `mode ${from.name} -> ${m.name}: rebalanced within ${fmt(budgetKw)} kW`;
  return m.kw < from.kw ? `mode ${from.name} -> ${m.name} to fit ${fmt(budgetKw)} kW` : `mode ${from.name} -> ${m.name}: more hashrate within ${fmt(budgetKw)} kW`;
}
