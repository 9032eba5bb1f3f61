import { systemClock, type Clock } from '../clock.js';
import { EnergyReport, type EnergyReportOptions } from './energy-report.js';
import { HistoryRing } from './history.js';
import type { ConnectionLimits } from './http-connections.js';
import { startHttpServer, type HttpServerHandle } from './http-server.js';
import type { Logger } from '../observability/logger.js';
import { SiteMetrics } from './metrics.js';
import { SiteSampler } from './site-sampler.js';
import type { BudgetControl, SiteStatusSource } from './snapshots.js';

export interface OperatorSurfaceOptions {
  /** http.listen, "host:port". */
  listen: string;
  /** http.token. */
  token?: string;
  /** http.maxConnections, http.maxConnectionsPerAddress and the http.*TimeoutS keys, in ms. */
  limits?: Partial<ConnectionLimits>;
  source: SiteStatusSource;
  budget?: BudgetControl;
  /** Effective configuration, served redacted at /api/config. */
  config?: unknown;
  logger?: Logger;
  clock?: Clock;
  /** Dashboard history / energy sampling period, ms (default 1000). */
  sampleIntervalMs?: number;
  /** History points kept (default 900: 15 minutes at 1 s). */
  historyPoints?: number;
  report?: EnergyReportOptions;
  processMetrics?: boolean;
}

export interface OperatorSurface {
  http: HttpServerHandle;
  metrics: SiteMetrics;
  sampler: SiteSampler;
  close(): Promise<void>;
}

/** Metrics, sampler (history + energy report) and the HTTP server, wired and started together. */
export async function startOperatorSurface(options: OperatorSurfaceOptions): Promise<OperatorSurface> {
  const clock = options.clock ?? systemClock;
  const report = new EnergyReport(options.report);
  const metrics = new SiteMetrics({ source: options.source, processMetrics: options.processMetrics ?? true, report });
  const sampler = new SiteSampler({
    source: options.source,
    clock,
    intervalMs: options.sampleIntervalMs ?? 1000,
    history: new HistoryRing(options.historyPoints ?? 900),
    report,
    logger: options.logger,
  });
  const http = await startHttpServer({
    listen: options.listen,
    token: options.token,
    ...(options.limits ? { limits: options.limits } : {}),
    source: options.source,
    budget: options.budget,
    metrics,
    history: sampler.history,
    report: sampler.report,
    config: options.config,
    logger: options.logger,
    clock,
  });
  metrics.httpStats = () => http.connections();
  sampler.start();
  return {
    http,
    metrics,
    sampler,
    close: async () => {
      sampler.stop();
      await http.close();
    },
  };
}
