/**
 * Composition root of the proxy: the miners' server, the upstream manager,
 * the share hasher, the ledger and the fail-safe lever, wired together.
 * start() / close(); snapshot() and workers() are plain objects for the
 * operator surface (HTTP API, metrics, dashboard).
 */
import type { ResolvedConfig } from './config/load.js';
import { systemClock, type Clock } from './clock.js';
import { silentLogger, type Logger } from './observability/logger.js';
import type { StratumLever } from './fleet/control.js';
import type { ShareHasher } from './shares/types.js';
import { createHashPool } from './shares/hashing/hash-pool.js';
import { MinerServer } from './server/miner-server.js';
import { emptyCounters, ShareLedger, type ShareCounters } from './server/worker-stats.js';
import { shareBalance, type ShareBalance } from './server/share-balance.js';
import { UpstreamManager, type PoolStatus } from './upstream/upstream-manager.js';
import type { BlockCounters } from './upstream/block-watch.js';

export interface ProxyDeps {
  logger?: Logger;
  /** Share hasher; default: a worker-thread pool sized by config `shares`. */
  hasher?: ShareHasher;
  clock?: Clock;
  /** Jitter source for backoff (tests pass a fixed one). */
  random?: () => number;
}

export interface ProxySnapshot {
  atMs: number;
  port: number;
  minersConnected: number;
  /** Subscribed and authorized. */
  minersReady: number;
  upstreamConnections: number;
  activePool: string;
  pools: PoolStatus[];
  shares: ShareCounters;
  /** Σdiff·2^32/Δt over the last 5 minutes, all workers. */
  hashrateThs: number;
  hashQueueDepth: number;
  malformedLines: number;
  refusedConnections: number;
  /**
   * Upstream jobs handed to miners; time for one upstream connection's
   * hand-out (translate, serialise once, write to each miner), ms; wall-clock
   * time the latest hand-out's last write was issued.
   */
  jobFanout: { jobs: number; lastMs: number; maxMs: number; totalMs: number; lastMembers: number; lastEndAtMs: number };
  /** Σ pools[].payoutMismatches: jobs refused by the payout guard (surplus_payout_mismatch_total). */
  payoutMismatches: number;
  /** Whether the share books balance right now (issue 7). */
  accounting: ShareBalance;
  /** Block candidates sent upstream and what became of them (issue 11: none lost silently). */
  blockCandidates: BlockCounters;
  /** Rows in the tables keyed by what peers choose (issue 11 item 9: bounded by count and age). */
  tables: { workerRows: number; resumableSessions: number };
}

export interface WorkerSnapshot {
  worker: string;
  connections: number;
  difficulty: number | null;
  withheld: boolean;
  shares: ShareCounters;
  hashrateThs: number;
  lastShareAtMs: number | null;
}

function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}

export class Proxy {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly hasher: ShareHasher;
  private readonly ownsHasher: boolean;
  private readonly ledger: ShareLedger;
  /** Fleet workers: their share rows are kept however long they are idle (curtailed). */
  private readonly fleetWorkers: ReadonlySet<string>;
  private readonly upstream: UpstreamManager;
  private readonly server: MinerServer;
  private port = 0;
  private started = false;

  constructor(
    readonly config: ResolvedConfig,
    deps: ProxyDeps = {},
  ) {
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger();
    this.ledger = new ShareLedger({ maxIdleMs: config.limits.workerRowIdleS * 1000, now: () => this.clock.now() });
    this.fleetWorkers = new Set(config.fleet.miners.map((m) => m.worker));
    this.ownsHasher = deps.hasher === undefined;
    this.hasher =
      deps.hasher ?? createHashPool({ threads: config.shares.hashThreads, batchSize: config.shares.batchSize, maxQueue: config.shares.maxQueue });
    this.upstream = new UpstreamManager({
      pools: config.pools,
      upstream: config.upstream,
      maxLineBytes: config.limits.maxLineBytes,
      maxWriteBufferBytes: config.limits.maxWriteBufferBytes,
      difficultyBounds: { min: config.difficulty.min, max: config.difficulty.max },
      clock: this.clock,
      logger: this.logger,
      ...(deps.random ? { random: deps.random } : {}),
    });
    this.server = new MinerServer(
      { config, clock: this.clock, logger: this.logger, hasher: this.hasher, ledger: this.ledger, upstream: this.upstream },
      {
        tick: (now) => {
          this.ledger.prune(now, (w) => this.fleetWorkers.has(w) || this.server.lever.isWithheld(w) || !this.server.sessionsOf(w)[Symbol.iterator]().next().done);
        },
      },
    );
  }

  /** The Stratum fail-safe lever over this proxy's miners (the scheduler's StratumLever). */
  get lever(): StratumLever {
    return this.server.lever;
  }

  /** Listens for miners (config `listen`) and starts connecting to the first pool. */
  async start(): Promise<{ port: number }> {
    if (this.started) return { port: this.port };
    this.started = true;
    const { host, port } = splitHostPort(this.config.listen);
    // Bind first: a port already in use fails start before any pool is dialled.
    this.port = await this.server.listen(host, port);
    this.upstream.start();
    const engine = await this.hasher.engine?.();
    this.logger.info(
      { listen: `${host}:${this.port}`, pools: this.config.pools.map((p) => p.url), hashEngine: engine?.path, hashEngineReason: engine?.reason },
      'surplus proxy listening',
    );
    return { port: this.port };
  }

  async close(): Promise<void> {
    await this.server.close();
    await this.upstream.close();
    if (this.ownsHasher) await this.hasher.close();
  }

  snapshot(): ProxySnapshot {
    const now = this.clock.now();
    const totals = this.ledger.totals(now);
    let ready = 0;
    for (const s of this.server.sessions) if (s.ready) ready++;
    const pools = this.upstream.status();
    return {
      atMs: now,
      port: this.port,
      minersConnected: this.server.sessions.size,
      minersReady: ready,
      upstreamConnections: this.upstream.channelsOpen(),
      activePool: pools[this.upstream.activeIndex]?.url ?? '',
      pools,
      shares: totals.counters,
      hashrateThs: totals.hashesPerSecond / 1e12,
      hashQueueDepth: this.hasher.queueDepth,
      malformedLines: this.server.malformedLines,
      refusedConnections: this.server.refusedConnections,
      jobFanout: { ...this.upstream.fanout },
      payoutMismatches: pools.reduce((a, p) => a + p.payoutMismatches, 0),
      accounting: shareBalance(totals.counters, this.upstream.pendingRequests(), this.server.sessions.size),
      blockCandidates: { ...this.upstream.blocks },
      tables: { workerRows: this.ledger.rows, resumableSessions: this.upstream.resumableSessions() },
    };
  }

  workers(): WorkerSnapshot[] {
    const now = this.clock.now();
    const names = new Set([...this.ledger.workerNames(), ...this.server.lever.withheldWorkerNames()]);
    for (const s of this.server.sessions) if (s.worker) names.add(s.worker);
    const out: WorkerSnapshot[] = [];
    for (const worker of [...names].sort()) {
      const sessions = [...this.server.sessionsOf(worker)];
      const w = this.ledger.worker(worker, now);
      out.push({
        worker,
        connections: sessions.length,
        difficulty: sessions[0]?.difficulty ?? null,
        withheld: this.server.lever.isWithheld(worker),
        shares: w?.counters ?? emptyCounters(),
        hashrateThs: (w?.hashesPerSecond ?? 0) / 1e12,
        lastShareAtMs: w?.lastShareAtMs ?? null,
      });
    }
    return out;
  }
}

