import { unitGroupsOf, type FleetState } from './fleet-state.js';
import { anticipate, readingCadence, updateHistory, type BudgetHistory } from './policy-anticipate.js';
import { grow } from './policy-grow.js';
import { EPS } from './policy-hull.js';
import { PACE_READING_MAX_MS, READING_SLACK_MAX, SUSTAINED_KEEP_MS, wearHolds, type HoldSettings } from './policy-holds.js';
import { shed } from './policy-shed.js';
import { sustainedKw, updateSustained, type SustainedSteps } from './policy-sustained.js';
import { buildTargets } from './policy-targets.js';
import type { BudgetTrend, PlanLimit, PolicySettings, UnitTarget } from './policy-types.js';
import { wearPace, type WearPace } from './policy-wear.js';
import { Work, statesOf } from './policy-work.js';

export { DEFAULT_SWAP_INTERVAL_S, DEFAULT_SWAP_MIN_GAIN_PCT, type BudgetTrend, type PlanLimit, type PolicySettings, type UnitTarget } from './policy-types.js';

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
 *
 * Power loop v2 (issue 12) adds, each optional in `PolicySettings` (absent:
 * the behaviour above) and set by the config schema:
 * - two levers: on/off follows the sustained trend, work modes the fast
 *   moves. An off unit goes on only while it has cycles left
 *   (`maxCyclesPerDay`), and only into room the budget has held above what
 *   the running units draw at their top mode for its hold (policy-sustained.ts):
 *   none by default; `wearPaceHoldS` when it is ahead of an even spend of its
 *   budget (policy-wear.ts), which also keeps it off `wearPaceOffS` after a cut
 *   (instead of `minOffS`); the opt-in `onHoldS`, longer as it spends its
 *   budget; `flickerHoldS` on a live meter. A restart-mode unit steps up only
 *   once the room has lasted long enough to pay back its restarts. Units whose model changes modes in place
 *   (`modeChange: instant`) are re-spread over their modes on every increase,
 *   so running units sit in the middle and can move both ways, and a cut
 *   steps them down before any unit goes off (policy-shed.ts); units whose
 *   boards restart on a mode change keep today's whole-units-first cuts,
 *   because there a mode step costs a full ramp;
 * - anticipation: on a steady decline the plan aims at the budget expected a
 *   device lead ahead (policy-anticipate.ts);
 * - the ramp limit as a grid code writes it: % of fleet capacity per minute,
 *   on the net exchange (a rise of the budget itself is not a ramp the grid
 *   sees) or on the load.
 */

/**
 * The ramp limit on increases, kW per minute, for a fleet whose top-mode
 * capacity is `fleetTopKw`: a fixed `rampKwPerMin` when set, else
 * `rampPctPerMin` (default 10 %) of the fleet, at least `rampMinKwPerMin`.
 * One place, so the plan, the live flexibility figures and `simulate --bound`
 * agree on the same grid-code setting.
 */
export function rampLimitKwPerMin(
  settings: Pick<PolicySettings, 'rampKwPerMin' | 'rampPctPerMin' | 'rampMinKwPerMin'>,
  fleetTopKw: number,
): number {
  return settings.rampKwPerMin ?? Math.max(settings.rampMinKwPerMin ?? 0, ((settings.rampPctPerMin ?? 10) / 100) * fleetTopKw);
}

/** Carried from one plan to the next: the ramp limit is a rate, the budget's direction a difference. */
export interface RampMemory {
  atMs: number;
  /** Highest draw the ramp allowed at `atMs`. */
  ceilingKw: number;
  /** The budget this plan was made for (absent: the next budget counts as unchanged). */
  budgetKw?: number;
  /** When the last rebalance was made. */
  swapAtMs?: number;
  /** Since when the budget has stood above what the running units draw at their top mode. */
  aboveSinceMs?: number;
  /**
   * Net basis: the budget's rise the load has not followed yet, kW. It stays allowed by the ramp
   * until the load follows it or the budget falls back, whatever kept the load back meanwhile
   * (a hold, a minimum off-time, a wear hold).
   */
  unfollowedKw?: number;
  /** The budget's recent changes, for anticipation. */
  history?: BudgetHistory;
  /** The budget's lowest values over the recent past, for the holds (policy-sustained.ts). */
  sustained?: SustainedSteps;
  /** The targets of the plan that made this memory: unchanged ones are reused. */
  readonly [LAST_TARGETS]?: { readonly targets: readonly UnitTarget[]; readonly seen: Float64Array; readonly work: Work };
}

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
  /** The budget the plan aimed at: `budgetKw`, or lower when it anticipates a steady decline. */
  anticipatedKw: number;
  /**
   * Room the plan left under its limit only because units that would fit were
   * out of cycles or waiting out a wear hold (whole units at their lowest
   * mode), kW: what the wear budget held off (0 in a cut or on a fall).
   */
  wearHeldKw: number;
}

