import { kindAt, unitGroupsOf, worstCaseKw, type FleetState, type FleetUnit, type UnitGroups, type UnitKind } from './fleet-state.js';
import { anticipate, updateHistory, type BudgetHistory } from './policy-anticipate.js';
import { greedy, rebalanced } from './policy-candidates.js';
import { EPS, allowedModes, lowestKwMode } from './policy-hull.js';
import { shed } from './policy-shed.js';
import { sustainedKw, sustainedStep, updateSustained, type SustainedSteps } from './policy-sustained.js';
import { KIND_API, KIND_INSTANT, KIND_UNAVAILABLE, UnitScan, newScanArrays, type ScanArrays } from './policy-scan.js';
import { POW2_NEAR_REL, holdMs, pow2Near, wearHeldRoomKw, wearPace } from './policy-wear.js';
import { UnitStates } from './unit-states.js';

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

/** What stopped further increases; `hold`: the room the budget sustained over the units' holds (issue 12). */
export type PlanLimit = 'budget' | 'ramp' | 'hysteresis' | 'fleet' | 'hold';

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

/** Per-unit working arrays of one plan, handed on to the next through its memory. */
interface Work extends ScanArrays {}
class Work {
  /** A plan's copies of `skip` (addSkip, swapSkip) and of `pinned` (grow's held), refilled per plan. */
  readonly addSkip: Uint8Array;
  readonly swapSkip: Uint8Array;
  readonly held: Uint8Array;
  /**
   * Two buffers for the plans' `seen` (3 per unit), used in turn, and the memory record each
   * belongs to now: a plan writes the one its last plan does not read, and reuses a record's
   * targets only while the record still owns its buffer (a plan made from an older memory
   * takes it over). 120 kB a plan at 5,000 units was most of what plans allocated.
   */
  readonly seenBufs: [Float64Array | undefined, Float64Array | undefined] = [undefined, undefined];
  readonly seenOwners: [object | undefined, object | undefined] = [undefined, undefined];
  /** The units' state copied out of a hand-built unit list (a fleet's own units keep theirs in typed arrays). */
  scratch: UnitStates | undefined;
  /** The first pass's results per unit, for the next plan's first pass (policy-scan.ts). */
  readonly scan: UnitScan;
  /** The reasons of minimum on/off holds by buildTargets' key (which floor, seconds left), at most HELD_REASONS. */
  readonly heldReasons = new Map<number, string>();
  constructor(readonly n: number) {
    // The first pass's arrays (ScanArrays) are made where they are declared (policy-scan.ts).
    Object.assign(this, newScanArrays(n));
    this.addSkip = new Uint8Array(n);
    this.swapSkip = new Uint8Array(n);
    this.held = new Uint8Array(n);
    this.scan = new UnitScan(n);
  }
}

const UNCHANGED = 'unchanged';

const POOL = 16;

/** Hold reasons kept from plan to plan (two per second of the longest minimum on/off time covers them). */
const HELD_REASONS = 4096;

/**
 * A budget that changes more often than this is a live meter (an HTTP or MQTT
 * source posting every few seconds), not a schedule: its readings flicker.
 */
const FAST_METER_MS = 10_000;

/** How far back the sustained budget is kept, and so the longest hold (a paced unit far ahead). */
const SUSTAINED_KEEP_MS = 3_600_000;

/**
 * An unchanged target reading (on, mode, kw, ths) with `reason`: one from `pool` (one pool per
 * reason) when an identical unit made it, else a new one kept there.
 */
function shared(pool: UnitTarget[], on: boolean, mode: number, kw: number, ths: number, reason = UNCHANGED): UnitTarget {
  for (const o of pool) if (o.kw === kw && o.mode === mode && o.on === on && o.ths === ths) return o;
  const t: UnitTarget = { on, mode, kw, ths, changed: false, reason };
  if (pool.length < POOL) pool.push(t);
  else pool[(kw * 7919 + mode) % POOL | 0] = t;
  return t;
}

/**
 * The typed arrays the units keep their state in (fleet-state.ts): the fleet's own while
 * `units` is its unit list, else `work`'s scratch filled from the unit objects, so the plan
 * reads one way whatever it is given.
 */
