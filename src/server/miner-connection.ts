/**
 * The socket side of one miner: executes what the pure session
 * (miner/miner-session.ts) returns and feeds back what that produced. It is
 * the sink of its LineConnection (lines arrive in order; while a slot is
 * being acquired or a share hashed, the next line waits) and a member of one
 * upstream channel (jobs, extranonce moves, failover), whose calls it turns
 * into events. Nothing is decided here: every branch is in the session.
 */
import type { Socket } from 'node:net';
import { OverloadError, TimeoutError } from '../errors.js';
import { truncateForLog, type RpcId, type RpcMessage } from '../wire/json-rpc.js';
import type { HashRequest } from '../shares/types.js';
import { LineConnection, type LineSink } from '../net/line-connection.js';
import type { ChannelMember, JobOrigin, MinerJob, Slot } from '../upstream/channel.js';
import type { ForwardShare, MinerAction, MinerEvent } from '../miner/events.js';
import { MinerSession } from '../miner/miner-session.js';
import type { MinerServer } from './miner-server.js';

/** The kind of a decode failure, without its detail (positions, names): the rate limiter's cause. */
function reasonKind(reason: string): string {
  return reason.replace(/:.*$/s, '').replace(/^\S+ params/, 'params').slice(0, 60);
}

/** The events without data, one frozen object each: the tick alone is 10,000 events a second at 10,000 miners. */
const TICK: MinerEvent = Object.freeze({ type: 'tick' });
const WITHHOLD: MinerEvent = Object.freeze({ type: 'withhold' });
const RELEASE: MinerEvent = Object.freeze({ type: 'release' });
const ORPHANED: MinerEvent = Object.freeze({ type: 'orphaned' });
const UPSTREAM_CHANGED: MinerEvent = Object.freeze({ type: 'upstream-changed' });

export class MinerConnection implements LineSink, ChannelMember {
  readonly line: LineConnection;
  readonly session: MinerSession;

  constructor(
    private readonly server: MinerServer,
    socket: Socket,
  ) {
    const { config, clock } = server.deps;
    this.session = new MinerSession(config, clock.now());
    const limits = config.limits;
    this.line = new LineConnection(socket, { maxLineBytes: limits.maxLineBytes, maxWriteBufferBytes: limits.maxWriteBufferBytes, onHeld: server.onHeld, clock }, this);
  }

  /** The miner's IP address (bans hold per address and worker name). */
  get address(): string {
    return this.line.socket.remoteAddress ?? '?';
  }

  /** Subscribed, authorized, neither closed nor told to reconnect (the session knows all four). */
  get ready(): boolean {
    return this.session.ready;
  }

  get worker(): string | undefined {
    return this.session.worker;
  }

  get sessionId(): string | undefined {
    return this.session.sessionId;
  }

  get difficulty(): number {
    return this.session.difficulty;
  }

  workerNames(): string[] {
    return this.session.workerNames();
  }

  /** Feeds one event to the session and runs what it returns; a promise while a result is owed. */
  private step(e: MinerEvent): Promise<void> | undefined {
    return this.run(this.session.handle(e, this.server.deps.clock.now()));
  }

