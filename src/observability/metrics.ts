import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BUDGET_STATUSES, MINER_STATES, type MinerView, type SiteStatus, type SiteStatusSource } from './snapshots.js';
import type { EnergyReport } from './energy-report.js';

/**
 * Prometheus metrics for one site, in a private Registry so tests and several
 * instances in one process never collide on the global one.
 *
 * Most values are pulled from the status source at scrape time (collect
 * callbacks, one snapshot per scrape). Totals that the source keeps as
 * ever-growing numbers are exposed as real Counters, advanced by the delta
 * since the previous scrape, so `rate()` and reset detection work as
 * Prometheus expects. Command latency is event-fed (`observeCommand`), since a
 * distribution cannot be rebuilt from a snapshot.
 */
export interface SiteMetricsOptions {
  source: SiteStatusSource;
  /** Also export Node's process metrics (CPU, memory, event-loop lag). Default true. */
  processMetrics?: boolean;
  /** Histogram buckets for device command latency, seconds. */
  commandBuckets?: number[];
  /** The energy report, for its above-budget and after-deadline totals. */
  report?: EnergyReport;
}

interface Snapshot {
  status: SiteStatus;
  miners: MinerView[];
}

type Labels = Record<string, string>;

/** Advances a Counter to follow an external monotonic total. */
class CounterFollower {
  private readonly last = new Map<string, number>();
  constructor(readonly counter: Counter<string>) {}

  follow(labels: Labels, total: number): void {
    if (!Number.isFinite(total) || total < 0) return;
    const key = JSON.stringify(labels);
    const prev = this.last.get(key);
    // A total below the previous one means the source was recreated and counts from 0 again.
    const delta = prev === undefined ? total : total >= prev ? total - prev : total;
    this.counter.inc(labels, delta);
    this.last.set(key, total);
  }
}

export class SiteMetrics {
  readonly registry = new Registry();
  private readonly source: SiteStatusSource;
  private current: Snapshot | null = null;
  private readonly commandSeconds: Histogram<'command'>;

