/**
 * A Stratum V1 pool on loopback for tests and the demo. It generates real
 * jobs and validates every submitted share itself with the pure validator
 * (independently of whatever the proxy decided), keeping its own counts. It
 * can be stopped and restarted on the same port to exercise failover.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { every, systemClock, type Clock, type Repeater } from '../clock.js';
import { validateShare } from '../shares/validator.js';
import { targetForDifficulty, targetHex } from '../wire/target.js';
import { notifyParams, type StratumJob } from '../wire/stratum-job.js';
import { encodeError, encodeNotification, encodeResult, type RpcId, type RpcMessage } from '../wire/json-rpc.js';
import { guardAuthorize, guardConfigure, guardSubmit, hex32 } from '../wire/guards.js';
import { LineConnection } from '../net/line-connection.js';
import { SimJobFactory } from './sim-jobs.js';

export interface SimPoolOptions {
  host?: string;
  /** 0 = any free port (the first start); restarts reuse the port it got. */
  port?: number;
  extranonce1Size?: number;
  extranonce2Size?: number;
  /** Share difficulty the pool asks for. */
  difficulty?: number;
  /** BIP310 mask the pool allows (0 = no version rolling). */
  versionMask?: number;
  /** Send a new (non-clean) job this often; 0 = only on demand. */
  jobIntervalMs?: number;
  nbits?: string;
  payoutScript?: string;
  /** Accept only these users (default: any non-empty user). */
  users?: string[];
  jobHistory?: number;
  /** First extranonce1 counter value (default random). */
  extranonce1Start?: number;
  /** Serve Stratum over TLS (stratum+ssl://) with this PEM key and certificate. */
  tls?: { key: string; cert: string };
  /** Job timer and job times (default systemClock). */
  clock?: Clock;
}

export type SimRejectReason = 'not-subscribed' | 'unauthorized' | 'job-not-found' | 'stale' | 'bad-params' | 'duplicate' | 'bad-version-bits' | 'low-difficulty';

export interface SimPoolStats {
  connectionsTotal: number;
  submits: number;
  accepted: number;
  acceptedDifficulty: number;
  blocks: number;
  rejected: Record<string, number>;
  /** Accepted shares per authorized user. */
  byUser: Record<string, number>;
}

interface PoolConn {
  line: LineConnection;
  extranonce1: string;
  subscribed: boolean;
  extranonceSubscribed: boolean;
  users: Set<string>;
  versionMask: number;
  difficulty: number;
  jobDifficulty: Map<string, number>;
  seen: Set<string>;
}

export class SimPool {
  private server: Server | undefined;
  private readonly conns = new Set<PoolConn>();
  private readonly sockets = new Set<Socket>();
  private readonly jobs = new Map<string, { job: StratumJob; stale: boolean }>();
  private readonly factory: SimJobFactory;
  private current: StratumJob | undefined;
  private timer: Repeater | undefined;
  private en1Counter: number;
  private muted = false;
  private portInUse: number;
  private readonly o: Required<Omit<SimPoolOptions, 'users' | 'payoutScript' | 'nbits' | 'extranonce1Start' | 'tls' | 'clock'>> & Pick<SimPoolOptions, 'users' | 'payoutScript' | 'nbits' | 'tls'>;
  private readonly clock: Clock;
  readonly stats: SimPoolStats = { connectionsTotal: 0, submits: 0, accepted: 0, acceptedDifficulty: 0, blocks: 0, rejected: {}, byUser: {} };

  constructor(opts: SimPoolOptions = {}) {
    this.o = {
      host: '127.0.0.1',
      port: 0,
      extranonce1Size: 4,
      extranonce2Size: 8,
      difficulty: 0.001,
      versionMask: 0x1fffe000,
      jobIntervalMs: 0,
      jobHistory: 16,
      ...opts,
    };
    this.clock = opts.clock ?? systemClock;
    this.portInUse = this.o.port;
    // Distinct pools hand out distinct extranonce1 values, as real ones do.
    this.en1Counter = opts.extranonce1Start ?? Math.floor(Math.random() * 0xffff) * 0x100;
    const jobSettings: ConstructorParameters<typeof SimJobFactory>[0] = { extranonceBytes: this.o.extranonce1Size + this.o.extranonce2Size };
    if (this.o.payoutScript !== undefined) jobSettings.payoutScript = this.o.payoutScript;
    if (this.o.nbits !== undefined) jobSettings.nbits = this.o.nbits;
    this.factory = new SimJobFactory(jobSettings);
  }

