/**
 * A whole site: the proxy, the budget source and scheduler, and the operator
 * surface (HTTP API, metrics, dashboard), wired and started in order and
 * closed in reverse. `surplus demo` builds one around simulated pieces; a real
 * deployment builds one from its config alone.
 */
import { systemClock, type Clock } from './clock.js';
import type { ResolvedConfig } from './config/load.js';
import type { MinerConfig } from './config/schema.js';
import { AvalonDriver } from './fleet/avalon-driver.js';
import type { DeviceApi, StratumLever } from './fleet/control.js';
import { DecisionTally } from './operator/decision-tally.js';
import { DeviceTelemetry } from './operator/device-telemetry.js';
import type { EnergyReportOptions } from './operator/energy-report.js';
import type { Logger } from './observability/logger.js';
import { MqttStatusPublisher } from './operator/mqtt-status-publisher.js';
import { startOperatorSurface, type OperatorSurface } from './operator/operator-surface.js';
import { SiteStatusAdapter, type ProxyStatusView, type WorkerShareView } from './operator/site-status.js';
import type { BudgetControl } from './operator/snapshots.js';
import { createBudgetSource } from './power/create-budget-source.js';
import type { BudgetSource } from './power/budget-source.js';
import { HttpBudgetSource } from './power/http-budget-source.js';
import { Proxy } from './proxy.js';
import { createFleetState, type FleetUnit, type InitialUnitState } from './scheduler/fleet-state.js';
import { Scheduler } from './scheduler/scheduler.js';
import { StateStore } from './scheduler/state-store.js';

export interface SiteOptions {
  config: ResolvedConfig;
  logger: Logger;
  clock?: Clock;
  /** Device client per unit with an `api`; default: the Avalon cgminer driver at that address. */
  drivers?: (unit: FleetUnit) => DeviceApi;
  /** Use this budget source instead of the one `config.budget` describes (the guard options still come from the config). */
  budgetSource?: BudgetSource;
  /** Wraps the proxy's Stratum lever before the scheduler gets it. */
  wrapLever?: (lever: StratumLever) => StratumLever;
  /** The fleet's state at start (default: on in the top mode). */
  initialUnitState?: (miner: MinerConfig) => InitialUnitState;
  /** Dashboard/energy sampling period, ms. */
  sampleIntervalMs?: number;
  report?: EnergyReportOptions;
  /** `surplus demo`: the simulated time of day ("HH:MM"), shown on the dashboard. */
  simulatedTime?: () => string;
}

/** The proxy's snapshot seen through the operator surface's narrow view. */
export function proxyStatusView(proxy: Proxy): ProxyStatusView {
  return {
    overview: () => {
      const s = proxy.snapshot();
      return {
        pools: s.pools.map((p) => ({
          url: p.url,
          state: p.state,
          sinceMs: p.sinceMs,
          connections: p.connections,
          failovers: p.failovers,
          active: p.active,
          payoutMismatches: p.payoutMismatches,
          malformedLines: p.malformedLines,
          badMessages: p.badMessages,
          unknownReplies: p.unknownReplies,
          reconnectRequests: p.reconnectRequests,
          lastError: p.lastError,
          lastErrorAtMs: p.lastErrorAtMs,
          connectFailures: p.connectFailures,
          submitTimeouts: p.submitTimeouts,
          sharesLost: p.sharesLost,
          hungDetections: p.hungDetections,
          difficultyOutOfRange: p.difficultyOutOfRange,
        })),
        shares: s.shares,
        hashQueueDepth: s.hashQueueDepth,
        accounting: s.accounting,
        blockCandidates: s.blockCandidates,
      };
    },
    workers: () => {
      const out = new Map<string, WorkerShareView>();
      for (const w of proxy.workers()) {
        out.set(w.worker, {
          accepted: w.shares.accepted,
          rejected: w.shares.rejected,
          hashesPerSecond: w.hashrateThs * 1e12,
          lastShareAtMs: w.lastShareAtMs,
          difficulty: w.difficulty,
          connected: w.connections > 0,
        });
      }
      return out;
    },
  };
}

export class Site {
  private closed = false;
  /** Site status to MQTT (config `statusMqtt`, issue 12 item 9), when configured. */
  statusPublisher: MqttStatusPublisher | undefined;

  private constructor(
    readonly proxy: Proxy,
    readonly scheduler: Scheduler | undefined,
    readonly budgetSource: BudgetSource | undefined,
    readonly surface: OperatorSurface,
    readonly status: SiteStatusAdapter,
    readonly minerPort: number,
    private readonly logger: Logger,
  ) {}

  get httpUrl(): string {
    return this.surface.http.url;
  }