/** Where a plan's memory keeps its targets for the next plan to reuse (not part of the memory's data). */
const LAST_TARGETS = Symbol('lastTargets');

/**
 * A budget that changes more often than this is a live meter (an HTTP or MQTT
 * source posting every few seconds), not a schedule: its readings flicker.
 */
const FAST_METER_MS = 10_000;

/**
 * The switch-on holds' settings (policy-holds.ts HoldSettings), for the plan and for the live
 * flexibility figures alike: the wear budget's `pace` (wearPace), the hold settings, and what the
 * budget's history says: a live meter's flicker hold, and the reading interval a paced unit's
 * hold is counted in, with its slack.
 */
export function holdSettings(pace: WearPace, history: BudgetHistory | undefined, settings: Pick<PolicySettings, 'onHoldS' | 'wearPaceHoldS' | 'flickerHoldS'>): HoldSettings {
  let flickerMs = 0;
  let readingMs = 0;
  let readingSlackMs = 0;
  if (history) {
    // A budget read from a live meter flickers: switch-ons go only into room that outlasts it.
    if (history.lastIntervalMs > 0 && history.lastIntervalMs < FAST_METER_MS) flickerMs = (settings.flickerHoldS ?? 0) * 1000;
    // A unit ahead of the pace holds whole readings of the budget (WearContext readingMs).
    const { everyMs, jitterMs } = readingCadence(history);
    if (everyMs <= PACE_READING_MAX_MS) {
      readingMs = everyMs;
      readingSlackMs = Math.min(READING_SLACK_MAX * everyMs, 2 * jitterMs);
    }
  }
  return { maxCycles: pace.maxCycles, holdS: settings.onHoldS, flickerMs, paceMs: pace.paceMs, paceBurst: pace.burst, paceHoldS: settings.wearPaceHoldS ?? 15, readingMs, readingSlackMs };
}

/**
 * `lowAheadKw`: the lowest budget the sender expects over its look-ahead (BudgetVerdict
 * lowAhead), absent without one; nothing is added above it.
 */
