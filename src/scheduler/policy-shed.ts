import { kindAt, priorityAt, unitGroupsOf, type FleetUnit } from './fleet-state.js';
import { bestMovesFill } from './policy-candidates.js';
import { EPS, allowedModes, cmp, lazySorted, lowestKwMode, orderKeys, sinceDiffers, usedDiffers } from './policy-hull.js';

/**
 * A budget cut, pure: shed from what runs now until the draw fits, and never
 * switch a unit on or move one to a mode of higher kW (issue 4 follow-up: on
 * a decrease an operator expects only units going down). Whole units go
 * first, least efficient first: one command frees a whole unit's draw, where
 * stepping modes down frees a tenth of it per restarted unit. What the last
 * shed unit overshot is then handed back to the shed units, each at most up
 * to the mode it ran before, so a small cut ends as one mode step down rather
 * than one unit off.
 *
 * Under a wear budget (issue 12), a unit that has spent its cycles cannot come
 * back today once off: units that can come back go off first, and a spent unit
 * that changes modes by restarting its boards steps down to its lowest mode
 * before it goes off (a 30 s ramp costs less than the rest of its day). On
 * mixed days at 6 cycles this kept the spent fleet running through the
 * afternoon's dips: 88.3 -> 90.5 % on mixed-h (BENCHMARKS.md).
 */

export interface ShedResult {
  /** Levels (-1 off, else a sorted-mode index), aligned with `units`. */
  level: Int16Array;
  planned: number;
  /** Units inside their minimum on-time had to be switched off to fit. */
  relaxed: boolean;
}

/**
 * `level` holds the current levels (unavailable units included, at their
 * counted draw in `planned`); `skip` marks units the plan may not touch.
 */
export function shed(
  units: readonly FleetUnit[],
  level: Int16Array,
  planned: number,
  skip: Uint8Array,
  mustOn: Uint8Array,
  scale: Float64Array,
  limit: number,
  used?: Int32Array,
  maxCycles = Infinity,
): ShedResult {
  const n = units.length;
  const before = level.slice();
  // A unit's figures from its kind (fleet-state.ts groups): the walks read no unit object.
  const groups = unitGroupsOf(units);
  const kwAt = (i: number, l: number): number => {
    const k = kindAt(groups, units, i);
    return l < 0 ? k.standbyKw : k.modes[l]!.kw * scale[i]!;
  };
  const cost = new Float64Array(n);
  const free: number[] = [];
  const held: number[] = [];
  let instant = false;
  for (let i = 0; i < n; i++) {
    const l = level[i]!;
    if (skip[i] || l < 0) continue;
    const k = kindAt(groups, units, i);
    cost[i] = (kwAt(i, l) - k.standbyKw) / k.modes[l]!.ths;
    (mustOn[i] ? held : free).push(i);
    if (k.modeChange === 'instant' && k.lever === 'api') instant = true;
  }
  const off = (list: number[]): void => {
    for (const i of byCostDesc(list, cost, units, used)) {
      if (planned <= limit + EPS) return;
      planned -= kwAt(i, level[i]!) - kindAt(groups, units, i).standbyKw;
      level[i] = -1;
    }
  };
  // Units that change modes in place step down first (issue 12: a unit goes off only when
  // its lowest mode does not fit); the steps the cut did not need are handed back below.
  // Without such units the walk changes nothing: skipped (it would order every running unit).
  if (instant) for (const i of byCostDesc([...free, ...held], cost, units, used)) {
    if (planned <= limit + EPS) break;
    const u = units[i]!;
    if (u.modeChange !== 'instant' || u.lever !== 'api') continue;
    const low = lowestKwMode(u, allowedModes(u, 0));
    planned -= kwAt(i, level[i]!) - kwAt(i, low);
    level[i] = low;
  }
  // A spent unit switched off is lost for the day: the others go off first, then spent units
  // step down before any of them goes off (what the cut did not need is handed back below).
  const spent = (i: number): boolean => used !== undefined && used[i]! >= maxCycles;
  const spentFree = free.filter(spent);
  if (spentFree.length > 0) {
    off(free.filter((i) => !spent(i)));
    for (const i of byCostDesc(spentFree, cost, units, used)) {
      if (planned <= limit + EPS) break;
      const u = units[i]!;
      if (u.lever !== 'api') continue;
      const low = lowestKwMode(u, allowedModes(u, 0));
      planned -= kwAt(i, level[i]!) - kwAt(i, low);
      level[i] = low;
    }
  }
  off(free);
  let relaxed = false;
  if (planned > limit + EPS) {
    // Units inside their minimum on-time stay on in their lowest mode if that suffices...
    for (const i of held) {
      const low = lowestKwMode(units[i]!, allowedModes(units[i]!, 0));
      planned -= kwAt(i, level[i]!) - kwAt(i, low);
      level[i] = low;
    }
    // ...and are switched off only when it does not (a cut is a hard deadline).
    if (planned > limit + EPS) {
      relaxed = true;
      off(held);
    }
  }
  planned = giveBack(units, level, before, skip, scale, limit, planned);
  return { level, planned, relaxed };
}