  constructor(options: SiteMetricsOptions) {
    this.source = options.source;
    const registers = [this.registry];
    const snap = (): Snapshot => this.current ?? { status: this.source.status(), miners: this.source.miners() };

    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge<string>, s: Snapshot) => void): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          if (labelNames.length > 0) this.reset(); // drop series of pools/miners that went away
          fill(this, snap());
        },
      });
    };
    const counter = (name: string, help: string, labelNames: string[], fill: (f: CounterFollower, s: Snapshot) => void): void => {
      let follower: CounterFollower;
      const c = new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          fill(follower, snap());
        },
      });
      follower = new CounterFollower(c);
    };

    gauge('surplus_budget_kw', 'Power budget the scheduler follows now, kW.', [], (g, s) => g.set(s.status.budget.kw));
    gauge('surplus_planned_kw', 'Power the current plan intends to draw, kW.', [], (g, s) => g.set(s.status.plannedKw));
    gauge('surplus_measured_kw', 'Measured (or modelled) fleet draw, kW.', [], (g, s) => g.set(s.status.measuredKw));
    // Issue 12 item 9: balancing capacity, what the fleet can shed / add now.
    gauge('surplus_flex_shed_kw', 'kW the fleet can shed within the cut deadline (scheduler.cutDeadlineS).', [], (g, s) => {
      if (s.status.flexibility) g.set(s.status.flexibility.shedKw);
    });
    gauge('surplus_flex_add_kw', 'kW the fleet can add within the given horizon (60 s, 300 s), ramp limit included.', ['within'], (g, s) => {
      const f = s.status.flexibility;
      if (!f) return;
      g.set({ within: '60s' }, f.add1MinKw);
      g.set({ within: '300s' }, f.add5MinKw);
    });
    gauge('surplus_cycles_per_unit', 'On/off cycles per unit since start (issue 12 wear), by statistic.', ['stat'], (g, s) => {
      const w = s.status.wear;
      if (!w) return;
      for (const stat of ['mean', 'p95', 'max'] as const) g.set({ stat }, w.cyclesPerUnit[stat]);
    });
    gauge('surplus_ramp_loss_kwh', 'Modelled energy lost since start, kWh: to ramp-up after softons and mode changes, and to the ramp limit (budget room it held back).', ['cause'], (g, s) => {
      const w = s.status.wear;
      if (w?.rampUpLossKwh !== undefined) g.set({ cause: 'ramp-up' }, w.rampUpLossKwh);
      if (w?.rampLimitCostKwh !== undefined) g.set({ cause: 'ramp-limit' }, w.rampLimitCostKwh);
    });
    gauge('surplus_mode_changes_per_unit', 'Work-mode changes per unit since start, by statistic.', ['stat'], (g, s) => {
      const w = s.status.wear;
      if (!w) return;
      for (const stat of ['mean', 'max'] as const) g.set({ stat }, w.modeChangesPerUnit[stat]);
    });
    const report = options.report;
    if (report) {
      gauge('surplus_energy_above_budget_pct_of_offered', 'Energy drawn above the budget as a share of the energy offered, % (energy report totals).', [], (g) => {
        const t = report.totals();
        if (t.aboveBudgetPctOfOffered !== null) g.set(t.aboveBudgetPctOfOffered);
      });
      gauge('surplus_energy_after_deadline_above_kwh', 'Energy drawn above the budget later than the response deadline (cut deadline + device lead), kWh (energy report totals; should stay 0).', [], (g) =>
        g.set(report.totals().afterDeadlineAboveKwh),
      );
      gauge('surplus_absorbed_above_floor_pct', 'Share of the surplus above the all-off (standby) draw absorbed within the budget, % (energy report totals).', [], (g) => {
        const t = report.totals();
        if (t.absorbedAboveFloorPct !== null) g.set(t.absorbedAboveFloorPct);
      });
      gauge('surplus_above_budget_by_more_than_unit_seconds', "Time the draw was above the budget by more than one unit's draw, s (energy report totals).", [], (g) => g.set(report.totals().aboveByMoreThanUnitS));
      gauge('surplus_after_deadline_above_seconds', 'Time above the budget later than the response deadline, s (energy report totals).', [], (g) => g.set(report.totals().afterDeadlineAboveS));
    }
    gauge('surplus_fleet_hashrate_ths', 'Fleet hashrate, TH/s.', [], (g, s) => g.set(s.status.hashrateThs));
    gauge('surplus_hash_queue_depth', 'Shares waiting for a hashing worker.', [], (g, s) => g.set(s.status.hashQueueDepth));
    gauge(
      'surplus_budget_source_status',
      'Budget source state: 1 for the current status (live, holding, failsafe), 0 for the others.',
      ['source', 'status'],
      (g, s) => {
        for (const st of BUDGET_STATUSES) g.set({ source: s.status.budget.source, status: st }, s.status.budget.status === st ? 1 : 0);
      },
    );
    gauge('surplus_pool_up', '1 while the upstream pool connection is up.', ['pool'], (g, s) => {
      for (const p of s.status.pools) g.set({ pool: p.url }, p.state === 'up' ? 1 : 0);
    });
    gauge('surplus_pool_active', '1 for the pool currently receiving shares.', ['pool'], (g, s) => {
      for (const p of s.status.pools) g.set({ pool: p.url }, p.active ? 1 : 0);
    });
    gauge('surplus_pool_connections', 'Open upstream connections per pool.', ['pool'], (g, s) => {
      for (const p of s.status.pools) g.set({ pool: p.url }, p.connections);
    });
    gauge('surplus_miners', 'Miners per state.', ['state'], (g, s) => {
      for (const st of MINER_STATES) g.set({ state: st }, s.status.minersByState[st] ?? 0);
    });
    gauge('surplus_miner_power_kw', 'Per-miner draw, kW.', ['miner'], (g, s) => {
      for (const m of s.miners) g.set({ miner: m.id }, m.kw);
    });
    gauge('surplus_miner_hashrate_ths', 'Per-miner hashrate, TH/s.', ['miner'], (g, s) => {
      for (const m of s.miners) g.set({ miner: m.id }, m.hashrateThs);
    });

    counter('surplus_shares_total', 'Shares from miners by verdict (result) and rejection reason.', ['result', 'reason'], (f, s) => {
      f.follow({ result: 'accepted', reason: '' }, s.status.shares.accepted);
      for (const [reason, n] of Object.entries(s.status.shares.rejected)) f.follow({ result: 'rejected', reason }, n);
    });
    counter('surplus_shares_difficulty_total', 'Sum of the difficulty of accepted shares (difficulty-weighted shares).', [], (f, s) =>
      f.follow({}, s.status.shares.acceptedDifficulty),
    );
    counter('surplus_submits_received_total', 'mining.submit requests received from miners.', [], (f, s) => f.follow({}, s.status.shares.submitsReceived));
    counter('surplus_submits_answered_total', 'mining.submit requests answered to miners.', [], (f, s) => f.follow({}, s.status.shares.submitsAnswered));
    counter('surplus_shares_forwarded_total', 'Shares that met the pool target and were sent upstream.', [], (f, s) => f.follow({}, s.status.shares.forwarded));
    counter('surplus_pool_shares_total', "Pool's answers to forwarded shares (accepted, rejected, timeout).", ['result'], (f, s) => {
      f.follow({ result: 'accepted' }, s.status.shares.poolAccepted);
      f.follow({ result: 'rejected' }, s.status.shares.poolRejected);
      f.follow({ result: 'timeout' }, s.status.shares.poolTimedOut);
    });
    counter('surplus_failovers_total', 'Failovers away from each pool.', ['pool'], (f, s) => {
      for (const p of s.status.pools) f.follow({ pool: p.url }, p.failovers);
    });
    counter('surplus_payout_mismatch_total', 'Upstream jobs refused because their coinbase did not pay the expected payout (alert on any increase).', ['pool'], (f, s) => {
      for (const p of s.status.pools) f.follow({ pool: p.url }, p.payoutMismatches ?? 0);
    });
    counter('surplus_pool_protocol_errors_total', 'Pool input surplus could not use: lines that are not JSON-RPC, messages with bad parameters, replies to no request we sent.', ['pool', 'kind'], (f, s) => {
      for (const p of s.status.pools) {
        f.follow({ pool: p.url, kind: 'malformed_line' }, p.malformedLines ?? 0);
        f.follow({ pool: p.url, kind: 'bad_message' }, p.badMessages ?? 0);
        f.follow({ pool: p.url, kind: 'unknown_reply' }, p.unknownReplies ?? 0);
      }
    });
    counter('surplus_pool_reconnect_requests_total', 'client.reconnect requests received from each pool.', ['pool'], (f, s) => {
      for (const p of s.status.pools) f.follow({ pool: p.url }, p.reconnectRequests ?? 0);
    });
    gauge('surplus_accounting_balanced', '1 while the share books balance (every submit answered, every forwarded share settled or pending).', [], (g, s) => {
      if (s.status.accounting) g.set(s.status.accounting.balanced ? 1 : 0);
    });
    counter('surplus_scheduler_decisions_total', 'Scheduler actions by kind.', ['action'], (f, s) => {
      for (const [action, n] of Object.entries(s.status.scheduler.decisions)) f.follow({ action }, n);
    });
    counter('surplus_device_commands_total', 'Device commands sent.', [], (f, s) => f.follow({}, s.status.commands.sent));
    counter('surplus_device_command_failures_total', 'Device commands that failed (timeout, refusal, I/O error).', [], (f, s) =>
      f.follow({}, s.status.commands.failed),
    );

    this.commandSeconds = new Histogram({
      name: 'surplus_device_command_seconds',
      help: 'Device command latency, from send to answer, seconds.',
      labelNames: ['command'],
      buckets: options.commandBuckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });

    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Records one device command's latency (event-fed; call it when the answer or the failure arrives). */
  observeCommand(command: string, seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.commandSeconds.observe({ command }, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Prometheus text exposition, from one snapshot of the source. */
  async render(): Promise<string> {
    this.current = { status: this.source.status(), miners: this.source.miners() };
    try {
      return await this.registry.metrics();
    } finally {
      this.current = null;
    }
  }
}
