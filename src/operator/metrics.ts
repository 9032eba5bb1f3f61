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
  /**
   * Per-miner series (`miner` label) for at most this many miners, configured
   * units first (default 1000). Each miner costs about six series; past the
   * cap the fleet-wide gauges (temperature bands, hottest unit, fans stopped)
   * still cover everyone, and `surplus_miner_series_omitted` says how many
   * were left out. The cap matters because workers the fleet config does not
   * list get a row named by the miner itself: without it, miners could grow
   * the scrape without bound.
   */
  maxMinerSeries?: number;
}

/** Fleet temperature bands, °C (upper bounds; the last band is open). Fixed, so the label set is too. */
const TEMP_BANDS = [50, 60, 70, 80, 90] as const;
function tempBand(c: number): string {
  for (const b of TEMP_BANDS) if (c < b) return `<${b}`;
  return `>=${TEMP_BANDS[TEMP_BANDS.length - 1]}`;
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

/** The operator HTTP server's own counts (HttpServerHandle.connections()). */
export interface HttpStats {
  open: number;
  paced: number;
  refused: number;
  evicted: number;
  timedOut: number;
  authFailures: number;
}

export class SiteMetrics {
  readonly registry = new Registry();
  /** Set by the operator surface once its HTTP server runs; until then the surplus_http_* series read 0. */
  httpStats: (() => HttpStats) | undefined;
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
    gauge('surplus_budget_low_ahead_kw', "Lowest budget the sender expects within its look-ahead (lowAhead), kW; the budget itself while there is none.", [], (g, s) =>
      g.set(s.status.budget.lowAhead?.kw ?? s.status.budget.kw),
    );
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
    gauge('surplus_wear_held_kw', 'Budget room the wear budget holds off now: whole units out of cycles or inside a wear hold that would fit, kW (estimate).', [], (g, s) => {
      const w = s.status.wear;
      if (w?.wearHeldKw !== undefined) g.set(w.wearHeldKw);
    });
    gauge('surplus_wear_held_kwh', 'Budget room the wear budget held off since start, kWh (estimate; simulate reports the same as "held off by the wear budget").', [], (g, s) => {
      const w = s.status.wear;
      if (w?.wearHeldKwh !== undefined) g.set(w.wearHeldKwh);
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
    const maxMiners = options.maxMinerSeries ?? 1000;
    const perMiner = (s: Snapshot): MinerView[] => (s.miners.length > maxMiners ? s.miners.slice(0, maxMiners) : s.miners);
    gauge('surplus_miner_power_kw', 'Per-miner draw, kW.', ['miner'], (g, s) => {
      for (const m of perMiner(s)) g.set({ miner: m.id }, m.kw);
    });
    gauge('surplus_miner_hashrate_ths', 'Per-miner hashrate, TH/s.', ['miner'], (g, s) => {
      for (const m of perMiner(s)) g.set({ miner: m.id }, m.hashrateThs);
    });
    gauge('surplus_miner_temperature_celsius', 'Per-miner hottest temperature the device reports (Avalon TMax), °C.', ['miner'], (g, s) => {
      for (const m of perMiner(s)) if (m.device?.tempMaxC !== undefined) g.set({ miner: m.id }, m.device.tempMaxC);
    });
    gauge('surplus_miner_fan_min_rpm', 'Per-miner slowest fan, rpm (0: a fan stopped).', ['miner'], (g, s) => {
      for (const m of perMiner(s)) if (m.device?.fansRpm && m.device.fansRpm.length > 0) g.set({ miner: m.id }, Math.min(...m.device.fansRpm));
    });
    gauge('surplus_miner_uptime_seconds', 'Per-miner uptime of the mining software (cgminer Elapsed), s; a drop is a reboot.', ['miner'], (g, s) => {
      for (const m of perMiner(s)) if (m.device?.uptimeS !== undefined) g.set({ miner: m.id }, m.device.uptimeS);
    });
    gauge('surplus_miner_device_error_timestamp_seconds', 'Per-miner time of the last failed device command or read, Unix s.', ['miner'], (g, s) => {
      for (const m of perMiner(s)) if (m.device?.lastErrorAtMs !== undefined) g.set({ miner: m.id }, m.device.lastErrorAtMs / 1000);
    });
    gauge('surplus_miner_series_omitted', 'Miners left out of the per-miner series by the cap (maxMinerSeries); the fleet gauges still count them.', [], (g, s) =>
      g.set(Math.max(0, s.miners.length - maxMiners)),
    );
    gauge('surplus_miners_by_temperature', 'Miners per temperature band of their hottest reading, °C (unknown: none reported).', ['band'], (g, s) => {
      const counts = new Map<string, number>([...TEMP_BANDS.map((b) => [`<${b}`, 0] as const), [`>=${TEMP_BANDS[TEMP_BANDS.length - 1]}`, 0], ['unknown', 0]]);
      for (const m of s.miners) {
        const band = m.device?.tempMaxC === undefined ? 'unknown' : tempBand(m.device.tempMaxC);
        counts.set(band, (counts.get(band) ?? 0) + 1);
      }
      for (const [band, n] of counts) g.set({ band }, n);
    });
    gauge('surplus_fleet_temperature_max_celsius', 'Hottest temperature any miner reports, °C (absent when none does).', [], (g, s) => {
      let max = -Infinity;
      for (const m of s.miners) if (m.device?.tempMaxC !== undefined) max = Math.max(max, m.device.tempMaxC);
      if (Number.isFinite(max)) g.set(max);
    });
    gauge('surplus_miners_fan_stopped', 'Hashing miners with a fan at 0 rpm.', [], (g, s) => {
      g.set(s.miners.filter((m) => m.state === 'hashing' && m.device?.fansRpm?.some((f) => f === 0)).length);
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
      f.follow({ result: 'lost' }, s.status.shares.poolLost ?? 0);
    });
    counter('surplus_block_candidates_total', 'Block candidates sent upstream by outcome; unacknowledged ones were logged at error level with everything needed to submit them by hand (alert on any increase).', ['result'], (f, s) => {
      const b = s.status.blockCandidates;
      if (!b) return;
      f.follow({ result: 'submitted' }, b.submitted);
      f.follow({ result: 'accepted' }, b.accepted);
      f.follow({ result: 'rejected' }, b.rejected);
      f.follow({ result: 'unacknowledged' }, b.unacknowledged);
    });
    counter('surplus_pool_errors_total', 'Upstream trouble per pool: failed connection attempts, submits not answered in time, hung-pool detections, shares lost with a closed connection.', ['pool', 'kind'], (f, s) => {
      for (const p of s.status.pools) {
        f.follow({ pool: p.url, kind: 'connect_failure' }, p.connectFailures ?? 0);
        f.follow({ pool: p.url, kind: 'submit_timeout' }, p.submitTimeouts ?? 0);
        f.follow({ pool: p.url, kind: 'hung' }, p.hungDetections ?? 0);
        f.follow({ pool: p.url, kind: 'share_lost' }, p.sharesLost ?? 0);
      }
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
    counter('surplus_pool_difficulty_out_of_range_total', 'Pool difficulties (set_difficulty / set_target) below difficulty.min or beyond any share; miners were kept within the bounds.', ['pool'], (f, s) => {
      for (const p of s.status.pools) f.follow({ pool: p.url }, p.difficultyOutOfRange ?? 0);
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

    // The control plane under pressure (issue 11): slow clients, floods, token guessing.
    gauge('surplus_http_connections', 'Open connections to the operator HTTP server.', [], (g) => {
      const h = this.httpStats?.();
      if (h) g.set(h.open);
    });
    gauge('surplus_http_paced_requests', 'PUT /api/budget requests waiting their turn while wrong tokens are over budget.', [], (g) => {
      const h = this.httpStats?.();
      if (h) g.set(h.paced);
    });
    counter('surplus_http_connections_closed_total', 'Operator HTTP connections closed by the guard: refused at a cap, evicted to make room, or timed out.', ['reason'], (f) => {
      const h = this.httpStats?.();
      if (!h) return;
      f.follow({ reason: 'refused' }, h.refused);
      f.follow({ reason: 'evicted' }, h.evicted);
      f.follow({ reason: 'timeout' }, h.timedOut);
    });
    counter('surplus_http_auth_failures_total', 'PUT /api/budget requests with a missing or wrong bearer token.', [], (f) => {
      const h = this.httpStats?.();
      if (h) f.follow({}, h.authFailures);
    });

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
