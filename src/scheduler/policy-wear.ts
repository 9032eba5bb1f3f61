import { kindAt, unitGroupsOf, type FleetUnit } from './fleet-state.js';
import { EPS, allowedModes, lowestKwMode } from './policy-hull.js';
import { DAY_MS } from './unit-states.js';

/**
 * The wear budget (issue 12), pure. A unit's cycles are its switch-ons in the
 * last 24 h (each on starts a cycle that the next off ends, so a day's count
 * of ons equals the simulator's count of offs). A unit may go on only while
 * it has cycles left, and only once the budget has stayed above what the
 * running units draw at their top mode for a hold that grows as the unit
 * spends its budget: the last cycles of the day go to the longest sustained
 * surplus, where a switch-on buys the most energy.
 */

export { DAY_MS };

/**
 * Switch-ons of `u` in the 24 h up to `nowMs`. `onsMs` is ascending (recordOn
 * keeps it so), so only the stale head is walked: the policy asks this of
 * every unit on every plan (issue 12 item 10).
 */
export function cyclesUsed(u: FleetUnit, nowMs: number): number {
  const ons = u.onsMs;
  if (!ons || ons.length === 0) return 0;
  const cutoff = nowMs - DAY_MS;
  let k = 0;
  while (k < ons.length && ons[k]! <= cutoff) k++;
  return ons.length - k;
}

/**
 * Records a switch-on at `nowMs`, in time order (a command may be issued
 * after a later one), dropping those older than a day (the list stays bounded).
 * The list is replaced, not changed in place (FleetUnit `onsMs`).
 */
export function recordOn(u: FleetUnit, nowMs: number): void {
  const ons = u.onsMs ? u.onsMs.slice() : [];
  let at = ons.length;
  while (at > 0 && ons[at - 1]! > nowMs) at--;
  ons.splice(at, 0, nowMs);
  let drop = 0;
  while (drop < ons.length && ons[drop]! <= nowMs - DAY_MS) drop++;
  if (drop > 0) ons.splice(0, drop);
  u.onsMs = ons;
}

/**
 * How long the budget must have offered room above the running units' top-mode
 * draw before a unit that used `used` of `max` cycles may go on into it, ms:
 * `holdS * used / (max - used)`, Infinity when none is left. Nothing while the
 * unit has its whole budget (a hold costs energy on every rise, and while
 * cycles are plentiful that is all it does: with `max / (max - used)` a budget
 * of 24 absorbed about a point less), growing steeply as the budget runs out
 * (15 s × 11 = 165 s before the last of 12), so the last cycles go to the
 * longest sustained surplus.
 */
export function holdMs(used: number, max: number, holdS: number): number {
  if (used >= max) return Infinity;
  return (holdS * 1000 * used) / (max - used);
}

/**
 * When a unit that has used `used` of `max` cycles, the first of them at
 * `firstOnMs`, may take its next one under an even spend over the surplus day.
 */
export function paceReadyAtMs(firstOnMs: number, used: number, max: number, paceMs: number, burst: number): number {
  if (used < burst || !Number.isFinite(max)) return -Infinity;
  return firstOnMs + ((used + 1 - burst) * paceMs) / Math.max(1, max - burst);
}

/** The wear budget's pacing as the plan applies it (the schema sets every key). */
export interface WearPace {
  /** Switch-ons per unit in any 24 h (Infinity: no budget). */
  maxCycles: number;
  /** The span of the even spend, ms (0: no pacing). */
  paceMs: number;
  /** Switch-ons a unit may take ahead of it. */
  burst: number;
  /** The off floor of a unit ahead of it, ms (0: none). */
  offMs: number;
}

/**
 * The burst when `wearPaceBurst` is not set: a third of the wear budget, at most 3 (the day's
 * first switch-on and two more). A fixed 3 was half of a budget of 6: on measured mornings of
 * broken cloud (Albuquerque, BENCHMARKS.md "Session power5") the fleet followed every minute's
 * wiggle with fresh units, each spending its three unpaced cycles, and had 3/4 of its budget
 * gone by 11:00 where the perfect-foresight bound had spent 1/4; the afternoon's cloud then
 * found the units out of cycles (83-87 % absorbed, bound 98 %). With 2 of 6 those days gain
 * 5-6 points. Over the 70 mixed days of that site's year it is a trade: the mean +0.6 and the
 * tenth percentile 84.3 -> 86.6 % (20 days gain, up to 11 points), but 34 days lose up to 1.4
 * points, and as many days reach 97 % as before. Budgets of 9 and more keep 3.
 */
export function defaultPaceBurst(maxCycles: number): number {
  return Number.isFinite(maxCycles) ? Math.min(3, Math.max(1, Math.ceil(maxCycles / 3))) : 3;
}

