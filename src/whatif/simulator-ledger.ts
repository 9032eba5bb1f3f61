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

/** Per-sample figures beyond draw and budget (issue 12 item 7). */
export interface SampleExtras {
  /** Units drawing more than standby. */
  unitsOn: number;
  /** Σ over ramping units of (their mode's kW − what they draw): the draw a ramp holds back, kW. */
  rampDeficitKw: number;
  /** Budget the plan left unused only because of the ramp limit, kW. */
  rampHeldKw: number;
  /** Budget the plan left unused because the units that fit it were out of cycles or in a wear hold, kW. */
  wearHeldKw?: number;
}

export interface LedgerOptions {
  startMs: number;
  spanMs: number;
  stepMs: number;
  /** Draw with every unit off, kW. */
  floorKw: number;
  /**
   * The response deadline (cut deadline + device lead + a step), ms: a draw above every
   * budget of the last `graceMs` is late (the loop had that long to react to it).
   */
  graceMs: number;
  /** One unit's draw (the largest top mode in the fleet), kW: overshoots beyond it are counted apart. */
  unitKw?: number;
}

export interface LedgerTotals extends PeriodStats {
  standbyAboveBudgetKwh: number;
  /** Largest draw above every budget of the last response deadline, kW. */
  overshootAfterDeadlineKw: number;
  /** Energy drawn above budget later than the response deadline, kWh (should be 0). */
  afterDeadlineAboveKwh: number;
  /** Time above budget later than the response deadline, s. */
  afterDeadlineAboveS: number;
  /** Energy above budget as a share of the energy offered, %. */
  aboveBudgetPctOfOffered: number;
  /** Time the draw was above the budget by more than one unit's draw, s (and % of the run). */
  aboveByMoreThanUnitS: number;
  aboveByMoreThanUnitPct: number;
  /**
   * Absorption above the standby floor: energy drawn within the budget above the all-off
   * draw, over the energy offered above it, %. The floor is drawn whatever the scheduler
   * does, so this is the share the scheduler itself earned.
   */
  absorbedAboveFloorPct: number;
  /** Energy the budget had room for but ramping units did not draw yet, kWh. */
  rampUpLossKwh: number;
  /** Energy the budget had room for but the plan held back for the ramp limit, kWh. */
  rampLimitCostKwh: number;
  /**
   * Energy the budget had room for but the plan held off because the units
   * that fit were out of cycles or waiting out a wear hold (issue 12; an
   * estimate, as the ramp limit's: whole units at their lowest mode that
   * would have fit, booked after ramp-up and the ramp limit), kWh.
   */
  wearHeldKwh: number;
  longestAboveS: number;
  perHour: Array<PeriodStats & { hour: number }>;
}

export class EnergyLedger {
  private readonly perHour: Period[] = [];
  private readonly all = new Period();
  private readonly hours: number;
  private standbyAbove = 0;
  private lateOver = 0;
  private stretch = 0;
  private longest = 0;
  private prev: { t: number; kw: number; ths: number; budget: number; late: number; ramp: number; held: number; wear: number } | undefined;
  private lateKwh = 0;
  private lateS = 0;
  private aboveUnitS = 0;
  private floorOffered = 0;
  private floorWithin = 0;
  private rampLoss = 0;
  private rampHeld = 0;
  private wearHeld = 0;
  /** Monotonic deque of (time, effective budget) over the last `graceMs`: its front is the window's largest budget. */
  private readonly winT: number[] = [];
  private readonly winV: number[] = [];
  private winHead = 0;

