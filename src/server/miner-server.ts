/**
 * The miners' TCP listener: per-address connection cap, one LineConnection +
 * MinerSession per socket, a registry of sessions by worker, the workers
 * banned for invalid shares, and one timer
 * for all sessions (handshake deadlines, vardiff for quiet miners).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { every, type Repeater, type TimerHandle } from '../clock.js';
import { BanList } from './ban-list.js';
import { DifficultyMemory } from './difficulty-memory.js';
import { LineConnection } from '../net/line-connection.js';
import { MinerSession } from './miner-session.js';
import type { SessionHub } from './session-hub.js';
import { LogLimiter } from '../observability/log-limiter.js';

export interface MinerServerEvents {
  tick(nowMs: number): void;
}

export class MinerServer {
  private server: Server | undefined;
  readonly sessions = new Set<MinerSession>();
  private readonly byWorker = new Map<string, Set<MinerSession>>();
  private readonly perIp = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private timer: Repeater | undefined;
  /** Submits being hashed, on any connection (also one whose miner has left): close() waits for them. */
  private readonly held = new Set<Promise<void>>();
  refusedConnections = 0;
  private readonly sessionHub: SessionHub;
  private readonly bans: BanList;
  private readonly difficulties = new DifficultyMemory();
  /** Authorized sessions by session id (the newest one holding an id wins). */
  private readonly bySessionId = new Map<string, MinerSession>();

  constructor(
    private readonly hub: Omit<SessionHub, 'authorized' | 'closed' | 'ban' | 'bannedUntil' | 'resumedDifficulty' | 'logLimiter'>,
    private readonly events: MinerServerEvents,
  ) {
    this.bans = new BanList(hub.config.limits.banS * 1000);
    this.sessionHub = {
      ...this.hubMethods(),
      // One for all sessions: a miner that reconnects keeps its address, and so its budget of warnings.
      logLimiter: new LogLimiter({ clock: hub.clock }),
      // Keyed by address and name: many sites give every miner one worker name, and a NAT'd
      // site shares one address, so either alone would lock out healthy miners with the broken one.
      ban: (workers, address) => this.bans.ban([...workers].map((w) => banKey(w, address)), this.hub.clock.now()),
      bannedUntil: (w, address) => this.bans.bannedUntil(banKey(w, address), this.hub.clock.now()),
      authorized: (s, worker) => {
        if (s.sessionId !== undefined) this.bySessionId.set(s.sessionId, s);
        let set = this.byWorker.get(worker);
        if (!set) this.byWorker.set(worker, (set = new Set()));
        set.add(s);
      },
      // A miner may reconnect before its old connection's close is seen: then the old session still holds it.
      resumedDifficulty: (id) => this.liveDifficulty(id) ?? this.difficulties.recall(id),
      closed: (s) => {
        this.sessions.delete(s);
        if (s.sessionId !== undefined && s.worker !== undefined) this.difficulties.remember(s.sessionId, s.difficulty);
        if (s.sessionId !== undefined && this.bySessionId.get(s.sessionId) === s) this.bySessionId.delete(s.sessionId);
        if (s.worker === undefined) return;
        for (const w of s.workerNames()) {
          const set = this.byWorker.get(w);
          set?.delete(s);
          if (set && set.size === 0) this.byWorker.delete(w);
        }
      },
    };
  }

  async listen(host: string, port: number): Promise<number> {
    const server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    server.on('error', (err) => this.hub.logger.error({ err: err.message }, 'miner listener error'));
    this.server = server;
    this.timer = every(this.hub.clock, 1000, () => {
      const now = this.hub.clock.now();
      for (const s of this.sessions) s.tick(now);
      this.events.tick(now);
    }).unref();
    return (server.address() as { port: number }).port;
  }

  /** The difficulty of an authorized session still open under this id (a map: a reconnect storm resumes thousands at once). */
  private liveDifficulty(sessionId: string): number | undefined {
    return this.bySessionId.get(sessionId)?.difficulty;
  }

  sessionsOf(worker: string): Iterable<MinerSession> {
    return this.byWorker.get(worker) ?? [];
  }

  private accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? '?';
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.hub.config.limits.maxConnectionsPerIp) {
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
    const session = new MinerSession(this.sessionHub);
    const limits = this.hub.config.limits;
    session.line = new LineConnection(socket, { maxLineBytes: limits.maxLineBytes, maxWriteBufferBytes: limits.maxWriteBufferBytes, onHeld: this.onHeld, clock: this.hub.clock }, session);
    this.sessions.add(session);
  }

  private readonly onHeld = (settled: Promise<void>): void => {
    this.held.add(settled);
    void settled.then(() => this.held.delete(settled));
  };

  /** The hub with its methods bound (spreading a class instance would drop prototype methods). */
  private hubMethods(): Omit<SessionHub, 'authorized' | 'closed' | 'ban' | 'bannedUntil' | 'resumedDifficulty' | 'logLimiter'> {
    const h = this.hub;
    return {
      config: h.config,
      clock: h.clock,
      logger: h.logger,
      hasher: h.hasher,
      ledger: h.ledger,
      acquire: (m, sid) => h.acquire(m, sid),
      release: (m) => h.release(m),
      poolVersionMask: () => h.poolVersionMask(),
      isWithheld: (w) => h.isWithheld(w),
      plannedDifficulty: (w) => h.plannedDifficulty(w),
      malformed: () => h.malformed(),
    };
  }

  /** Sends a line to every ready session (e.g. client.show_message). */
  broadcast(line: string): void {
    for (const s of this.sessions) if (s.ready) s.line.send(line);
  }

  /**
   * Shutdown in the order that loses nothing (issue 13: a share still in the
   * hash pool when it closed was logged as an ERROR after "done"): accept no
   * more connections and read no more lines, let the submits being hashed
   * be judged and answered (bounded by `drainMs`), then close every miner.
   * The hash pool and the upstream are closed after this, by the proxy.
   */
  async close(drainMs = 5000): Promise<void> {
    this.timer?.stop();
    const server = this.server;
    this.server = undefined;
    const stopped = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const s of this.sessions) s.line.stopReading();
    if (this.held.size > 0) {
      let timer: TimerHandle | undefined;
      const late = new Promise<void>((resolve) => (timer = this.hub.clock.setTimeout(resolve, drainMs)));
      await Promise.race([Promise.all(this.held), late]);
      this.hub.clock.clearTimeout(timer);
    }
    for (const s of this.sessions) s.close('proxy shutting down');
    for (const s of this.sockets) s.destroy();
    await stopped;
  }
}

const banKey = (worker: string, address: string): string => `${address} ${worker}`;
