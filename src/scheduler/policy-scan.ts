import { topModeIndex, type FleetUnit, type UnitGroups, type UnitKind } from './fleet-state.js';
import { offFloorMs, paceReadyFor, type WearPace } from './policy-wear.js';
import { DAY_MS, steadyAt, type UnitStates } from './unit-states.js';

/**
 * The plan's first pass over the units (policy.ts), pure: fills the plan's per-unit arrays
 * (levels from what runs now, holds, scale, kind bits, state codes, cycles spent) and sums the
 * fleet's figures. Incremental (issue 12 item 10): a unit's figures depend only on its state,
 * its kind and the time, and its state changes a few times a day while the fleet is planned
 * every second, so a unit is worked out again only when it was written since the last pass
 * (UnitStates `stamp`) or when the time has reached the first moment one of its time
 * comparisons can turn (a minimum on/off time ending, a switch-on leaving the day's window, the
 * wear pace catching up). The sums are folded from per-unit parts in fleet order, as the single
 * pass added them, so every figure is the same to the last bit; the fold is skipped when no
 * part changed.
 */

/** KIND_* bits a plan keeps per unit (`kind`). */
export const KIND_API = 1;
export const KIND_INSTANT = 2;
export const KIND_UNAVAILABLE = 4;

/** What the first pass over the units sums (plan's figures of the fleet as it stands). */
export interface Scan {
  readonly current: number;
  readonly fixedKw: number;
  readonly maxStepKw: number;
  readonly fleetTopKw: number;
  readonly leadMs: number;
  readonly instantUnits: number;
  readonly pinnedUntilMs: number;
  /** The current state in the plan's own terms (nominal kW times the quantised measured scale). */
  readonly base: number;
  /** What the running units draw at their top mode (off ones at standby, unavailable at worst case). */
  readonly runningTopKw: number;
}

/** The plan's per-unit arrays the pass fills (policy-work.ts Work). `level` and `pinned` are the plan's to change afterwards. */
export interface ScanArrays {
  readonly scale: Float64Array;
  readonly level: Int16Array;
  readonly mustOn: Uint8Array;
  /** 1: off inside minOffS; 2: off inside wearPaceOffS (ahead of its wear pace). */
  readonly mustOff: Uint8Array;
  readonly pinned: Uint8Array;
  readonly skip: Uint8Array;
  readonly used: Int32Array;
  readonly kind: Uint8Array;
  readonly nowKw: Float64Array;
  readonly nowThs: Float64Array;
  readonly startCode: Int32Array;
  /** An off unit's paceReadyAtMs (when its next cycle is due under an even spend), NaN without a pace. */
  readonly ready: Float64Array;
  /**
   * The level at which a unit's target is unchanged with no hold to report (policy-targets.ts
   * buildTargets), NEVER_LEVEL for an unavailable or held unit; `quietRelaxed` when a cut
   * overrides minimum on-times. One array to read there instead of five.
   */
  readonly quiet: Int32Array;
  readonly quietRelaxed: Int32Array;
}

/** A fleet's worth of the arrays, zeroed (a plan's Work holds one set, reused from plan to plan). */
export function newScanArrays(n: number): ScanArrays {
  return {
    scale: new Float64Array(n),
    level: new Int16Array(n),
    mustOn: new Uint8Array(n),
    mustOff: new Uint8Array(n),
    pinned: new Uint8Array(n),
    skip: new Uint8Array(n),
    used: new Int32Array(n),
    kind: new Uint8Array(n),
    nowKw: new Float64Array(n),
    nowThs: new Float64Array(n),
    startCode: new Int32Array(n),
    ready: new Float64Array(n),
    quiet: new Int32Array(n),
    quietRelaxed: new Int32Array(n),
  };
}

/** A level no unit has (levels are Int16): an unavailable or held unit's `quiet`. */
const NEVER_LEVEL = -1 << 20;

/**
 * A time comparison `nowMs - fromMs < spanMs` that holds now holds until `fromMs + spanMs`; the
 * unit is worked out again a millisecond before (slack for the rounding of that sum; the
 * comparison itself is then made as before). Beyond 2^52 ms that slack would round away: then
 * every pass works it out again.
 */
function holdsUntilMs(fromMs: number, spanMs: number): number {
  const t = fromMs + spanMs;
  if (t === Infinity) return Infinity;
  return Math.abs(t) < 2 ** 52 ? t - 1 : -Infinity;
}

