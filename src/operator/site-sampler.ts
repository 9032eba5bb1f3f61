import { every, type Clock, type Repeater } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import { EnergyReport } from './energy-report.js';
import { HistoryRing } from './history.js';
import { totalRejected, type SiteStatusSource } from './snapshots.js';

export interface SiteSamplerOptions {
  source: SiteStatusSource;
  clock: Clock;
  /** Sampling period, milliseconds (default 1000). */
  intervalMs?: number;
  history?: HistoryRing;
  report?: EnergyReport;
  logger?: Logger;
}

/**
 * The edge that turns snapshots into time series: every `intervalMs` it reads
 * the source once and feeds the dashboard history and the energy report.
 * The timer is unref'd so it never holds the process open.
 */
export class SiteSampler {
  readonly history: HistoryRing;
  readonly report: EnergyReport;
  private readonly source: SiteStatusSource;
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly logger: Logger | undefined;
  private timer: Repeater | null = null;
  private lastAcceptedDifficulty: number | null = null;
  private failures = 0;

  constructor(options: SiteSamplerOptions) {
    this.source = options.source;
    this.clock = options.clock;
    this.intervalMs = options.intervalMs ?? 1000;
    this.history = options.history ?? new HistoryRing();
    this.report = options.report ?? new EnergyReport();
    this.logger = options.logger;
  }

  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = every(this.clock, this.intervalMs, () => this.sample()).unref();
  }

  stop(): void {
    this.timer?.stop();
    this.timer = null;
  }

  /** Takes one sample now; a failing source is logged (first and every 60th time), never thrown into the timer. */
  sample(): void {
    try {
      const s = this.source.status();
      const atMs = this.clock.now();
      const diff = s.shares.acceptedDifficulty;
      // The source counter only grows; a drop means it was recreated, so count from its new value.
      const delta = this.lastAcceptedDifficulty === null ? 0 : diff >= this.lastAcceptedDifficulty ? diff - this.lastAcceptedDifficulty : diff;
      this.lastAcceptedDifficulty = diff;
      this.history.push({
        atMs,
        budgetKw: s.budget.kw,
        plannedKw: s.plannedKw,
        measuredKw: s.measuredKw,
        hashrateThs: s.hashrateThs,
        sharesAccepted: s.shares.accepted,
        sharesRejected: totalRejected(s.shares),
      });
      this.report.add({ atMs, budgetKw: s.budget.kw, drawnKw: s.measuredKw, diffShares: delta, ...(s.budget.source === 'none' ? { noBudget: true } : {}) });
      this.failures = 0;
    } catch (err) {
      if (this.failures % 60 === 0) this.logger?.error({ err }, 'site sampler could not read the status');
      this.failures += 1;
    }
  }
}