function statesOf(units: readonly FleetUnit[], groups: UnitGroups | undefined, work: Work): UnitStates {
  const own = groups?.states;
  // The fleet's own (frozen) list holds its units by construction; any other list is checked.
  let same = own !== undefined;
  for (let i = 0; i < units.length && same && units !== groups!.units; i++) same = units[i] === groups!.units[i];
  if (same) return own!;
  const s = (work.scratch ??= new UnitStates(units.length));
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!;
    s.on[i] = u.on ? 1 : 0;
    s.mode[i] = u.mode;
    s.sinceMs[i] = u.sinceMs;
    s.changedAtMs[i] = u.changedAtMs;
    s.hasRampFrom[i] = u.rampFromMs === undefined ? 0 : 1;
    s.rampFromMs[i] = u.rampFromMs ?? 0;
    s.available[i] = u.available ? 1 : 0;
    s.hasMeasured[i] = u.measuredKw === undefined ? 0 : 1;
    s.measuredKw[i] = u.measuredKw ?? 0;
    s.measuredAtMs[i] = u.measuredAtMs;
    s.setOns(i, u.onsMs);
  }
  return s;
}

/** What buildTargets needs of the plan besides the units and its working arrays. */
interface TargetContext {
  relaxed: boolean;
  infeasible: boolean;
  cut: boolean;
  rebalance: boolean;
  budgetKw: number;
  minOnMs: number;
  minOffMs: number;
  /** The off floor of a unit ahead of its wear pace (policy-scan.ts marks those mustOff 2). */
  paceOffMs: number;
  nowMs: number;
}

/**
 * The plan's last pass: each unit's target from its level (`work`), into `targets`, with what
 * each reads into `seen`; `last` (the last plan's, when reusable) lends its unchanged targets
 * (`targets` then arrives as a copy of `last.targets`).
 * Sums the planned draw and hashrate, counts changes, and gives the earliest end of a hold
 * (revisitAtMs). A function of its own so the optimiser compiles it alone (see policy-scan.ts).
 */
