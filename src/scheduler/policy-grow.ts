import { kindAt, type FleetUnit, type UnitGroups } from './fleet-state.js';
import { greedy, rebalanced } from './policy-candidates.js';
import { EPS, allowedModes, lowestKwMode } from './policy-hull.js';
import { KIND_API, KIND_INSTANT } from './policy-scan.js';
import { DEFAULT_SWAP_INTERVAL_S, DEFAULT_SWAP_MIN_GAIN_PCT, type BudgetTrend, type PlanLimit, type PolicySettings } from './policy-types.js';
import { wearHeldRoomKw } from './policy-wear.js';
import type { Work } from './policy-work.js';
import type { UnitStates } from './unit-states.js';

/**
 * A plan on a steady or rising budget (policy.ts): adding to what runs, the restart-mode step
 * ups that pay back their restarts, and at a steady budget a rebalance.
 */

/** What grow needs of the plan (its figures so far and the units' working arrays in `work`). */
export interface GrowContext {
  units: readonly FleetUnit[];
  groups: UnitGroups | undefined;
  st: UnitStates;
  work: Work;
  addSkip: Uint8Array;
  swapSkip: Uint8Array;
  settings: PolicySettings;
  holdS: number | undefined;
  limit: number;
  onLimitKw: number;
  /**
   * The sender's look-ahead (BudgetReading.lowAhead) less the hysteresis, kW: no increase goes
   * above it (Infinity: none).
   */
  aheadLimitKw: number;
  runningTopKw: number;
  aimKw: number;
  ceiling: number;
  instantUnits: number;
  trend: BudgetTrend;
  budgetKw: number;
  nowMs: number;
  base: number;
  revisitAtMs: number;
  swapAtMs: number | undefined;
}

/**
 * A plan on a steady or rising budget: adding to what runs (and at a steady budget, maybe a
 * rebalance), into `work.level`. A function of its own so the optimiser compiles it alone (see
 * policy-scan.ts).
 */
