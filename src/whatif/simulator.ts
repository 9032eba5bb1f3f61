import { ManualClock } from '../clock.js';
import type { FleetConfig, SchedulerConfig } from '../config/schema.js';
import { silentLogger } from '../observability/logger.js';
import type { GuardOptions } from '../power/budget-guard.js';
import { traceSpanMs, type Interpolation, type Trace } from '../power/trace-parse.js';
import type { UnitCommand } from '../scheduler/commands.js';
import { createFleetState } from '../scheduler/fleet-state.js';
import type { DecisionOutcomes } from '../scheduler/scheduler-core.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { WearCount } from '../scheduler/wear-count.js';
import { DevicePowerModel } from '../fleet/device-model.js';
import { SimLevers } from './sim-device-api.js';
import { TraceBudgetSource } from './sim-budget-source.js';
import { EnergyLedger, type LedgerTotals } from './simulator-ledger.js';

export type { PeriodStats } from './simulator-ledger.js';

/**
 * `surplus simulate` without sockets (issue 8): steps simulated time through
 * a surplus trace and runs the live loop itself (issue 12 item 6: one command
 * path), the same `Scheduler` as `surplus start`, on the ManualClock's
 * timers: its re-plans on every reading and tick, its command queue
 * (superseding, stagger, device lead, the cut acknowledgement deadline) and
 * its DeviceCommander. Only the far side of the levers is simulated
 * (sim-device-api.ts): pure DevicePowerModels with the Avalon's delays
 * (softoff/softon at the whole second the driver names, ramps of `rampUpS`,
 * workmode changes that restart the boards); units without an API are
 * withheld and stop hashing `withholdGraceS` after the command. The trace
 * reaches the loop as a budget source (sim-budget-source.ts) honouring
 * `budget.interpolation`. Status is not polled (the simulated devices obey).
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
  /** Config `budget.interpolation` (default step). */
  interpolation?: Interpolation;
  /**
   * `--look-ahead S`: every reading carries the trace's lowest value over the next S seconds, as
   * a perfect nowcast would send it (BudgetReading.lowAhead). Absent: none, as a meter sends.
   */
  lookAheadS?: number;
  /** `--look-ahead-error P`: that look-ahead errs by P % (one standard deviation) per minute. */
  lookAheadErrorPct?: number;
  /** Called on every grid step with the budget, the draw and the units drawing more than standby. */
  onSample?: (t: number, budgetKw: number, drawnKw: number, unitsOn: number) => void;
  /** Called with every command the loop issues, at its simulated issue time. */
  onCommand?: (c: UnitCommand, atMs: number) => void;
}

/** The energy figures are the ledger's totals (one definition: simulator-ledger.ts documents each). */
export interface SimulationReport extends LedgerTotals {
  units: number;
  /** Draw with every unit off (standby): budget below it cannot be met and is not counted as above budget. */
  standbyFloorKw: number;
  hours: number;
  stepS: number;
  /** `--look-ahead S`: the readings carried a look-ahead of this many seconds... */
  lookAheadS?: number;
  /** ...erring by this many percent per minute (`--look-ahead-error`; absent: perfect). */
  lookAheadErrorPct?: number;
  startIso: string;
  cyclesPerUnit: { mean: number; p95: number; max: number };
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
}

export interface SimulationResult {
  report: SimulationReport;
  /** Per-minute samples (minutes from start, budget kW, drawn kW) when `series` was asked for. */
  series: { minute: number[]; budgetKw: number[]; drawnKw: number[] };
}

