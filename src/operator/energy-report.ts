import { InputError } from '../errors.js';

/**
 * Energy report: how much of the offered surplus the site absorbed, per
 * interval (hourly by default). A pure accumulator: samples in, rows out; no
 * clock, no timers.
 *
 * Integration. Between two consecutive samples the budget b(t) and the drawn
 * power p(t) are either
 *  - `trapezoid` (default): linear between the two samples, which is the
 *    right reading for a meter sampled periodically, or
 *  - `step`: held at the first sample's value until the next sample (zero-order
 *    hold), which is exact for a budget that changes only by setpoints.
 * Each segment is split at interval boundaries (values interpolated at the
 * boundary in trapezoid mode), so an interval receives exactly its part.
 * Within a piece both functions are linear, so the integrals are exact:
 *   offered  = ∫ b dt                      drawn = ∫ p dt
 *   absorbed = ∫ min(p, b) dt              (surplus actually used)
 *   excess   = drawn - absorbed = ∫ max(p - b, 0) dt  (drawn beyond the budget)
 *   overBudgetS = time where p - b > toleranceKw
 * Two samples further apart than `maxGapMs` are not integrated (the sampler
 * stalled or the process slept): that time is missing, not guessed, and shows
 * as `coveredS` below the interval length.
 *
 * `diffShares` is the difficulty-weighted count of shares accepted since the
 * previous sample (an increment), credited to the interval holding `atMs`.
 */
export interface EnergySample {
  atMs: number;
  budgetKw: number;
  /**
   * No budget is configured (a proxy-only site): the draw and shares are booked, nothing is
   * offered and nothing is above a budget (`budgetKw` is ignored). Without it, a site with no
   * budget read as a 0 kW budget, and every second of drawing counted as over budget.
   */
  noBudget?: boolean;
  drawnKw: number;
  diffShares: number;
}

export interface EnergyInterval {
  startMs: number;
  endMs: number;
  offeredKwh: number;
  drawnKwh: number;
  absorbedKwh: number;
  /** absorbed / offered; null when nothing was offered. */
  absorbedFraction: number | null;
  excessKwh: number;
  overBudgetS: number;
  /**
   * Drawn above budget later than the response deadline (issue 12 item 7): the draw was
   * above every budget of the last `responseMs`, so the scheduler had that long to react.
   * Sample-and-hold between samples. Should stay 0 on a healthy site.
   */
  afterDeadlineAboveKwh: number;
  afterDeadlineAboveS: number;
  /** Time the draw was above the budget by more than one unit's draw (`unitKw`), s. */
  aboveByMoreThanUnitS: number;
  /**
   * Offered and absorbed energy above the standby floor (`floorKw`, the all-off draw that no
   * scheduler avoids), kWh: their ratio is the share the scheduler itself earned.
   */
  offeredAboveFloorKwh: number;
  absorbedAboveFloorKwh: number;
  /** Seconds of this interval covered by integrated samples. */
  coveredS: number;
  diffShares: number;
}

/** The additive fields of an interval: summed over intervals for the totals. */
const SUMMED = [
  'offeredKwh', 'drawnKwh', 'absorbedKwh', 'excessKwh', 'overBudgetS', 'afterDeadlineAboveKwh', 'afterDeadlineAboveS',
  'aboveByMoreThanUnitS', 'offeredAboveFloorKwh', 'absorbedAboveFloorKwh', 'coveredS', 'diffShares',
] as const;
type Sums = Record<(typeof SUMMED)[number], number>;

function zeroSums(): Sums {
  return Object.fromEntries(SUMMED.map((k) => [k, 0])) as Sums;
}