export function grow(
  ctx: GrowContext,
  sustainedFor: (ms: number) => { kw: number; risesAtMs: number },
): { base: number; revisitAtMs: number; swapAtMs: number | undefined; limitedBy: PlanLimit; heldByHoldKw: number; wearHeldKw: number; rebalance: boolean } {
  const { units, groups, st, work, addSkip, swapSkip, settings, holdS, limit, onLimitKw, aheadLimitKw, runningTopKw, aimKw, ceiling, instantUnits, trend, budgetKw, nowMs } = ctx;
  const { kind, level, scale, pinned, used, skip, mustOn } = work;
  const n = units.length;
  let { base, revisitAtMs, swapAtMs } = ctx;
  let limitedBy: PlanLimit = 'budget';
  let heldByHoldKw = 0;
  let wearHeldKw = 0;
  let rebalance = false;
  // Units that change modes in place are re-spread from their lowest mode: the greedy takes
  // them to the middle first (most efficient), adds units, and only then goes to the top,
  // so running units sit where they can move both ways. (instantUnits counts the units this
  // walk can move: none, no walk.)
  for (let i = 0; i < n && instantUnits > 0; i++) {
    if ((kind[i]! & (KIND_INSTANT | KIND_API)) !== (KIND_INSTANT | KIND_API) || addSkip[i] || level[i]! < 0) continue;
    const u = units[i]!;
    const low = lowestKwMode(u, allowedModes(u, 0));
    base -= (u.modes[level[i]!]!.kw - u.modes[low]!.kw) * scale[i]!;
    level[i] = low;
  }
  // A restart-mode unit steps up only when no unit that fits can be added now (one waiting
  // out a wear hold does not block a step up: that costs no cycle, and the hold may last
  // minutes), and once the room has lasted as long as the restart costs: a step up restarts
  // its boards (its whole draw ramps again, for a tenth of it gained), where a unit switched
  // on loses only its own ramp. A unit whose softon has not taken effect yet loses nothing.
  // This is the restart's physics, not a wear hold: it applies with onHoldS 0 too (without it,
  // the synthetic highly variable days at 12 cycles saw 50 board restarts per unit, not 32).
  const restartRules = holdS !== undefined;
  const held = !restartRules ? pinned : work.held;
  if (restartRules) held.set(pinned);
  let incLimit = limit;
  let waiting = false;
  if (restartRules) {
    const roomKw = limit - base + EPS;
    for (let i = 0; i < n && !waiting; i++) {
      // Off units are still at -1 (the re-spread above moved only running ones).
      if (addSkip[i] || level[i]! >= 0) continue;
      const u = units[i]!;
      const low = lowestKwMode(u, allowedModes(u, 0));
      if (u.modes[low]!.kw * scale[i]! - u.standbyKw <= roomKw) waiting = true;
    }
    let stepHoldMs = Infinity;
    // Identical units at the same mode share the payback and its sustained room: computed once
    // per run of them, from the fleet's groups (no unit object read, issue 12 item 10).
    let paysOf: Pick<FleetUnit, 'modes' | 'rampUpS'> | undefined;
    let paysLevel = -1;
    let paysMs = Infinity;
    let paysRoom: { kw: number; risesAtMs: number } | undefined;
    for (let i = 0; i < n; i++) {
      if (held[i] || level[i]! < 0 || (kind[i]! & (KIND_INSTANT | KIND_API)) !== KIND_API) continue;
      const k = kindAt(groups, units, i);
      // When the device sees its last change: `rampFromMs`, else a softon's lead after it.
      if (nowMs < (st.hasRampFrom[i] === 1 ? st.rampFromMs[i]! : st.changedAtMs[i]! + (k.softoffDelayS + 1) * 1000)) continue;
      if (waiting) held[i] = 1;
      else {
        // A step up must pay back the ramp it restarts: the room must have lasted that long.
        if (paysOf === undefined || k.modes !== paysOf.modes || k.rampUpS !== paysOf.rampUpS || level[i] !== paysLevel) {
          paysOf = k;
          paysLevel = level[i]!;
          paysMs = restartPaysBackMs(k, paysLevel);
          paysRoom = Number.isFinite(paysMs) ? sustainedFor(paysMs) : undefined;
        }
        const s = paysRoom;
        if (!s || s.kw <= runningTopKw + EPS) {
          held[i] = 1;
          if (s && Number.isFinite(s.risesAtMs)) revisitAtMs = Math.min(revisitAtMs, s.risesAtMs);
        } else stepHoldMs = Math.min(stepHoldMs, paysMs);
      }
    }
    if (waiting) incLimit = onLimitKw;
    else if (Number.isFinite(stepHoldMs)) {
      const s = sustainedFor(stepHoldMs);
      incLimit = Math.min(limit, s.kw - settings.hysteresisKw);
      if (incLimit < limit - EPS && Number.isFinite(s.risesAtMs)) revisitAtMs = Math.min(revisitAtMs, s.risesAtMs);
    }
  }
  // Room the sender expects to go within its look-ahead buys a switch-on (or a board restart)
  // a ramp and a cycle for minutes at most: nothing is added into it. A forecast only holds
  // back: it never raises the plan or cuts what runs (greedy starts from `base`).
  const aheadHolds = aheadLimitKw < limit - EPS;
  const ahead = aheadHolds && aheadLimitKw < incLimit - EPS;
  if (ahead) incLimit = aheadLimitKw;
  // What the hold keeps back now stays allowed by the ramp once the hold is over: the rise
  // of the budget itself is no ramp on the net exchange, however late the load follows it.
  heldByHoldKw = Math.max(0, limit - Math.max(incLimit, base));
  const inc = greedy(units, level, addSkip, held, scale, Math.max(incLimit, Math.min(limit, base)), base, aimKw, ceiling, true, used);
  // A unit that fits the budget and the ramp but not the sustained room was stopped by its hold.
  limitedBy = inc.limitedBy === 'hysteresis' && incLimit < limit - EPS ? (ahead ? 'ahead' : 'hold') : inc.limitedBy;
  let plannedNow = inc.planned;
  if (instantUnits > 0 && incLimit < limit - EPS) {
    // Units that change modes in place follow the whole room at once (no cycle, no ramp).
    const instantOnly = addSkip.slice();
    for (let i = 0; i < n; i++) if (level[i]! < 0 || (kind[i]! & (KIND_INSTANT | KIND_API)) !== (KIND_INSTANT | KIND_API)) instantOnly[i] = 1;
    plannedNow = greedy(units, level, instantOnly, held, scale, limit, inc.planned, aimKw, ceiling, true, used).planned;
  }
  wearHeldKw = wearHeldRoomKw(units, level, addSkip, skip, scale, limit - plannedNow);
  if (trend === 'flat') {
    const intervalMs = (settings.swapIntervalS ?? DEFAULT_SWAP_INTERVAL_S) * 1000;
    const dueAtMs = (swapAtMs ?? -Infinity) + intervalMs;
    // Steady means not lower at any time of the last interval: on a slow rise (a sunrise read
    // once a minute) the readings in between are unchanged, but a rebalance then re-shuffles
    // modes that the rise steps up again minutes later (a restart each way).
    const steady = holdS === undefined || sustainedFor(intervalMs).kw >= Math.min(budgetKw, aimKw) - EPS;
    if (nowMs < dueAtMs) revisitAtMs = Math.min(revisitAtMs, dueAtMs);
    // Not while a look-ahead holds the plan back: a swap may add draw, and the budget is about to
    // drop (the guard re-plans when the look-ahead ends).
    else if (steady && !aheadHolds) {
      const better = rebalanced(units, level, swapSkip, mustOn, pinned, scale, limit, aimKw, ceiling, settings.swapMinGainPct ?? DEFAULT_SWAP_MIN_GAIN_PCT, used);
      if (better) {
        level.set(better);
        rebalance = true;
        swapAtMs = nowMs;
        revisitAtMs = Math.min(revisitAtMs, nowMs + intervalMs);
      }
    }
  }
  return { base, revisitAtMs, swapAtMs, limitedBy, heldByHoldKw, wearHeldKw, rebalance };
}

/**
 * How long a restart-mode unit must then run in its next higher mode for a
 * step up to pay back the ramps it restarts, ms: the step gains its kW
 * difference, and costs two restarts, each losing about half of rampUpS at its
 * draw: this one, at the new mode, and the step back down when the room ends
 * (the room that made a step up is a sun-break, and the next cloud takes it
 * back). Counting only the first, the synthetic highly variable days stepped
 * up on two-minute sun-breaks and down a minute later: about 1.7 times the
 * board restarts for the same energy (BENCHMARKS.md, "Power loop v2").
 */
function restartPaysBackMs(u: Pick<FleetUnit, 'modes' | 'rampUpS'>, mode: number): number {
  const from = u.modes[mode]!;
  let next: number | undefined;
  for (const m of u.modes) if (m.kw > from.kw + EPS && (next === undefined || m.kw < next)) next = m.kw;
  if (next === undefined) return Infinity;
  return (((next + from.kw) * u.rampUpS) / 2 / (next - from.kw)) * 1000;
}
