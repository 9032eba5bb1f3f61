/**
 * One upstream Stratum connection. A handshake gate (BIP310 configure,
 * subscribe, extranonce.subscribe, authorize) must pass before anything is
 * forwarded; requests wait in a bounded pending map with timeouts; a
 * liveness watchdog closes a pool that went silent. The consumer sees jobs,
 * difficulty, extranonce and version-mask changes only after the gate.
 */
import { connect as netConnect } from 'node:net';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../clock.js';
import { OverloadError, PeerError, TimeoutError } from '../errors.js';
import { encodeRequest, encodeResult, type RpcErrorValue, type RpcId, type RpcMessage } from '../protocol/json-rpc.js';
import {
  guardConfigureResult,
  guardNotify,
  guardSetDifficulty,
  guardSetExtranonce,
  guardSetVersionMask,
  guardSubscribeResult,
  hex32,
} from '../protocol/guards.js';
import type { StratumJob } from '../shares/types.js';
import { LineConnection } from '../server/line-connection.js';
import { checkPayout } from './payout-guard.js';

export interface PoolEndpoint {
  host: string;
  port: number;
}

/** `stratum+tcp://host:port` → host and port (the schema already checked the form). */
export function parsePoolUrl(url: string): PoolEndpoint {
  const m = /^stratum\+tcp:\/\/(\[[0-9a-fA-F:]+\]|[^:/]+):(\d{1,5})$/.exec(url);
  if (!m) throw new PeerError(`pool url must be stratum+tcp://host:port, got ${url}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export interface PoolClientOptions {
  url: string;
  user: string;
  password: string;
  userAgent?: string;
  /** BIP310 mask to ask the pool for (0 = do not negotiate version rolling). */
  versionRollingMask: number;
  handshakeTimeoutMs: number;
  requestTimeoutMs: number;
  silenceTimeoutMs: number;
  maxLineBytes: number;
  maxWriteBufferBytes: number;
  /** Bound on requests waiting for an answer. */
  maxPending?: number;
  /** Output script (hex) the coinbase must mostly pay; jobs that do not are refused and the pool dropped. */
  expectedPayoutScript?: string;
  /** Told about every job that fails the payout guard (issue 7: counted as surplus_payout_mismatch_total). */
  onPayoutMismatch?: (reason: string) => void;
  clock: Clock;
  logger: Logger;
}

export interface PoolSession {
  extranonce1: string;
  extranonce2Size: number;
  /** Mask the pool granted (0 when it refused or was not asked). */
  versionMask: number;
  difficulty: number;
  job: StratumJob | undefined;
}

export interface PoolClientEvents {
  onJob(job: StratumJob): void;
  onDifficulty(difficulty: number): void;
  onExtranonce(extranonce1: string, extranonce2Size: number): void;
  onVersionMask(mask: number): void;
  /** Called once, after the gate passed, when the connection ends. */
  onClose(reason: string): void;
}

export interface SubmitAnswer {
  accepted: boolean;
  error: RpcErrorValue | null;
}

interface Pending {
  method: string;
  resolve(msg: { result: unknown; error: RpcErrorValue | null }): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class PoolClient {
  private conn: LineConnection | undefined;
  private readonly pending = new Map<RpcId, Pending>();
  private nextId = 1;
  private lastHeardMs = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private ready = false;
  private closed = false;
  private events: PoolClientEvents | undefined;
  readonly session: PoolSession = { extranonce1: '', extranonce2Size: 0, versionMask: 0, difficulty: 1, job: undefined };

  constructor(private readonly opts: PoolClientOptions) {}

  get isReady(): boolean {
    return this.ready && !this.closed;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Connects and passes the handshake gate; rejects (and cleans up) on any failure. */
  async open(events: PoolClientEvents): Promise<PoolSession> {
    const { host, port } = parsePoolUrl(this.opts.url);
    const socket = netConnect({ host, port });
    const connected = new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (err) => reject(new PeerError(`cannot connect to ${this.opts.url}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    });
    this.conn = new LineConnection(socket, { maxLineBytes: this.opts.maxLineBytes, maxWriteBufferBytes: this.opts.maxWriteBufferBytes }, {
      onMessage: (m) => this.onMessage(m),
      onMalformed: (reason, line) => this.opts.logger.warn({ pool: this.opts.url, reason, line: line.slice(0, 200) }, 'malformed line from pool'),
      onClose: (reason) => this.onClosed(reason),
    });
    connected.catch(() => undefined); // also raced below; this only silences a late rejection
    let gateTimer: NodeJS.Timeout | undefined;
    const gateTimeout = new Promise<never>((_, reject) => {
      gateTimer = setTimeout(() => reject(new TimeoutError(`pool ${this.opts.url} did not finish the handshake within ${this.opts.handshakeTimeoutMs} ms`)), this.opts.handshakeTimeoutMs);
    });
    gateTimeout.catch(() => undefined);
    try {
      await Promise.race([connected, gateTimeout]);
      this.lastHeardMs = this.opts.clock.now();
      await Promise.race([this.handshake(), gateTimeout]);
    } catch (err) {
      this.close(`handshake failed: ${(err as Error).message}`);
      throw err;
    } finally {
      clearTimeout(gateTimer);
    }
    if (this.closed) throw new PeerError(`pool ${this.opts.url} closed during the handshake`);
    this.ready = true;
    this.events = events;
    this.startWatchdog();
    return this.session;
  }

  private async handshake(): Promise<void> {
    if (this.opts.versionRollingMask !== 0) {
      // BIP310: ask first so the pool can answer before it sends jobs; a pool
      // that does not know configure answers with an error, which is fine.
      const r = await this.request('mining.configure', [['version-rolling'], { 'version-rolling.mask': hex32(this.opts.versionRollingMask), 'version-rolling.min-bit-count': 2 }], this.opts.handshakeTimeoutMs);
      if (!r.error) {
        const g = guardConfigureResult(r.result);
        if (g.ok) this.session.versionMask = (g.value.mask & this.opts.versionRollingMask) >>> 0;
      }
    }
    const sub = await this.request('mining.subscribe', [this.opts.userAgent ?? 'surplus/0.1'], this.opts.handshakeTimeoutMs);
    if (sub.error) throw new PeerError(`pool refused mining.subscribe: ${sub.error.message}`);
    const g = guardSubscribeResult(sub.result);
    if (!g.ok) throw new PeerError(`pool sent a bad subscribe result: ${g.message}`);
    this.session.extranonce1 = g.value.extranonce1;
    this.session.extranonce2Size = g.value.extranonce2Size;
    // Not every pool supports it; the answer does not matter, so don't wait for it.
    this.request('mining.extranonce.subscribe', [], this.opts.handshakeTimeoutMs).catch(() => undefined);
    const auth = await this.request('mining.authorize', [this.opts.user, this.opts.password], this.opts.handshakeTimeoutMs);
    if (auth.error || auth.result !== true) throw new PeerError(`pool refused mining.authorize for ${this.opts.user}: ${auth.error?.message ?? 'result false'}`);
  }

  /** Sends `mining.submit`; resolves with the pool's verdict, rejects with TimeoutError or PeerError. */
  async submit(params: unknown[]): Promise<SubmitAnswer> {
    if (!this.isReady) throw new PeerError(`pool ${this.opts.url} is not connected`);
    const r = await this.request('mining.submit', params, this.opts.requestTimeoutMs);
    return { accepted: r.error === null && r.result === true, error: r.error ?? (r.result === true ? null : { code: 20, message: 'pool answered false' }) };
  }

  private request(method: string, params: unknown[], timeoutMs: number): Promise<{ result: unknown; error: RpcErrorValue | null }> {
    const conn = this.conn;
    if (!conn || this.closed) return Promise.reject(new PeerError(`pool ${this.opts.url} is not connected`));
    if (this.pending.size >= (this.opts.maxPending ?? 10_000)) {
      return Promise.reject(new OverloadError(`too many requests waiting for pool ${this.opts.url}`));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(`pool ${this.opts.url} did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      if (!conn.send(encodeRequest(id, method, params))) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new PeerError(`cannot write to pool ${this.opts.url}`));
      }
    });
  }

  private onMessage(m: RpcMessage): void {
    this.lastHeardMs = this.opts.clock.now();
    if (m.kind === 'response') {
      const p = m.id === null ? undefined : this.pending.get(m.id);
      if (!p) return; // a late answer after its timeout: already counted as a timeout
      this.pending.delete(m.id!);
      clearTimeout(p.timer);
      p.resolve({ result: m.result, error: m.error });
      return;
    }
    const log = this.opts.logger;
    switch (m.method) {
      case 'mining.notify': {
        const g = guardNotify(m.params);
        if (!g.ok) return void log.warn({ pool: this.opts.url, reason: g.message }, 'bad job from pool');
        if (this.opts.expectedPayoutScript) {
          const v = checkPayout(g.value, (this.session.extranonce1.length >> 1) + this.session.extranonce2Size, this.opts.expectedPayoutScript);
          if (!v.ok) {
            this.opts.onPayoutMismatch?.(v.reason);
            log.error({ pool: this.opts.url, reason: v.reason }, 'pool job fails the payout guard; dropping the pool');
            this.close(`payout guard: ${v.reason}`);
            return;
          }
        }
        this.session.job = g.value;
        if (this.ready) this.events?.onJob(g.value);
        return;
      }
      case 'mining.set_difficulty': {
        const g = guardSetDifficulty(m.params);
        if (!g.ok) return void log.warn({ pool: this.opts.url, reason: g.message }, 'bad difficulty from pool');
        this.session.difficulty = g.value;
        if (this.ready) this.events?.onDifficulty(g.value);
        return;
      }
      case 'mining.set_extranonce': {
        const g = guardSetExtranonce(m.params);
        if (!g.ok) return void log.warn({ pool: this.opts.url, reason: g.message }, 'bad extranonce from pool');
        this.session.extranonce1 = g.value.extranonce1;
        this.session.extranonce2Size = g.value.extranonce2Size;
        // Jobs before the change were built for the old extranonce; the pool follows with a clean job.
        if (this.ready) this.events?.onExtranonce(g.value.extranonce1, g.value.extranonce2Size);
        return;
      }
      case 'mining.set_version_mask': {
        const g = guardSetVersionMask(m.params);
        if (!g.ok) return void log.warn({ pool: this.opts.url, reason: g.message }, 'bad version mask from pool');
        this.session.versionMask = (g.value & this.opts.versionRollingMask) >>> 0;
        if (this.ready) this.events?.onVersionMask(this.session.versionMask);
        return;
      }
      case 'client.reconnect':
        this.close('pool asked to reconnect');
        return;
      case 'client.get_version':
        if (m.kind === 'request') this.conn?.send(encodeResult(m.id, this.opts.userAgent ?? 'surplus/0.1'));
        return;
      default:
        if (m.kind === 'request') this.conn?.send(JSON.stringify({ id: m.id, result: null, error: [20, `unsupported method ${m.method}`, null] }) + '\n');
        log.debug({ pool: this.opts.url, method: m.method }, 'ignored message from pool');
    }
  }

  private startWatchdog(): void {
    const every = Math.max(50, Math.min(5000, this.opts.silenceTimeoutMs / 4));
    this.watchdog = setInterval(() => {
      if (this.opts.clock.now() - this.lastHeardMs > this.opts.silenceTimeoutMs) {
        this.close(`pool silent for more than ${this.opts.silenceTimeoutMs} ms`);
      }
    }, every);
    this.watchdog.unref();
  }

  close(reason: string): void {
    if (this.closed) return;
    this.conn?.destroy(reason);
    this.onClosed(reason);
  }

  private onClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new PeerError(`pool ${this.opts.url} closed before answering ${p.method}: ${reason}`));
    }
    this.pending.clear();
    if (this.ready) this.events?.onClose(reason);
  }
}
