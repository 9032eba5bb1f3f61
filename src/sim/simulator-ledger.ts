/**
 * The simulator's books: energy offered, drawn, drawn within and above the
 * budget, hash delivered, time above budget and the overshoots, per hour and
 * for the whole run. Fed one sample per grid step; pure (values in, values out).
 *
 * Energy is integrated by left Riemann sums: over [prevT, t) the draw and the
 * budget are what they were at prevT. Budget below the standby floor (every
 * unit off) cannot be met: that part is booked apart, and the rest is
 * measured against max(budget, floor).
 */

export interface PeriodStats {
  offeredKwh: number;
  drawnKwh: number;
  /** Energy drawn within the budget, as a share of the energy offered. */
  absorbedPct: number;
  aboveBudgetKwh: number;
  timeAbovePct: number;
  maxOvershootKw: number;
  hashPhH: number;
  /** On -> off transitions in the period, all units. */
  cycles: number;
  modeChanges: number;
}

class Period {
  offered = 0;
  drawn = 0;
  /** Drawn energy within the budget (the surplus actually used), kWh. */
  within = 0;
  above = 0;
  aboveS = 0;
  totalS = 0;
  maxOver = 0;
  hash = 0;
  cycles = 0;
  modeChanges = 0;
  stats(): PeriodStats {
    return {
      offeredKwh: this.offered,
      drawnKwh: this.drawn,
      absorbedPct: this.offered > 0 ? (this.within / this.offered) * 100 : 0,
      aboveBudgetKwh: this.above,
      timeAbovePct: this.totalS > 0 ? (this.aboveS / this.totalS) * 100 : 0,
      maxOvershootKw: this.maxOver,
      hashPhH: this.hash,
      cycles: this.cycles,
      modeChanges: this.modeChanges,
    };
  }
}

const OVER_EPS = 1e-6;

export interface LedgerOptions {
  startMs: number;
  spanMs: number;
  stepMs: number;
  /** Draw with every unit off, kW. */
  floorKw: number;
  /** An overshoot later than this after the last budget drop counts as late (cut deadline + device delay + a step), ms. */
  graceMs: number;
}

export interface LedgerTotals extends PeriodStats {
  standbyAboveBudgetKwh: number;
  overshootAfterDeadlineKw: number;
  longestAboveS: number;
  perHour: Array<PeriodStats & { hour: number }>;
}

export class EnergyLedger {
  private readonly perHour: Period[] = [];
  private readonly all = new Period();
  private readonly hours: number;
  private lastDropMs = -Infinity;
  private standbyAbove = 0;
  private lateOver = 0;
  private stretch = 0;
  private longest = 0;
  private prev: { t: number; kw: number; ths: number; budget: number } | undefined;

  constructor(private readonly opts: LedgerOptions) {
    this.hours = Math.ceil(opts.spanMs / 3_600_000);
  }

  /** The budget dropped at `atMs`: overshoots right after it are the cut's, not late ones. */
  budgetDropped(atMs: number): void {
    this.lastDropMs = atMs;
  }

  cycle(atMs: number): void {
    this.period(atMs).cycles++;
    this.all.cycles++;
  }

  modeChange(atMs: number): void {
    this.period(atMs).modeChanges++;
    this.all.modeChanges++;
  }

  /** The state at grid time `t` (steps of `stepMs` from `startMs`): the fleet's draw and hashrate, the budget. */
  sample(t: number, budgetKw: number, drawnKw: number, ths: number): void {
    const { startMs, stepMs, floorKw } = this.opts;
    const prev = this.prev;
    if (prev && t > startMs) {
      const dtH = (t - prev.t) / 3_600_000;
      const p = this.period(prev.t);
      const eb = Math.max(prev.budget, floorKw);
      this.standbyAbove += Math.max(0, floorKw - prev.budget) * dtH;
      for (const q of [p, this.all]) {
        q.offered += prev.budget * dtH;
        q.drawn += prev.kw * dtH;
        q.within += Math.min(prev.kw, prev.budget) * dtH;
        q.above += Math.max(0, prev.kw - eb) * dtH;
        q.hash += (prev.ths / 1000) * dtH;
        q.totalS += (t - prev.t) / 1000;
      }
    }
    const over = drawnKw - Math.max(budgetKw, floorKw);
    if (over > OVER_EPS && t - this.lastDropMs > this.opts.graceMs) this.lateOver = Math.max(this.lateOver, over);
    const p = this.period(t);
    if (over > OVER_EPS && t < startMs + this.opts.spanMs) {
      this.stretch += stepMs / 1000;
      this.longest = Math.max(this.longest, this.stretch);
      p.aboveS += stepMs / 1000;
      this.all.aboveS += stepMs / 1000;
      p.maxOver = Math.max(p.maxOver, over);
      this.all.maxOver = Math.max(this.all.maxOver, over);
    } else this.stretch = 0;
    this.prev = { t, kw: drawnKw, ths, budget: budgetKw };
  }

  totals(): LedgerTotals {
    return {
      ...this.all.stats(),
      standbyAboveBudgetKwh: this.standbyAbove,
      overshootAfterDeadlineKw: this.lateOver,
      longestAboveS: this.longest,
      perHour: Array.from({ length: this.hours }, (_, h) => ({ hour: h, ...(this.perHour[h] ?? new Period()).stats() })),
    };
  }

  private period(t: number): Period {
    const h = Math.min(Math.floor((t - this.opts.startMs) / 3_600_000), this.hours - 1);
    return (this.perHour[h] ??= new Period());
  }
}
