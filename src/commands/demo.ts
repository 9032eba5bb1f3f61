/**
 * `surplus demo` (the default of `npm start`): a whole simulated site on
 * loopback with real sockets. A simulated pool validates every share; N
 * simulated miners really hash through surplus; each has a simulated Avalon
 * cgminer API that the scheduler switches; a schedule budget source replays a
 * solar day with clouds, accelerated. Prints the dashboard address and a
 * one-line status every few seconds; Ctrl-C / SIGTERM closes everything.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { every, systemClock, type Clock } from '../clock.js';
import { loadConfigFile, resolveConfig, type ResolvedConfig } from '../config/load.js';
import type { ModelConfig } from '../config/schema.js';
import { ConfigError, InputError } from '../errors.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { ScheduleBudgetSource } from '../power/schedule-budget-source.js';
import { parseTrace, traceSpanMs, type TracePoint } from '../power/trace-parse.js';
import { SimDeviceFleet } from '../demo/device-fleet.js';
import type { SimMiner } from '../demo/sim-miner.js';
import { DeviceMiners, scaledLever } from '../demo/sim-site.js';
import { SimPool } from '../demo/sim-pool.js';
import { Site } from '../site.js';
import { parseArgs } from './args.js';
import { listenError } from './start.js';

const demoSchema = z.strictObject({
  miners: z.number().int().min(1).max(500).default(40),
  model: z.string().min(1).default('demo-avalon'),
  dayLengthS: z.number().positive().default(300),
  trace: z.string().min(1).default('demo-solar-day.csv'),
  traceStartsAt: z.string().regex(/^\d{1,2}:\d{2}$/, { message: 'must be "HH:MM"' }).default('05:00'),
  startAt: z.string().regex(/^\d{1,2}:\d{2}$/, { message: 'must be "HH:MM"' }).default('07:00'),
  peakFraction: z.number().positive().max(1.5).default(0.9),
  hashesPerSecond: z.number().positive().max(1e6).default(1000),
  poolDifficulty: z.number().positive().default(0.000002),
  statusEveryS: z.number().positive().default(5),
});
export type DemoSettings = z.infer<typeof demoSchema>;

const fileSchema = z.strictObject({
  demo: demoSchema.default(() => demoSchema.parse({})),
  site: z.record(z.string(), z.unknown()).default({}),
});

export const DEFAULT_DEMO_CONFIG = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));

export interface DemoOptions {
  configFile?: string;
  /** Overrides of the file's `demo` section. */
  demo?: Partial<DemoSettings>;
  /** Overrides site.http.listen (the file says 127.0.0.1:8080). */
  httpListen?: string;
  logger?: Logger;
  sampleIntervalMs?: number;
  /** Every part's time and timers (default systemClock). */
  clock?: Clock;
}

const minutesOf = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
};

/** The looped trace started `offsetMs` in: the points from there on, then the earlier ones one span later. */
export function rotateTrace(points: readonly TracePoint[], offsetMs: number): TracePoint[] {
  const span = traceSpanMs(points);
  const first = points[0]!.tMs;
  const off = ((offsetMs % span) + span) % span;
  const later = points.filter((p) => p.tMs - first >= off).map((p) => ({ tMs: p.tMs - first - off, kw: p.kw }));
  const earlier = points.filter((p) => p.tMs - first < off).map((p) => ({ tMs: p.tMs - first + span - off, kw: p.kw }));
  return [...later, ...earlier];
}