/**
 * The per-unit results of the last pass for one plan's working arrays, and what they were
 * worked out for. Kept with those arrays (policy-work.ts Work), which only this pass writes apart
 * from `level` and `pinned` (kept here and copied out each pass).
 */
export class UnitScan {
  /** The pass's own `level` and `pinned` (the plan changes its copies). */
  private readonly level: Int16Array;
  private readonly pinned: Uint8Array;
  /** Each unit's part of the sums (Scan), added in fleet order. */
  private readonly cCurrent: Float64Array;
  private readonly cFixed: Float64Array;
  private readonly cTop: Float64Array;
  private readonly cBase: Float64Array;
  private readonly cRunningTop: Float64Array;
  /** -Infinity where a unit takes no part in the maximum (or minimum: Infinity). */
  private readonly cStep: Float64Array;
  private readonly cLead: Float64Array;
  private readonly cPinnedUntil: Float64Array;
  /** A unit's results hold while nowMs is below this and its state is unwritten (stamp). */
  private readonly until: Float64Array;
  /** What the results were worked out for; `states` undefined: nothing (the next pass does every unit). */
  private states: UnitStates | undefined;
  private groups: UnitGroups | undefined;
  private version = -1;
  private nowMs = -Infinity;
  private minOnMs = NaN;
  private minOffMs = NaN;
  private pace: WearPace | undefined;
  /** The earliest `until`. */
  private minUntilMs = -Infinity;
  private sums: Scan | undefined;

  constructor(readonly n: number) {
    this.level = new Int16Array(n);
    this.pinned = new Uint8Array(n);
    this.cCurrent = new Float64Array(n);
    this.cFixed = new Float64Array(n);
    this.cTop = new Float64Array(n);
    this.cBase = new Float64Array(n);
    this.cRunningTop = new Float64Array(n);
    this.cStep = new Float64Array(n);
    this.cLead = new Float64Array(n);
    this.cPinnedUntil = new Float64Array(n);
    this.until = new Float64Array(n);
  }

  /**
   * The pass at `nowMs` into `out`. Only a fleet's own arrays (`st` is `groups.states`) are
   * stamped on every write; any other `st` (a hand-built unit list copied into scratch arrays)
   * is worked out whole every time, as is a pass whose settings or time went back.
   */
  run(units: readonly FleetUnit[], groups: UnitGroups | undefined, st: UnitStates, out: ScanArrays, nowMs: number, minOnMs: number, minOffMs: number, pace: WearPace): Scan {
    const stamped = groups !== undefined && st === groups.states;
    const valid =
      stamped &&
      this.states === st &&
      this.groups === groups &&
      this.sums !== undefined &&
      nowMs >= this.nowMs &&
      minOnMs === this.minOnMs &&
      minOffMs === this.minOffMs &&
      this.pace !== undefined &&
      pace.maxCycles === this.pace.maxCycles &&
      pace.paceMs === this.pace.paceMs &&
      pace.burst === this.pace.burst &&
      pace.offMs === this.pace.offMs;
    if (valid && st.version === this.version && nowMs < this.minUntilMs) {
      // Nothing written and no time comparison due: the last pass's results stand.
      this.nowMs = nowMs;
      out.level.set(this.level);
      out.pinned.set(this.pinned);
      return this.sums!;
    }
    const changed = this.work(units, groups, st, out, nowMs, minOnMs, minOffMs, pace, valid);
    this.states = stamped ? st : undefined;
    this.groups = groups;
    this.version = st.version;
    this.nowMs = nowMs;
    this.minOnMs = minOnMs;
    this.minOffMs = minOffMs;
    this.pace = pace;
    out.level.set(this.level);
    out.pinned.set(this.pinned);
    if (changed || !valid) this.sums = this.fold(out.kind);
    return this.sums!;
  }