export interface EnergyReportOptions {
  /** Interval length, milliseconds (default one hour). Intervals are aligned to multiples of it since the epoch. */
  intervalMs?: number;
  integration?: 'trapezoid' | 'step';
  /** Samples further apart than this are not integrated (default 5 minutes). */
  maxGapMs?: number;
  /** Draw above budget by more than this counts as over budget (default 0 kW). */
  toleranceKw?: number;
  /** Intervals kept; older ones are dropped (default 168, a week of hours). */
  maxIntervals?: number;
  /** The response deadline (cut deadline + device lead), ms: overshoot later than this is booked apart (default 17 s). */
  responseMs?: number;
  /** The fleet's all-off (standby) draw, kW (default 0). */
  floorKw?: number;
  /** One unit's draw, kW: overshoot beyond it is counted apart (default Infinity: never). */
  unitKw?: number;
}

const MS_PER_HOUR = 3_600_000;

interface Point {
  t: number;
  b: number;
  p: number;
  /** No budget at this sample. */
  nb?: boolean;
}

function checkSample(s: EnergySample): void {
  const fields: Array<[keyof EnergySample, number]> = [
    ['atMs', s.atMs],
    ['budgetKw', s.budgetKw],
    ['drawnKw', s.drawnKw],
    ['diffShares', s.diffShares],
  ];
  for (const [name, v] of fields) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`energy sample ${name} must be a finite number, got ${String(v)}`);
    if (name !== 'atMs' && v < 0) throw new InputError(`energy sample ${name} must be >= 0, got ${v}`);
  }
}

function positiveOption(name: string, v: number | undefined, dflt: number, allowZero = false): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new InputError(`energy report option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${v}`);
  }
  return v;
}

export class EnergyReport {
  readonly intervalMs: number;
  readonly integration: 'trapezoid' | 'step';
  private readonly maxGapMs: number;
  private readonly toleranceKw: number;
  private readonly maxIntervals: number;
  private readonly buckets = new Map<number, EnergyInterval>();
  private last: Point | null = null;
  private readonly responseMs: number;
  private readonly floorKw: number;
  private readonly unitKw: number;
  private firstMs: number | undefined;
  /** Draw above every budget of the last `responseMs` at the previous sample, kW (0 when not late). */
  private lateKw = 0;
  /** Largest such overshoot since start, kW. */
  maxAfterDeadlineKw = 0;
  /** Monotonic deque of (time, budget): its head is the largest budget of the last `responseMs`. */
  private readonly winT: number[] = [];
  private readonly winB: number[] = [];
  /** Samples ignored because they were not later than the previous one. */
  outOfOrder = 0;
  /** Gaps longer than maxGapMs that were left unintegrated. */
  gaps = 0;

  constructor(options: EnergyReportOptions = {}) {
    this.intervalMs = positiveOption('intervalMs', options.intervalMs, MS_PER_HOUR);
    this.maxGapMs = positiveOption('maxGapMs', options.maxGapMs, 5 * 60_000);
    this.toleranceKw = positiveOption('toleranceKw', options.toleranceKw, 0, true);
    this.maxIntervals = Math.floor(positiveOption('maxIntervals', options.maxIntervals, 168));
    this.responseMs = positiveOption('responseMs', options.responseMs, 17_000);
    this.floorKw = positiveOption('floorKw', options.floorKw, 0, true);
    this.unitKw = options.unitKw === undefined ? Infinity : positiveOption('unitKw', options.unitKw, Infinity);
    const integration = options.integration ?? 'trapezoid';
    if (integration !== 'trapezoid' && integration !== 'step') {
      throw new InputError(`energy report option integration must be "trapezoid" or "step", got "${String(integration)}"`);
    }
    this.integration = integration;
  }