  get port(): number {
    return this.portInUse;
  }

  get url(): string {
    return `stratum+${this.o.tls ? 'ssl' : 'tcp'}://${this.o.host}:${this.portInUse}`;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  get difficulty(): number {
    return this.o.difficulty;
  }

  get currentJob(): StratumJob | undefined {
    return this.current;
  }

  async start(): Promise<number> {
    if (this.server) return this.portInUse;
    const server = this.o.tls ? createTlsServer({ key: this.o.tls.key, cert: this.o.tls.cert }, (s) => this.accept(s)) : createServer((s) => this.accept(s));
    // A client that fails the TLS handshake (it does not trust our certificate) is not the pool's error.
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.portInUse, this.o.host, () => resolve());
    });
    server.on('error', () => undefined);
    this.server = server;
    this.portInUse = (server.address() as { port: number }).port;
    if (!this.current) this.newJob(true);
    if (this.o.jobIntervalMs > 0) {
      this.timer = every(this.clock, this.o.jobIntervalMs, () => this.newJob(false)).unref();
    }
    return this.portInUse;
  }

  /** Closes the listener and drops every connection (a pool outage). */
  async stop(): Promise<void> {
    this.timer?.stop();
    this.timer = undefined;
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Drops every connection but keeps listening (a flapping pool: clients reconnect at once). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** A muted pool keeps sockets open but neither answers nor sends jobs (a hung pool). */
  mute(on: boolean): void {
    this.muted = on;
  }

  /** Broadcasts a new job; `clean` starts a new block (old jobs become stale). */
  newJob(clean: boolean): StratumJob {
    const job = this.factory.next(this.clock.now(), clean);
    if (clean) for (const j of this.jobs.values()) j.stale = true;
    this.jobs.set(job.jobId, { job, stale: false });
    while (this.jobs.size > this.o.jobHistory) this.jobs.delete(this.jobs.keys().next().value as string);
    this.current = job;
    if (!this.muted) {
      const line = encodeNotification('mining.notify', notifyParams(job));
      for (const c of this.conns) if (c.users.size > 0) this.sendJob(c, job, line);
    }
    return job;
  }

  /** New difficulty for every connection; applies from the next job, so a clean job follows. */
  setDifficulty(d: number): void {
    this.o.difficulty = d;
    for (const c of this.conns) {
      c.difficulty = d;
      c.line.send(encodeNotification('mining.set_difficulty', [d]));
    }
    this.newJob(true);
  }

  /** Gives every connection a fresh extranonce1 (mining.set_extranonce) and a clean job. */
  rotateExtranonce(): void {
    for (const c of this.conns) {
      if (!c.extranonceSubscribed) continue;
      c.extranonce1 = this.nextExtranonce1();
      c.line.send(encodeNotification('mining.set_extranonce', [c.extranonce1, this.o.extranonce2Size]));
    }
    this.newJob(true);
  }

  private nextExtranonce1(): string {
    this.en1Counter++;
    return (this.en1Counter >>> 0).toString(16).padStart(this.o.extranonce1Size * 2, '0').slice(-this.o.extranonce1Size * 2);
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    this.stats.connectionsTotal++;
    const conn: PoolConn = {
      line: undefined as unknown as LineConnection,
      extranonce1: this.nextExtranonce1(),
      subscribed: false,
      extranonceSubscribed: false,
      users: new Set(),
      versionMask: 0,
      difficulty: this.o.difficulty,
      jobDifficulty: new Map(),
      seen: new Set(),
    };
    conn.line = new LineConnection(socket, { maxLineBytes: 16384, maxWriteBufferBytes: 4 << 20, clock: this.clock }, {
      onMessage: (m) => this.onMessage(conn, m),
      onMalformed: (_reason, _line, id) => {
        if (id !== undefined) conn.line.send(encodeError(id, 20, 'malformed request'));
      },
      onClose: () => this.conns.delete(conn),
    });
    this.conns.add(conn);
  }

  private sendJob(c: PoolConn, job: StratumJob, line: string): void {
    c.jobDifficulty.set(job.jobId, c.difficulty);
    if (c.jobDifficulty.size > 64) c.jobDifficulty.delete(c.jobDifficulty.keys().next().value as string);
    c.line.send(line);
  }

  private reject(c: PoolConn, id: RpcId, code: number, reason: SimRejectReason, message: string): void {
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1;
    c.line.send(encodeError(id, code, message));
  }

  private onMessage(c: PoolConn, m: RpcMessage): void {
    if (this.muted || m.kind !== 'request') return;
    const id = m.id;
    switch (m.method) {
      case 'mining.configure': {
        const g = guardConfigure(m.params);
        if (!g.ok) return void c.line.send(encodeError(id, 20, g.message));
        const result: Record<string, unknown> = {};
        if (g.value.extensions.includes('version-rolling')) {
          const asked = parseInt(String(g.value.options['version-rolling.mask'] ?? 'ffffffff'), 16) >>> 0;
          c.versionMask = (asked & this.o.versionMask) >>> 0;
          result['version-rolling'] = this.o.versionMask !== 0;
          result['version-rolling.mask'] = hex32(c.versionMask);
        }
        return void c.line.send(encodeResult(id, result));
      }
      case 'mining.subscribe':
        c.subscribed = true;
        return void c.line.send(encodeResult(id, [[['mining.set_difficulty', c.extranonce1], ['mining.notify', c.extranonce1]], c.extranonce1, this.o.extranonce2Size]));
      case 'mining.extranonce.subscribe':
        c.extranonceSubscribed = true;
        return void c.line.send(encodeResult(id, true));
      case 'mining.authorize': {
        const g = guardAuthorize(m.params);
        if (!g.ok || (this.o.users && !this.o.users.includes(g.value.worker))) return void c.line.send(encodeError(id, 24, 'unauthorized worker'));
        const first = c.users.size === 0;
        c.users.add(g.value.worker);
        c.line.send(encodeResult(id, true));
        if (first) {
          c.line.send(encodeNotification('mining.set_difficulty', [c.difficulty]));
          if (this.current) this.sendJob(c, { ...this.current, cleanJobs: true }, encodeNotification('mining.notify', notifyParams({ ...this.current, cleanJobs: true })));
        }
        return;
      }
      case 'mining.submit':
        return this.onSubmit(c, id, m.params);
      default:
        return void c.line.send(encodeError(id, 20, `unknown method ${m.method}`));
    }
  }

  private onSubmit(c: PoolConn, id: RpcId, params: unknown[]): void {
    this.stats.submits++;
    if (!c.subscribed) return this.reject(c, id, 25, 'not-subscribed', 'not subscribed');
    const g = guardSubmit(params, this.o.extranonce2Size);
    if (!g.ok) return this.reject(c, id, 20, 'bad-params', g.message);
    const s = g.value;
    if (!c.users.has(s.worker)) return this.reject(c, id, 24, 'unauthorized', 'unauthorized worker');
    const entry = this.jobs.get(s.jobId);
    if (!entry) return this.reject(c, id, 21, 'job-not-found', 'job not found');
    if (entry.stale) return this.reject(c, id, 21, 'stale', 'stale job');
    const job = entry.job;
    let version = parseInt(job.version, 16) >>> 0;
    if (s.versionBits !== undefined) {
      const bits = parseInt(s.versionBits, 16) >>> 0;
      if ((bits & ~c.versionMask) >>> 0 !== 0) return this.reject(c, id, 20, 'bad-version-bits', 'version bits outside the mask');
      version = ((version & ~c.versionMask) | (bits & c.versionMask)) >>> 0;
    }
    const key = `${s.jobId}:${s.extranonce2}:${s.ntime}:${s.nonce}:${version}`;
    if (c.seen.has(key)) return this.reject(c, id, 22, 'duplicate', 'duplicate share');
    c.seen.add(key);
    if (c.seen.size > 100_000) c.seen.delete(c.seen.values().next().value as string);
    const r = validateShare({ job, extranonce1: c.extranonce1, extranonce2: s.extranonce2, ntime: s.ntime, nonce: s.nonce, version });
    const need = c.jobDifficulty.get(s.jobId) ?? c.difficulty;
    if (!r.block && r.hash > targetHex(targetForDifficulty(need))) {
      return this.reject(c, id, 23, 'low-difficulty', `low difficulty share (${r.difficulty.toPrecision(4)} < ${need})`);
    }
    this.stats.accepted++;
    this.stats.acceptedDifficulty += need;
    if (r.block) this.stats.blocks++;
    this.stats.byUser[s.worker] = (this.stats.byUser[s.worker] ?? 0) + 1;
    c.line.send(encodeResult(id, true));
  }
}