export async function simulate(opts: SimulateOptions): Promise<SimulationResult> {
  const wall0 = performance.now();
  const pts = opts.trace.points;
  const first = pts[0]!.tMs;
  const startMs = opts.trace.timeBase === 'absolute' ? first : (opts.startMs ?? Date.parse('2026-06-21T00:00:00Z'));
  const spanMs = traceSpanMs(pts);
  const endMs = startMs + spanMs;
  const stepMs = Math.round(opts.stepS * 1000);
  if (!(stepMs > 0)) throw new RangeError('simulate: stepS must be > 0');

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
  const levers = new SimLevers(fleet, devices, clock);
  const indexById = new Map(fleet.units.map((u, i) => [u.id, i]));
  const budget = new TraceBudgetSource(
    { points: pts, startMs, ttlMs: opts.readingTtlS * 1000, interpolation: opts.interpolation ?? 'step', ...(opts.lookAheadS ? { lookAheadMs: opts.lookAheadS * 1000, lookAheadErrorPct: opts.lookAheadErrorPct ?? 0 } : {}) },
    clock,
  );
  const scheduler = new Scheduler({
    clock,
    logger: silentLogger(),
    settings: opts.scheduler,
    fleet,
    budget,
    guard: opts.guard,
    drivers: (u) => levers.api(indexById.get(u.id)!),
    lever: levers.lever(),
    maxDecisions: 50,
    statusPoll: false,
  });

  const cycles = new Int32Array(n);
  const modeChanges = new Int32Array(n);
  const switches = new Int32Array(n);
  let againstTrend = 0;
  let lastBudgetKw: number | undefined;
  let plans = 0;
  let commands = 0;

  const floorKw = fleet.units.reduce((a, u) => a + u.standbyKw, 0);
  const maxDelayS = fleet.units.reduce((a, u) => Math.max(a, u.softoffDelayS), 0);
  const graceMs = opts.scheduler.cutDeadlineS * 1000 + (maxDelayS + 1) * 1000 + stepMs;
  const fleetTopKw = fleet.units.reduce((a, u) => a + Math.max(...u.modes.map((m) => m.kw)), 0);
  const unitKw = fleet.units.reduce((a, u) => Math.max(a, ...u.modes.map((m) => m.kw)), 0);
  const ledger = new EnergyLedger({ startMs, spanMs, stepMs, floorKw, graceMs, unitKw });

  // What the ramp limit holds back: the budget room a ramp-limited plan leaves unplanned.
  let rampHeldKw = 0;
  let wearHeldKw = 0;
  scheduler.onStep(({ verdict, plan, commands: cmds }) => {
    plans++;
    rampHeldKw = plan.limitedBy === 'ramp' ? Math.max(0, Math.min(plan.budgetKw, fleetTopKw) - plan.plannedKw) : 0;
    wearHeldKw = plan.wearHeldKw;
    const rising = lastBudgetKw !== undefined && verdict.kw > lastBudgetKw;
    const falling = lastBudgetKw !== undefined && verdict.kw < lastBudgetKw;
    lastBudgetKw = verdict.kw;
    for (const c of cmds) {
      const u = fleet.units[c.index]!;
      const down = c.action === 'off' || (c.action === 'mode' && u.modes[c.mode]!.kw < u.modes[c.fromMode]!.kw);
      const up = c.action === 'on' || (c.action === 'mode' && u.modes[c.mode]!.kw > u.modes[c.fromMode]!.kw);
      if ((rising && down) || (falling && up)) againstTrend++;
    }
  });

  // Drains the async tail of the commands issued at this instant (settling, ramp times), as the
  // event loop would before the next timer.
  const drain = (): Promise<void> => new Promise((r) => setImmediate(r));
  // A cycle ends with an off that meets a unit a softon reached (or that ran at the start); an off
  // that replaces a softon a newer plan superseded before its issue time meets a unit in standby.
  const wear = new WearCount(n, fleet.units.map((u) => u.on));
  await scheduler.start();
  // Counted from here: the withholds of units counted off at start are not cycles.
  scheduler.onCommand((c) => {
    const at = clock.now();
    if (c.action === 'off') {
      if (wear.add(c.index, 'off')) {
        cycles[c.index]!++;
        ledger.cycle(at);
      }
    } else if (c.action === 'on') wear.add(c.index, 'on');
    else if (c.action === 'mode') {
      modeChanges[c.index]!++;
      ledger.modeChange(at);
    }
    switches[c.index]!++;
    commands++;
    opts.onCommand?.(c, at);
  });
  await drain();

  const kwOf = new Float64Array(n);
  const thsOf = new Float64Array(n);
  const deficitOf = new Float64Array(n);
  const onOf = new Uint8Array(n);
  let totalKw = 0;
  let totalThs = 0;
  let deficitKw = 0;
  let unitsOn = 0;
  const look = (i: number, t: number): void => {
    const d = devices[i]!;
    const s = d.sample(t);
    const deficit = s.phase === 'starting' ? d.params.modes[s.modeIndex]!.kw - s.kw : 0;
    const isOn = s.phase === 'standby' ? 0 : 1;
    totalKw += s.kw - kwOf[i]!;
    totalThs += s.ths - thsOf[i]!;
    deficitKw += deficit - deficitOf[i]!;
    unitsOn += isOn - onOf[i]!;
    kwOf[i] = s.kw;
    thsOf[i] = s.ths;
    deficitOf[i] = deficit;
    onOf[i] = isOn;
  };
  for (let i = 0; i < n; i++) look(i, startMs);
  const active = levers.active;
  const dueAtMs = levers.dueAtMs;

  const series = { minute: [] as number[], budgetKw: [] as number[], drawnKw: [] as number[] };
  for (let t = startMs; t <= endMs; t += stepMs) {
    // The loop's timers up to t, one instant at a time (readings, ticks, commands due).
    for (let next = clock.nextAtMs(); next !== undefined && next <= t; next = clock.nextAtMs()) {
      clock.runUntil(next);
      if (levers.take()) await drain();
    }
    clock.runUntil(t);
    // A unit's output stands still between its events unless it ramps: it is sampled at the grid
    // steps of a ramp and at its next event, not every step (issue 12 item 10; the same sums).
    for (const i of active) {
      if (t < dueAtMs[i]!) continue;
      look(i, t);
      const next = devices[i]!.nextChangeMs(t, stepMs);
      if (next === undefined) active.delete(i);
      else dueAtMs[i] = next;
    }
    const b = budget.valueAt(t);
    // Incremental sums drift by rounding; neither can be negative.
    ledger.sample(t, b, Math.max(0, totalKw), Math.max(0, totalThs), { unitsOn, rampDeficitKw: Math.max(0, deficitKw), rampHeldKw, wearHeldKw });
    opts.onSample?.(t, b, totalKw, unitsOn);
    if (opts.series && (t - startMs) % 60_000 < stepMs) {
      series.minute.push((t - startMs) / 60_000);
      series.budgetKw.push(b);
      series.drawnKw.push(totalKw);
    }
  }
  const outcomes = scheduler.snapshot().outcomes!;
  await scheduler.stop();

  const meanMax = (a: Int32Array): { mean: number; max: number } => {
    let sum = 0;
    let max = 0;
    for (const x of a) {
      sum += x;
      max = Math.max(max, x);
    }
    return { mean: n > 0 ? sum / n : 0, max };
  };
  const p95 = (a: Int32Array): number => {
    if (a.length === 0) return 0;
    const sorted = Int32Array.from(a).sort();
    return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]!;
  };
  const { standbyAboveBudgetKwh, overshootAfterDeadlineKw, longestAboveS, perHour, ...all } = ledger.totals();
  const report: SimulationReport = {
    units: n,
    standbyFloorKw: floorKw,
    standbyAboveBudgetKwh,
    overshootAfterDeadlineKw,
    hours: spanMs / 3_600_000,
    stepS: opts.stepS,
    ...(opts.lookAheadS ? { lookAheadS: opts.lookAheadS, ...(opts.lookAheadErrorPct ? { lookAheadErrorPct: opts.lookAheadErrorPct } : {}) } : {}),
    startIso: new Date(startMs).toISOString(),
    ...all,
    longestAboveS,
    cyclesPerUnit: { ...meanMax(cycles), p95: p95(cycles) },
    modeChangesPerUnit: meanMax(modeChanges),
    switchesPerUnit: meanMax(switches),
    againstTrend,
    decisions: outcomes,
    plans,
    commands,
    runMs: performance.now() - wall0,
    perHour,
  };
  return { report, series };
}
