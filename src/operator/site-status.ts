import type { Clock } from '../clock.js';
import type { BudgetReading } from '../power/budget-source.js';
import type { Flexibility } from '../scheduler/flexibility.js';
import type { SchedulerSnapshot, UnitSnapshot } from '../scheduler/scheduler-core.js';
import type { WearFigures } from '../scheduler/wear-count.js';
import type { DecisionTally } from './decision-tally.js';
import type { DeviceReading, DeviceTelemetry } from './device-telemetry.js';
import {
  countMinersByState,
  emptyShareAccounting,
  type AccountingView,
  type BlockCandidatesView,
  type BudgetStatus,
  type MinerDevice,
  type MinerState,
  type MinerView,
  type PoolView,
  type ShareAccounting,
  type SiteStatus,
  type SiteStatusSource,
} from './snapshots.js';

/** Per-worker share figures as the proxy's ledger keeps them. */
export interface WorkerShareView {
  accepted: number;
  /** Rejections by reason; `stale`/`stale-job` are shown as stale, the rest as rejected. */
  rejected: Record<string, number>;
  hashesPerSecond: number;
  lastShareAtMs: number | null;
  difficulty: number | null;
  connected: boolean;
}

/** What the adapter needs from the proxy; the composition root implements it over the real proxy. */
export interface ProxyStatusView {
  /** Pools, share totals and the hash queue, read once per snapshot. */
  overview(): { pools: PoolView[]; shares: ShareAccounting; hashQueueDepth: number; accounting?: AccountingView; blockCandidates?: BlockCandidatesView };
  /** Every worker the proxy knows, by worker name (read once per snapshot). */
  workers(): ReadonlyMap<string, WorkerShareView>;
}

export interface SiteStatusParts {
  clock: Clock;
  proxy: ProxyStatusView;
  /** Miners the site expects (from fleet.miners); workers seen only by the proxy are listed after them. */
  miners: ReadonlyArray<{ id: string; worker: string; api?: string }>;
  scheduler?: { snapshot(): SchedulerSnapshot; flexibility?(): Flexibility; wear?(): WearFigures & { rampUpLossKwh?: number; rampLimitCostKwh?: number; wearHeldKwh?: number; wearHeldKw?: number } };
  budgetSource?: { latest(): BudgetReading | undefined };
  telemetry?: DeviceTelemetry;
  tally?: DecisionTally;
  /** `surplus demo`: the simulated time of day ("HH:MM"). */
  simulatedTime?: () => string;
}

const STALE_REASONS: ReadonlySet<string> = new Set(['stale', 'stale-job']);

/**
 * Adapts the live pieces (proxy, scheduler, budget source, device telemetry)
 * to the operator surface's SiteStatusSource. Reads only; never changes them.
 */
export class SiteStatusAdapter implements SiteStatusSource {
  constructor(private readonly parts: SiteStatusParts) {}

  miners(): MinerView[] {
    return this.minersFrom(this.parts.scheduler?.snapshot());
  }

  status(): SiteStatus {
    const snap = this.parts.scheduler?.snapshot();
    const miners = this.minersFrom(snap);
    const reading = this.parts.budgetSource?.latest();
    const proxy = this.parts.proxy.overview();
    const budget = snap
      ? {
          kw: snap.budget.kw,
          status: snap.budget.status as BudgetStatus,
          source: snap.budget.source ?? 'none',
          updatedAtMs: reading?.atMs ?? null,
          expiresAtMs: reading && Number.isFinite(reading.ttlMs) ? reading.atMs + reading.ttlMs : null,
          ...(snap.budget.lowAhead ? { lowAhead: snap.budget.lowAhead } : {}),
        }
      : { kw: 0, status: 'live' as const, source: 'none', updatedAtMs: null, expiresAtMs: null };
    return {
      atMs: this.parts.clock.now(),
      budget,
      plannedKw: snap?.plannedKw ?? miners.reduce((a, m) => a + m.kw, 0),
      measuredKw: miners.reduce((a, m) => a + m.kw, 0),
      hashrateThs: miners.reduce((a, m) => a + m.hashrateThs, 0),
      pools: proxy.pools,
      minersByState: countMinersByState(miners),
      shares: { ...emptyShareAccounting(), ...proxy.shares },
      scheduler: this.parts.tally?.view() ?? { decisions: {}, lastDecisionAtMs: null, lastReason: null, recent: [] },
      commands: this.parts.telemetry?.view() ?? { sent: 0, failed: 0, lastLatencyMs: null },
      hashQueueDepth: proxy.hashQueueDepth,
      ...(proxy.accounting ? { accounting: proxy.accounting } : {}),
      ...(proxy.blockCandidates ? { blockCandidates: proxy.blockCandidates } : {}),
      ...(this.parts.simulatedTime ? { simulatedTime: this.parts.simulatedTime() } : {}),
      ...(this.parts.scheduler?.flexibility ? { flexibility: this.parts.scheduler.flexibility() } : {}),
      ...(this.parts.scheduler?.wear ? { wear: this.parts.scheduler.wear() } : {}),
    };
  }