  /**
   * Adds a sample. Returns false (and counts it) when `atMs` is not after the
   * previous sample's, e.g. the wall clock stepped back; throws InputError on
   * non-finite or negative values.
   */
  add(sample: EnergySample): boolean {
    checkSample(sample);
    const cur: Point = { t: sample.atMs, b: sample.budgetKw, p: sample.drawnKw, ...(sample.noBudget ? { nb: true } : {}) };
    const prev = this.last;
    if (prev && cur.t <= prev.t) {
      this.outOfOrder += 1;
      return false;
    }
    if (prev) {
      if (cur.t - prev.t > this.maxGapMs) this.gaps += 1;
      else {
        this.integrate(prev, cur);
        if (prev.nb) {
          this.last = cur;
          this.lateKw = 0;
          this.bucket(cur.t).diffShares += sample.diffShares;
          return true;
        }
        // Sample-and-hold from the earlier sample, like the late overshoot below.
        const held = this.bucket(prev.t);
        const dtH = (cur.t - prev.t) / MS_PER_HOUR;
        const room = Math.max(0, prev.b - this.floorKw);
        held.offeredAboveFloorKwh += room * dtH;
        held.absorbedAboveFloorKwh += Math.min(Math.max(0, prev.p - this.floorKw), room) * dtH;
        if (prev.p - prev.b > this.unitKw) held.aboveByMoreThanUnitS += (cur.t - prev.t) / 1000;
        if (this.lateKw > 0) {
          const row = this.bucket(prev.t);
          row.afterDeadlineAboveKwh += (this.lateKw * (cur.t - prev.t)) / MS_PER_HOUR;
          row.afterDeadlineAboveS += (cur.t - prev.t) / 1000;
        }
      }
    }
    this.lateKw = cur.nb ? 0 : this.late(cur);
    this.maxAfterDeadlineKw = Math.max(this.maxAfterDeadlineKw, this.lateKw);
    this.bucket(cur.t).diffShares += sample.diffShares;
    this.last = cur;
    return true;
  }

  private late(cur: Point): number {
    this.firstMs ??= cur.t;
    const T = this.winT;
    const B = this.winB;
    while (B.length > 0 && B[B.length - 1]! <= cur.b) {
      T.pop();
      B.pop();
    }
    T.push(cur.t);
    B.push(cur.b);
    // Bounded: at most one entry per sample of the window.
    while (T.length > 1 && T[0]! < cur.t - this.responseMs) {
      T.shift();
      B.shift();
    }
    if (cur.t - this.firstMs <= this.responseMs) return 0;
    const over = cur.p - B[0]! - this.toleranceKw;
    return over > 1e-9 ? over : 0;
  }

  /** Intervals oldest first (copies). */
  intervals(): EnergyInterval[] {
    return [...this.buckets.values()].sort((a, b) => a.startMs - b.startMs).map((r) => ({ ...r, absorbedFraction: fraction(r) }));
  }

  /** Sums over the retained intervals. */
  totals(): Omit<EnergyInterval, 'startMs' | 'endMs'> & {
    startMs: number | null;
    endMs: number | null;
    aboveBudgetPctOfOffered: number | null;
    afterDeadlineMaxKw: number;
    absorbedAboveFloorPct: number | null;
  } {
    const rows = this.intervals();
    const t = zeroSums();
    for (const r of rows) for (const k of SUMMED) t[k] += r[k];
    return {
      ...t,
      absorbedFraction: t.offeredKwh > 0 ? t.absorbedKwh / t.offeredKwh : null,
      aboveBudgetPctOfOffered: t.offeredKwh > 0 ? (t.excessKwh / t.offeredKwh) * 100 : null,
      afterDeadlineMaxKw: this.maxAfterDeadlineKw,
      absorbedAboveFloorPct: t.offeredAboveFloorKwh > 0 ? (t.absorbedAboveFloorKwh / t.offeredAboveFloorKwh) * 100 : null,
      startMs: rows[0]?.startMs ?? null,
      endMs: rows.at(-1)?.endMs ?? null,
    };
  }

  private bucket(t: number): EnergyInterval {
    const start = Math.floor(t / this.intervalMs) * this.intervalMs;
    let row = this.buckets.get(start);
    if (!row) {
      row = {
        startMs: start,
        endMs: start + this.intervalMs,
        ...zeroSums(),
        absorbedFraction: null,
      };
      this.buckets.set(start, row);
      if (this.buckets.size > this.maxIntervals) {
        const oldest = Math.min(...this.buckets.keys());
        this.buckets.delete(oldest);
      }
    }
    return row;
  }

