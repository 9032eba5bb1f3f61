import { measuredIsSteady, priorityAt, sinceAt, unitGroupsOf, type FleetUnit, type UnitKind } from './fleet-state.js';

/**
 * Each unit's options reduced to the upper concave hull of (kW, TH/s): the
 * steps the greedy policy takes in order of TH/s gained per kW. Pure.
 */

export const EPS = 1e-9;

/** One step along a unit's hull; units with the same model, start and scale share it. */
export interface Step {
  from: number;
  to: number;
  dkw: number;
  dths: number;
  slope: number;
}

/** The units that may take one step, sticky (already running) first. */
export interface StepGroup {
  step: Step;
  /** In fleet order; `inOrder` gives the greedy's order. */
  sticky: number[];
  others: number[];
  /** How `sticky` / `others` are to be ordered when fleet order is not already it (absent: it is). */
  stickyOrder?: RestoreOrder;
  othersOrder?: RestoreOrder;
}

/** Higher priority first, then fewer cycles spent (`used`), then `sinceMs` by `dir`, then fleet order. */
export interface RestoreOrder {
  units: readonly FleetUnit[];
  dir: number;
  used: Int32Array | undefined;
}

/**
 * Measured scale, quantised to 0.5 %: meters are not more precise than that,
 * and it keeps the number of distinct hulls small so 10,000 units plan in a
 * few milliseconds (bench/scheduler-plan.bench.ts).
 */
export function scaleOf(u: FleetUnit): number {
  if (!measuredIsSteady(u)) return 1;
  const s = u.measuredKw! / u.modes[u.mode]!.kw;
  return Math.round((s < 0.5 ? 0.5 : s > 2 ? 2 : s) * 200) / 200;
}

/** Modes a unit may be put in: any, or only the one it runs when its mode cannot or should not change. */
export function allowedModes(u: FleetUnit, pinned: number): readonly number[] {
  if (u.lever === 'stratum' || pinned) return u.modeIndexes.single[u.mode]!;
  return u.modeIndexes.all;
}

export function lowestKwMode(u: Pick<FleetUnit, 'modes'>, allowed: readonly number[]): number {
  let best = allowed[0]!;
  for (const j of allowed) if (u.modes[j]!.kw < u.modes[best]!.kw) best = j;
  return best;
}

