/**
 * One Stratum peer over a socket: framing, JSON-RPC decode, ordered dispatch
 * and bounded output. Used on both sides (miners' sessions, pool clients,
 * simulated peers). The sink sees decoded messages strictly in arrival order;
 * when it returns a promise (a submit being hashed), reading pauses until it
 * settles, so a fast miner cannot grow an unbounded queue in front of us.
 */
import type { Socket } from 'node:net';
import type { Clock } from '../clock.js';
import { LineFramer, type FrameEvent } from '../wire/line-framer.js';
import { decodeMessage, type RpcId, type RpcMessage } from '../wire/json-rpc.js';

/** Longest a planned close waits for the requests already read to be answered. */
const LEAVE_DEADLINE_MS = 10_000;

export interface LineSink {
  /** One decoded message. A returned promise holds back the next line until it settles. */
  onMessage(msg: RpcMessage): void | Promise<void>;
  /** A line that is not valid JSON-RPC (id set when it could be recovered), or an over-long line. */
  onMalformed(reason: string, line: string, id?: RpcId): void;
  /** The socket is gone; `reason` says why when we closed it. */
  onClose(reason: string): void;
}

export interface LineConnectionOptions {
  maxLineBytes: number;
  /** Unsent output beyond this means the peer stopped reading: drop it. */
  maxWriteBufferBytes: number;
  /** Told of each handler that holds the line (a submit being hashed), so a shutdown can wait for it. */
  onHeld?: (settled: Promise<void>) => void;
  /** Runs the planned close's deadline. */
  clock: Clock;
}

export class LineConnection {
  private readonly framer: LineFramer;
  private readonly queue: FrameEvent[] = [];
  private head = 0;
  private busy = false;
  private stopped = false;
  private closedReason: string | undefined;
  /** Set by endAfterPending: no more reading; close once what was read is answered. */
  private leavingReason: string | undefined;
  readonly remote: string;

  constructor(
    readonly socket: Socket,
    private readonly opts: LineConnectionOptions,
    private readonly sink: LineSink,
  ) {
    this.framer = new LineFramer(opts.maxLineBytes);
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // Every socket gets an 'error' listener (an unhandled one would crash the process).
    socket.on('error', (err) => this.finish(`socket error: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    socket.on('close', () => this.finish('peer closed'));
    socket.on('end', () => socket.end());
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /**
   * Queues one encoded line; returns false (and drops the peer) when its
   * output buffer is over the cap. A Buffer (a job fanned out to many miners)
   * is written as is, with no per-socket encoding; the socket only holds it
   * if the kernel did not take it at once.
   */
  send(line: string | Buffer): boolean {
    if (this.closedReason !== undefined) return false;
    if (this.socket.writableLength + line.length > this.opts.maxWriteBufferBytes) {
      this.destroy(`write buffer over ${this.opts.maxWriteBufferBytes} bytes (peer stopped reading)`);
      return false;
    }
    this.socket.write(line);
    return true;
  }

  /** Flushes what was queued, then closes. */
  end(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.socket.end();
    this.sink.onClose(reason);
  }

  /**
   * A planned close (issue 11: requests in flight when surplus sent
   * `client.reconnect` and closed were never answered). Reading stops; the
   * lines already read, and the one being handled, are answered; then what
   * was queued is flushed and the socket closed. Bounded: a handler that does
   * not settle within `LEAVE_DEADLINE_MS` gets the socket destroyed.
   */
  endAfterPending(reason: string): void {
    if (this.closedReason !== undefined || this.leavingReason !== undefined) return;
    this.leavingReason = reason;
    this.socket.pause();
    this.opts.clock.setTimeout(() => this.destroy(`${reason} (requests still in flight after ${LEAVE_DEADLINE_MS} ms)`), LEAVE_DEADLINE_MS).unref();
    this.leaveIfIdle();
  }

  get leaving(): boolean {
    return this.leavingReason !== undefined;
  }

  private leaveIfIdle(): void {
    if (this.leavingReason !== undefined && !this.busy && this.head >= this.queue.length) this.end(this.leavingReason);
  }

  destroy(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.socket.destroy();
    this.sink.onClose(reason);
  }

  private finish(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.socket.destroy();
    this.sink.onClose(reason);
  }

  /**
   * Shutdown: read no more lines (those not yet dispatched are dropped); the
   * handler in flight still finishes and answers.
   */
  stopReading(): void {
    this.stopped = true;
    this.socket.pause();
  }

  private onData(chunk: Buffer): void {
    // Leaving or stopped: what was read before is answered, nothing read after (the peer was told to go, or we shut down).
    if (this.closedReason !== undefined || this.stopped || this.leavingReason !== undefined) return;
    for (const ev of this.framer.push(chunk)) this.queue.push(ev);
    this.drain();
  }

  private drain(): void {
    while (!this.busy && !this.stopped && this.head < this.queue.length && this.closedReason === undefined) {
      const ev = this.queue[this.head++]!;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
      let pending: Promise<void> | undefined;
      try {
        pending = this.dispatch(ev);
      } catch (err) {
        // A handler that throws is a bug, but it is this peer's connection that pays, never the
        // process (the async path below does the same): one peer must not end every session.
        this.destroy(`handler failed: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}`);
        return;
      }
      if (pending) {
        this.busy = true;
        this.socket.pause();
        const settled = pending
          .catch((err: unknown) => this.destroy(`handler failed: ${(err as Error).message}`))
          .finally(() => {
            this.busy = false;
            if (this.closedReason === undefined) {
              if (this.leavingReason === undefined && !this.stopped) this.socket.resume();
              this.drain();
            }
          });
        this.opts.onHeld?.(settled);
      }
    }
    this.leaveIfIdle();
  }

  private dispatch(ev: FrameEvent): Promise<void> | undefined {
    if (ev.kind === 'overflow') {
      this.sink.onMalformed(ev.message, '');
      return undefined;
    }
    const d = decodeMessage(ev.line);
    if (!d.ok) {
      this.sink.onMalformed(d.reason, ev.line, d.id);
      return undefined;
    }
    const r = this.sink.onMessage(d.message);
    return r instanceof Promise ? r : undefined;
  }
}