  /** Integrates the segment prev -> cur, split at interval boundaries. */
  private integrate(prev: Point, cur: Point): void {
    // A piece belongs to its earlier sample: with no budget there, none of it has one.
    const nb = prev.nb ? { nb: true } : {};
    const at = (t: number): Point => {
      if (this.integration === 'step') return { t, b: prev.b, p: prev.p, ...nb };
      const x = (t - prev.t) / (cur.t - prev.t);
      return { t, b: prev.b + (cur.b - prev.b) * x, p: prev.p + (cur.p - prev.p) * x, ...nb };
    };
    let from = prev;
    while (from.t < cur.t) {
      const boundary = (Math.floor(from.t / this.intervalMs) + 1) * this.intervalMs;
      const to = boundary < cur.t ? at(boundary) : this.integration === 'step' || prev.nb ? at(cur.t) : cur;
      this.addPiece(this.bucket(from.t), from, to);
      from = to.t === cur.t ? cur : to;
    }
  }

  private addPiece(row: EnergyInterval, a: Point, c: Point): void {
    const dtS = (c.t - a.t) / 1000;
    const dtH = dtS / 3600;
    if (a.nb) {
      row.drawnKwh += ((a.p + c.p) / 2) * dtH;
      row.coveredS += dtS;
      return;
    }
    const offered = ((a.b + c.b) / 2) * dtH;
    const drawn = ((a.p + c.p) / 2) * dtH;
    // min(p, b) = b + min(p - b, 0); d = p - b is linear over the piece.
    const absorbed = offered + integralOfNegativePart(a.p - a.b, c.p - c.b) * dtH;
    row.offeredKwh += offered;
    row.drawnKwh += drawn;
    row.absorbedKwh += absorbed;
    row.excessKwh += drawn - absorbed;
    row.overBudgetS += fractionAbove(a.p - a.b - this.toleranceKw, c.p - c.b - this.toleranceKw) * dtS;
    row.coveredS += dtS;
  }
}

function fraction(r: EnergyInterval): number | null {
  return r.offeredKwh > 0 ? r.absorbedKwh / r.offeredKwh : null;
}

/** ∫₀¹ min(d(x), 0) dx for d linear from d0 to d1. */
export function integralOfNegativePart(d0: number, d1: number): number {
  if (d0 >= 0 && d1 >= 0) return 0;
  if (d0 <= 0 && d1 <= 0) return (d0 + d1) / 2;
  const x = d0 / (d0 - d1); // where d crosses zero
  return d0 < 0 ? (d0 * x) / 2 : (d1 * (1 - x)) / 2;
}

/** Fraction of [0, 1] where e(x) > 0, for e linear from e0 to e1. */
export function fractionAbove(e0: number, e1: number): number {
  if (e0 > 0 && e1 > 0) return 1;
  if (e0 <= 0 && e1 <= 0) return 0;
  const x = e0 / (e0 - e1);
  return e0 > 0 ? x : 1 - x;
}

const CSV_COLUMNS = [
  'start',
  'end',
  'offered_kwh',
  'drawn_kwh',
  'absorbed_kwh',
  'absorbed_fraction',
  'excess_kwh',
  'over_budget_s',
  'covered_s',
  'diff_shares',
] as const;

function num(v: number | null, digits: number): string {
  if (v === null) return '';
  return String(Number(v.toFixed(digits)));
}

/** RFC 4180 CSV, one row per interval, ISO-8601 UTC times. */
export function energyReportCsv(rows: readonly EnergyInterval[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      [
        new Date(r.startMs).toISOString(),
        new Date(r.endMs).toISOString(),
        num(r.offeredKwh, 6),
        num(r.drawnKwh, 6),
        num(r.absorbedKwh, 6),
        num(r.absorbedFraction, 6),
        num(r.excessKwh, 6),
        num(r.overBudgetS, 3),
        num(r.coveredS, 3),
        num(r.diffShares, 3),
      ].join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}