export function wearPace(s: { maxCyclesPerDay?: number | undefined; wearPaceH?: number | undefined; wearPaceBurst?: number | undefined; wearPaceOffS?: number | undefined }): WearPace {
  const maxCycles = s.maxCyclesPerDay ?? Infinity;
  const paceMs = (s.wearPaceH ?? 0) * 3_600_000;
  return { maxCycles, paceMs, burst: s.wearPaceBurst ?? defaultPaceBurst(maxCycles), offMs: paceMs > 0 && Number.isFinite(maxCycles) ? (s.wearPaceOffS ?? 0) * 1000 : 0 };
}

/** When a unit that has used `used` cycles, the first at `firstOnMs`, may take its next one (NaN: no pacing). */
export function paceReadyFor(pace: WearPace, used: number, firstOnMs: number): number {
  return pace.paceMs > 0 && used > 0 ? paceReadyAtMs(firstOnMs, used, pace.maxCycles, pace.paceMs, pace.burst) : NaN;
}

/**
 * A switched-off unit's floor, ms: `minOffMs`, or the pace's own while the unit is ahead of
 * the even spend (`readyMs` from paceReadyFor), so one cut covers the next dips of a cloudy
 * spell instead of spending a cycle on each. The plan and the live flexibility figures both
 * read it.
 */
export function offFloorMs(pace: WearPace, minOffMs: number, used: number, readyMs: number, nowMs: number): number {
  return pace.offMs > minOffMs && used > 0 && nowMs < readyMs ? pace.offMs : minOffMs;
}

/** The first switch-on of `u` in the 24 h up to `nowMs` (NaN when none). */
export function firstOnMs(u: FleetUnit, nowMs: number): number {
  const ons = u.onsMs;
  if (!ons) return NaN;
  const cutoff = nowMs - DAY_MS;
  for (const t of ons) if (t > cutoff) return t;
  return NaN;
}

/**
 * What the wear budget held off in a plan, kW: whole units kept off by it (no
 * cycle left, or inside a wear hold: `held`, not `skip`) at their lowest mode
 * that would have fit in `roomKw`, the room the plan left under its limit.
 */
export function wearHeldRoomKw(units: readonly FleetUnit[], level: Int16Array, held: Uint8Array, skip: Uint8Array, scale: Float64Array, roomKw: number): number {
  let heldKw = 0;
  let stepModes: FleetUnit['modes'] | undefined;
  let stepScale = NaN;
  let stepStandby = NaN;
  let stepKw = 0;
  // A unit's figures from its kind (fleet-state.ts groups): a stratum unit's mode from the unit.
  const groups = unitGroupsOf(units);
  for (let i = 0; i < units.length && roomKw > EPS; i++) {
    if (level[i]! >= 0 || !held[i] || skip[i]) continue;
    const k = kindAt(groups, units, i);
    // Identical units (same model and measured scale) share the step: computed once per run of them.
    if (k.modes !== stepModes || scale[i] !== stepScale || k.standbyKw !== stepStandby || k.lever === 'stratum') {
      const u = units[i]!;
      stepModes = k.modes;
      stepScale = scale[i]!;
      stepStandby = k.standbyKw;
      stepKw = k.modes[lowestKwMode(k, allowedModes(u, 0))]!.kw * stepScale - k.standbyKw;
    }
    if (stepKw > roomKw + EPS) continue;
    heldKw += stepKw;
    roomKw -= stepKw;
  }
  return heldKw;
}

/**
 * The bound on pow2Near's error relative to Math.pow(2, x), with a wide margin: the series
 * below leaves under 1.5e-8 (measured: under 4e-9), Math.pow itself a few parts in 1e16.
 */
export const POW2_NEAR_REL = 1e-7;

/**
 * 2^x within POW2_NEAR_REL for 0 <= x < 30, NaN elsewhere: a power of two times a Taylor series
 * of e^t, t = frac(x) ln 2 < 0.7 (ten terms), about a tenth of Math.pow's time. Only ever a
 * bracket: the plan's wear holds (policy-holds.ts) decide with it only where any value inside
 * the bracket decides alike.
 */
export function pow2Near(x: number): number {
  if (!(x >= 0 && x < 30)) return NaN;
  const k = Math.floor(x);
  const t = (x - k) * Math.LN2;
  const e = 1 + t * (1 + t * (1 / 2 + t * (1 / 6 + t * (1 / 24 + t * (1 / 120 + t * (1 / 720 + t * (1 / 5040 + t * (1 / 40320 + t * (1 / 362880)))))))));
  return (1 << k) * e;
}
