/**
 * The miners' TCP listener: per-address connection cap, one MinerConnection
 * (a LineConnection executing a pure MinerSession) per socket, a registry of
 * connections by worker and by session id, the workers banned for invalid
 * shares, the power plan's lever over them, and one timer for all sessions
 * (handshake deadlines, vardiff for quiet miners).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { every, type Clock, type Repeater, type TimerHandle } from '../clock.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Logger } from '../observability/logger.js';
import { LogLimiter } from '../observability/log-limiter.js';
import type { ShareHasher } from '../shares/types.js';
import type { ChannelMember, Slot } from '../upstream/channel.js';
import { BanList } from './ban-list.js';
import { DifficultyMemory } from './difficulty-memory.js';
import { MinerConnection } from './miner-connection.js';
import { WorkerLever } from './worker-lever.js';
import type { ShareLedger } from './worker-stats.js';

/** What the miners' side is built on (the proxy passes its own parts; tests their stand-ins). */
export interface MinerServerDeps {
  readonly config: ResolvedConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly hasher: ShareHasher;
  readonly ledger: ShareLedger;
  /** Upstream slots (the UpstreamManager). */
  readonly upstream: {
    acquire(member: ChannelMember, resumeSessionId?: string): Promise<{ slot: Slot; sessionId: string }>;
    release(member: ChannelMember): void;
    /** Version mask of the upstream a new miner will most likely land on. */
    versionMask(): number;
  };
}

export interface MinerServerEvents {
  tick(nowMs: number): void;
}

export class MinerServer {
  private server: Server | undefined;
  readonly sessions = new Set<MinerConnection>();
  private readonly byWorker = new Map<string, Set<MinerConnection>>();
  private readonly perIp = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private timer: Repeater | undefined;
  /** Submits being hashed, on any connection (also one whose miner has left): close() waits for them. */
  private readonly held = new Set<Promise<void>>();
  refusedConnections = 0;
  /** Lines from miners that were not JSON-RPC. */
  malformedLines = 0;
  /** One for all sessions: a miner that reconnects keeps its address, and so its budget of warnings. */
  readonly logLimiter: LogLimiter;
  /** The Stratum fail-safe lever over these miners (the scheduler's StratumLever). */
  readonly lever: WorkerLever;
  private readonly bans: BanList;
  private readonly difficulties = new DifficultyMemory();
  /** Authorized sessions by session id (the newest one holding an id wins). */
  private readonly bySessionId = new Map<string, MinerConnection>();

  constructor(
    readonly deps: MinerServerDeps,
    private readonly events: MinerServerEvents,
  ) {
    this.bans = new BanList(deps.config.limits.banS * 1000);
    this.logLimiter = new LogLimiter({ clock: deps.clock });
    this.lever = new WorkerLever(this, deps.clock, {
      targetSharesPerMinute: deps.config.difficulty.targetSharesPerMinute,
      staggerMs: deps.config.scheduler.commandStaggerMs,
    });
  }

  /**
   * Keeps these workers, from this address, out for `limits.banS`. Keyed by address and name
   * together: many sites give every miner one worker name, and a NAT'd site shares one address,
   * so either alone would lock out healthy miners with the broken one.
   */
  ban(workers: Iterable<string>, address: string): void {
    const keys: string[] = [];
    for (const w of workers) keys.push(banKey(w, address));
    this.bans.ban(keys, this.deps.clock.now());
  }

  /** When the ban of this worker from this address ends (ms), or undefined. */
  bannedUntil(worker: string, address: string): number | undefined {
    return this.bans.bannedUntil(banKey(worker, address), this.deps.clock.now());
  }

  authorized(s: MinerConnection, worker: string): void {
    if (s.sessionId !== undefined) this.bySessionId.set(s.sessionId, s);
    let set = this.byWorker.get(worker);
    if (!set) this.byWorker.set(worker, (set = new Set()));
    set.add(s);
  }

  /** The difficulty a session had, for a miner that resumes it. A miner may reconnect before its old connection's close is seen: then the old session still holds it. */
  resumedDifficulty(sessionId: string): number | undefined {
    return this.liveDifficulty(sessionId) ?? this.difficulties.recall(sessionId);
  }

  closed(s: MinerConnection): void {
    this.sessions.delete(s);
    if (s.sessionId !== undefined && s.worker !== undefined) this.difficulties.remember(s.sessionId, s.difficulty);
    if (s.sessionId !== undefined && this.bySessionId.get(s.sessionId) === s) this.bySessionId.delete(s.sessionId);
    if (s.worker === undefined) return;
    for (const w of s.workerNames()) {
      const set = this.byWorker.get(w);
      set?.delete(s);
      if (set && set.size === 0) this.byWorker.delete(w);
    }
  }

  async listen(host: string, port: number): Promise<number> {
    const server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    server.on('error', (err) => this.deps.logger.error({ err: err.message }, 'miner listener error'));
    this.server = server;
    this.timer = every(this.deps.clock, 1000, () => {
      const now = this.deps.clock.now();
      for (const s of this.sessions) s.tick();
      this.lever.tick(now);
      this.events.tick(now);
    }).unref();
    return (server.address() as { port: number }).port;
  }

  /** The difficulty of an authorized session still open under this id (a map: a reconnect storm resumes thousands at once). */
  private liveDifficulty(sessionId: string): number | undefined {
    return this.bySessionId.get(sessionId)?.difficulty;
  }

  sessionsOf(worker: string): Iterable<MinerConnection> {
    return this.byWorker.get(worker) ?? [];
  }

  private accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? '?';
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.deps.config.limits.maxConnectionsPerIp) {
      this.refusedConnections++;
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    this.perIp.set(ip, n + 1);
    this.sockets.add(socket);
    // 'on', not 'once': a socket closes once, and once() costs a wrapper object and a bound function per miner.
    socket.on('close', () => {
      this.sockets.delete(socket);
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    });
    this.sessions.add(new MinerConnection(this, socket));
  }

  /** Told of each line held by a result still owed (a slot, a hash), so a shutdown can wait for it. */
  readonly onHeld = (settled: Promise<void>): void => {
    this.held.add(settled);
    void settled.then(() => this.held.delete(settled));
  };

  /**
   * Shutdown in the order that loses nothing (issue 13: a share still in the
   * hash pool when it closed was logged as an ERROR after "done"): accept no
   * more connections and read no more lines, let the submits being hashed
   * be judged and answered (bounded by `drainMs`), then close every miner.
   * The hash pool and the upstream are closed after this, by the proxy.
   */
  async close(drainMs = 5000): Promise<void> {
    this.timer?.stop();
    this.lever.close();
    const server = this.server;
    this.server = undefined;
    const stopped = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const s of this.sessions) s.line.stopReading();
    if (this.held.size > 0) {
      let timer: TimerHandle | undefined;
      const late = new Promise<void>((resolve) => (timer = this.deps.clock.setTimeout(resolve, drainMs)));
      await Promise.race([Promise.all(this.held), late]);
      this.deps.clock.clearTimeout(timer);
    }
    for (const s of this.sessions) s.close('proxy shutting down');
    for (const s of this.sockets) s.destroy();
    await stopped;
  }
}

const banKey = (worker: string, address: string): string => `${address} ${worker}`;
