import { currentKw, measuredIsSteady, worstCaseKw, type FleetState, type FleetUnit } from './fleet-state.js';

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
  /** Used as the ramp interval of the first plan (no memory yet). */
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

const EPS = 1e-9;
/**
 * A plan built from the current state (only adding, or only shedding) is kept
 * when it hashes within this share of the plan built from scratch: fewer
 * switches for a negligible loss.
 */
const KEEP_TOLERANCE = 0.005;

/** One step along a unit's hull; units with the same model, start and scale share it. */
interface Step {
  from: number;
  to: number;
  dkw: number;
  dths: number;
  slope: number;
}

/** The units that may take one step, sticky (already running) first. */
interface StepGroup {
  step: Step;
  sticky: number[];
  others: number[];
}

/**
 * Measured scale, quantised to 0.5 %: meters are not more precise than that,
 * and it keeps the number of distinct hulls small so 10,000 units plan in a
 * few milliseconds (bench/scheduler-plan.bench.ts).
 */
function scaleOf(u: FleetUnit): number {
  if (!measuredIsSteady(u)) return 1;
  const s = u.measuredKw! / u.modes[u.mode]!.kw;
  return Math.round((s < 0.5 ? 0.5 : s > 2 ? 2 : s) * 200) / 200;
}

const allModes = new WeakMap<readonly unknown[], readonly number[]>();
const SINGLE: (readonly number[])[] = [];
/** Modes a unit may be put in: any, or only the one it runs when its mode cannot or should not change. */
function allowedModes(u: FleetUnit, pinned: number): readonly number[] {
  if (u.lever === 'stratum' || pinned) return (SINGLE[u.mode] ??= [u.mode]);
  let all = allModes.get(u.modes);
  if (!all) {
    all = u.modes.map((_, i) => i);
    allModes.set(u.modes, all);
  }
  return all;
}

function lowestKwMode(u: FleetUnit, allowed: readonly number[]): number {
  let best = allowed[0]!;
  for (const j of allowed) if (u.modes[j]!.kw < u.modes[best]!.kw) best = j;
  return best;
}

/** Upper concave hull from `start` (level -1 = off) over the allowed modes: the steps worth taking, in order. */
function hull(u: FleetUnit, start: number, allowed: readonly number[], scale: number): Step[] {
  const out: Step[] = [];
  let level = start;
  let kw = level < 0 ? u.standbyKw : u.modes[level]!.kw * scale;
  let ths = level < 0 ? 0 : u.modes[level]!.ths;
  for (;;) {
    let best = -1;
    let bestSlope = 0;
    let bestKw = 0;
    for (const j of allowed) {
      const m = u.modes[j]!;
      const dk = m.kw * scale - kw;
      const dt = m.ths - ths;
      if (dk <= EPS || dt <= 0) continue;
      const slope = dt / dk;
      // Equal slopes: prefer the smaller step, it fits more budgets.
      if (slope > bestSlope + EPS || (Math.abs(slope - bestSlope) <= EPS && best >= 0 && m.kw < bestKw)) {
        best = j;
        bestSlope = slope;
        bestKw = m.kw;
      }
    }
    if (best < 0) return out;
    const m = u.modes[best]!;
    out.push({ from: level, to: best, dkw: m.kw * scale - kw, dths: m.ths - ths, slope: bestSlope });
    level = best;
    kw = m.kw * scale;
    ths = m.ths;
  }
}

/**
 * Steps of every plannable unit, grouped by identical hull, in the order the
 * greedy takes them: steeper first; within a group running units first, then
 * priority, then fleet order.
 */
