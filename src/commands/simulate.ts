import { constants } from 'node:fs';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { loadConfigFile, resolveConfig, type ResolvedConfig } from '../config/load.js';
import type { MinerConfig } from '../config/schema.js';
import { InputError } from '../errors.js';
import { MAX_AHEAD_S } from '../power/budget-units.js';
import { parseTrace } from '../power/trace-parse.js';
import { rampLimitKwPerMin } from '../scheduler/policy.js';
import { absorptionBound, type BoundResult } from '../whatif/simulator-bound.js';
import { simulate, type SimulationResult } from '../whatif/simulator.js';
import { renderSvg } from '../whatif/simulator-plot.js';
import { formatReport } from '../whatif/simulator-report.js';
import { parseArgs } from './args.js';

/**
 * `surplus simulate` (issue 8): how well would this fleet follow this surplus
 * trace? Same config schema and the same scheduler core as `surplus start`,
 * simulated devices, no sockets.
 */

const SPEC = {
  trace: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  plot: { type: 'string' },
  series: { type: 'string' },
  bound: { type: 'boolean' },
  'bound-interval-s': { type: 'number' },
  units: { type: 'number' },
  model: { type: 'string' },
  'site-kw': { type: 'number' },
  'step-s': { type: 'number' },
  'look-ahead': { type: 'number' },
  'look-ahead-error': { type: 'number' },
} as const;

/** Simulate needs no pool: a fleet-only config gets a placeholder so the one schema still applies. */
const PLACEHOLDER_POOL = { url: 'stratum+tcp://127.0.0.1:3333', user: 'simulate' };

export interface SimulateArgs {
  trace: string;
  config?: string;
  units?: number;
  model?: string;
  siteKw?: number;
  stepS?: number;
  /** `--look-ahead S`: a perfect nowcast of S seconds on every reading (SimulateOptions.lookAheadS). */
  lookAheadS?: number;
  /** `--look-ahead-error P`: that nowcast errs by P % per minute (SimulateOptions.lookAheadErrorPct). */
  lookAheadErrorPct?: number;
}

async function loadConfig(file: string | undefined): Promise<ResolvedConfig> {
  const raw = file ? await loadConfigFile(file) : {};
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && !('pools' in raw)) {
    return resolveConfig({ ...(raw as Record<string, unknown>), pools: [PLACEHOLDER_POOL] });
  }
  return resolveConfig(raw);
}

function syntheticMiners(count: number, model: string): MinerConfig[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `sim-${String(i + 1).padStart(4, '0')}`,
    worker: `sim.${i + 1}`,
    model,
    api: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:4028`,
    priority: 0,
  }));
}

/**
 * A fleet that can draw only a sliver of the trace's peak absorbs a few
 * percent and plots as a flat line at the bottom: a sizing mistake (the wrong
 * trace or too few units), not a scheduling result, so it is said up front
 * (issue 13: 6 units against a 4 MW trace read "share absorbed 1.54 %").
 */
export function fleetSizeWarning(miners: readonly MinerConfig[], models: ResolvedConfig['fleet']['models'], points: readonly { kw: number }[]): string | undefined {
  const fleetKw = miners.reduce((sum, m) => sum + Math.max(...(models[m.model]?.modes.map((x) => x.kw) ?? [0])), 0);
  const peakKw = points.reduce((max, p) => Math.max(max, p.kw), 0);
  if (!(peakKw > 0) || fleetKw >= 0.25 * peakKw) return undefined;
  return (
    `the fleet draws at most ${fleetKw.toFixed(1)} kW, ${((100 * fleetKw) / peakKw).toFixed(1)} % of the trace's peak ${peakKw.toFixed(0)} kW: ` +
    'most of the surplus cannot be absorbed whatever the schedule; simulate more units (--units N) or a trace of this site\'s size (a pv_frac trace with --site-kw)'
  );
}

