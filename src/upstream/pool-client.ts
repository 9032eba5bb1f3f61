/**
 * One upstream Stratum connection. A handshake gate (BIP310 configure,
 * subscribe, extranonce.subscribe, authorize) must pass before anything is
 * forwarded; requests wait in a bounded pending map with timeouts; a
 * liveness watchdog closes a pool that went silent. The consumer sees jobs,
 * difficulty, extranonce and version-mask changes only after the gate; what
 * the pool sends before it (many pools send set_difficulty and notify right
 * after subscribe, before the authorize answer) is kept in `session`.
 * Pool dialects are read by `pool-dialect.ts`.
 */
import { connect as netConnect } from 'node:net';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../clock.js';
import { OverloadError, PeerError, TimeoutError } from '../errors.js';
import { encodeError, encodeRequest, encodeResult, truncateForLog, type RpcErrorValue, type RpcMessage } from '../protocol/json-rpc.js';
import { hex32 } from '../protocol/guards.js';
import type { StratumJob } from '../shares/types.js';
import { LineConnection } from '../server/line-connection.js';
import { checkPayout } from './payout-guard.js';
import { parsePoolUrl } from './pool-endpoint.js';
import { handlePoolMessage } from './pool-messages.js';
import { authorizeVerdict, parseSubscribeResult, pendingKey, readConfigureResult, submitVerdict, type ReconnectAsk } from './pool-dialect.js';

export { parsePoolUrl, poolUrl, type PoolEndpoint } from './pool-endpoint.js';

/** What went wrong on one pool's wire, cumulative (shared by every connection to the pool). */
export interface PoolProtocolCounters {
  /** Lines that were not JSON-RPC, or longer than the line cap. */
  malformedLines: number;
  /** Messages with a known method whose params could not be used (a bad job, difficulty, ...). */
  badMessages: number;
  /** Answers to ids we never sent or that already timed out. */
  unknownReplies: number;
  /** `client.reconnect` requests. */
  reconnectRequests: number;
}

export function newProtocolCounters(): PoolProtocolCounters {
  return { malformedLines: 0, badMessages: 0, unknownReplies: 0, reconnectRequests: 0 };
}