/** One issue stays on the header's line (a CLI mistake is one line); several get a line each. */
function describe(err: z.ZodError, file: string): string {
  const lines = err.issues.map((i) => `${file}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  return lines.length === 1 ? ` ${lines[0]}` : `\n  ${lines.join('\n  ')}`;
}

export class Demo {
  private closing = false;
  readonly miners: SimMiner[];

  private constructor(
    readonly settings: DemoSettings,
    readonly config: ResolvedConfig,
    readonly pool: SimPool,
    readonly devices: SimDeviceFleet,
    readonly budget: ScheduleBudgetSource,
    readonly site: Site,
    private readonly driven: DeviceMiners,
    private readonly clock: Clock,
  ) {
    this.miners = driven.miners;
  }

  static async start(options: DemoOptions = {}): Promise<Demo> {
    const file = options.configFile ?? DEFAULT_DEMO_CONFIG;
    const parsed = fileSchema.safeParse(await loadConfigFile(file));
    if (!parsed.success) throw new ConfigError(`invalid demo configuration:${describe(parsed.error, file)}`);
    const checked = demoSchema.safeParse({ ...parsed.data.demo, ...options.demo });
    if (!checked.success) throw new InputError(`invalid demo option:${describe(checked.error, 'demo')}`);
    const settings = checked.data;
    const siteRaw = structuredClone(parsed.data.site) as Record<string, unknown> & { http?: Record<string, unknown>; fleet?: Record<string, unknown> };
    if (options.httpListen) siteRaw.http = { ...siteRaw.http, listen: options.httpListen };

    // Validate the site section once up front, so its errors come before any socket opens.
    const preliminary = resolveConfig({ ...siteRaw, pools: [{ url: 'stratum+tcp://127.0.0.1:1', user: 'demo' }] });
    const model: ModelConfig | undefined = preliminary.fleet.models[settings.model];
    if (!model) throw new ConfigError(`${file}: demo.model "${settings.model}" is not a model; allowed: ${Object.keys(preliminary.fleet.models).join(', ')}`);
    const top = model.modes.reduce((a, b) => (b.kw > a.kw ? b : a));
    const logger = options.logger ?? createLogger({ level: preliminary.log.level });

    const tracePath = resolve(dirname(file), settings.trace);
    const trace = parseTrace(await readFile(tracePath, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new ConfigError(`${file}: demo.trace: cannot read ${tracePath}: ${e.code ?? e.message}`);
    }), tracePath, { siteKw: settings.miners * top.kw * settings.peakFraction });
    const speed = traceSpanMs(trace.points) / (settings.dayLengthS * 1000);
    const offsetMin = minutesOf(settings.startAt) - minutesOf(settings.traceStartsAt);
    if (offsetMin < 0 || offsetMin * 60_000 >= traceSpanMs(trace.points)) {
      throw new InputError(`demo.startAt ${settings.startAt} is outside the trace (it starts at ${settings.traceStartsAt} and lasts ${traceSpanMs(trace.points) / 60_000} minutes)`);
    }
    const replay = { ...trace, points: rotateTrace(trace.points, offsetMin * 60_000) };

    const clock = options.clock ?? systemClock;
    const pool = new SimPool({ difficulty: settings.poolDifficulty, jobIntervalMs: 30_000, clock });
    await pool.start();
    const devices = new SimDeviceFleet({ clock, autoTickMs: 250 });
    const undo = async (): Promise<void> => {
      await devices.close();
      await pool.stop();
    };
    let site: Site;
    const budget = new ScheduleBudgetSource(replay, { interpolation: 'linear', speed, loop: true, ttlS: 30, pollMs: 250 }, clock);
    const topIndex = model.modes.indexOf(top);
    let config: ResolvedConfig;
    try {
      const units = [];
      for (let i = 1; i <= settings.miners; i++) {
        const id = `av${String(i).padStart(2, '0')}`;
        const dev = await devices.add({ id, params: model, initial: { on: false, modeIndex: topIndex } });
        units.push({ id, worker: `demo.${id}`, model: settings.model, api: dev.address });
      }
      config = resolveConfig({
        ...siteRaw,
        pools: [{ url: pool.url, user: 'demo-site', password: 'x' }],
        fleet: { ...siteRaw.fleet, miners: units },
        budget: { source: 'schedule', file: tracePath, interpolation: 'linear', speed, loop: true, ttlS: 30, holdLastS: 10, failsafeKw: 0 },
      });
      site = await Site.start({
        config,
        logger,
        clock,
        budgetSource: budget,
        wrapLever: (lever) => scaledLever(lever, settings.hashesPerSecond / top.ths),
        initialUnitState: () => ({ on: false }),
        ...(options.sampleIntervalMs !== undefined ? { sampleIntervalMs: options.sampleIntervalMs } : {}),
        report: { intervalMs: Math.max(1000, Math.round((settings.dayLengthS * 1000) / 24)), maxGapMs: 10_000 },
        simulatedTime: () => traceClockAt(budget, settings.startAt, clock.now()),
      });
    } catch (err) {
      await undo();
      throw listenError(err, preliminary) ?? err;
    }
    const driven = new DeviceMiners({
      port: site.minerPort,
      units: config.fleet.miners.map((m) => ({ worker: m.worker, device: devices.get(m.id)! })),
      hashesPerSecond: settings.hashesPerSecond,
      topThs: top.ths,
      clock,
    });
    driven.start();
    return new Demo(settings, config, pool, devices, budget, site, driven, clock);
  }

  /** Trace clock time (HH:MM) the budget is replaying now. */
  traceClock(): string {
    return traceClockAt(this.budget, this.settings.startAt, this.clock.now());
  }

  statusLine(): string {
    const s = this.site.status.status();
    const rejected = Object.values(s.shares.rejected).reduce((a, b) => a + b, 0);
    const pool = s.pools.find((p) => p.active) ?? s.pools[0];
    const total = Object.values(s.minersByState).reduce((a, b) => a + b, 0);
    const hash = s.hashrateThs >= 1000 ? `${(s.hashrateThs / 1000).toFixed(2)} PH/s` : `${s.hashrateThs.toFixed(0)} TH/s`;
    return (
      `[sun ${this.traceClock()}] budget ${s.budget.kw.toFixed(1)} kW (${s.budget.status}) · planned ${s.plannedKw.toFixed(1)} · ` +
      `measured ${s.measuredKw.toFixed(1)} kW · ${s.minersByState.hashing}/${total} hashing · ${hash} · ` +
      `shares ${s.shares.accepted} ok, ${rejected} rejected · pool ${pool?.state ?? 'none'}, ${this.pool.stats.accepted} accepted`
    );
  }

  /** Miners, then the site (HTTP, scheduler, proxy), then devices and pool. Idempotent. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.driven.close();
    await this.site.close();
    await this.devices.close();
    await this.pool.stop();
  }
}

/** Trace clock time (HH:MM) the budget replays now, the demo starting at `startAt`. */
function traceClockAt(budget: ScheduleBudgetSource, startAt: string, nowMs: number): string {
  const t = budget.traceTimeAt(nowMs);
  const minutes = Math.floor(minutesOf(startAt) + (t ?? 0) / 60_000) % (24 * 60);
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

export async function run(args: string[]): Promise<number> {
  const { flags, positional } = parseArgs(args, {
    config: { type: 'string' },
    miners: { type: 'number' },
    'duration-s': { type: 'number' },
    'day-length-s': { type: 'number' },
    http: { type: 'string' },
  });
  if (positional.length > 0) throw new InputError(`demo takes no positional arguments, got "${positional.join(' ')}"`);
  const duration = flags['duration-s'] as number | undefined;
  if (duration !== undefined && !(duration > 0)) throw new InputError(`option --duration-s must be > 0 seconds, got ${duration}`);
  const overrides: Partial<DemoSettings> = {};
  if (flags['miners'] !== undefined) overrides.miners = flags['miners'] as number;
  if (flags['day-length-s'] !== undefined) overrides.dayLengthS = flags['day-length-s'] as number;
  const out = (line: string): void => void process.stdout.write(line + '\n');

  const demo = await Demo.start({
    ...(flags['config'] !== undefined ? { configFile: flags['config'] as string } : {}),
    ...(flags['http'] !== undefined ? { httpListen: flags['http'] as string } : {}),
    demo: overrides,
  });
  const s = demo.settings;
  out(`surplus demo: ${s.miners} simulated Avalon miners, a solar day every ${s.dayLengthS} s, simulated pool at ${demo.pool.url}`);
  out(`dashboard: ${demo.site.httpUrl}/   metrics: ${demo.site.httpUrl}/metrics   (Ctrl-C to stop)`);
  const status = every(systemClock, s.statusEveryS * 1000, () => out(demo.statusLine()));
  try {
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      // Once handled, a second Ctrl-C falls back to Node's default and ends the process.
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (duration !== undefined) systemClock.setTimeout(stop, duration * 1000).unref();
    });
  } finally {
    status.stop();
  }
  out(demo.statusLine());
  out('stopping: miners, HTTP, scheduler, proxy, devices, pool');
  const totals = demo.site.surface.sampler.report.totals();
  await demo.close();
  const pct = totals.absorbedFraction === null ? 'n/a' : `${(100 * totals.absorbedFraction).toFixed(1)} %`;
  out(`done: pool accepted ${demo.pool.stats.accepted} shares; surplus offered ${totals.offeredKwh.toFixed(2)} kWh, drawn ${totals.drawnKwh.toFixed(2)} kWh, absorbed ${pct}`);
  return 0;
}
