import { worstCaseKw, type FleetUnit } from './fleet-state.js';
import { EPS, allowedModes, orderedGroups } from './policy-hull.js';
import type { PlanLimit } from './policy.js';

/**
 * The candidate plans the policy compares: greedy over hull steps plus a fill
 * pass, and a cut built by shedding from the current state. Pure; they write
 * levels (-1 off, else a sorted-mode index) into the arrays they are given.
 */

/**
 * The cut built from what runs now: whole units off, least efficient (J/TH at
 * their current mode, standby included) first, until the draw fits; then the
 * fill pass uses what is left. Undefined when minimum on-times forbid it.
 */
export function shedFromCurrent(
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

export function sumThs(units: readonly FleetUnit[], level: Int16Array): number {
  let t = 0;
  for (let i = 0; i < units.length; i++) if (level[i]! >= 0 && units[i]!.available) t += units[i]!.modes[level[i]!]!.ths;
  return t;
}

/** Hull pass then fill pass from `level` (mutated); returns the planned draw and what stopped it. */
export function greedy(
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
export function fill(units: readonly FleetUnit[], level: Int16Array, skip: Uint8Array, pinned: Uint8Array, scale: Float64Array, limit: number, planned: number): number {
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