function buildTargets(
  units: readonly FleetUnit[],
  st: UnitStates,
  work: Work,
  targets: UnitTarget[],
  seen: Float64Array,
  last: { readonly targets: readonly UnitTarget[]; readonly seen: Float64Array } | undefined,
  ctx: TargetContext,
): { plannedThs: number; plannedKw: number; changes: number; revisitAtMs: number; fresh: number[] | undefined } {
  const { kind, level, startCode, mustOn, mustOff, nowKw, nowThs, scale } = work;
  // When each unit last went on or off, read where the plan's first pass did (no copy).
  const since = st.sinceMs;
  const { relaxed, infeasible, cut, rebalance, budgetKw, minOnMs, minOffMs, paceOffMs, nowMs } = ctx;
  const n = units.length;
  // Unchanged targets built in this plan, shared by identical units: without a last plan (or
  // after a cut) a fleet gets one object per group of identical units, not one per unit.
  const pool: UnitTarget[] = [];
  const reasons = new Map<FleetUnit['modes'], Map<number, string>>();
  const heldBy = new Map<number, { reason: string; pool: UnitTarget[] }>();
  // The last target shared() gave for `pool` and what it read: runs of identical units in fleet
  // order take it without a walk over the pool (only this walk hands out from `pool`, so shared()
  // would return the same object).
  let poolT: UnitTarget | undefined;
  let poolCode = -1;
  let poolKw = NaN;
  let poolThs = NaN;
  // Likewise for held units: the last hold (a unit's since and which floor holds it) and the
  // target handed out under it; units switched by one plan come in runs (issue 12 item 10).
  let holdH: { reason: string; pool: UnitTarget[] } | undefined;
  let holdSince = NaN;
  let holdHk = NaN;
  const ringHk = [NaN, NaN, NaN, NaN];
  const ringH: ({ reason: string; pool: UnitTarget[] } | undefined)[] = [undefined, undefined, undefined, undefined];
  let ringAt = 0;
  let holdOn = false;
  let holdPace = false;
  let holdT: UnitTarget | undefined;
  let holdCode = -1;
  let holdKw = NaN;
  let holdThs = NaN;
  let plannedThs = 0;
  let changes = 0;
  let plannedKw = 0;
  let revisitAtMs = Infinity;
  // The units whose target is not the last plan's object (all of them without a last plan): only
  // these can change anything for the loop (SchedulerCore.step walks them, not the fleet).
  const fresh: number[] | undefined = last === undefined ? undefined : [];
  // `seen` starts as the last plan's copy: a target reused below reads the same, so it is not
  // written again (`seen` holds [code, kw, ths] only behind a code other than -1).
  const lastSeen = last?.seen;
  const copied = lastSeen !== undefined && lastSeen.length === seen.length;
  if (copied) seen.set(lastSeen);
  const quiet = relaxed ? work.quietRelaxed : work.quiet;
  for (let i = 0; i < n; i++) {
    const k = 3 * i;
    // An unchanged unit with no hold to report: everything is in the typed arrays, and the
    // unit object is read only when its target has to be built anew. (quiet: the first pass's
    // answer to "available, at the level it runs, and not held", policy-scan.ts.)
    if (level[i] === quiet[i]) {
      const code = startCode[i]!;
      const kw = nowKw[i]!;
      const ths = nowThs[i]!;
      plannedThs += ths;
      plannedKw += kw;
      if (lastSeen !== undefined && lastSeen[k] === code && lastSeen[k + 1] === kw && lastSeen[k + 2] === ths) {
        // `targets` starts as a copy of last.targets (plan()).
        if (copied) continue;
      } else {
        fresh?.push(i);
        if (poolT === undefined || code !== poolCode || kw !== poolKw || ths !== poolThs) {
          poolT = shared(pool, (code & 1) === 1, code >> 1, kw, ths);
          poolCode = code;
          poolKw = kw;
          poolThs = ths;
        }
        targets[i] = poolT;
      }
      seen[k] = code;
      seen[k + 1] = kw;
      seen[k + 2] = ths;
      continue;
    }
    seen[k] = -1;
    // Unchanged but held by a minimum on/off time (thousands of units after a swing): built from
    // the typed arrays as well, without reading the unit object.
    if (kind[i] !== KIND_UNAVAILABLE && level[i] === (startCode[i]! & 1 ? startCode[i]! >> 1 : -1)) {
      const code = startCode[i]!;
      const kw = nowKw[i]!;
      const ths = nowThs[i]!;
      plannedThs += ths;
      plannedKw += kw;
      const onHeld = mustOn[i] === 1 && !relaxed;
      const paceHeld = !onHeld && mustOff[i] === 2;
      if (holdH === undefined || since[i] !== holdSince || onHeld !== holdOn || paceHeld !== holdPace) {
        const until = since[i]! + (onHeld ? minOnMs : paceHeld ? paceOffMs : minOffMs);
        revisitAtMs = Math.min(revisitAtMs, until);
        const left = Math.ceil((until - nowMs) / 1000);
        // Units switched by one plan are held alike: they share one reason and one target (never
        // mutated), so a swing of thousands allocates a handful per plan, not one per unit.
        const hk = 3 * left + (onHeld ? 0 : paceHeld ? 2 : 1);
        // Increases are staggered, so the units one plan switched differ in `since` by the
        // stagger, yet most are held the same whole seconds: the same hold as the last unit's is
        // taken without the lookups (its target too: shared() would hand out the same object).
        if (hk !== holdHk) {
          // Held units of two or three kinds interleave in fleet order: the last few holds are
          // looked at before the map.
          let h = hk === ringHk[0] ? ringH[0] : hk === ringHk[1] ? ringH[1] : hk === ringHk[2] ? ringH[2] : hk === ringHk[3] ? ringH[3] : heldBy.get(hk);
          if (!h) {
            // The wording of a hold is kept from plan to plan (a day of plans formats each once).
            let reason = work.heldReasons.get(hk);
            if (reason === undefined) {
              reason = onHeld
                ? `held on: minimum on-time, ${left} s left`
                : paceHeld
                  ? `held off: ahead of its wear pace, off at least wearPaceOffS, ${left} s left`
                  : `held off: minimum off-time, ${left} s left`;
              if (work.heldReasons.size >= HELD_REASONS) work.heldReasons.clear();
              work.heldReasons.set(hk, reason);
            }
            heldBy.set(hk, (h = { reason, pool: [] }));
          }
          if (hk !== ringHk[0] && hk !== ringHk[1] && hk !== ringHk[2] && hk !== ringHk[3]) {
            ringHk[ringAt] = hk;
            ringH[ringAt] = h;
            ringAt = (ringAt + 1) & 3;
          }
          holdH = h;
          holdHk = hk;
          holdT = undefined;
        }
        holdSince = since[i]!;
        holdOn = onHeld;
        holdPace = paceHeld;
      }
      fresh?.push(i);
      if (holdT === undefined || code !== holdCode || kw !== holdKw || ths !== holdThs) {
        holdT = shared(holdH!.pool, (code & 1) === 1, code >> 1, kw, ths, holdH!.reason);
        holdCode = code;
        holdKw = kw;
        holdThs = ths;
      }
      targets[i] = holdT;
      continue;
    }
    fresh?.push(i);
    const u = units[i]!;
    if (!u.available) {
      const on = infeasible ? false : u.on;
      const kw = worstCaseKw(u);
      targets[i] = { on, mode: u.mode, kw, ths: 0, changed: on !== u.on, reason: `unavailable: counted at worst-case ${fmt(kw)} kW` };
      if (on !== u.on) changes++;
      plannedKw += kw;
      continue;
    }
    const l = level[i]!;
    const on = l >= 0;
    const mode = on ? l : u.mode;
    const kw = on ? u.modes[l]!.kw * scale[i]! : u.standbyKw;
    const ths = on ? u.modes[l]!.ths : 0;
    plannedThs += ths;
    plannedKw += kw;
    // Every unit left here changes (unchanged ones, held or not, were built above).
    changes++;
    // The reason depends only on the unit's model, from and to: built once per group of
    // identical moves (a cut of thousands of units formats a handful of strings).
    let byMove = reasons.get(u.modes);
    if (!byMove) reasons.set(u.modes, (byMove = new Map()));
    const move = (((u.on ? 1 : 0) * 64 + u.mode) * 2 + (on ? 1 : 0)) * 64 + mode;
    let reason = byMove.get(move);
    if (reason === undefined) {
      reason = reasonFor(u, on, mode, cut, relaxed, infeasible, rebalance, budgetKw);
      // The key packs mode indices below 64 (models have a handful of modes).
      if (u.mode < 64 && mode < 64) byMove.set(move, reason);
    }
    targets[i] = { on, mode, kw, ths, changed: true, reason };
  }
  return { plannedThs, plannedKw, changes, revisitAtMs, fresh };
}