/** Upper concave hull from `start` (level -1 = off) over the allowed modes: the steps worth taking, in order. */
export function hull(u: FleetUnit, start: number, allowed: readonly number[], scale: number): Step[] {
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
 * priority, then (steps from off) longest off first, then fleet order.
 */
export function orderedGroups(units: readonly FleetUnit[], level: Int16Array, skip: Uint8Array, pinned: Uint8Array, scale: Float64Array, used?: Int32Array): StepGroup[] {
  const hulls = new Map<readonly unknown[], Map<number, StepGroup[]>>();
  const groups: StepGroup[] = [];
  let anyPriority = false;
  // The last unit's hull: runs of identical units in fleet order skip both map lookups. With the
  // fleet's groups (fleet-state.ts), a unit whose hull has no step (e.g. at its top mode) is
  // passed over without reading its object (issue 12 item 10).
  const kinds = unitGroupsOf(units);
  let lastModes: FleetUnit['modes'] | undefined;
  let lastKey = NaN;
  let lastGs: StepGroup[] = [];
  // Held in locals: the walk calls out (map lookups, hull), after which fields would be read again.
  const gUnits = kinds?.units;
  const gKind = kinds?.kind;
  const gKinds = kinds?.kinds;
  const gPriority = kinds?.priority;
  const gStates = kinds?.states;
  // The quantised scale of the last unit read (runs of units at one scale).
  let lastScale = NaN;
  let lastScaleKey = 0;
  for (let i = 0; i < units.length; i++) {
    if (skip[i]) continue;
    const same = gUnits !== undefined && (gUnits === units || units[i] === gUnits[i]);
    const k: UnitKind | FleetUnit = same ? gKinds![gKind![i]!]! : units[i]!;
    if ((same ? gPriority![i]! : units[i]!.priority) !== 0) anyPriority = true;
    // The unit's state from the fleet's typed arrays (fleet-state.ts), else from the unit.
    const states = same ? gStates : undefined;
    const mode = states !== undefined ? states.mode[i]! : units[i]!.mode;
    const sc = scale[i]!;
    if (sc !== lastScale) {
      lastScale = sc;
      lastScaleKey = Math.round(sc * 200);
    }
    const key = ((level[i]! + 1) * 1000 + lastScaleKey) * 64 + (k.lever === 'stratum' || pinned[i] ? mode + 1 : 0);
    let gs: StepGroup[] | undefined;
    if (k.modes === lastModes && key === lastKey) gs = lastGs;
    else {
      let byKey = hulls.get(k.modes);
      if (!byKey) hulls.set(k.modes, (byKey = new Map()));
      gs = byKey.get(key);
      if (!gs) {
        const u = units[i]!;
        gs = hull(u, level[i]!, allowedModes(u, pinned[i]!), scale[i]!).map((step) => ({ step, sticky: [], others: [] }));
        byKey.set(key, gs);
        groups.push(...gs);
      }
      lastModes = k.modes;
      lastKey = key;
      lastGs = gs;
    }
    if (gs.length === 0) continue;
    const on = states !== undefined ? states.on[i] === 1 : units[i]!.on;
    for (const g of gs) {
      // Sticky: the unit already runs at this step's target (or at all, for a step from off).
      if (on && (g.step.from < 0 || mode === g.step.to)) g.sticky.push(i);
      else g.others.push(i);
    }
  }
  for (const g of groups) {
    // Wear (switching cycles) spreads across equal units: a step from off restores the
    // unit off longest first, and of the running ones keeps the most recently started
    // (the one on longest is the first left out, as policy-shed.ts sheds it first).
    // With a wear budget, the unit that has used the fewest cycles comes first (issue 12).
    // Ordered as far as the greedy reads (inOrder): it stops at a group's first unit that does
    // not fit, usually a few units into a list of thousands (issue 12 item 10).
    const wear = g.step.from < 0;
    const u = wear ? used : undefined;
    if (anyPriority || (wear && (sinceDiffers(units, g.others) || usedDiffers(u, g.others)))) g.othersOrder = { units, dir: wear ? 1 : 0, used: u };
    if (anyPriority || (wear && (sinceDiffers(units, g.sticky) || usedDiffers(u, g.sticky)))) g.stickyOrder = { units, dir: wear ? -1 : 0, used: u };
  }
  return groups.sort((a, b) => b.step.slope - a.step.slope);
}

/**
 * A group's sticky (`pass` 0) or other (1) units in the greedy's order, sorted as far as they
 * are read (lazySorted). The keys are copied out of the unit objects once. The order is a
 * total one, so it is the same as sorting the whole list.
 */
export function* inOrder(g: StepGroup, pass: 0 | 1): Generator<number, void, undefined> {
  const list = pass === 0 ? g.sticky : g.others;
  const o = pass === 0 ? g.stickyOrder : g.othersOrder;
  if (o === undefined) {
    for (let k = 0; k < list.length; k++) yield list[k]!;
    return;
  }
  const m = list.length;
  const { pr, us, si } = orderKeys(o.units, list, o.used);
  const dir = o.dir;
  // restoreOrder on positions into `list`.
  const before = (p: number, q: number): number => pr[q]! - pr[p]! || us[p]! - us[q]! || dir * cmp(si[p]!, si[q]!) || list[p]! - list[q]!;
  for (const p of lazySorted(m, before)) yield list[p]!;
}

/**
 * What the restore and shed orders compare of the units `list` names, by position in it:
 * priority, cycles spent (0 without a wear budget) and `sinceMs`. Copied out once, so a
 * comparator (n log n calls) reads typed arrays, not thousands of scattered objects.
 */
export function orderKeys(units: readonly FleetUnit[], list: readonly number[], used: Int32Array | undefined): { pr: Float64Array; us: Float64Array; si: Float64Array } {
  const m = list.length;
  const pr = new Float64Array(m);
  const us = new Float64Array(m);
  const si = new Float64Array(m);
  const groups = unitGroupsOf(units);
  for (let k = 0; k < m; k++) {
    const i = list[k]!;
    pr[k] = priorityAt(groups, units, i);
    us[k] = used ? used[i]! : 0;
    si[k] = sinceAt(groups, units, i);
  }
  return { pr, us, si };
}

/**
 * Positions 0..m-1 in the order `before` (a total order) gives them, computed as far as they
 * are read: the first ones come off a binary heap (linear to build, about 2 log m comparisons a
 * position), and a reader that goes on past them gets the rest from one sort (about log m).
 * The greedy and the cut usually stop a few units into a list of thousands (issue 12 item 10).
 */
export function* lazySorted(m: number, before: (p: number, q: number) => number): Generator<number, void, undefined> {
  const heap = new Int32Array(m);
  for (let k = 0; k < m; k++) heap[k] = k;
  let size = m;
  const siftDown = (at: number): void => {
    const x = heap[at]!;
    for (;;) {
      let c = 2 * at + 1;
      if (c >= size) break;
      if (c + 1 < size && before(heap[c + 1]!, heap[c]!) < 0) c++;
      if (before(heap[c]!, x) >= 0) break;
      heap[at] = heap[c]!;
      at = c;
    }
    heap[at] = x;
  };
  for (let k = (size >> 1) - 1; k >= 0; k--) siftDown(k);
  const popped = Math.max(64, m >> 4);
  for (let k = 0; k < popped && size > 0; k++) {
    const top = heap[0]!;
    heap[0] = heap[--size]!;
    siftDown(0);
    yield top;
  }
  if (size === 0) return;
  const rest = Array.from(heap.subarray(0, size));
  rest.sort(before);
  yield* rest;
}

/** Whether the units' `sinceMs` differ: when they do not, the lists are already in order and need no sort. */
export function sinceDiffers(units: readonly FleetUnit[], idx: readonly number[]): boolean {
  if (idx.length < 2) return false;
  const groups = unitGroupsOf(units);
  const first = sinceAt(groups, units, idx[0]!);
  for (const i of idx) if (sinceAt(groups, units, i) !== first) return true;
  return false;
}

/** Whether the units' spent cycles differ (no wear budget: never). */
export function usedDiffers(used: Int32Array | undefined, idx: readonly number[]): boolean {
  if (!used || idx.length < 2) return false;
  const first = used[idx[0]!]!;
  for (const i of idx) if (used[i] !== first) return true;
  return false;
}

/** -1, 0, 1 for `a` before, tied with, after `b`; safe for -Infinity (unknown), where `a - b` is NaN. */
export function cmp(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
