import { connect, type Socket } from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { OverloadError, PeerError, TimeoutError } from '../errors.js';
import { isSuccessStatus, joinedPart, parseCgminerReply, replyStatus, type CgminerReply, type ReplyStatus } from './cgminer-reply.js';
import { DeviceAccessDeniedError, DeviceRefusedError, isAccessDenied } from './device-errors.js';

/**
 * Client for the cgminer API (TCP 4028) as Avalon firmware serves it: one JSON
 * request per TCP connection, the device replies and closes (the reply ends in
 * a NUL). Commands to one device are serialised (a bounded queue), because the
 * firmware's API thread handles one connection at a time. Reads that are safe
 * to repeat are retried with capped, jittered backoff; writes never are.
 */

export interface CgminerClientOptions {
  host: string;
  port: number;
  /** Give up connecting after this long, ms. Default 3000. */
  connectTimeoutMs?: number;
  /** Give up waiting for the reply (NUL or close) after this long, ms. Default 5000. */
  replyTimeoutMs?: number;
  /**
   * A reply that arrived without its NUL on a connection the device keeps open
   * is accepted once nothing more came for this long and it parses whole, ms.
   * Default 500.
   */
  settleMs?: number;
  /** Largest reply accepted, bytes; a bigger one is a PeerError. Default 1 MiB. */
  maxReplyBytes?: number;
  /** Extra attempts for idempotent reads after a timeout or peer error. Default 2. */
  readRetries?: number;
  /** Backoff before retry n: min(retryMaxMs, retryBaseMs * 2^n), full jitter. Defaults 200 / 2000 ms. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Commands waiting for this device beyond the one in flight. Default 16. */
  maxQueue?: number;
  /** Runs the connect, reply, settle and retry timers (default systemClock: a driver is also used on its own, e.g. by discover). */
  clock?: Clock;
}

export interface RequestOptions {
  /** Safe to repeat: retried after timeouts and peer errors. */
  idempotent?: boolean;
  /** A close without any reply byte is an answer (Avalon softon, asic-rs PR #223). */
  allowCloseWithoutReply?: boolean;
}

export interface CgminerAnswer {
  /** Undefined when the device closed without a reply and that was allowed. */
  reply?: CgminerReply;
  status?: ReplyStatus;
}

export { DeviceAccessDeniedError, DeviceRefusedError, isAccessDenied } from './device-errors.js';

interface Raw {
  bytes: Buffer;
  closedWithoutReply: boolean;
}

export class CgminerClient {
  readonly address: string;
  private readonly opts: Required<CgminerClientOptions>;
  private tail: Promise<unknown> = Promise.resolve();
  /** Commands in flight or queued. */
  private pending = 0;
  private closed = false;
  private readonly live = new Set<Socket>();
  private readonly sleeps = new Set<{ timer: TimerHandle; reject: (e: Error) => void }>();