/** The wear budget's settings as a plan reads them (wearHolds). */
interface WearContext {
  maxCycles: number;
  holdS: number | undefined;
  flickerMs: number;
  paceMs: number;
  paceBurst: number;
  paceHoldS: number;
  nowMs: number;
  runningTopKw: number;
  /** The budget's lowest values (policy-sustained.ts) and the plan's aim: sustainedFor's inputs. */
  sustained: SustainedSteps;
  aimKw: number;
}

/**
 * Which off units may go on (issue 12): marks in `addSkip`/`swapSkip` the units out
 * of cycles or inside their hold, and gives the shortest hold among those that may go on now
 * and when a held one's room may rise (revisitAtMs). A function of its own so the optimiser
 * compiles it alone (see policy-scan.ts).
 */
function wearHolds(
  units: readonly FleetUnit[],
  groups: UnitGroups | undefined,
  work: Work,
  addSkip: Uint8Array,
  swapSkip: Uint8Array,
  ctx: WearContext,
): { onHoldMs: number; revisitAtMs: number } {
  const { skip, level, used, scale, ready } = work;
  const { maxCycles, holdS, flickerMs, paceMs, paceBurst, paceHoldS, nowMs, runningTopKw, sustained, aimKw } = ctx;
  const n = units.length;
  let onHoldMs = Infinity;
  let revisitAtMs = Infinity;
  // sustainedFor(needMs) of plan() as two numbers, by the step of the budget's history it
  // reports (sustainedStep): no object per paced unit.
  const stepKw = sustained.kw;
  const stepEndMs = sustained.endMs;
  const byNeed = new Map<number, { kw: number; risesAtMs: number }>();
  // Identical units share their lowest step: from the fleet's groups, no unit object read.
  let lowOf: UnitKind | FleetUnit | undefined;
  let lowScale = NaN;
  let lowMemoKw = 0;
  // An unpaced hold depends on the cycles used alone: the last one's, and its sustained room.
  let plainUsed = -1;
  let plainNeedMs = NaN;
  let plainKw = NaN;
  let plainRisesAtMs = NaN;
  for (let i = 0; i < n; i++) {
    // level still holds the current state here: >= 0 is a running unit.
    if (skip[i] || level[i]! >= 0) continue;
    const u = used[i]!;
    if (u >= maxCycles) {
      addSkip[i] = swapSkip[i] = 1;
      continue;
    }
    if (holdS === undefined) continue;
    // Added only into room the budget has held above the running units' top for the whole
    // hold; a swap at an unchanged budget asks only that the budget stood above that top.
    const k = kindAt(groups, units, i);
    let lowKw: number;
    if (k.lever === 'api') {
      // allowedModes(u, 0) of a unit with an API: every mode.
      if (k !== lowOf || scale[i] !== lowScale) {
        lowOf = k;
        lowScale = scale[i]!;
        lowMemoKw = k.modes[lowestKwMode(k, k.modeIndexes.all)]!.kw * lowScale - k.standbyKw;
      }
      lowKw = lowMemoKw;
    } else {
      const unit = units[i]!;
      lowKw = unit.modes[lowestKwMode(unit, allowedModes(unit, 0))]!.kw * scale[i]! - unit.standbyKw;
    }
    const onAboveKw = runningTopKw + lowKw - EPS;
    // A unit's first switch-on in 24 h waits for nothing but the top-mode rule (and a live
    // meter's flicker): every sunny day spends that cycle; the hold guards the ones after it.
    const baseMs = Math.max(flickerMs, u === 0 ? 0 : holdMs(u, maxCycles, holdS));
    let needMs = baseMs;
    let paced = false;
    // When the unit's next cycle is due under an even spend (the first pass worked it out).
    const readyMs = ready[i]!;
    // Ahead of an even spend: the pace's own hold, doubled for every cycle ahead. It guards
    // a budget too small for the day (6 cycles on a highly variable day: 60-77 % absorbed
    // without it, 86 % with it), and costs little where cycles suffice, since it acts only
    // ahead of the pace (BENCHMARKS.md, "Power loop v2").
    if (paceMs > 0 && u > 0 && nowMs < readyMs) {
      const ahead = ((readyMs - nowMs) * (maxCycles - paceBurst)) / paceMs;
      const paceHold = holdMs(u, maxCycles, paceHoldS);
      // The exact power of two (Math.pow, most of this pass at thousands of paced units a
      // plan: issue 12 item 10) is worked out only where the answer needs it: a near one
      // brackets the hold, and where the whole bracket reads one step of the budget's history
      // the unit's verdict is known; its hold itself counts only when it may lower the
      // shortest hold, or when its room rises before the earliest so far.
      const near = pow2Near(ahead);
      if (near === near && paceHold > 0 && paceHold < Infinity) {
        const loMs = Math.min(Math.max(baseMs, paceHold * near * (1 - POW2_NEAR_REL)), SUSTAINED_KEEP_MS);
        const hiMs = Math.min(Math.max(baseMs, paceHold * near * (1 + POW2_NEAR_REL)), SUSTAINED_KEEP_MS);
        // sustainedStep is monotone in the window: the same step at both ends is the step between.
        const j = sustainedStep(sustained, nowMs, hiMs);
        if (loMs <= hiMs && (j < 0 || stepEndMs[j]! > nowMs - loMs)) {
          const sKw = Math.min(j >= 0 ? stepKw[j]! : -Infinity, aimKw);
          if (sKw > onAboveKw) {
            if (loMs < onHoldMs) onHoldMs = Math.min(onHoldMs, Math.min(Math.max(baseMs, paceHold * Math.pow(2, ahead)), SUSTAINED_KEEP_MS));
          } else {
            addSkip[i] = 1;
            // A swap spends a cycle for a few percent of hashrate: only a unit's first of the day (u > 0 here).
            swapSkip[i] = 1;
            if (j >= 0 && stepEndMs[j]! + loMs < revisitAtMs) {
              const risesAtMs = stepEndMs[j]! + Math.min(Math.max(baseMs, paceHold * Math.pow(2, ahead)), SUSTAINED_KEEP_MS);
              if (Number.isFinite(risesAtMs)) revisitAtMs = Math.min(revisitAtMs, risesAtMs);
            }
          }
          continue;
        }
      }
      needMs = Math.max(needMs, paceHold * Math.pow(2, ahead));
      paced = true;
    }
    // The budget's history is kept for an hour: no hold is longer.
    needMs = Math.min(needMs, SUSTAINED_KEEP_MS);
    let sKw: number;
    let sRisesAtMs: number;
    // A paced hold is a unit's own (its first switch-on sets it): looked up, never shared, so
    // it is not kept (a map of thousands of one-off keys cost more than it saved).
    if (paced && needMs < SUSTAINED_KEEP_MS) {
      const j = sustainedStep(sustained, nowMs, needMs);
      sKw = Math.min(j >= 0 ? stepKw[j]! : -Infinity, aimKw);
      sRisesAtMs = j >= 0 ? stepEndMs[j]! + needMs : Infinity;
    } else if (!paced && u === plainUsed) {
      sKw = plainKw;
      sRisesAtMs = plainRisesAtMs;
      needMs = plainNeedMs;
    } else {
      let s = byNeed.get(needMs);
      if (!s) {
        const j = sustainedStep(sustained, nowMs, needMs);
        s = { kw: Math.min(j >= 0 ? stepKw[j]! : -Infinity, aimKw), risesAtMs: j >= 0 ? stepEndMs[j]! + needMs : Infinity };
        byNeed.set(needMs, s);
      }
      sKw = s.kw;
      sRisesAtMs = s.risesAtMs;
      if (!paced) {
        plainUsed = u;
        plainNeedMs = needMs;
        plainKw = sKw;
        plainRisesAtMs = sRisesAtMs;
      }
    }
    if (sKw > onAboveKw) onHoldMs = Math.min(onHoldMs, needMs);
    else {
      addSkip[i] = 1;
      // A swap spends a cycle for a few percent of hashrate: only a unit's first of the day.
      if (u > 0 || !(sKw > runningTopKw + EPS)) swapSkip[i] = 1;
      if (Number.isFinite(sRisesAtMs)) revisitAtMs = Math.min(revisitAtMs, sRisesAtMs);
    }
  }
  return { onHoldMs, revisitAtMs };
}