/** Runs a simulation from files; exported for tests. */
export async function runSimulation(
  a: SimulateArgs,
  series = false,
  onSample?: (t: number, budgetKw: number, drawnKw: number, unitsOn: number) => void,
): Promise<SimulationResult & { title: string; warnings: string[]; config: ResolvedConfig; miners: MinerConfig[] }> {
  const cfg = await loadConfig(a.config);
  let miners = cfg.fleet.miners;
  if (a.units !== undefined) {
    if (!Number.isInteger(a.units) || a.units < 1 || a.units > 100_000) throw new InputError(`option --units must be an integer in 1..100000, got ${a.units}`);
    const model = a.model ?? 'avalon-a1566ha';
    if (!cfg.fleet.models[model]) throw new InputError(`option --model: unknown model "${model}"; allowed: ${Object.keys(cfg.fleet.models).join(', ')}`);
    miners = syntheticMiners(a.units, model);
  } else if (a.model !== undefined) throw new InputError('option --model needs --units N');
  if (miners.length === 0) throw new InputError('no units to simulate: give --config with fleet.miners or --units N [--model M]');
  const stepS = a.stepS ?? 1;
  if (!(stepS > 0 && stepS <= 60)) throw new InputError(`option --step-s must be in (0, 60] seconds, got ${stepS}`);
  if (a.siteKw !== undefined && !(a.siteKw > 0)) throw new InputError(`option --site-kw must be > 0, got ${a.siteKw}`);
  if (a.lookAheadS !== undefined && !(a.lookAheadS > 0 && a.lookAheadS <= MAX_AHEAD_S)) throw new InputError(`option --look-ahead must be in (0, ${MAX_AHEAD_S}] seconds, got ${a.lookAheadS}`);
  if (a.lookAheadErrorPct !== undefined) {
    if (a.lookAheadS === undefined) throw new InputError('option --look-ahead-error needs --look-ahead S');
    if (!(a.lookAheadErrorPct >= 0 && a.lookAheadErrorPct <= 100)) throw new InputError(`option --look-ahead-error must be a percentage in 0..100, got ${a.lookAheadErrorPct}`);
  }
  let text: string;
  try {
    text = await readFile(a.trace, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read trace ${a.trace}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const b = cfg.budget;
  const timeZone = b?.source === 'schedule' ? b.timezone : undefined;
  const trace = parseTrace(text, a.trace, { ...(a.siteKw !== undefined ? { siteKw: a.siteKw } : {}), ...(timeZone !== undefined ? { timeZone } : {}) });
  const result = await simulate({
    trace,
    fleet: { models: cfg.fleet.models, miners },
    scheduler: cfg.scheduler,
    guard: { holdLastS: b?.holdLastS ?? 60, failsafeKw: b?.failsafeKw ?? 0 },
    readingTtlS: b?.ttlS ?? 300,
    ...(b?.source === 'schedule' ? { interpolation: b.interpolation } : {}),
    stepS,
    ...(a.lookAheadS !== undefined ? { lookAheadS: a.lookAheadS } : {}),
    ...(a.lookAheadErrorPct !== undefined ? { lookAheadErrorPct: a.lookAheadErrorPct } : {}),
    series,
    ...(onSample ? { onSample } : {}),
  });
  const models = [...new Set(miners.map((m) => m.model))].join(', ');
  const warnings = [...(trace.warnings ?? [])];
  const sizing = fleetSizeWarning(miners, cfg.fleet.models, trace.points);
  if (sizing) warnings.push(sizing);
  return { ...result, title: `${basename(a.trace)}, ${miners.length} units (${models})`, warnings, config: cfg, miners };
}

/** An output file's folder must exist and be writable before a long simulation runs (issue 13), not after. */
async function checkWritableFolder(flag: string, file: string): Promise<void> {
  const dir = dirname(file);
  try {
    if (!(await stat(dir)).isDirectory()) throw new InputError(`${flag} ${file}: ${dir} is not a folder`);
    await access(dir, constants.W_OK);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${flag} ${file}: ${code === 'ENOENT' ? `folder ${dir} does not exist` : `cannot write to folder ${dir} (${code ?? (err as Error).message})`}`);
  }
}

/**
 * `--bound` (issue 12 item 8): the perfect-foresight LP over the same budget samples, fleet,
 * wear budget (`scheduler.maxCyclesPerDay` when configured, else the cycles the scheduler
 * itself spent) and ramp limit.
 */
async function bound(
  budgetKw: Float64Array,
  stepS: number,
  r: SimulationResult & { config: ResolvedConfig; miners: MinerConfig[] },
  intervalS: number,
): Promise<BoundResult & { schedulerShareOfBoundPct: number; wearFrom: string }> {
  const byModel = new Map<string, number>();
  for (const m of r.miners) byModel.set(m.model, (byModel.get(m.model) ?? 0) + 1);
  const groups = [...byModel].map(([model, units]) => {
    const p = r.config.fleet.models[model]!;
    return { units, standbyKw: p.standbyKw, modesKw: p.modes.map((m) => m.kw), initialOn: 0, rampUpS: p.rampUpS, modeChange: p.modeChange ?? 'restart' };
  });
  const sched = r.config.scheduler;
  const perDay = sched.maxCyclesPerDay;
  const days = Math.max(1, r.report.hours / 24);
  const cyclesPerUnit = perDay !== undefined ? perDay * days : r.report.cyclesPerUnit.max;
  // The same grid-code ramp limit the scheduler planned under (a fixed kW/min or % of the fleet).
  const fleetTopKw = groups.reduce((sum, g) => sum + g.units * Math.max(...g.modesKw), 0);
  const ramp = rampLimitKwPerMin(sched, fleetTopKw);
  const b = await absorptionBound({ budgetKw, stepS, groups, cyclesPerUnit, rampKwPerMin: ramp, rampBasis: sched.rampBasis, intervalS });
  return {
    ...b,
    schedulerShareOfBoundPct: b.absorbedPct > 0 ? (r.report.absorbedPct / b.absorbedPct) * 100 : 0,
    wearFrom: perDay !== undefined ? 'scheduler.maxCyclesPerDay' : "the scheduler's own max cycles per unit",
  };
}

export async function run(args: string[]): Promise<number> {
  const { flags, positional } = parseArgs(args, SPEC);
  if (positional.length > 0) throw new InputError(`unexpected argument "${positional[0]}"; the trace is given with --trace FILE`);
  const trace = flags['trace'];
  if (typeof trace !== 'string') throw new InputError('option --trace FILE is required');
  const plot = flags['plot'] as string | undefined;
  if (plot !== undefined) {
    if (/\.png$/i.test(plot)) throw new InputError('--plot: PNG output is not supported, use .svg');
    if (!/\.svg$/i.test(plot)) throw new InputError(`--plot: file name must end in .svg, got "${plot}"`);
    await checkWritableFolder('--plot', plot);
  }
  const opt = <T>(k: string): T | undefined => flags[k] as T | undefined;
  const a: SimulateArgs = { trace };
  if (opt<string>('config') !== undefined) a.config = opt<string>('config')!;
  if (opt<number>('units') !== undefined) a.units = opt<number>('units')!;
  if (opt<string>('model') !== undefined) a.model = opt<string>('model')!;
  if (opt<number>('site-kw') !== undefined) a.siteKw = opt<number>('site-kw')!;
  if (opt<number>('step-s') !== undefined) a.stepS = opt<number>('step-s')!;
  if (opt<number>('look-ahead') !== undefined) a.lookAheadS = opt<number>('look-ahead')!;
  if (opt<number>('look-ahead-error') !== undefined) a.lookAheadErrorPct = opt<number>('look-ahead-error')!;
  const seriesFile = flags['series'] as string | undefined;
  if (seriesFile !== undefined) {
    if (!/\.csv$/i.test(seriesFile)) throw new InputError(`--series: file name must end in .csv, got "${seriesFile}"`);
    await checkWritableFolder('--series', seriesFile);
  }
  // Issue 12 item 7: one row per simulated second, so anyone can recompute the energy figures.
  const rows: string[] = ['time,budget_kw,drawn_kw,units_on'];
  let nextRowMs = -Infinity;
  const onSample =
    seriesFile === undefined
      ? undefined
      : (t: number, budgetKw: number, drawnKw: number, unitsOn: number): void => {
          if (t < nextRowMs) return;
          nextRowMs = Math.floor(t / 1000) * 1000 + 1000;
          rows.push(`${new Date(t).toISOString()},${round3(budgetKw)},${round3(drawnKw)},${unitsOn}`);
        };
  const wantBound = flags['bound'] === true;
  const boundIntervalS = opt<number>('bound-interval-s') ?? 60;
  if (!(boundIntervalS >= 1 && boundIntervalS <= 3600)) throw new InputError(`option --bound-interval-s must be in 1..3600 seconds, got ${boundIntervalS}`);
  const budgetSamples: number[] = [];
  const sample =
    onSample || wantBound
      ? (t: number, budgetKw: number, drawnKw: number, unitsOn: number): void => {
          onSample?.(t, budgetKw, drawnKw, unitsOn);
          if (wantBound) budgetSamples.push(budgetKw);
        }
      : undefined;
  const result = await runSimulation(a, plot !== undefined, sample);
  const { report, series, title, warnings } = result;
  const boundResult = wantBound ? await bound(Float64Array.from(budgetSamples), report.stepS, result, boundIntervalS) : undefined;
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  if (plot !== undefined) {
    await writeFile(plot, renderSvg(series, `Budget vs drawn power: ${title}`)).catch((err: NodeJS.ErrnoException) => {
      throw new InputError(`--plot ${plot}: cannot write (${err.code ?? err.message})`);
    });
  }
  if (seriesFile !== undefined) {
    await writeFile(seriesFile, rows.join('\n') + '\n').catch((err: NodeJS.ErrnoException) => {
      throw new InputError(`--series ${seriesFile}: cannot write (${err.code ?? err.message})`);
    });
  }
  if (flags['json']) process.stdout.write(JSON.stringify(boundResult ? { ...report, bound: boundResult } : report, null, 2) + '\n');
  else {
    process.stdout.write(formatReport(report, title) + '\n');
    if (boundResult) {
      const b = boundResult;
      process.stdout.write(
        `\n  bound (perfect foresight, LP over ${b.intervals} intervals of ${b.intervalS} s, HiGHS ${b.status}, ${(b.solveMs / 1000).toFixed(1)} s):\n` +
          `    best absorption ${b.absorbedPct.toFixed(2)} % at <= ${b.cyclesPerUnit} cycles per unit (${b.wearFrom})\n` +
          `    the scheduler reached ${b.schedulerShareOfBoundPct.toFixed(1)} % of it\n`,
      );
    }
  }
  return 0;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
