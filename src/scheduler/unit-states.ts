/** A day, ms: the wear budget's window (policy-wear.ts). */
export const DAY_MS = 86_400_000;

/**
 * The changing state of a fleet's units, one typed array per field (issue 12
 * item 10). The unit objects createFleetState builds keep their `on`, `mode`,
 * times, availability, measured draw and switch-ons here behind accessors, so
 * every write (the loop, the status poller, the state store, a test) lands
 * here and the plan reads 5,000 units from a few contiguous arrays instead of
 * 5,000 scattered objects (at ~54,000 plans a day, those reads were most of
 * a 1-second day's simulation). Optional fields keep a presence flag beside
 * the value, so any number a writer stores (NaN too) reads back as written.
 */
export class UnitStates {
  readonly on: Uint8Array;
  readonly mode: Int32Array;
  readonly sinceMs: Float64Array;
  readonly changedAtMs: Float64Array;
  readonly rampFromMs: Float64Array;
  readonly hasRampFrom: Uint8Array;
  readonly available: Uint8Array;
  readonly measuredKw: Float64Array;
  readonly hasMeasured: Uint8Array;
  readonly measuredAtMs: Float64Array;
  /**
   * Each unit's switch-ons in the last day, ascending, frozen: replaced, never changed in
   * place (recordOn builds a new list), so the counts below are dropped exactly when it changes.
   */
  readonly ons: (readonly number[] | undefined)[];
  /**
   * Per unit, the switch-ons counted (cyclesUsed), valid while the window's start
   * `nowMs - DAY_MS` is at least `usedLo` and below `usedHi` (the entries either side of it;
   * `usedHi` is so the first switch-on counted, when one is): the count moves only when an
   * entry leaves the window, at most once per switch-on a day, where the plan asks it of every
   * unit per plan.
   */
  private readonly usedCount: Int32Array;
  /**
   * Per unit, `version` at its last write (StoredUnit's accessors in fleet-state.ts, setOns):
   * the plan's first pass works out again only the units written since its last (policy-scan.ts).
   * Whoever stores into the arrays above directly must call touch(i) as well.
   */
  readonly stamp: Float64Array;
  /** Counts the writes (touch). */
  version = 0;
  private readonly usedLo: Float64Array;
  private readonly usedHi: Float64Array;

  constructor(readonly n: number) {
    this.on = new Uint8Array(n);
    this.mode = new Int32Array(n);
    this.sinceMs = new Float64Array(n).fill(-Infinity);
    this.changedAtMs = new Float64Array(n).fill(-Infinity);
    this.rampFromMs = new Float64Array(n);
    this.hasRampFrom = new Uint8Array(n);
    this.available = new Uint8Array(n).fill(1);
    this.measuredKw = new Float64Array(n);
    this.hasMeasured = new Uint8Array(n);
    this.measuredAtMs = new Float64Array(n).fill(-Infinity);
    this.ons = new Array<readonly number[] | undefined>(n).fill(undefined);
    this.usedCount = new Int32Array(n);
    this.usedLo = new Float64Array(n).fill(Infinity);
    this.usedHi = new Float64Array(n).fill(-Infinity);
    this.stamp = new Float64Array(n);
  }

  /** Marks unit `i` written (stamp). */
  touch(i: number): void {
    this.stamp[i] = ++this.version;
  }

  /** Replaces unit `i`'s switch-ons (a frozen copy is kept: a write in place would throw, not go unseen). */
  setOns(i: number, ons: readonly number[] | undefined): void {
    this.ons[i] = ons === undefined ? undefined : Object.freeze(ons.slice());
    this.usedLo[i] = Infinity;
    this.usedHi[i] = -Infinity;
    this.touch(i);
  }

  /** Unit `i`'s switch-ons in the 24 h up to `nowMs` (policy-wear.ts `cyclesUsed`). */
  cyclesUsed(i: number, nowMs: number): number {
    const cutoff = nowMs - DAY_MS;
    if (!(this.usedLo[i]! <= cutoff && this.usedHi[i]! > cutoff)) this.count(i, cutoff);
    return this.usedCount[i]!;
  }

  /**
   * firstOnMs(i, nowMs) right after cyclesUsed(i, nowMs) (which left the count valid for `nowMs`):
   * countedFirstMs as firstOnMs words it (NaN when no switch-on is counted).
   */
  firstOnMsCounted(i: number): number {
    return this.usedCount[i]! > 0 ? this.usedHi[i]! : NaN;
  }

  /**
   * Right after cyclesUsed(i, nowMs): the first switch-on counted (Infinity when none), so the
   * count stands for every later time at which `time - DAY_MS` is still below it.
   */
  countedFirstMs(i: number): number {
    return this.usedHi[i]!;
  }

  /** The first of unit `i`'s switch-ons in the 24 h up to `nowMs`, NaN when none (policy-wear.ts `firstOnMs`). */
  firstOnMs(i: number, nowMs: number): number {
    const cutoff = nowMs - DAY_MS;
    if (!(this.usedLo[i]! <= cutoff && this.usedHi[i]! > cutoff)) this.count(i, cutoff);
    return this.firstOnMsCounted(i);
  }

  /**
   * Counts unit `i`'s window from `cutoff` as policy-wear.ts did (the stale head walked) and
   * keeps the entries either side of it: the largest before it (the list is ascending, but a
   * hand-written one may not be) and the first in it.
   */
  private count(i: number, cutoff: number): void {
    const ons = this.ons[i];
    const len = ons === undefined ? 0 : ons.length;
    let k = 0;
    let lo = -Infinity;
    while (k < len && ons![k]! <= cutoff) {
      if (ons![k]! > lo) lo = ons![k]!;
      k++;
    }
    this.usedCount[i] = len - k;
    this.usedLo[i] = lo;
    this.usedHi[i] = k < len ? ons![k]! : Infinity;
  }
}

/**
 * fleet-state.ts `measuredIsSteady` of slot `i`, for a unit whose model ramps for `rampUpS`:
 * on, and its wall-power reading taken after its ramp.
 */
export function steadyAt(s: UnitStates, i: number, rampUpS: number): boolean {
  return s.on[i] === 1 && s.hasMeasured[i] === 1 && s.measuredAtMs[i]! >= Math.max(s.changedAtMs[i]!, s.hasRampFrom[i] === 1 ? s.rampFromMs[i]! : -Infinity) + rampUpS * 1000;
}