  constructor(options: CgminerClientOptions) {
    this.opts = {
      connectTimeoutMs: 3000,
      replyTimeoutMs: 5000,
      settleMs: 500,
      maxReplyBytes: 1 << 20,
      readRetries: 2,
      retryBaseMs: 200,
      retryMaxMs: 2000,
      maxQueue: 16,
      clock: systemClock,
      ...options,
    };
    for (const k of ['connectTimeoutMs', 'replyTimeoutMs', 'settleMs', 'maxReplyBytes', 'maxQueue'] as const) {
      const v = this.opts[k];
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`CgminerClient: ${k} must be a positive number, got ${v}`);
    }
    if (!Number.isInteger(this.opts.readRetries) || this.opts.readRetries < 0) throw new RangeError('CgminerClient: readRetries must be an integer >= 0');
    this.address = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
  }

  /**
   * Send `{"command":..,"parameter":..}` and return the parsed answer. Throws
   * TimeoutError, PeerError (refused, reset, unreadable reply, no STATUS),
   * DeviceRefusedError (STATUS E/F/W), DeviceAccessDeniedError (the miner's
   * api-allow does not let this host run the command) or OverloadError (queue full).
   */
  request(command: string, parameter?: string, options: RequestOptions = {}): Promise<CgminerAnswer> {
    if (this.closed) return Promise.reject(new PeerError(`${this.address}: client closed`));
    if (this.pending > this.opts.maxQueue) {
      return Promise.reject(new OverloadError(`${this.address}: ${this.pending - 1} commands already queued behind the one in flight (maxQueue ${this.opts.maxQueue})`));
    }
    this.pending++;
    const run = this.tail
      .then(() => this.runWithRetries(command, parameter, options))
      .finally(() => {
        this.pending--;
      });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Abort the command in flight and everything queued; later requests fail at once. */
  close(): void {
    this.closed = true;
    for (const s of this.live) s.destroy();
    for (const s of this.sleeps) {
      this.opts.clock.clearTimeout(s.timer);
      s.reject(new PeerError(`${this.address}: client closed`));
    }
    this.sleeps.clear();
  }

  private async runWithRetries(command: string, parameter: string | undefined, options: RequestOptions): Promise<CgminerAnswer> {
    const retries = options.idempotent ? this.opts.readRetries : 0;
    let attempts = 0;
    for (;;) {
      attempts++;
      try {
        if (this.closed) throw new PeerError(`${this.address}: client closed`);
        const raw = await this.exchange(command, parameter);
        return this.interpret(command, raw, options);
      } catch (err) {
        const retryable = !(err instanceof DeviceRefusedError) && (err instanceof TimeoutError || err instanceof PeerError) && !this.closed;
        if (!retryable || attempts > retries) throw err;
        const cap = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** (attempts - 1));
        await this.sleep(Math.random() * cap);
      }
    }
  }

  private interpret(command: string, raw: Raw, options: RequestOptions): CgminerAnswer {
    if (raw.closedWithoutReply) {
      if (options.allowCloseWithoutReply) return {};
      // cgminer closes a connection from a host outside api-allow without a word (api.c
      // check_connect); for a read that is the likeliest cause, so the message says so.
      const hint = options.idempotent ? ` (a miner whose api-allow does not list this host closes every connection this way: check the miner's API settings)` : '';
      throw new PeerError(`${this.address}: closed the connection without replying to "${command}"${hint}`);
    }
    const parsed = parseCgminerReply(raw.bytes);
    if (!parsed.ok) throw new PeerError(`${this.address}: unreadable reply to "${command}": ${parsed.reason}`);
    const body = joinedPart(parsed.reply.body, command);
    const status = body && replyStatus(body);
    if (!body || !status) throw new PeerError(`${this.address}: reply to "${command}" has no STATUS`);
    const reply = body === parsed.reply.body ? parsed.reply : { ...parsed.reply, body };
    if (!isSuccessStatus(status)) {
      // Bounded: the message ends up in logs and decisions.
      const msg = (status.msg ?? '(no message)').slice(0, 200);
      const what = `STATUS ${status.status}${status.code === undefined ? '' : `/${status.code}`} ${JSON.stringify(msg)}`;
      if (isAccessDenied(status)) {
        const need = command === 'ascset' ? 'write access (api-allow W:<this host>, e.g. W:192.168.1.10/32)' : 'api-allow to list this host';
        throw new DeviceAccessDeniedError(`${this.address}: "${command}" refused: access denied (${what}); the miner's API settings need ${need}`, status);
      }
      throw new DeviceRefusedError(`${this.address}: "${command}" refused: ${what}`, status);
    }
    return { reply, status };
  }

  /**
   * One connection, one request, read until NUL or close. Every path ends in
   * finish(), which destroys the socket: the connect timeout bounds a black-holed
   * SYN, the reply timeout (from connect, not reset by data) bounds a device that
   * accepts and never answers, a half-open peer and one that trickles bytes.
   */
  private exchange(command: string, parameter: string | undefined): Promise<Raw> {
    return new Promise<Raw>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let connected = false;
      let done = false;
      const socket = connect({ host: this.opts.host, port: this.opts.port });
      this.live.add(socket);
      const clock = this.opts.clock;
      let timer = clock.setTimeout(() => finish(new TimeoutError(`${this.address}: connect timed out after ${this.opts.connectTimeoutMs} ms`)), this.opts.connectTimeoutMs);
      let settle: TimerHandle | undefined;
      const finish = (err: Error | undefined, raw?: Raw): void => {
        if (done) return;
        done = true;
        clock.clearTimeout(timer);
        clock.clearTimeout(settle);
        this.live.delete(socket);
        socket.destroy();
        if (err) reject(err);
        else resolve(raw!);
      };
      socket.on('connect', () => {
        connected = true;
        clock.clearTimeout(timer);
        timer = clock.setTimeout(
          () => finish(new TimeoutError(`${this.address}: no reply to "${command}" within ${this.opts.replyTimeoutMs} ms`)),
          this.opts.replyTimeoutMs,
        );
        const req = parameter === undefined ? { command } : { command, parameter };
        // No half-close: some cgminer builds read the request with one recv() and a
        // FIN before the reply is not something every firmware has been tested with.
        socket.write(JSON.stringify(req));
      });
      socket.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.opts.maxReplyBytes) {
          finish(new PeerError(`${this.address}: reply to "${command}" exceeds ${this.opts.maxReplyBytes} bytes`));
          return;
        }
        chunks.push(chunk);
        // The firmware's reply ends with a NUL (send_result writes strlen+1 bytes).
        if (chunk.includes(0)) {
          finish(undefined, { bytes: Buffer.concat(chunks), closedWithoutReply: false });
          return;
        }
        // No NUL yet: a firmware that neither sends one nor closes would cost the whole
        // reply timeout, so a reply that stopped growing and parses whole is taken.
        clock.clearTimeout(settle);
        settle = clock.setTimeout(() => {
          const bytes = Buffer.concat(chunks);
          const parsed = parseCgminerReply(bytes);
          if (parsed.ok && joinedPart(parsed.reply.body, command) !== undefined) finish(undefined, { bytes, closedWithoutReply: false });
        }, this.opts.settleMs);
      });
      socket.on('end', () => finish(undefined, { bytes: Buffer.concat(chunks), closedWithoutReply: size === 0 }));
      socket.on('close', () => {
        if (this.closed) finish(new PeerError(`${this.address}: client closed`));
        else finish(undefined, { bytes: Buffer.concat(chunks), closedWithoutReply: size === 0 });
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (!connected) {
          const why = err.code === 'ECONNREFUSED' ? 'connection refused' : `cannot connect (${err.code ?? err.message})`;
          finish(new PeerError(`${this.address}: ${why}`, { cause: err }));
        } else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
          // Reset right after the request: the same "closed without a reply" as a FIN. A reset
          // after some bytes (a device closing with our request unread sends RST, not FIN) ends
          // the reply like a FIN does; the parser decides whether it is whole.
          finish(undefined, { bytes: Buffer.concat(chunks), closedWithoutReply: size === 0 });
        } else {
          finish(new PeerError(`${this.address}: ${err.code ?? err.message} while reading the reply to "${command}"`, { cause: err }));
        }
      });
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = {
        timer: this.opts.clock.setTimeout(() => {
          this.sleeps.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      this.sleeps.add(entry);
    });
  }
}
