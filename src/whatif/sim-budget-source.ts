import type { ManualClock, TimerHandle } from '../clock.js';
import { BaseBudgetSource } from '../power/budget-source.js';
import { traceValueAt, type Interpolation, type TracePoint } from '../power/trace-parse.js';

/**
 * A trace delivered as a budget source on simulated time (`surplus
 * simulate`): one reading per row, stamped at the row's time, as a meter or
 * an EMS would send them; with `linear` interpolation (config
 * `budget.interpolation`) also one a second between rows while the value
 * moves, as the schedule source publishes them. The live loop receives them
 * through the same `BudgetSource` interface as any other source.
 */
export interface TraceBudgetSourceOptions {
  points: readonly TracePoint[];
  /** Simulated time of the first point. */
  startMs: number;
  ttlMs: number;
  interpolation: Interpolation;
  /** Between rows, with `linear`: at most one reading per this many ms (default 1000, the schedule source's poll). */
  pollMs?: number;
  /**
   * `simulate --look-ahead S`: each reading carries the trace's own lowest value over the next
   * this many ms (BudgetReading.lowAhead), a perfect nowcast; 0 or absent: none. A reading is
   * also sent when a lower row comes within reach, so the look-ahead is exact at any time.
   */
  lookAheadMs?: number;
  /**
   * `--look-ahead-error P`: the look-ahead errs like a real nowcast, its value times
   * (1 + P/100 · z) with z a standard normal drawn per minute, seeded by the minute (the same run
   * gives the same figures), kept within 0 and the reading. 0 or absent: perfect.
   */
  lookAheadErrorPct?: number;
}

export class TraceBudgetSource extends BaseBudgetSource {
  readonly name = 'trace';
  private next = 0;
  private handle: TimerHandle | undefined;
  private lastKw: number | undefined;
  private lastLowKw: number | undefined;
  /** The first row that has not come within the look-ahead yet. */
  private reach = 0;

  constructor(
    private readonly opts: TraceBudgetSourceOptions,
    clock: ManualClock,
  ) {
    super(clock);
  }

  /** Budget offered at simulated time `t`, kW (0 before the first point). */
  valueAt(t: number): number {
    const pts = this.opts.points;
    return traceValueAt(pts, pts[0]!.tMs + (t - this.opts.startMs), this.opts.interpolation) ?? 0;
  }

  protected async onStart(): Promise<void> {
    this.next = 0;
    this.reach = 0;
    this.fire();
  }

  protected async onStop(): Promise<void> {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  /**
   * The trace's lowest value from now (where it reads `nowKw`) to `toMs`: at both ends and at every
   * row between (the trace is a step or a straight line between rows, so its lowest is at one of them).
   */
  private lowest(nowKw: number, toMs: number): number {
    let low = Math.min(nowKw, this.valueAt(toMs));
    for (let i = this.next; i < this.opts.points.length && this.rowAt(i) <= toMs; i++) low = Math.min(low, this.valueAt(this.rowAt(i)));
    return low;
  }

  /** `low` with the nowcast's error (TraceBudgetSourceOptions lookAheadErrorPct), within 0..kw. */
  private erred(low: number, kw: number, nowMs: number): number {
    const pct = this.opts.lookAheadErrorPct ?? 0;
    if (!(pct > 0)) return low;
    return Math.max(0, Math.min(kw, low * (1 + (pct / 100) * normalFor(Math.floor(nowMs / 60_000)))));
  }

  private rowAt(i: number): number {
    const pts = this.opts.points;
    return this.opts.startMs + (pts[i]!.tMs - pts[0]!.tMs);
  }

  private fire(): void {
    this.handle = undefined;
    if (!this.running) return;
    const now = this.clock.now();
    const pts = this.opts.points;
    // Rows due now are published whatever their value (a meter refreshes its reading).
    let row = false;
    while (this.next < pts.length && this.rowAt(this.next) <= now) {
      this.next++;
      row = true;
    }
    const kw = this.valueAt(now);
    const aheadMs = this.opts.lookAheadMs ?? 0;
    const low = aheadMs > 0 ? this.erred(this.lowest(kw, now + aheadMs), kw, now) : kw;
    if (row || kw !== this.lastKw || low !== this.lastLowKw) {
      this.lastKw = kw;
      this.lastLowKw = low;
      this.publish(kw, this.opts.ttlMs, aheadMs > 0 ? { kw: low, forS: aheadMs / 1000 } : undefined);
    }
    let at = this.next < pts.length ? this.rowAt(this.next) : Infinity;
    if (aheadMs > 0) {
      while (this.reach < pts.length && this.rowAt(this.reach) - aheadMs <= now) this.reach++;
      if (this.reach < pts.length) at = Math.min(at, this.rowAt(this.reach) - aheadMs);
    }
    if (this.opts.interpolation === 'linear' && this.next > 0 && this.next < pts.length) at = Math.min(at, now + (this.opts.pollMs ?? 1000));
    if (Number.isFinite(at)) this.handle = this.clock.setTimeout(() => this.fire(), at - now);
  }
}

/** A standard normal drawn from the integer `k` alone (Box-Muller on two hashed uniforms): reproducible without state. */
function normalFor(k: number): number {
  const u1 = (hash32(k * 2 + 1) + 0.5) / 4_294_967_296;
  const u2 = (hash32(k * 2 + 2) + 0.5) / 4_294_967_296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** A 32-bit integer hash (the finaliser of MurmurHash3), as an unsigned number. */
function hash32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
