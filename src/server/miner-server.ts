/**
 * The miners' TCP listener: per-address connection cap, one LineConnection +
 * MinerSession per socket, a registry of sessions by worker, the workers
 * banned for invalid shares, and one timer
 * for all sessions (handshake deadlines, vardiff for quiet miners).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { BanList } from './ban-list.js';
import { LineConnection } from './line-connection.js';
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
  private timer: NodeJS.Timeout | undefined;
  refusedConnections = 0;
  private readonly sessionHub: SessionHub;
  private readonly bans: BanList;

  constructor(
    private readonly hub: Omit<SessionHub, 'authorized' | 'closed' | 'ban' | 'bannedUntil' | 'logLimiter'>,
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
        let set = this.byWorker.get(worker);
        if (!set) this.byWorker.set(worker, (set = new Set()));
        set.add(s);
      },
      closed: (s) => {
        this.sessions.delete(s);
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
    this.timer = setInterval(() => {
      const now = this.hub.clock.now();
      for (const s of this.sessions) s.tick(now);
      this.events.tick(now);
    }, 1000);
    this.timer.unref();
    return (server.address() as { port: number }).port;
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
    session.line = new LineConnection(socket, { maxLineBytes: limits.maxLineBytes, maxWriteBufferBytes: limits.maxWriteBufferBytes }, session);
    this.sessions.add(session);
  }

  /** The hub with its methods bound (spreading a class instance would drop prototype methods). */
  private hubMethods(): Omit<SessionHub, 'authorized' | 'closed' | 'ban' | 'bannedUntil' | 'logLimiter'> {
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

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const server = this.server;
    this.server = undefined;
    for (const s of this.sessions) s.close('proxy shutting down');
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const banKey = (worker: string, address: string): string => `${address} ${worker}`;
