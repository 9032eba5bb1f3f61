import { currentKw, worstCaseKw, type FleetState, type FleetUnit } from './fleet-state.js';
import { greedy, shedFromCurrent, sumThs } from './policy-candidates.js';
import { EPS, allowedModes, lowestKwMode, scaleOf } from './policy-hull.js';

/**
 * The scheduling policy (issue 4), pure: (budget, fleet, now, settings, ramp
 * memory) -> plan. No clock, no timers, no logger.
 *
 * Maximising hashrate under a power cap with a few discrete modes per unit is
 * a multiple-choice knapsack. We use the classic greedy on marginal
 * efficiency: each unit's options (off at standby, then its modes) are reduced
 * to their upper concave hull in (kW, TH/s); the hull's segments are taken in
 * order of TH/s gained per kW added while they fit. That restores the most
 * efficient units first and, read backwards, sheds the least efficient first.
 * A fill pass then tries off-hull modes (e.g. "eco") in what is left, which is
 * how a unit ends up in a lower mode to fit. Ties go to units already running
 * (no churn between identical units), then priority, then fleet order.
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
}

/** Carried from one plan to the next so the ramp limit is a rate, not a per-call step. */
export interface RampMemory {
  atMs: number;
  /** Highest draw the ramp allowed at `atMs`. */
  ceilingKw: number;
}

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
  /** What stopped further increases. */
  limitedBy: PlanLimit;
  /** Aligned with `fleet.units`. */
  targets: UnitTarget[];
  /** Number of targets with `changed`. */
  changes: number;
  ramp: RampMemory;
  /** Re-planning before this time with unchanged inputs gives the same plan (min-times, ramp). */
  revisitAtMs: number;
}

/**
 * A plan built from the current state (only adding, or only shedding) is kept
 * when it hashes within this share of the plan built from scratch: fewer
 * switches for a negligible loss.
 */
const KEEP_TOLERANCE = 0.005;

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

  // Levels: -1 off, else index into sorted modes.
  const level = new Int16Array(n).fill(-1);
  const mustOn = new Uint8Array(n);
  const mustOff = new Uint8Array(n);
  // A running unit keeps its mode for minOnS after a change (each change restarts its
  // boards, ~rampUpS of lost hashrate); only a cut may change it sooner.
  const pinned = new Uint8Array(n);
  let revisitAtMs = Infinity;
  let base = 0;
  for (let i = 0; i < n; i++) {
    const u = units[i]!;
    if (!u.available) {
      base += worstCaseKw(u);
      continue;
    }
    if (u.on && nowMs - u.sinceMs < minOnMs) mustOn[i] = 1;
    if (!u.on && nowMs - u.sinceMs < minOffMs) mustOff[i] = 1;
    if (!cut && u.on && nowMs - u.changedAtMs < minOnMs) {
      pinned[i] = 1;
      revisitAtMs = Math.min(revisitAtMs, u.changedAtMs + minOnMs);
    }
    if (mustOn[i] && !infeasible) {
      level[i] = lowestKwMode(u, allowedModes(u, pinned[i]!));
      base += u.modes[level[i]!]!.kw * scale[i]!;
    } else base += u.standbyKw;
  }
  // Minimum on-times yield to a cut only when they must (they would keep the draw above budget).
  let relaxed = false;
  if (infeasible || base > limit + EPS) {
    relaxed = true;
    base = 0;
    for (let i = 0; i < n; i++) {
      const u = units[i]!;
      level[i] = -1;
      base += u.available ? u.standbyKw : worstCaseKw(u);
    }
  }

  let limitedBy: PlanLimit = 'fleet';
  if (!infeasible) {
    const skip = new Uint8Array(n);
    for (let i = 0; i < n; i++) if (!units[i]!.available || mustOff[i]) skip[i] = 1;
    limitedBy = greedy(units, level, skip, pinned, scale, limit, base, budgetKw, ceiling).limitedBy;
    if (cut) {
      const shed = shedFromCurrent(units, mustOn, relaxed, skip, pinned, scale, limit);
      if (shed && sumThs(units, shed) >= sumThs(units, level) * (1 - KEEP_TOLERANCE)) level.set(shed);
    } else {
      // Greedy from scratch is not always better than what runs now (knapsack): also try
      // only adding to the current state, and keep that when it hashes at least as much.
      const inc = new Int16Array(n).fill(-1);
      let incBase = 0;
      for (let i = 0; i < n; i++) {
        const u = units[i]!;
        if (!u.available) incBase += worstCaseKw(u);
        else if (u.on) {
          inc[i] = u.mode;
          incBase += u.modes[u.mode]!.kw * scale[i]!;
        } else incBase += u.standbyKw;
      }
      if (incBase <= limit + EPS) {
        const added = greedy(units, inc, skip, pinned, scale, limit, incBase, budgetKw, ceiling);
        if (sumThs(units, inc) >= sumThs(units, level) * (1 - KEEP_TOLERANCE)) {
          level.set(inc);
          limitedBy = added.limitedBy;
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
      t = { on, mode, kw, ths, changed, reason: changed ? reasonFor(u, on, mode, cut, relaxed, infeasible, budgetKw) : 'unchanged' };
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
  return {
    atMs: nowMs,
    budgetKw,
    currentKw: current,
    plannedKw,
    plannedThs,
    cut,
    deadlineMs: cut ? nowMs + settings.cutDeadlineS * 1000 : undefined,
    infeasible,
    limitedBy: infeasible ? 'budget' : limitedBy,
    targets,
    changes,
    ramp: { atMs: nowMs, ceilingKw: ceilingOut },
    revisitAtMs,
  };
}

function reasonFor(u: FleetUnit, on: boolean, mode: number, cut: boolean, relaxed: boolean, infeasible: boolean, budgetKw: number): string {
  if (infeasible) return `off: even all-off exceeds the ${fmt(budgetKw)} kW budget`;
  if (!on) {
    const j = fmt(u.modes[u.mode]!.jPerTh);
    if (cut) return `shed: ${j} J/TH, least efficient, budget cut to ${fmt(budgetKw)} kW${relaxed ? ' (overrides minimum on-time)' : ''}`;
    return `shed: ${j} J/TH, replaced by more efficient units`;
  }
  const m = u.modes[mode]!;
  if (!u.on) return `restored in ${m.name}: ${fmt(m.jPerTh)} J/TH, most efficient first`;
  const from = u.modes[u.mode]!;
  return m.kw < from.kw ? `mode ${from.name} -> ${m.name} to fit ${fmt(budgetKw)} kW` : `mode ${from.name} -> ${m.name}: more hashrate within ${fmt(budgetKw)} kW`;
}