  /**
   * Works out the units due (every one unless `valid`), as the single pass did; true when any
   * part of the sums changed. A function of its own so the optimiser compiles it alone: inside
   * the 600-line plan, a branch first taken late in a day threw away and recompiled the whole
   * plan (issue 12 item 10).
   */
  private work(
    units: readonly FleetUnit[],
    groups: UnitGroups | undefined,
    st: UnitStates,
    out: ScanArrays,
    nowMs: number,
    minOnMs: number,
    minOffMs: number,
    pace: WearPace,
    valid: boolean,
  ): boolean {
    const { scale, mustOn, mustOff, skip, used, kind, nowKw, nowThs, startCode, ready, quiet, quietRelaxed } = out;
    const { level, pinned, cCurrent, cFixed, cTop, cBase, cRunningTop, cStep, cLead, cPinnedUntil, until } = this;
    const n = units.length;
    const stamp = st.stamp;
    const since = this.version;
    let changed = false;
    let minUntilMs = Infinity;
    // The units' changing state from typed arrays, their fixed figures from their kind: no unit
    // object is read here (issue 12 item 10).
    const sOn = st.on;
    const sMode = st.mode;
    const sAvailable = st.available;
    const sMeasuredKw = st.measuredKw;
    // The fleet's own arrays: statesOf found every slot holding its unit, so a unit's kind is its
    // group's (no per-unit identity check); else each unit is its own kind.
    const gKind = st === groups?.states ? groups.kind : undefined;
    const gKinds = groups?.kinds;
    // The last kind's figures, read again only where the kind changes (runs of one model).
    let lastKind: UnitKind | FleetUnit | undefined;
    let modes: FleetUnit['modes'] = [];
    let top = 0;
    let topKw = 0;
    let rampUpS = 0;
    let standbyKw = 0;
    let api = false;
    let instant = false;
    let softoffDelayS = 0;
    for (let i = 0; i < n; i++) {
      if (valid && stamp[i]! <= since && nowMs < until[i]!) {
        if (until[i]! < minUntilMs) minUntilMs = until[i]!;
        continue;
      }
      const k = gKind !== undefined ? gKinds![gKind[i]!]! : units[i]!;
      if (k !== lastKind) {
        lastKind = k;
        if (k.modes !== modes) {
          modes = k.modes;
          top = topModeIndex(modes);
          topKw = modes[top]!.kw;
        }
        rampUpS = k.rampUpS;
        standbyKw = k.standbyKw;
        api = k.lever === 'api';
        instant = k.modeChange === 'instant';
        softoffDelayS = k.softoffDelayS;
      }
      // What the single pass left at its arrays' fill values.
      level[i] = -1;
      pinned[i] = 0;
      mustOn[i] = 0;
      mustOff[i] = 0;
      skip[i] = 0;
      used[i] = 0;
      nowThs[i] = 0;
      let cur: number;
      let fixed: number;
      let b: number;
      let runTop: number;
      let step = -Infinity;
      let lead = -Infinity;
      let pinUntil = Infinity;
      // Only the unit's own writes change what follows, apart from the time comparisons below.
      let u = Infinity;
      const on = sOn[i] === 1;
      const mode = sMode[i]!;
      // scaleOf and currentKw (policy-hull.ts, fleet-state.ts) on the arrays.
      const steady = steadyAt(st, i, rampUpS);
      let sc = 1;
      if (steady) {
        const s = sMeasuredKw[i]! / modes[mode]!.kw;
        sc = Math.round((s < 0.5 ? 0.5 : s > 2 ? 2 : s) * 200) / 200;
      }
      scale[i] = sc;
      if (sAvailable[i] !== 1) {
        // worstCaseKw: the top mode, or more if it was measured higher.
        const w = st.hasMeasured[i] === 1 && sMeasuredKw[i]! > topKw ? sMeasuredKw[i]! : topKw;
        cur = w;
        kind[i] = KIND_UNAVAILABLE;
        fixed = w;
        skip[i] = 1;
        b = w;
        runTop = w;
      } else {
        cur = !on ? standbyKw : steady ? sMeasuredKw[i]! : modes[mode]!.kw;
        fixed = standbyKw;
        kind[i] = (api ? KIND_API : 0) | (instant ? KIND_INSTANT : 0);
        startCode[i] = mode * 2 + (on ? 1 : 0);
        const sinceMs = st.sinceMs[i]!;
        // The highest-kW mode gives the biggest step (the product is monotone in kW).
        step = topKw * sc - standbyKw;
        // A softoff takes effect at a whole second at least softoffDelayS ahead.
        if (api) lead = softoffDelayS * 1000 + 1000;
        used[i] = st.cyclesUsed(i, nowMs);
        // The count (and the first switch-on) stands until its first switch-on leaves the day's window.
        u = holdsUntilMs(st.countedFirstMs(i), DAY_MS);
        if (on) {
          level[i] = mode;
          const kw = modes[mode]!.kw * sc;
          nowKw[i] = kw;
          nowThs[i] = modes[mode]!.ths;
          b = kw;
          // Top mode only where a mode step is a fast lever (instant); a unit whose boards restart
          // on a mode change counts at its mode: a step up costs it a whole ramp (policy doc).
          runTop = api && instant ? topKw * sc : kw;
          if (nowMs - sinceMs < minOnMs) {
            mustOn[i] = 1;
            u = Math.min(u, holdsUntilMs(sinceMs, minOnMs));
          }
          const changedAtMs = st.changedAtMs[i]!;
          if (!instant && nowMs - changedAtMs < minOnMs) {
            pinned[i] = 1;
            pinUntil = changedAtMs + minOnMs;
            u = Math.min(u, holdsUntilMs(changedAtMs, minOnMs));
          }
        } else {
          nowKw[i] = standbyKw;
          b = standbyKw;
          runTop = standbyKw;
          // Ahead of the even spend of its wear budget, the unit's off floor is wearPaceOffS (its
          // first switch-on of the day from the count cyclesUsed just made valid).
          // Kept for the wear holds, which read the same figure (NaN where there is no pace).
          const readyMs = (ready[i] = paceReadyFor(pace, used[i]!, st.firstOnMsCounted(i)));
          const offMs = offFloorMs(pace, minOffMs, used[i]!, readyMs, nowMs);
          // The pace's floor (offFloorMs) applies only until the pace catches up with the unit.
          if (offMs !== minOffMs) u = Math.min(u, readyMs);
          // 2: held by the pace's floor, not minOffS (the targets pass words it and revisits at its end).
          if (nowMs - sinceMs < offMs) {
            mustOff[i] = offMs === minOffMs ? 1 : 2;
            skip[i] = 1;
            u = Math.min(u, holdsUntilMs(sinceMs, offMs));
          }
        }
      }
      if (kind[i] === KIND_UNAVAILABLE || mustOff[i]) quiet[i] = quietRelaxed[i] = NEVER_LEVEL;
      else {
        quietRelaxed[i] = startCode[i]! & 1 ? startCode[i]! >> 1 : -1;
        quiet[i] = mustOn[i] ? NEVER_LEVEL : quietRelaxed[i]!;
      }
      until[i] = u;
      if (u < minUntilMs) minUntilMs = u;
      // A part's sign of zero changes no sum or maximum (each starts at +0), but can the minimum.
      if (
        cur !== cCurrent[i] ||
        fixed !== cFixed[i] ||
        topKw !== cTop[i] ||
        b !== cBase[i] ||
        runTop !== cRunningTop[i] ||
        step !== cStep[i] ||
        lead !== cLead[i] ||
        !Object.is(pinUntil, cPinnedUntil[i])
      )
        changed = true;
      cCurrent[i] = cur;
      cFixed[i] = fixed;
      cTop[i] = topKw;
      cBase[i] = b;
      cRunningTop[i] = runTop;
      cStep[i] = step;
      cLead[i] = lead;
      cPinnedUntil[i] = pinUntil;
    }
    this.minUntilMs = minUntilMs;
    return changed;
  }