export function plan(budgetKw: number, fleet: FleetState, nowMs: number, settings: PolicySettings, prev?: RampMemory, lowAheadKw?: number): Plan {
  const units = fleet.units;
  const n = units.length;
  const minOnMs = settings.minOnS * 1000;
  const minOffMs = settings.minOffS * 1000;
  // The per-unit working arrays are reused from plan to plan (allocating a dozen typed arrays
  // per reading cost more than filling them); nothing a plan returns refers to them.
  const work = prev?.[LAST_TARGETS]?.work.n === n ? prev[LAST_TARGETS].work : new Work(n);
  const scale = work.scale;
  // The first pass over the units (policy-scan.ts) fills these. Levels: -1 off, else index into
  // sorted modes, from what runs now.
  const level = work.level;
  const mustOn = work.mustOn;
  // A running unit keeps its mode for minOnS after a change (each change restarts its
  // boards, ~rampUpS of lost hashrate); only a cut may change it sooner (cleared below).
  const pinned = work.pinned;
  // Units the plan may not touch: unavailable ones, and off ones inside their minimum off-time.
  const skip = work.skip;
  // Cycles spent (wear budget), for the order of sheds and restores.
  const used = work.used;
  // What the later passes need of each unit, so they walk typed arrays instead of the unit
  // objects: KIND_* bits, the draw and hashrate counted now, the state code (mode * 2 + on).
  // Ahead of the even spend, a unit's off floor is wearPaceOffS instead of minOffS (offFloorMs;
  // minOffS alone is the hardware's floor, short so a unit returns fast while its budget lasts).
  const pace = wearPace(settings);
  const { maxCycles } = pace;
  const paceOffMs = pace.offMs;
  const groups = unitGroupsOf(units);
  const st = statesOf(units, groups, work);
  const scanned = work.scan.run(units, groups, st, work, nowMs, minOnMs, minOffMs, pace);
  const { current, fixedKw, maxStepKw, fleetTopKw, leadMs, instantUnits } = scanned;
  let { base } = scanned;
  const { runningTopKw, pinnedUntilMs } = scanned;
  const history = updateHistory(prev?.history, budgetKw, nowMs);
  // The horizon is the device lead plus one tick: the loop may re-plan up to a tick late.
  const ant = anticipate(history, nowMs, leadMs > 0 ? leadMs + settings.tickS * 1000 : 0, fleetTopKw);
  const aimKw = Math.min(budgetKw, ant.kw);
  const cut = current > aimKw + EPS;
  const infeasible = fixedKw > budgetKw + EPS;
  const trend: BudgetTrend =
    prev?.budgetKw === undefined ? 'flat' : budgetKw > prev.budgetKw + EPS ? 'up' : budgetKw < prev.budgetKw - EPS ? 'down' : 'flat';
  // Ramp credit accrues at most one tick per plan: the loop re-plans every tick while the
  // ramp is the limit, so a longer gap is a quiet spell, and crediting all of it would let
  // a budget step after minutes of calm switch the whole fleet on at once.
  const dtMs = Math.min(prev ? Math.max(0, nowMs - prev.atMs) : Infinity, settings.tickS * 1000);
  const rampKwPerMin = rampLimitKwPerMin(settings, fleetTopKw);
  // On the net exchange (what grid codes limit), load that follows a rising budget is no ramp.
  const followKw = settings.rampBasis === 'net' && prev?.budgetKw !== undefined ? Math.max(0, budgetKw - prev.budgetKw) : 0;
  const ceiling = Math.max(prev?.ceilingKw ?? current, current) + (rampKwPerMin * dtMs) / 60_000 + followKw;
  const addLimit = Math.min(aimKw - settings.hysteresisKw, ceiling);
  // A cut aims at the bottom of the hysteresis band, so the next small drop of a
  // falling budget (afternoon sun) does not force another cut at once.
  const bandBottom = aimKw - settings.hysteresisKw;
  const limit = cut ? (bandBottom >= fixedKw ? bandBottom : Math.max(aimKw, fixedKw)) : Math.min(aimKw, Math.max(current, addLimit));
  let revisitAtMs = ant.revisitAtMs;
  if (cut) pinned.fill(0);
  else revisitAtMs = Math.min(revisitAtMs, pinnedUntilMs);

  // Which off units may go on (issue 12): only into room the budget has offered above the
  // running units' top-mode draw for the whole hold (longer as a unit spends its wear budget),
  // only while it has cycles left, and not ahead of an even spend of them over the surplus day.
  const holds = holdSettings(pace, history, settings);
  const holdS = holds.holdS;
  const sustained = updateSustained(prev?.sustained, budgetKw, nowMs, SUSTAINED_KEEP_MS);
  const sustainedFor = (ms: number): { kw: number; risesAtMs: number } => {
    const s = sustainedKw(sustained, nowMs, ms);
    return { kw: Math.min(s.kw, aimKw), risesAtMs: s.risesAtMs };
  };
  // addSkip: no cycle left or still inside its hold (nothing may switch it on).
  // (Copies into buffers kept in `work`: a typed array allocated per plan is a malloc and a
  // finaliser for the collector, 54,000 plans a day; issue 12 item 10.)
  const addSkip = work.addSkip;
  addSkip.set(skip);
  // swapSkip: may not be swapped in by a rebalance (out of cycles or inside its hold).
  const swapSkip = work.swapSkip;
  swapSkip.set(skip);
  // The shortest hold among the units that may go on now: switch-ons fill only the room
  // sustained over it (the greedy takes the least worn units first, which hold the shortest).
  let onHoldMs = Infinity;
  // On a falling budget with room left the plan adds nothing and asks to re-plan at once (below),
  // so which units could go on, and when their room rises, decides nothing: not worked out (the
  // holds are a walk over every off unit, a power of two each when paced: issue 12 item 10).
  const idle = !infeasible && !cut && trend === 'down' && limit - current > EPS;
  if (!idle && (holdS !== undefined || Number.isFinite(maxCycles))) {
    const held = wearHolds(units, groups, work, addSkip, swapSkip, { ...holds, nowMs, runningTopKw, sustained, aimKw });
    onHoldMs = held.onHoldMs;
    revisitAtMs = Math.min(revisitAtMs, held.revisitAtMs);
  }
  let onLimitKw = limit;
  if (holdS !== undefined && Number.isFinite(onHoldMs)) {
    const s = sustainedFor(onHoldMs);
    onLimitKw = Math.min(limit, s.kw - settings.hysteresisKw);
    if (onLimitKw < limit - EPS && Number.isFinite(s.risesAtMs)) revisitAtMs = Math.min(revisitAtMs, s.risesAtMs);
  }

  let limitedBy: PlanLimit = 'budget';
  let heldByHoldKw = 0;
  let wearHeldKw = 0;
  let relaxed = false;
  let rebalance = false;
  let swapAtMs = prev?.swapAtMs;
  if (infeasible) {
    for (let i = 0; i < n; i++) level[i] = -1;
  } else if (cut) {
    relaxed = shed(units, level, base, skip, mustOn, scale, limit, used, maxCycles).relaxed;
  } else if (trend === 'down') {
    // Nothing goes on while the budget falls; the next plan at a steady budget may add.
    if (limit - current > EPS) revisitAtMs = nowMs;
  } else {
    const aheadLimitKw = lowAheadKw === undefined ? Infinity : lowAheadKw - settings.hysteresisKw;
    const grown = grow({ units, groups, st, work, addSkip, swapSkip, settings, holdS, limit, onLimitKw, aheadLimitKw, runningTopKw, aimKw, ceiling, instantUnits, trend, budgetKw, nowMs, base, revisitAtMs, swapAtMs }, sustainedFor);
    ({ base, revisitAtMs, swapAtMs, limitedBy, heldByHoldKw, wearHeldKw, rebalance } = grown);
  }

  // An unchanged unit whose target reads as in the last plan keeps that object (targets are
  // never mutated once returned): at 10,000 units, allocating one per unit per reading was
  // most of the garbage collector's work (issue 12 item 10).
  const last = prev?.[LAST_TARGETS];
  const lastBuf = last === undefined ? -1 : last.seen === work.seenBufs[0] ? 0 : last.seen === work.seenBufs[1] ? 1 : -1;
  const reuse = last !== undefined && last.targets.length === n && (lastBuf === -1 || work.seenOwners[lastBuf] === last);
  // Reusing: a copy of the last plan's (one block copy), in which buildTargets replaces only the
  // targets that do not carry over.
  const targets: UnitTarget[] = reuse ? last.targets.slice() : new Array<UnitTarget>(n);
  // What each target reads, kept beside the objects (a typed array walks far faster than
  // 10,000 scattered objects): [mode * 2 + on, kw, ths] of a reusable (unchanged, no held
  // reason) target, code -1 otherwise.
  const seenBuf = lastBuf === 0 ? 1 : 0;
  // Made on first use: a plan without memory (a fresh loop, the bench's cold cases) needs one.
  const seen = (work.seenBufs[seenBuf] ??= new Float64Array(3 * n));
  const built = buildTargets(units, st, work, targets, seen, reuse ? last : undefined, { relaxed, infeasible, cut, rebalance, budgetKw, minOnMs, minOffMs, paceOffMs, nowMs });
  const { plannedThs, plannedKw, changes } = built;
  revisitAtMs = Math.min(revisitAtMs, built.revisitAtMs);
  if (limitedBy === 'ramp') revisitAtMs = nowMs;
  // On the net exchange the grid saw the budget's rise when it came; the load catching up later
  // moves the exchange back, so the rise stays allowed until the load has followed it.
  const unfollowedKw = cut ? 0 : Math.max(0, Math.min(followKw + (prev?.unfollowedKw ?? 0), aimKw - plannedKw));
  const ceilingOut = cut ? plannedKw : Math.min(Math.max(ceiling, plannedKw), plannedKw + maxStepKw + Math.max(heldByHoldKw, unfollowedKw));
  const memory: RampMemory = { atMs: nowMs, ceilingKw: ceilingOut, budgetKw, history };
  if (unfollowedKw > 0) memory.unfollowedKw = unfollowedKw;
  if (swapAtMs !== undefined) memory.swapAtMs = swapAtMs;
  memory.sustained = sustained;
  // Not enumerable: the memory is compared and logged as data; the targets are only a cache.
  const record = { targets, seen, work };
  work.seenOwners[seenBuf] = record;
  Object.defineProperty(memory, LAST_TARGETS, { value: record });
  const out: Plan = {
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
    anticipatedKw: aimKw,
    wearHeldKw: rebalance ? 0 : wearHeldKw,
  };
  // Not enumerable either: which targets are not the last plan's objects (freshTargets).
  if (built.fresh !== undefined) Object.defineProperty(out, FRESH_TARGETS, { value: { against: last!.targets, indices: built.fresh } });
  return out;
}

/** Where a plan keeps which of its targets are new objects (not data: a cache for the loop). */
const FRESH_TARGETS = Symbol('freshTargets');

/**
 * The indices (ascending) at which `p.targets` holds another object than `last`, when the plan
 * recorded them against that very array; undefined otherwise (then compare every target). The
 * loop walks these instead of 5,000 targets per plan (issue 12 item 10).
 */
export function freshTargets(p: Plan, last: readonly UnitTarget[] | undefined): readonly number[] | undefined {
  const f = (p as { [FRESH_TARGETS]?: { against: readonly UnitTarget[]; indices: readonly number[] } })[FRESH_TARGETS];
  return f !== undefined && last !== undefined && f.against === last ? f.indices : undefined;
}

