import { ManualClock } from '../clock.js';
import type { FleetConfig, SchedulerConfig } from '../config/schema.js';
import type { GuardOptions } from '../power/budget-guard.js';
import type { BudgetReading } from '../power/budget-source.js';
import { traceSpanMs, traceValueAt, type Trace } from '../power/trace-parse.js';
import { supersedeCommand, type UnitCommand } from '../scheduler/commands.js';
import { createFleetState } from '../scheduler/fleet-state.js';
import { SchedulerCore, type DecisionOutcomes } from '../scheduler/scheduler-core.js';
import { DevicePowerModel } from './device-model.js';
import { EnergyLedger, type PeriodStats } from './simulator-ledger.js';

export type { PeriodStats } from './simulator-ledger.js';

/**
 * `surplus simulate` without sockets (issue 8): steps simulated time through
 * a surplus trace, runs the live scheduler's own core (policy, guard, command
 * ordering and staggering) at the live loop's triggers (every reading, every
 * tick when a re-plan could differ), and applies the commands to pure
 * DevicePowerModels with the Avalon's delays: softoff/softon at a whole
 * second at least `softoffDelayS` ahead, ramps of `rampUpS`, workmode changes
 * that restart the boards. Units without an API are withheld: they stop
 * hashing `withholdGraceS` after the command.
 *
 * Budget below the standby floor (every unit off) cannot be met; that part is
 * reported apart and the rest is measured against max(budget, floor).
 *
 * Energy is integrated on a grid of `stepS` by left Riemann sums
 * (simulator-ledger.ts): exact for the step-function budget and for
 * softoff/softon steps (they fall on whole seconds); a linear ramp is
 * under-counted by half a step of its slope.
 */

export interface SimulateOptions {
  trace: Trace;
  fleet: Pick<FleetConfig, 'models' | 'miners'>;
  scheduler: SchedulerConfig;
  guard: GuardOptions;
  /** TTL of each trace reading (the fail-safe applies across gaps longer than this). */
  readingTtlS: number;
  /** Integration grid, seconds. */
  stepS: number;
  /** Units start on in their top mode (default: off, in standby). */
  initialOn?: boolean;
  /** Epoch of minute 0 for relative traces. */
  startMs?: number;
  /** Keep a per-minute series for plots. */
  series?: boolean;
}

export interface SimulationReport extends PeriodStats {
  units: number;
  /** Draw with every unit off (standby): budget below it cannot be met and is not counted as above budget. */
  standbyFloorKw: number;
  /** Energy the standby floor drew beyond the budget (nights), kWh: unavoidable, reported apart. */
  standbyAboveBudgetKwh: number;
  /** Largest overshoot later than the cut deadline + the device's softoff delay after the last budget drop, kW. */
  overshootAfterDeadlineKw: number;
  hours: number;
  stepS: number;
  startIso: string;
  longestAboveS: number;
  cyclesPerUnit: { mean: number; max: number };
  modeChangesPerUnit: { mean: number; max: number };
  /** Churn: every on, off and mode command applied, per unit. */
  switchesPerUnit: { mean: number; max: number };
  /**
   * Churn against the budget's direction: units switched off or moved to a
   * lower mode by a plan made on a rising budget, or switched on or moved up
   * on a falling one (each restarts a ramp the budget did not ask for).
   */
  againstTrend: number;
  /** Plan decisions by what became of their commands (issued, superseded by a newer plan, ...). */
  decisions: DecisionOutcomes;
  plans: number;
  commands: number;
  /** Wall time of the simulation, ms. */
  runMs: number;
  perHour: Array<PeriodStats & { hour: number }>;
}

export interface SimulationResult {
  report: SimulationReport;
  /** Per-minute samples (minutes from start, budget kW, drawn kW) when `series` was asked for. */
  series: { minute: number[]; budgetKw: number[]; drawnKw: number[] };
}