  /**
   * The sums from the units' parts, in fleet order as the single pass added them (the same
   * floating-point sums to the last bit); the maxima and the minimum take no order.
   */
  private fold(kind: Uint8Array): Scan {
    const { cCurrent, cFixed, cTop, cBase, cRunningTop, cStep, cLead, cPinnedUntil } = this;
    let current = 0;
    let fixedKw = 0;
    let maxStepKw = 0;
    let fleetTopKw = 0;
    let leadMs = 0;
    let instantUnits = 0;
    let pinnedUntilMs = Infinity;
    let base = 0;
    let runningTopKw = 0;
    for (let i = 0; i < this.n; i++) {
      current += cCurrent[i]!;
      fixedKw += cFixed[i]!;
      fleetTopKw += cTop[i]!;
      base += cBase[i]!;
      runningTopKw += cRunningTop[i]!;
      // Math.max / Math.min only where they can move the figure (a NaN, a larger part, or a zero
      // whose sign counts): most parts are -Infinity or Infinity, and the calls were most of this loop.
      const step = cStep[i]!;
      if (!(step <= maxStepKw) || (step === 0 && maxStepKw === 0)) maxStepKw = Math.max(maxStepKw, step);
      const lead = cLead[i]!;
      if (!(lead <= leadMs) || (lead === 0 && leadMs === 0)) leadMs = Math.max(leadMs, lead);
      const pin = cPinnedUntil[i]!;
      if (!(pin >= pinnedUntilMs) || (pin === 0 && pinnedUntilMs === 0)) pinnedUntilMs = Math.min(pinnedUntilMs, pin);
      instantUnits += kind[i] === (KIND_API | KIND_INSTANT) ? 1 : 0;
    }
    return { current, fixedKw, maxStepKw, fleetTopKw, leadMs, instantUnits, pinnedUntilMs, base, runningTopKw };
  }
}
