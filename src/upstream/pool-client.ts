/**
 * One upstream Stratum connection. A handshake gate (BIP310 configure,
 * subscribe, extranonce.subscribe, authorize) must pass before anything is
 * forwarded. The consumer sees jobs, difficulty, extranonce and version-mask
 * changes only after the gate; what the pool sends before it (many pools
 * send set_difficulty and notify right after subscribe, before the authorize
 * answer) is kept in `session`. Beneath it: the socket, framing and liveness
 * watchdog (`pool-transport.ts`) and the bounded map of requests waiting
 * for answers (`pending-requests.ts`); pool dialects are read by
 * `pool-dialect.ts`, notifications handled by `pool-messages.ts`.
 */
import { LogLimiter } from '../observability/log-limiter.js';
import type { Logger } from '../observability/logger.js';
import { every, type Clock, type Repeater, type TimerHandle } from '../clock.js';
import { PeerError, TimeoutError } from '../errors.js';
import { encodeError, encodeResult, type RpcErrorValue, type RpcId, type RpcMessage } from '../wire/json-rpc.js';
import { hex32 } from '../wire/guards.js';
import type { StratumJob } from '../wire/stratum-job.js';
import { HungDetector } from './hung-detector.js';
import { checkPayout } from './payout-guard.js';
import { PendingRequests, type PoolAnswer, type RequestOptions } from './pending-requests.js';
import { handlePoolMessage } from './pool-messages.js';
import { PoolTransport, type PoolTlsSettings } from './pool-transport.js';
import { authorizeVerdict, parseSubscribeResult, readConfigureResult, submitVerdict, type ReconnectAsk } from '../wire/pool-dialect.js';

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
  /** Submits the pool did not answer within requestTimeoutMs. */
  submitTimeouts: number;
  /** Shares sent here whose connection closed before the pool answered them (miners were told accepted). */
  sharesLost: number;
  /** Connections closed because the pool left requests unanswered for hungAfterMs (issue 11 item 3). */
  hungDetections: number;
  /** Difficulties (set_difficulty / set_target) outside [difficulty.min, difficulty.max]; miners stay clamped (issue 11). */
  difficultyOutOfRange: number;
}

export function newProtocolCounters(): PoolProtocolCounters {
  return { malformedLines: 0, badMessages: 0, unknownReplies: 0, reconnectRequests: 0, submitTimeouts: 0, sharesLost: 0, hungDetections: 0, difficultyOutOfRange: 0 };
}

export interface PoolClientOptions {
  url: string;
  /** Certificate checks for a stratum+ssl:// url (default: system CAs, verified). */
  tls?: PoolTlsSettings;
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
  /**
   * A pool that leaves a request (a submit) unanswered this long, answering
   * nothing else meanwhile, is hung: the connection is closed (HungDetector).
   * Default: none (only the silence watchdog).
   */
  hungAfterMs?: number;
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
  /** Told of each submit timeout and hung-pool close (per-pool last error in /api/status). */
  onTrouble?: (reason: string) => void;
  /** Rate limit for the repeated trouble warnings (submit timeouts, shares lost to a close): one a minute per pool and cause, shared by a pool's connections. */
  troubleLog?: LogLimiter;
  /** The miners' difficulty bounds: a pool difficulty outside them is counted and logged (miners stay inside). */
  difficultyBounds?: { min: number; max: number };
  /** Rate limit for repeated warnings about this pool (default: a private one). */
  logLimiter?: LogLimiter;
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

export class PoolClient {
  private transport: PoolTransport | undefined;
  private readonly requests: PendingRequests;
  private submitsPending = 0;
  /** Set by closeWhenIdle: close once the last share sent here has its answer. */
  private idleCloseReason: string | undefined;
  private ready = false;
  private subscribed = false;
  private closed = false;
  private readonly hung: HungDetector | undefined;
  private hungTimer: Repeater | undefined;
  private readonly troubleLog: LogLimiter;
  /** Set when surplus itself closed the connection on purpose (shutdown, fallback, a probe no longer needed): not worth a warning. */
  plannedClose = false;
  /** Set when the connection was closed because the pool is hung. */
  closedHung = false;
  private events: PoolClientEvents | undefined;
  readonly counters: PoolProtocolCounters;
  readonly logLimiter: LogLimiter;
  readonly session: PoolSession = { extranonce1: '', extranonce2Size: 0, versionMask: 0, difficulty: 1, job: undefined };
  /** Set when the pool sent `client.reconnect` (the connection is then closed). */
  reconnectAsk: ReconnectAsk | undefined;
  configureOutcome: ConfigureOutcome | undefined;