function orderedGroups(units: readonly FleetUnit[], level: Int16Array, skip: Uint8Array, pinned: Uint8Array, scale: Float64Array): StepGroup[] {
  const hulls = new Map<readonly unknown[], Map<number, StepGroup[]>>();
  const groups: StepGroup[] = [];
  let anyPriority = false;
  for (let i = 0; i < units.length; i++) {
    if (skip[i]) continue;
    const u = units[i]!;
    if (u.priority !== 0) anyPriority = true;
    const key = ((level[i]! + 1) * 1000 + Math.round(scale[i]! * 200)) * 64 + (u.lever === 'stratum' || pinned[i] ? u.mode + 1 : 0);
    let byKey = hulls.get(u.modes);
    if (!byKey) hulls.set(u.modes, (byKey = new Map()));
    let gs = byKey.get(key);
    if (!gs) {
      gs = hull(u, level[i]!, allowedModes(u, pinned[i]!), scale[i]!).map((step) => ({ step, sticky: [], others: [] }));
      byKey.set(key, gs);
      groups.push(...gs);
    }
    for (const g of gs) {
      // Sticky: the unit already runs at this step's target (or at all, for a step from off).
      if (u.on && (g.step.from < 0 || u.mode === g.step.to)) g.sticky.push(i);
      else g.others.push(i);
    }
  }
  if (anyPriority) {
    const byPriority = (a: number, b: number): number => units[b]!.priority - units[a]!.priority || a - b;
    for (const g of groups) {
      g.sticky.sort(byPriority);
      g.others.sort(byPriority);
    }
  }
  return groups.sort((a, b) => b.step.slope - a.step.slope);
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
  const dtMs = prev ? Math.max(0, nowMs - prev.atMs) : settings.tickS * 1000;
  const ceiling = Math.max(prev?.ceilingKw ?? current, current) + (settings.rampKwPerMin * dtMs) / 60_000;
  const addLimit = Math.min(budgetKw - settings.hysteresisKw, ceiling);
  // A cut aims at the bottom of the hysteresis band, so the next small drop of a
  // falling budget (afternoon sun) does not force another cut at once.
  const limit = cut ? Math.max(Math.min(budgetKw, fixedKw), budgetKw - settings.hysteresisKw) : Math.min(budgetKw, Math.max(current, addLimit));

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

/**
 * The cut built from what runs now: whole units off, least efficient (J/TH at
 * their current mode, standby included) first, until the draw fits; then the
 * fill pass uses what is left. Undefined when minimum on-times forbid it.
 */
function shedFromCurrent(
  units: readonly FleetUnit[],
  mustOn: Uint8Array,
  relaxed: boolean,
  skip: Uint8Array,
  pinned: Uint8Array,
  scale: Float64Array,
  limit: number,
): Int16Array | undefined {
  const n = units.length;
  const level = new Int16Array(n).fill(-1);
  const running: number[] = [];
  const cost = new Float64Array(n);
  let planned = 0;
  for (let i = 0; i < n; i++) {
    const u = units[i]!;
    if (!u.available) {
      planned += worstCaseKw(u);
      continue;
    }
    if (!u.on) {
      planned += u.standbyKw;
      continue;
    }
    const m = u.modes[u.mode]!;
    level[i] = u.mode;
    planned += m.kw * scale[i]!;
    cost[i] = (m.kw * scale[i]! - u.standbyKw) / m.ths;
    if (relaxed || !mustOn[i]) running.push(i);
  }
  for (const i of byCostDesc(running, cost, units)) {
    if (planned <= limit + EPS) break;
    const u = units[i]!;
    planned -= u.modes[level[i]!]!.kw * scale[i]! - u.standbyKw;
    level[i] = -1;
  }
  if (planned > limit + EPS) return undefined;
  fill(units, level, skip, pinned, scale, limit, planned);
  return level;
}

/**
 * Units by cost (kW per TH/s) descending, then lower priority, then later in
 * the fleet. Bucketed by cost: a fleet has few distinct (model, mode, scale)
 * costs, so this is linear where a comparator sort of 10,000 units is not.
 */
function byCostDesc(idx: number[], cost: Float64Array, units: readonly FleetUnit[]): number[] {
  const buckets = new Map<number, number[]>();
  for (const i of idx) {
    const c = cost[i]!;
    let b = buckets.get(c);
    if (!b) buckets.set(c, (b = []));
    b.push(i);
  }
  const out: number[] = [];
  for (const c of [...buckets.keys()].sort((a, b) => b - a)) {
    const b = buckets.get(c)!;
    b.reverse();
    if (b.some((i) => units[i]!.priority !== 0)) b.sort((x, y) => units[x]!.priority - units[y]!.priority || y - x);
    for (const i of b) out.push(i);
  }
  return out;
}

function sumThs(units: readonly FleetUnit[], level: Int16Array): number {
  let t = 0;
  for (let i = 0; i < units.length; i++) if (level[i]! >= 0 && units[i]!.available) t += units[i]!.modes[level[i]!]!.ths;
  return t;
}

/** Hull pass then fill pass from `level` (mutated); returns the planned draw and what stopped it. */
function greedy(
  units: readonly FleetUnit[],
  level: Int16Array,
  skip: Uint8Array,
  pinned: Uint8Array,
  scale: Float64Array,
  limit: number,
  base: number,
  budgetKw: number,
  ceiling: number,
): { planned: number; limitedBy: PlanLimit } {
  let planned = base;
  let limitedBy: PlanLimit = 'fleet';
  for (const g of orderedGroups(units, level, skip, pinned, scale)) {
    const s = g.step;
    for (let pass = 0; pass < 2; pass++) {
      const list = pass === 0 ? g.sticky : g.others;
      for (const i of list) {
        if (level[i] !== s.from) continue;
        if (planned + s.dkw <= limit + EPS) {
          level[i] = s.to;
          planned += s.dkw;
        } else if (limitedBy === 'fleet') {
          limitedBy = planned + s.dkw <= budgetKw + EPS ? (planned + s.dkw <= ceiling + EPS ? 'hysteresis' : 'ramp') : 'budget';
        }
      }
    }
  }
  return { planned: fill(units, level, skip, pinned, scale, limit, planned), limitedBy };
}

/**
 * Puts what the hull pass left to use: each round takes the most efficient
 * single-unit change (TH/s gained per kW added) that fits, e.g. an off unit in
 * its eco mode. A few rounds suffice: what is left is below one unit's step.
 */
function fill(units: readonly FleetUnit[], level: Int16Array, skip: Uint8Array, pinned: Uint8Array, scale: Float64Array, limit: number, planned: number): number {
  for (let round = 0; round < 4; round++) {
    const rem = limit - planned;
    if (rem <= EPS) break;
    let bestUnit = -1;
    let bestMode = -1;
    let bestScore = 0;
    let bestDkw = 0;
    for (let i = 0; i < units.length; i++) {
      const u = units[i]!;
      if (skip[i]) continue;
      const l = level[i]!;
      const kw0 = l < 0 ? u.standbyKw : u.modes[l]!.kw * scale[i]!;
      const ths0 = l < 0 ? 0 : u.modes[l]!.ths;
      for (const j of allowedModes(u, pinned[i]!)) {
        if (j === l) continue;
        const m = u.modes[j]!;
        const dkw = m.kw * scale[i]! - kw0;
        const dths = m.ths - ths0;
        if (dths <= 0 || dkw > rem + EPS) continue;
        const score = dkw <= EPS ? Infinity : dths / dkw;
        if (score > bestScore) {
          bestScore = score;
          bestUnit = i;
          bestMode = j;
          bestDkw = dkw;
        }
      }
    }
    if (bestUnit < 0) break;
    level[bestUnit] = bestMode;
    planned += bestDkw;
  }
  return planned;
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