  private run(actions: readonly MinerAction[]): Promise<void> | undefined {
    let owed: Promise<void> | undefined;
    const { ledger, upstream, clock, logger } = this.server.deps;
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          this.line.send(a.line);
          break;
        case 'acquire': {
          const asked = a.sessionId;
          owed = upstream.acquire(this, asked).then(
            (r) => this.step({ type: 'slot', slot: r.slot, sessionId: r.sessionId, resumedDifficulty: r.sessionId === asked ? this.server.resumedDifficulty(r.sessionId) : undefined }),
            (err: unknown) => this.step({ type: 'slot-failed', message: (err as Error).message }),
          );
          break;
        }
        case 'admit': {
          // Answered at once, before the actions after it (there are none: admit comes last).
          const { lever } = this.server;
          const w = a.worker;
          const bannedUntilMs = this.server.bannedUntil(w, this.address);
          this.run(this.session.handle({ type: 'admission', id: a.id, worker: w, withheld: lever.isWithheld(w), bannedUntilMs, plannedDifficulty: lever.plannedDifficulty(w) }, clock.now()));
          break;
        }
        case 'release':
          upstream.release(this);
          break;
        case 'hash':
          owed = this.hash(a.request);
          break;
        case 'forward':
          this.forward(a.share);
          break;
        case 'received':
          ledger.received(a.worker);
          break;
        case 'rejected':
          ledger.rejected(a.worker, a.kind);
          break;
        case 'accepted':
          ledger.accepted(a.worker, a.difficulty, clock.now(), a.block);
          break;
        case 'authorized':
          this.server.authorized(this, a.worker);
          break;
        case 'ban':
          this.server.ban(a.workers, this.address);
          break;
        case 'close':
          this.line.end(a.reason);
          break;
        case 'leave':
          this.line.endAfterPending(a.reason);
          break;
        case 'malformed':
          this.server.malformedLines++;
          // Per address and reason, not per line: 20 KB of bad lines made 2.2 MB of warnings (issue 11).
          this.server.logLimiter.log(logger, 'warn', this.address, `malformed: ${reasonKind(a.reason)}`, { miner: this.line.remote, reason: a.reason, line: truncateForLog(a.line), strikes: a.strikes }, 'malformed line from miner');
          break;
        case 'log':
          logger[a.level]({ miner: this.line.remote, ...a.fields }, a.msg);
          break;
      }
    }
    return owed;
  }

  private hash(request: HashRequest): Promise<void> {
    return this.server.deps.hasher.hash(request).then(
      (result) => this.step({ type: 'hashed', result }),
      (err: unknown) => this.step({ type: 'hash-failed', overloaded: err instanceof OverloadError, message: (err as Error).message }),
    );
  }

  /** Upstream on the connection the job came from, as prefix ‖ miner extranonce2; the pool's answer goes to the ledger. */
  private forward(f: ForwardShare): void {
    const { ledger, logger } = this.server.deps;
    const origin = f.origin as JobOrigin;
    const s = f.submit;
    if (f.block) logger.info({ worker: f.worker, hash: f.block.hash }, 'block candidate: forwarding at once');
    ledger.forwarded(f.worker);
    const block = f.block ? { request: f.block.request, hash: f.block.hash, worker: f.worker } : undefined;
    origin.channel.submit(origin, f.prefixHex, s.extranonce2, s.ntime, s.nonce, s.versionBits, block).then(
      (a) => ledger.poolAnswer(f.worker, a.accepted ? 'accepted' : 'rejected'),
      (err: unknown) => ledger.poolAnswer(f.worker, err instanceof TimeoutError ? 'timeout' : 'lost'),
    );
  }

  // ------------------------------------------------------------ LineSink

  onMessage(message: RpcMessage): void | Promise<void> {
    // Before a slot, what mining.configure offers is the mask of the upstream the miner will most likely land on.
    if (this.session.slot === undefined) return this.step({ type: 'message', message, poolMask: this.server.deps.upstream.versionMask() });
    return this.step({ type: 'message', message });
  }

  onMalformed(reason: string, line: string, id?: RpcId): void {
    this.step(id === undefined ? { type: 'malformed', reason, line } : { type: 'malformed', reason, line, id });
  }

  onClose(reason: string): void {
    if (this.session.isClosed) return;
    this.server.deps.logger.debug({ miner: this.line.remote, worker: this.session.worker, reason }, 'miner disconnected');
    this.step({ type: 'closed', reason });
    this.server.closed(this);
  }

  close(reason: string): void {
    this.line.end(reason);
  }

  // ------------------------------------------------------------ server and lever

  /** Handshake deadline and vardiff for quiet miners, about once a second. */
  tick(): void {
    this.step(TICK);
  }

  withhold(): void {
    this.step(WITHHOLD);
  }

  release(): void {
    this.step(RELEASE);
  }

  /** expectHashrate: jump to a planned difficulty ahead of the shares. */
  setPlannedDifficulty(difficulty: number): void {
    this.step({ type: 'plan', difficulty });
  }

  // ------------------------------------------------------------ channel member

  deliverJob(work: MinerJob): void {
    this.step({ type: 'job', work });
  }

  moveTo(slot: Slot): void {
    this.step({ type: 'moved', slot });
  }

  orphan(reason: string): void {
    this.server.deps.logger.debug({ worker: this.session.worker, reason }, 'miner waits for a new upstream slot');
    this.step(ORPHANED);
  }

  upstreamChanged(): void {
    this.step(UPSTREAM_CHANGED);
  }
}