  constructor(private readonly opts: PoolClientOptions) {
    this.counters = opts.counters ?? newProtocolCounters();
    this.hung = opts.hungAfterMs !== undefined ? new HungDetector(opts.hungAfterMs) : undefined;
    this.troubleLog = opts.troubleLog ?? new LogLimiter({ clock: opts.clock, burst: 1 });
    this.logLimiter = opts.logLimiter ?? new LogLimiter({ clock: opts.clock });
    this.requests = new PendingRequests(opts.url, opts.maxPending ?? 10_000, opts.clock, this.hung);
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

  get difficultyBounds(): { min: number; max: number } | undefined {
    return this.opts.difficultyBounds;
  }

  /** Connects and passes the handshake gate; rejects (and cleans up) on any failure. */
  async open(events: PoolClientEvents): Promise<PoolSession> {
    const o = this.opts;
    const transport = new PoolTransport(
      o.url,
      { ...(o.tls ? { tls: o.tls } : {}), maxLineBytes: o.maxLineBytes, maxWriteBufferBytes: o.maxWriteBufferBytes, silenceTimeoutMs: o.silenceTimeoutMs, counters: this.counters, logLimiter: this.logLimiter, clock: o.clock, logger: o.logger },
      { onMessage: (m) => this.onMessage(m), onClose: (reason) => this.onClosed(reason) },
    );
    this.transport = transport;
    let gateTimer: TimerHandle | undefined;
    const gateTimeout = new Promise<never>((_, reject) => {
      gateTimer = o.clock.setTimeout(() => reject(new TimeoutError(`pool ${this.opts.url} did not finish the handshake within ${this.opts.handshakeTimeoutMs} ms`)), this.opts.handshakeTimeoutMs);
    });
    gateTimeout.catch(() => undefined);
    try {
      await Promise.race([transport.connected, gateTimeout]);
      await Promise.race([this.handshake(), gateTimeout]);
    } catch (err) {
      this.close(`handshake failed: ${(err as Error).message}`);
      throw err;
    } finally {
      o.clock.clearTimeout(gateTimer);
    }
    if (this.closed) throw new PeerError(`pool ${this.opts.url} closed during the handshake`);
    this.ready = true;
    this.events = events;
    transport.watch();
    this.watchHung();
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
    const auth = await this.request('mining.authorize', [this.opts.user, this.opts.password], this.opts.handshakeTimeoutMs);
    const v = authorizeVerdict(auth.result, auth.error);
    if (!v.ok) throw new PeerError(`pool refused mining.authorize for ${this.opts.user}: ${v.reason}`);
    if (v.nullResult) log.info({ pool: this.opts.url, user: this.opts.user }, 'pool answered mining.authorize with null and no error; taken as authorized');
    // After authorize (issue 13 item 8): ckpool drops a mining.extranonce.subscribe
    // that comes before it, unanswered. Not every pool supports it and the answer
    // does not matter, so the gate never waits for it (nor counts it toward a hung pool).
    this.request('mining.extranonce.subscribe', [], this.opts.handshakeTimeoutMs, { optional: true }).catch(() => undefined);
    if (configure) await configure;
  }

  /** Never rejects: every outcome but a granted mask means mining without version rolling. */
  private async negotiateVersionRolling(): Promise<void> {
    const timeoutMs = this.opts.configureTimeoutMs ?? Math.min(3000, this.opts.handshakeTimeoutMs / 3);
    const params = [['version-rolling'], { 'version-rolling.mask': hex32(this.opts.versionRollingMask), 'version-rolling.min-bit-count': 2 }];
    try {
      const r = await this.request('mining.configure', params, timeoutMs, { optional: true });
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

  /**
   * Checks for a hung pool (after the handshake, which has its own timer) at
   * a tenth of hungAfterMs, at most every second, so the close comes at most
   * that late.
   */
  private watchHung(): void {
    const d = this.hung;
    if (!d) return;
    const period = Math.max(20, Math.min(1000, d.hungAfterMs / 10));
    this.hungTimer = every(this.opts.clock, period, () => {
      const v = d.check(this.opts.clock.now());
      if (!v.hung || this.closed) return;
      const waited = this.opts.clock.now() - v.waitingSinceMs!;
      const reason = `pool hung: ${v.unanswered} request(s) unanswered and no answer for ${waited} ms (upstream.hungAfterS)`;
      this.counters.hungDetections++;
      this.closedHung = true;
      this.opts.onTrouble?.(reason);
      this.opts.logger.error({ pool: this.opts.url, unanswered: v.unanswered, waitedMs: waited, sharesPending: this.submitsPending }, 'pool hung: closing the connection and failing over');
      this.close(reason);
    }).unref();
  }

  /** Sends `mining.submit`; resolves with the pool's verdict, rejects with TimeoutError or PeerError. */
  async submit(params: unknown[]): Promise<SubmitAnswer> {
    if (!this.isReady) {
      // The connection closed while the share was being checked: the miner was
      // told accepted and another pool cannot take it. Counted lost, like those
      // in flight at the close.
      this.counters.sharesLost++;
      this.troubleLog.log(this.opts.logger, 'warn', this.opts.url, 'submit-closed', { pool: this.opts.url }, 'share checked after its pool connection closed; counted lost');
      throw new PeerError(`pool ${this.opts.url} is not connected`);
    }
    this.submitsPending++;
    try {
      const r = await this.request('mining.submit', params, this.opts.requestTimeoutMs);
      return submitVerdict(r.result, r.error);
    } catch (err) {
      if (err instanceof TimeoutError) this.submitTimedOut(err.message);
      throw err;
    } finally {
      if (--this.submitsPending === 0 && this.idleCloseReason !== undefined) this.close(this.idleCloseReason);
    }
  }

  /**
   * Closes once every share sent on this connection has its verdict (each is
   * bounded by requestTimeoutMs): the miners left it, but the shares they sent
   * are still the pool's to accept, and closing now would lose them.
   */
  closeWhenIdle(reason: string): void {
    this.plannedClose = true;
    if (this.submitsPending === 0) return this.close(reason, true);
    this.idleCloseReason = reason;
  }

  private submitTimedOut(message: string): void {
    this.counters.submitTimeouts++;
    this.opts.onTrouble?.(message);
    this.troubleLog.log(this.opts.logger, 'warn', this.opts.url, 'submit-timeout', { pool: this.opts.url, err: message, timeoutsTotal: this.counters.submitTimeouts }, 'pool did not answer a share in time (counted as timed out)');
  }

  private request(method: string, params: unknown[], timeoutMs: number, opts?: RequestOptions): Promise<PoolAnswer> {
    const transport = this.transport;
    if (!transport || this.closed) return Promise.reject(new PeerError(`pool ${this.opts.url} is not connected`));
    return this.requests.request(method, params, timeoutMs, (line) => transport.send(line), opts);
  }

  private onMessage(m: RpcMessage): void {
    if (m.kind === 'response') {
      if (!this.requests.settle(m.id, { result: m.result, error: m.error })) {
        // A late answer after its timeout (already counted as a timeout), or an id we never sent.
        this.counters.unknownReplies++;
        this.opts.logger.debug({ pool: this.opts.url, id: m.id }, 'answer to an unknown request id (ignored)');
      }
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

  answer(id: RpcId, result: unknown): void {
    this.transport?.send(encodeResult(id, result));
  }

  answerError(id: RpcId, code: number, message: string): void {
    this.transport?.send(encodeError(id, code, message));
  }

  /** `planned`: surplus closes it on purpose (shutdown, a pool no longer active), not because of a fault. */
  close(reason: string, planned = false): void {
    if (this.closed) return;
    if (planned) this.plannedClose = true;
    this.transport?.destroy(reason);
    this.onClosed(reason);
  }

  private onClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.hungTimer?.stop();
    if (this.submitsPending > 0) {
      // The miners were told these were accepted; they cannot be sent to another
      // pool (its jobs and extranonce differ). Counted lost (ShareLedger.poolLost,
      // surplus_pool_shares_total{result="lost"}), and said so.
      this.counters.sharesLost += this.submitsPending;
      this.opts.logger.warn({ pool: this.opts.url, shares: this.submitsPending, reason }, 'connection to the pool closed before it answered these shares; counted lost');
    }
    this.requests.failAll(reason);
    if (this.ready) this.events?.onClose(reason);
  }
}