export function simulate(opts: SimulateOptions): SimulationResult {
  const wall0 = performance.now();
  const pts = opts.trace.points;
  const first = pts[0]!.tMs;
  const startMs = opts.trace.timeBase === 'absolute' ? first : (opts.startMs ?? Date.parse('2026-06-21T00:00:00Z'));
  const spanMs = traceSpanMs(pts);
  const endMs = startMs + spanMs;
  const stepMs = Math.round(opts.stepS * 1000);
  if (!(stepMs > 0)) throw new RangeError('simulate: stepS must be > 0');
  const budgetAt = (t: number): number => traceValueAt(pts, first + (t - startMs), 'step') ?? 0;

  const clock = new ManualClock(startMs);
  const on = opts.initialOn ?? false;
  const fleet = createFleetState(opts.fleet, () => ({ on }));
  const n = fleet.units.length;
  const devices = fleet.units.map(
    (u) =>
      new DevicePowerModel(
        { standbyKw: u.standbyKw, modes: opts.fleet.models[u.model]!.modes, rampUpS: u.rampUpS, softoffDelayS: u.softoffDelayS, modeChange: u.modeChange ?? 'restart' },
        { on, modeIndex: u.modes[u.mode]!.configIndex },
        startMs,
      ),
  );
  const cycles = new Int32Array(n);
  const modeChanges = new Int32Array(n);
  const switches = new Int32Array(n);
  let againstTrend = 0;
  let lastBudgetKw: number | undefined;
  const core = new SchedulerCore(fleet, opts.scheduler, opts.guard, 50);

  // Trace readings as a source would deliver them: one per row, stamped at the row's time.
  const readingTimes = pts.map((p) => startMs + (p.tMs - first));
  let nextReading = 0;
  let reading: BudgetReading | undefined;
  const ttlMs = opts.readingTtlS * 1000;
  const tickMs = opts.scheduler.tickS * 1000;
  let nextTick = startMs + tickMs;
  let queue: UnitCommand[] = [];
  let plans = 0;
  let commands = 0;

  const kwOf = new Float64Array(n);
  const thsOf = new Float64Array(n);
  const active = new Set<number>();
  let totalKw = 0;
  let totalThs = 0;
  devices.forEach((d, i) => {
    const s = d.sample(startMs);
    kwOf[i] = s.kw;
    thsOf[i] = s.ths;
    totalKw += s.kw;
    totalThs += s.ths;
  });

  const floorKw = fleet.units.reduce((a, u) => a + u.standbyKw, 0);
  const maxDelayS = fleet.units.reduce((a, u) => Math.max(a, u.softoffDelayS), 0);
  const graceMs = opts.scheduler.cutDeadlineS * 1000 + (maxDelayS + 1) * 1000 + stepMs;
  const ledger = new EnergyLedger({ startMs, spanMs, stepMs, floorKw, graceMs });

  const plan = (t: number): void => {
    clock.set(t);
    const { verdict, commands: cmds } = core.step(reading, t);
    plans++;
    const rising = lastBudgetKw !== undefined && verdict.kw > lastBudgetKw;
    const falling = lastBudgetKw !== undefined && verdict.kw < lastBudgetKw;
    lastBudgetKw = verdict.kw;
    for (const c of cmds) {
      const u = fleet.units[c.index]!;
      const down = c.action === 'off' || (c.action === 'mode' && u.modes[c.mode]!.kw < u.modes[c.fromMode]!.kw);
      const up = c.action === 'on' || (c.action === 'mode' && u.modes[c.mode]!.kw > u.modes[c.fromMode]!.kw);
      if ((rising && down) || (falling && up)) againstTrend++;
    }
    if (cmds.length > 0) {
      // A newer plan supersedes a unit's command that has not been issued yet (as in the live loop).
      const next = new Map(cmds.map((c) => [c.index, c]));
      queue = queue.filter((stale) => {
        const c = next.get(stale.index);
        if (!c) return true;
        const merged = supersedeCommand(stale, c);
        if (!merged.carried) core.settle(stale, 'superseded', `by ${c.action} before its issue time`);
        if (merged.command.action === 'off') fleet.units[c.index]!.mode = merged.command.fromMode;
        next.set(c.index, merged.command);
        return false;
      });
      queue.push(...next.values());
      queue.sort((a, b) => a.atMs - b.atMs);
    }
  };

  const apply = (c: UnitCommand): void => {
    const u = fleet.units[c.index]!;
    const d = devices[c.index]!;
    const at = c.atMs;
    // Like the live loop: Avalon times are whole seconds at least softoffDelayS ahead.
    const ahead = Math.ceil((at + u.softoffDelayS * 1000) / 1000) * 1000;
    const configMode = u.modes[c.mode]!.configIndex;
    if (c.via === 'stratum') {
      if (c.action === 'off') d.softOff(at + opts.scheduler.withholdGraceS * 1000, at);
      else if (c.action === 'on') {
        // A release cancels a withhold whose grace has not run out (the firmware-like
        // model keeps one softoff slot: move it past the end of the run).
        if ((d.pending(at).softOffAtMs ?? -Infinity) > at) d.softOff(endMs + 86_400_000, at);
        d.softOn(at, at);
      }
    } else if (c.action === 'off') d.softOff(ahead, at);
    else if (c.action === 'on') {
      if (c.mode !== c.fromMode) d.setMode(configMode, at);
      d.softOn(ahead, at);
    } else d.setMode(configMode, at);
    if (c.action === 'off') {
      cycles[c.index]!++;
      ledger.cycle(at);
    } else if (c.action === 'mode') {
      modeChanges[c.index]!++;
      ledger.modeChange(at);
    }
    switches[c.index]!++;
    core.settle(c, 'issued');
    commands++;
    active.add(c.index);
  };

  const series = { minute: [] as number[], budgetKw: [] as number[], drawnKw: [] as number[] };
  for (let t = startMs; t <= endMs; t += stepMs) {
    // Events up to t, in time order: readings, then ticks, then commands due.
    for (;;) {
      const tr = nextReading < readingTimes.length ? readingTimes[nextReading]! : Infinity;
      const tq = queue.length > 0 ? queue[0]!.atMs : Infinity;
      const te = Math.min(tr, nextTick, tq);
      if (te > t) break;
      if (te === tr) {
        if (!reading || pts[nextReading]!.kw < reading.kw) ledger.budgetDropped(tr);
        reading = Object.freeze({ kw: pts[nextReading]!.kw, atMs: tr, ttlMs, source: 'trace' });
        nextReading++;
        plan(tr);
      } else if (te === nextTick) {
        if (core.needsPlan(reading, nextTick)) plan(nextTick);
        nextTick += tickMs;
      } else {
        const due = queue.findIndex((c) => c.atMs > te);
        const batch = due < 0 ? queue : queue.slice(0, due);
        queue = due < 0 ? [] : queue.slice(due);
        for (const c of batch) apply(c);
      }
    }
    for (const i of active) {
      const s = devices[i]!.sample(t);
      totalKw += s.kw - kwOf[i]!;
      totalThs += s.ths - thsOf[i]!;
      kwOf[i] = s.kw;
      thsOf[i] = s.ths;
      if (devices[i]!.nextChangeMs(t) === undefined) active.delete(i);
    }
    const budget = budgetAt(t);
    ledger.sample(t, budget, totalKw, totalThs);
    if (opts.series && (t - startMs) % 60_000 < stepMs) {
      series.minute.push((t - startMs) / 60_000);
      series.budgetKw.push(budget);
      series.drawnKw.push(totalKw);
    }
  }

  const meanMax = (a: Int32Array): { mean: number; max: number } => {
    let sum = 0;
    let max = 0;
    for (const x of a) {
      sum += x;
      max = Math.max(max, x);
    }
    return { mean: n > 0 ? sum / n : 0, max };
  };
  const { standbyAboveBudgetKwh, overshootAfterDeadlineKw, longestAboveS, perHour, ...all } = ledger.totals();
  const report: SimulationReport = {
    units: n,
    standbyFloorKw: floorKw,
    standbyAboveBudgetKwh,
    overshootAfterDeadlineKw,
    hours: spanMs / 3_600_000,
    stepS: opts.stepS,
    startIso: new Date(startMs).toISOString(),
    ...all,
    longestAboveS,
    cyclesPerUnit: meanMax(cycles),
    modeChangesPerUnit: meanMax(modeChanges),
    switchesPerUnit: meanMax(switches),
    againstTrend,
    decisions: core.outcomes,
    plans,
    commands,
    runMs: performance.now() - wall0,
    perHour,
  };
  return { report, series };
}