  constructor(private readonly opts: LedgerOptions) {
    this.hours = Math.ceil(opts.spanMs / 3_600_000);
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
  sample(t: number, budgetKw: number, drawnKw: number, ths: number, extras?: SampleExtras): void {
    const { startMs, stepMs, floorKw } = this.opts;
    const prev = this.prev;
    if (prev && t > startMs) {
      const dtH = (t - prev.t) / 3_600_000;
      const p = this.period(prev.t);
      const eb = Math.max(prev.budget, floorKw);
      this.standbyAbove += Math.max(0, floorKw - prev.budget) * dtH;
      this.lateKwh += prev.late * dtH;
      const room = Math.max(0, prev.budget - prev.kw);
      this.rampLoss += Math.min(prev.ramp, room) * dtH;
      const rampHeld = Math.min(prev.held, Math.max(0, room - prev.ramp));
      this.rampHeld += rampHeld * dtH;
      // Booked after the ramp-up and the ramp limit, so the three estimates never overlap.
      this.wearHeld += Math.min(prev.wear, Math.max(0, room - prev.ramp - rampHeld)) * dtH;
      this.floorOffered += Math.max(0, prev.budget - floorKw) * dtH;
      this.floorWithin += Math.min(Math.max(0, prev.kw - floorKw), Math.max(0, prev.budget - floorKw)) * dtH;
      for (const q of [p, this.all]) {
        q.offered += prev.budget * dtH;
        q.drawn += prev.kw * dtH;
        q.within += Math.min(prev.kw, prev.budget) * dtH;
        q.above += Math.max(0, prev.kw - eb) * dtH;
        q.hash += (prev.ths / 1000) * dtH;
        q.totalS += (t - prev.t) / 1000;
      }
    }
    const eff = Math.max(budgetKw, floorKw);
    const over = drawnKw - eff;
    // Late: above every budget of the last response deadline (a falling budget is late only once
    // the deadline has passed since it fell below the draw).
    const winMax = this.windowMax(t, eff);
    const late = t - startMs > this.opts.graceMs && t < startMs + this.opts.spanMs ? Math.max(0, drawnKw - winMax) : 0;
    if (late > OVER_EPS) {
      this.lateOver = Math.max(this.lateOver, late);
      this.lateS += stepMs / 1000;
    }
    if (this.opts.unitKw !== undefined && over > this.opts.unitKw + OVER_EPS && t < startMs + this.opts.spanMs) this.aboveUnitS += stepMs / 1000;
    const p = this.period(t);
    if (over > OVER_EPS && t < startMs + this.opts.spanMs) {
      this.stretch += stepMs / 1000;
      this.longest = Math.max(this.longest, this.stretch);
      p.aboveS += stepMs / 1000;
      this.all.aboveS += stepMs / 1000;
      p.maxOver = Math.max(p.maxOver, over);
      this.all.maxOver = Math.max(this.all.maxOver, over);
    } else this.stretch = 0;
    this.prev = { t, kw: drawnKw, ths, budget: budgetKw, late: late > OVER_EPS ? late : 0, ramp: extras?.rampDeficitKw ?? 0, held: extras?.rampHeldKw ?? 0, wear: extras?.wearHeldKw ?? 0 };
  }

  private windowMax(t: number, v: number): number {
    const T = this.winT;
    const V = this.winV;
    while (T.length > this.winHead && V[V.length - 1]! <= v) {
      T.pop();
      V.pop();
    }
    T.push(t);
    V.push(v);
    while (T[this.winHead]! < t - this.opts.graceMs) this.winHead++;
    // Compact now and then so the arrays stay short.
    if (this.winHead > 4096) {
      T.splice(0, this.winHead);
      V.splice(0, this.winHead);
      this.winHead = 0;
    }
    return V[this.winHead]!;
  }

  totals(): LedgerTotals {
    const all = this.all;
    return {
      ...all.stats(),
      standbyAboveBudgetKwh: this.standbyAbove,
      overshootAfterDeadlineKw: this.lateOver,
      afterDeadlineAboveKwh: this.lateKwh,
      afterDeadlineAboveS: this.lateS,
      aboveBudgetPctOfOffered: all.offered > 0 ? (all.above / all.offered) * 100 : 0,
      aboveByMoreThanUnitS: this.aboveUnitS,
      aboveByMoreThanUnitPct: all.totalS > 0 ? (this.aboveUnitS / all.totalS) * 100 : 0,
      absorbedAboveFloorPct: this.floorOffered > 0 ? (this.floorWithin / this.floorOffered) * 100 : 0,
      rampUpLossKwh: this.rampLoss,
      rampLimitCostKwh: this.rampHeld,
      wearHeldKwh: this.wearHeld,
      longestAboveS: this.longest,
      perHour: Array.from({ length: this.hours }, (_, h) => ({ hour: h, ...(this.perHour[h] ?? new Period()).stats() })),
    };
  }

  private period(t: number): Period {
    const h = Math.min(Math.floor((t - this.opts.startMs) / 3_600_000), this.hours - 1);
    return (this.perHour[h] ??= new Period());
  }
}