export interface PoolClientOptions {
  url: string;
  user: string;
  password: string;
  userAgent?: string;
  /** BIP310 mask to ask the pool for (0 = do not negotiate version rolling). */
  versionRollingMask: number;
  handshakeTimeoutMs: number;
  /**
   * How long the gate waits for the answer to `mining.configure` (sent ahead of
   * subscribe, not waited for in between); past it, mine without version
   * rolling. Default min(3000, handshakeTimeoutMs / 3).
   */
  configureTimeoutMs?: number;
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
  /** Where protocol trouble is counted (default: a private set). */
  counters?: PoolProtocolCounters;
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

/** How the BIP310 negotiation ended (the manager stops asking a pool that never answers). */
export type ConfigureOutcome = 'granted' | 'refused' | 'timeout' | 'closed';

interface Pending {
  method: string;
  resolve(msg: { result: unknown; error: RpcErrorValue | null }): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class PoolClient {
  private conn: LineConnection | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private submitsPending = 0;
  private lastHeardMs = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private ready = false;
  private subscribed = false;
  private closed = false;
  private events: PoolClientEvents | undefined;
  readonly counters: PoolProtocolCounters;
  readonly session: PoolSession = { extranonce1: '', extranonce2Size: 0, versionMask: 0, difficulty: 1, job: undefined };
  /** Set when the pool sent `client.reconnect` (the connection is then closed). */
  reconnectAsk: ReconnectAsk | undefined;
  configureOutcome: ConfigureOutcome | undefined;

  constructor(private readonly opts: PoolClientOptions) {
    this.counters = opts.counters ?? newProtocolCounters();
  }

  get isReady(): boolean {
    return this.ready && !this.closed;
  }

  /** Shares sent and not yet answered (handshake requests left unanswered are not shares). */
  get pendingCount(): number {
    return this.submitsPending;
  }

  get logger(): Logger {
    return this.opts.logger;
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
      onMalformed: (reason, line) => {
        this.counters.malformedLines++;
        this.opts.logger.warn({ pool: this.opts.url, reason, line: truncateForLog(line) }, 'malformed line from pool (ignored)');
      },
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
    const log = this.opts.logger;
    // BIP310: configure goes first on the wire so the pool knows about version
    // rolling before it builds our first job, but the gate does not wait for it
    // in between: a pool that does not know the method may answer late or never.
    const configure = this.opts.versionRollingMask !== 0 ? this.negotiateVersionRolling() : undefined;
    configure?.catch(() => undefined);
    const sub = await this.request('mining.subscribe', [this.opts.userAgent ?? 'surplus/0.1'], this.opts.handshakeTimeoutMs);
    if (sub.error) throw new PeerError(`pool refused mining.subscribe: ${sub.error.message} (code ${sub.error.code})`);
    const g = parseSubscribeResult(sub.result);
    if (!g.ok) throw new PeerError(`pool sent a bad subscribe result: ${g.message}`);
    this.session.extranonce1 = g.value.extranonce1;
    this.session.extranonce2Size = g.value.extranonce2Size;
    this.subscribed = true;
    // A job that came before the subscribe answer could not be checked yet.
    const early = this.session.job;
    if (early && !this.payoutOk(early)) throw new PeerError(`pool ${this.opts.url} job fails the payout guard`);
    // Not every pool supports it; the answer does not matter, so don't wait for it.
    this.request('mining.extranonce.subscribe', [], this.opts.handshakeTimeoutMs).catch(() => undefined);
    const auth = await this.request('mining.authorize', [this.opts.user, this.opts.password], this.opts.handshakeTimeoutMs);
    const v = authorizeVerdict(auth.result, auth.error);
    if (!v.ok) throw new PeerError(`pool refused mining.authorize for ${this.opts.user}: ${v.reason}`);
    if (v.nullResult) log.info({ pool: this.opts.url, user: this.opts.user }, 'pool answered mining.authorize with null and no error; taken as authorized');
    if (configure) await configure;
  }

  /** Never rejects: every outcome but a granted mask means mining without version rolling. */
  private async negotiateVersionRolling(): Promise<void> {
    const timeoutMs = this.opts.configureTimeoutMs ?? Math.min(3000, this.opts.handshakeTimeoutMs / 3);
    const params = [['version-rolling'], { 'version-rolling.mask': hex32(this.opts.versionRollingMask), 'version-rolling.min-bit-count': 2 }];
    try {
      const r = await this.request('mining.configure', params, timeoutMs);
      const a = readConfigureResult(r.result, r.error);
      const mask = (a.mask & this.opts.versionRollingMask) >>> 0;
      this.session.versionMask = mask;
      this.configureOutcome = mask !== 0 ? 'granted' : 'refused';
      if (a.note) this.opts.logger.info({ pool: this.opts.url, note: a.note }, 'no version rolling with this pool');
    } catch (err) {
      this.configureOutcome = err instanceof TimeoutError ? 'timeout' : 'closed';
      this.opts.logger.info({ pool: this.opts.url, err: (err as Error).message }, 'no answer to mining.configure; mining without version rolling');
    }
  }

  /** Sends `mining.submit`; resolves with the pool's verdict, rejects with TimeoutError or PeerError. */
  async submit(params: unknown[]): Promise<SubmitAnswer> {
    if (!this.isReady) throw new PeerError(`pool ${this.opts.url} is not connected`);
    this.submitsPending++;
    try {
      const r = await this.request('mining.submit', params, this.opts.requestTimeoutMs);
      return submitVerdict(r.result, r.error);
    } finally {
      this.submitsPending--;
    }
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
      const key = pendingKey(m.id);
      const p = key === undefined ? undefined : this.pending.get(key);
      if (!p) {
        // A late answer after its timeout (already counted as a timeout), or an id we never sent.
        this.counters.unknownReplies++;
        this.opts.logger.debug({ pool: this.opts.url, id: m.id }, 'answer to an unknown request id (ignored)');
        return;
      }
      this.pending.delete(key!);
      clearTimeout(p.timer);
      p.resolve({ result: m.result, error: m.error });
      return;
    }
    handlePoolMessage(this, m);
  }

  // ---- used by pool-messages.ts (the notification/request handlers)

  get url(): string {
    return this.opts.url;
  }

  get userAgent(): string {
    return this.opts.userAgent ?? 'surplus/0.1';
  }

  get emitting(): PoolClientEvents | undefined {
    return this.ready ? this.events : undefined;
  }

  /** The payout guard; once the pool's extranonce is known. A failure closes the connection. */
  payoutOk(job: StratumJob): boolean {
    if (!this.opts.expectedPayoutScript || !this.subscribed) return true;
    const v = checkPayout(job, (this.session.extranonce1.length >> 1) + this.session.extranonce2Size, this.opts.expectedPayoutScript);
    if (v.ok) return true;
    this.opts.onPayoutMismatch?.(v.reason);
    this.opts.logger.error({ pool: this.opts.url, reason: v.reason }, 'pool job fails the payout guard; dropping the pool');
    this.close(`payout guard: ${v.reason}`);
    return false;
  }

  /** Granted version-rolling bits: what we asked for, narrowed by the pool. */
  narrowMask(mask: number): number {
    return (mask & this.opts.versionRollingMask) >>> 0;
  }

  answer(id: string | number, result: unknown): void {
    this.conn?.send(encodeResult(id, result));
  }

  answerError(id: string | number, code: number, message: string): void {
    this.conn?.send(encodeError(id, code, message));
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