  static async start(options: SiteOptions): Promise<Site> {
    const { config, logger } = options;
    const clock = options.clock ?? systemClock;
    const proxy = new Proxy(config, { logger: logger.child({ part: 'proxy' }), clock });
    const cleanups: Array<() => Promise<void>> = [];
    try {
      const { port } = await proxy.start();
      cleanups.push(() => proxy.close());

      let scheduler: Scheduler | undefined;
      let budgetSource: BudgetSource | undefined;
      const telemetry = new DeviceTelemetry(clock);
      const tally = new DecisionTally();
      if (config.budget) {
        const guard = { holdLastS: config.budget.holdLastS, failsafeKw: config.budget.failsafeKw };
        budgetSource = options.budgetSource ?? (await createBudgetSource(config.budget, clock, logger.child({ part: 'budget' }))).source;
        const drivers = options.drivers ?? ((u: FleetUnit) => AvalonDriver.fromAddress(u.api!, { clock }));
        scheduler = new Scheduler({
          clock,
          logger: logger.child({ part: 'scheduler' }),
          settings: config.scheduler,
          fleet: createFleetState(config.fleet, options.initialUnitState),
          budget: budgetSource,
          guard,
          drivers: (u) => telemetry.wrap(u.id, drivers(u)),
          lever: options.wrapLever ? options.wrapLever(proxy.lever) : proxy.lever,
          // Issue 7: a restart resumes the plan instead of switching curtailed units back on.
          ...(config.stateFile ? { stateStore: new StateStore(config.stateFile, logger.child({ part: 'state' })) } : {}),
        });
        scheduler.onDecision((d) => tally.add(d));
        await scheduler.start();
        const started = scheduler;
        cleanups.push(() => started.stop());
      }

      const status = new SiteStatusAdapter({
        clock,
        proxy: proxyStatusView(proxy),
        miners: config.fleet.miners,
        ...(scheduler ? { scheduler } : {}),
        ...(budgetSource ? { budgetSource } : {}),
        telemetry,
        tally,
        ...(options.simulatedTime ? { simulatedTime: options.simulatedTime } : {}),
      });
      const surface = await startOperatorSurface({
        listen: config.http.listen,
        token: config.http.token,
        limits: {
          maxConnections: config.http.maxConnections,
          maxPerAddress: config.http.maxConnectionsPerAddress,
          headersTimeoutMs: config.http.headersTimeoutS * 1000,
          bodyTimeoutMs: config.http.bodyTimeoutS * 1000,
          idleTimeoutMs: config.http.idleTimeoutS * 1000,
        },
        source: status,
        budget: budgetControl(budgetSource, status),
        config,
        logger: logger.child({ part: 'http' }),
        clock,
        sampleIntervalMs: options.sampleIntervalMs,
        // Overshoot later than the cut deadline plus the slowest device lead is booked apart (issue 12 item 7).
        report: { responseMs: (config.scheduler.cutDeadlineS + maxLeadS(config)) * 1000, ...fleetFloor(config), ...options.report },
      });
      // Command latencies reach the histogram through the telemetry wrapper.
      telemetry.observer = surface.metrics;
      const site = new Site(proxy, scheduler, budgetSource, surface, status, port, logger);
      if (config.statusMqtt) {
        const m = config.statusMqtt;
        site.statusPublisher = new MqttStatusPublisher(
          { url: m.url, topic: m.topic, intervalS: m.intervalS, retain: m.retain, ...(m.username !== undefined ? { username: m.username } : {}), ...(m.password !== undefined ? { password: m.password } : {}) },
          status,
          logger.child({ part: 'status-mqtt' }),
          clock,
        );
        site.statusPublisher.start();
      }
      return site;
    } catch (err) {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      throw err;
    }
  }

  /** Stops taking requests, then stops the scheduler (and its budget source), then the proxy. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.statusPublisher?.stop();
    await this.surface.close();
    await this.scheduler?.stop();
    await this.proxy.close();
    this.logger.info('site closed');
  }
}

function budgetControl(source: BudgetSource | undefined, status: SiteStatusAdapter): BudgetControl | undefined {
  if (!(source instanceof HttpBudgetSource)) return undefined;
  return {
    get: () => status.status().budget,
    put: (body) => {
      const r = source.put(body);
      return { kw: r.kw, ttlS: r.ttlMs / 1000, ...(r.lowAhead ? { lowAhead: r.lowAhead } : {}) };
    },
  };
}

/** The fleet's all-off draw and its largest unit's top mode, kW, for the energy report (issue 12 item 7). */
function fleetFloor(config: ResolvedConfig): { floorKw?: number; unitKw?: number } {
  let floorKw = 0;
  let unitKw = 0;
  for (const m of config.fleet.miners) {
    const model = config.fleet.models[m.model];
    if (!model) continue;
    floorKw += model.standbyKw;
    for (const mode of model.modes) unitKw = Math.max(unitKw, mode.kw);
  }
  return unitKw > 0 ? { floorKw, unitKw } : {};
}

/** The longest device lead of the configured fleet, s: softoffDelayS plus a second (Avalon times are whole seconds). */
function maxLeadS(config: ResolvedConfig): number {
  let lead = 0;
  for (const m of config.fleet.miners) lead = Math.max(lead, (config.fleet.models[m.model]?.softoffDelayS ?? 0) + 1);
  return lead;
}