/** What grow needs of the plan (its figures so far and the units' working arrays in `work`). */
interface GrowContext {
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
function grow(
  ctx: GrowContext,
  sustainedFor: (ms: number) => { kw: number; risesAtMs: number },
): { base: number; revisitAtMs: number; swapAtMs: number | undefined; limitedBy: PlanLimit; heldByHoldKw: number; wearHeldKw: number; rebalance: boolean } {
  const { units, groups, st, work, addSkip, swapSkip, settings, holdS, limit, onLimitKw, runningTopKw, aimKw, ceiling, instantUnits, trend, budgetKw, nowMs } = ctx;
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
  // What the hold keeps back now stays allowed by the ramp once the hold is over: the rise
  // of the budget itself is no ramp on the net exchange, however late the load follows it.
  heldByHoldKw = Math.max(0, limit - Math.max(incLimit, base));
  const inc = greedy(units, level, addSkip, held, scale, Math.max(incLimit, Math.min(limit, base)), base, aimKw, ceiling, true, used);
  // A unit that fits the budget and the ramp but not the sustained room was stopped by its hold.
  limitedBy = inc.limitedBy === 'hysteresis' && incLimit < limit - EPS ? 'hold' : inc.limitedBy;
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
    else if (steady) {
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

const fmt = (x: number): string => (Math.round(x * 100) / 100).toString();

export function plan(budgetKw: number, fleet: FleetState, nowMs: number, settings: PolicySettings, prev?: RampMemory): Plan {
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
  const { maxCycles, paceMs } = pace;
  const paceBurst = pace.burst;
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
  const holdS = settings.onHoldS;
  // A budget read from a live meter flickers: switch-ons go only into room that outlasts it.
  const flickerMs = history.lastIntervalMs > 0 && history.lastIntervalMs < FAST_METER_MS ? (settings.flickerHoldS ?? 0) * 1000 : 0;
  const paceHoldS = settings.wearPaceHoldS ?? 15;
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
    const held = wearHolds(units, groups, work, addSkip, swapSkip, { maxCycles, holdS, flickerMs, paceMs, paceBurst, paceHoldS, nowMs, runningTopKw, sustained, aimKw });
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
    const grown = grow({ units, groups, st, work, addSkip, swapSkip, settings, holdS, limit, onLimitKw, runningTopKw, aimKw, ceiling, instantUnits, trend, budgetKw, nowMs, base, revisitAtMs, swapAtMs }, sustainedFor);
    ({ base, revisitAtMs, swapAtMs, limitedBy, heldByHoldKw, wearHeldKw, rebalance } = grown);
  }

  // An unchanged unit whose target reads as in the last plan keeps that object (targets are
  // never mutated once returned): at 10,000 units, allocating one per unit per reading was
  // most of the garbage collector's work (issue 12 item 10).
  const last = prev?.[LAST_TARGETS];
  const lastBuf = last === undefined ? -1 : last.seen === work.seenBufs[0] ? 0 : last.seen === work.seenBufs[1] ? 1 : -1;
  const reuse = last !== undefined && last.targets.length === n && (lastBuf === -1 || work.seenOwners[lastBuf === 0 ? 0 : 1] === last);
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