  private deviceOf(m: { id: string; api?: string }, reading: DeviceReading | undefined): MinerDevice | undefined {
    const failure = this.parts.telemetry?.lastError(m.id);
    if (m.api === undefined && !reading && !failure) return undefined;
    const d = reading?.status.details;
    return {
      ...(m.api !== undefined ? { address: m.api } : {}),
      ...(reading ? { readAtMs: reading.atMs } : {}),
      ...d,
      ...(failure ? { lastError: `${failure.command}: ${failure.message}`, lastErrorAtMs: failure.atMs } : {}),
    };
  }

  private minersFrom(snap: SchedulerSnapshot | undefined): MinerView[] {
    const units = new Map<string, UnitSnapshot>();
    for (const u of snap?.units ?? []) units.set(u.id, u);
    const workers = this.parts.proxy.workers();
    const known = new Set(this.parts.miners.map((m) => m.worker));
    // Workers the proxy serves that the fleet config does not list (a proxy-only site) still get a row.
    const extra = [...workers.keys()].filter((w) => !known.has(w)).map((w) => ({ id: w, worker: w }));
    return [...this.parts.miners, ...extra].map((m) => {
      const unit = units.get(m.id);
      const reading = this.parts.telemetry?.reading(m.id);
      const w = workers.get(m.worker);
      let stale = 0;
      let rejected = 0;
      for (const [reason, n] of Object.entries(w?.rejected ?? {})) {
        if (STALE_REASONS.has(reason)) stale += n;
        else rejected += n;
      }
      const deviceThs = reading?.status.hashrateThs;
      const device = this.deviceOf(m, reading);
      return {
        id: m.id,
        worker: m.worker,
        state: this.stateOf(m.id, unit, w),
        mode: unit && unit.state === 'on' ? unit.mode : null,
        // A device's own wall-power reading beats the scheduler's nominal figure.
        kw: reading?.status.wallPowerW !== undefined ? reading.status.wallPowerW / 1000 : (unit?.kw ?? 0),
        hashrateThs: deviceThs ?? (w ? w.hashesPerSecond / 1e12 : 0),
        shares: { accepted: w?.accepted ?? 0, rejected, stale },
        difficulty: w?.difficulty ?? 0,
        lastShareAtMs: w?.lastShareAtMs ?? null,
        ...(unit ? { reason: unit.reason } : {}),
        ...(device ? { device } : {}),
      };
    });
  }

  private stateOf(id: string, unit: UnitSnapshot | undefined, w: WorkerShareView | undefined): MinerState {
    const reading = this.parts.telemetry?.reading(id);
    if (unit && !unit.available) return 'fault';
    if (this.parts.telemetry?.isFailing(id) || reading?.status.state === 'fault') return 'fault';
    if (unit && unit.state === 'off') return 'curtailed';
    if (!w?.connected) return 'disconnected';
    if (reading && (reading.status.softOff || reading.status.state === 'init' || reading.status.state === 'idle')) return 'ramping';
    return 'hashing';
  }
}