/**
 * Hands the room left under `limit` back to units this cut lowered, best
 * TH/s per kW first, each at most to the kW it drew before the cut.
 */
function giveBack(units: readonly FleetUnit[], level: Int16Array, before: Int16Array, skip: Uint8Array, scale: Float64Array, limit: number, planned: number): number {
  return bestMovesFill(units, level, scale, limit, planned, 8, (i, l, j) => {
    const b = before[i]!;
    if (skip[i] || l === b || b < 0 || j === l) return false;
    const u = units[i]!;
    return u.modes[j]!.kw * scale[i]! <= u.modes[b]!.kw * scale[i]! + EPS;
  }, skip);
}

/**
 * Units by cost (kW per TH/s) descending, then lower priority, then on
 * longest (smallest `sinceMs`), then later in the fleet. Bucketed by cost: a fleet has few distinct (model, mode, scale)
 * costs, so this is linear where a comparator sort of 10,000 units is not.
 * Lazy (issue 12 item 10): a cut usually stops after a few units of a bucket
 * of thousands, so a bucket is ordered only as far as it is read (sortForShed).
 */
function* byCostDesc(idx: number[], cost: Float64Array, units: readonly FleetUnit[], used?: Int32Array): Generator<number, void, undefined> {
  const buckets = new Map<number, number[]>();
  for (const i of idx) {
    const c = cost[i]!;
    let b = buckets.get(c);
    if (!b) buckets.set(c, (b = []));
    b.push(i);
  }
  const groups = unitGroupsOf(units);
  for (const c of [...buckets.keys()].sort((a, b) => b - a)) {
    const b = buckets.get(c)!;
    b.reverse();
    // Equal cost and priority: the unit on longest goes first, so switching wear spreads
    // across identical units instead of cycling the last few in the fleet.
    // With a wear budget, the unit that has used the fewest cycles goes first: it can still come back.
    if (sinceDiffers(units, b) || usedDiffers(used, b) || b.some((i) => priorityAt(groups, units, i) !== 0)) yield* sortForShed(b, units, used);
    else for (let k = 0; k < b.length; k++) yield b[k]!;
  }
}

/**
 * `b` in order of priority, then cycles spent, then `sinceMs`, then later in the fleet first
 * (keys from orderKeys), yielded as far as the cut reads (lazySorted). The order is a total
 * one, so it is the same as sorting the whole bucket.
 */
function* sortForShed(b: number[], units: readonly FleetUnit[], used?: Int32Array): Generator<number, void, undefined> {
  const { pr, us, si } = orderKeys(units, b, used);
  const before = (p: number, q: number): number => pr[p]! - pr[q]! || us[p]! - us[q]! || cmp(si[p]!, si[q]!) || b[q]! - b[p]!;
  for (const p of lazySorted(b.length, before)) yield b[p]!;
}
