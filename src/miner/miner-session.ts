/**
 * One miner's Stratum session as a pure state machine (issue 14 item 1):
 * `handle(event, nowMs)` returns the actions to take, as data. No sockets,
 * timers, callbacks or promises: server/miner-connection.ts executes the
 * actions and feeds back what they produced (a slot, a hash). Job delivery
 * and difficulty live in WorkFeed, BIP310 masks in VersionRolling, the
 * firmwares' other methods in miner-hints.ts, the submit path in
 * submit-path.ts.
 */
import type { ResolvedConfig } from '../config/load.js';
import { StratumError } from '../wire/error-codes.js';
import { encodeError, encodeNotification, encodeResult, type RpcId, type RpcMessage } from '../wire/json-rpc.js';
import { guardAuthorize, guardConfigure, guardSubscribe, hex32 } from '../wire/guards.js';
import { MinerShareState } from '../shares/share-policy.js';
import { negotiateConfigure } from './configure.js';
import type { MinerAction, MinerEvent } from './events.js';
import { readHint, type MinerHint } from './miner-hints.js';
import { MinerLimits } from './miner-limits.js';
import { SubmitPath } from './submit-path.js';
import { VersionRolling } from './version-rolling.js';
import { WorkFeed } from './work-feed.js';
import type { MinerSlot } from './work.js';

/** The config a session reads. */
export type MinerSettings = Pick<ResolvedConfig, 'limits' | 'shares' | 'difficulty'>;

/** No actions (most ticks, jobs to a withheld miner): one frozen array instead of each call's empty one. */
const NONE: readonly MinerAction[] = Object.freeze([]);

export class MinerSession {
  sessionId: string | undefined;
  /** The first worker authorized here: the connection's name in logs and the ledger. */
  worker: string | undefined;
  readonly workers = new Set<string>();
  readonly feed: WorkFeed;
  readonly limits: MinerLimits;
  private readonly submits: SubmitPath;
  private readonly rolling = new VersionRolling();
  private subscribed = false;
  /** The mining.subscribe waiting for its slot: its id, and the session id it asked to resume. */
  private subscribing: { id: RpcId; resume: string | undefined } | undefined;
  private extranonceSubscribed = false;
  private closed = false;
  /** Told to reconnect: answers what was read, takes nothing new. */
  private leaving = false;
  private strikes = 0;
  /** The difficulty of the session this connection resumed, if it resumed one. */
  private resumedDifficulty: number | undefined;
  private readonly connectedAtMs: number;
  /** The worker of the mining.authorize waiting for its `admission`. */
  private admitting: string | undefined;
  /** Before a slot: the mask of the upstream the miner will most likely land on (from `message` events). */
  private handshakeMask = 0;

  constructor(
    private readonly config: MinerSettings,
    nowMs: number,
  ) {
    this.feed = new WorkFeed(config);
    this.limits = new MinerLimits(config.limits);
    this.submits = new SubmitPath(config.limits);
    this.connectedAtMs = nowMs;
  }

  /** Subscribed, authorized, neither closed nor leaving. */
  get ready(): boolean {
    return this.subscribed && this.workers.size > 0 && !this.closed && !this.leaving;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get slot(): MinerSlot | undefined {
    return this.feed.slot;
  }

  get difficulty(): number {
    return this.feed.difficulty;
  }

  /** A submit is being hashed: its answer is owed. */
  get hashing(): boolean {
    return this.submits.hashing;
  }

  workerNames(): string[] {
    return [...this.workers];
  }

  handle(e: MinerEvent, nowMs: number): readonly MinerAction[] {
    const out: MinerAction[] = [];
    switch (e.type) {
      case 'message':
        if (e.poolMask !== undefined) this.handshakeMask = e.poolMask;
        this.onMessage(e.message, out, nowMs);
        break;
      case 'malformed':
        this.onMalformed(e.reason, e.line, e.id, out);
        break;
      case 'slot':
        this.onSlot(e.slot, e.sessionId, e.resumedDifficulty, out, nowMs);
        break;
      case 'admission':
        this.onAdmission(e, out, nowMs);
        break;
      case 'slot-failed':
        if (this.subscribing) this.error(this.subscribing.id, StratumError.OTHER, e.message, out);
        this.subscribing = undefined;
        break;
      case 'hashed':
        this.submits.hashed(this, e.result, out, nowMs);
        break;
      case 'hash-failed':
        this.submits.failed(this, e.overloaded, e.message, out, nowMs);
        break;
      case 'job':
        this.feed.deliver(e.work, out);
        break;
      case 'moved':
        this.onMoved(e.slot, out, nowMs);
        break;
      case 'orphaned':
        // The miner stays connected; its jobs can no longer be submitted anywhere.
        this.feed.invalidate();
        break;
      case 'upstream-changed':
        this.syncVersionMask(out);
        this.feed.retarget(out, nowMs);
        break;
      case 'tick':
        if (this.closed) return NONE;
        if (!this.ready && nowMs - this.connectedAtMs > this.config.limits.handshakeTimeoutS * 1000) {
          this.close('no subscribe/authorize within the handshake timeout', out);
        } else if (this.ready) this.feed.retarget(out, nowMs);
        break;
      case 'withhold':
        this.feed.withhold();
        break;
      case 'release':
        this.feed.release(out, nowMs);
        break;
      case 'plan':
        this.feed.plan(e.difficulty, out, nowMs);
        break;
      case 'closed':
        if (this.closed) return NONE;
        this.closed = true;
        this.syncReady();
        out.push({ type: 'release' });
        break;
    }
    return out.length === 0 ? NONE : out;
  }

  // ------------------------------------------------------------ messages

  private onMessage(m: RpcMessage, out: MinerAction[], nowMs: number): void {
    if (m.kind === 'notification') {
      // JSON-RPC notifications are never answered; a hint sent as one (`"id": null`) still applies.
      const hint = readHint(m.method, m.params);
      if (hint && hint.kind !== 'error') this.applyHint(hint, undefined, out, nowMs);
      else out.push({ type: 'log', level: 'debug', msg: 'ignored notification from miner', fields: { method: m.method } });
      return;
    }
    if (m.kind !== 'request') return;
    const p = m.params;
    switch (m.method) {
      case 'mining.subscribe':
        return this.onSubscribe(m.id, p, out);
      case 'mining.authorize':
        return this.onAuthorize(m.id, p, out);
      case 'mining.configure':
        return this.onConfigure(m.id, p, out);
      case 'mining.submit':
        return this.submits.submit(this, m.id, p, out, nowMs);
      default: {
        const hint = readHint(m.method, p);
        if (!hint) return this.error(m.id, StratumError.OTHER, `unknown method ${m.method}`, out);
        return this.applyHint(hint, m.id, out, nowMs);
      }
    }
  }

  private applyHint(h: MinerHint, id: RpcId | undefined, out: MinerAction[], nowMs: number): void {
    switch (h.kind) {
      case 'extranonce-subscribe':
        this.extranonceSubscribed = true;
        return this.answer(id, true, out);
      case 'difficulty-floor':
        this.feed.floors.suggested = h.difficulty;
        this.answer(id, true, out);
        return this.feed.retarget(out, nowMs);
      case 'answer':
        return this.answer(id, h.result, out);
      case 'error':
        if (id !== undefined) this.error(id, h.code, h.message, out);
    }
  }

  private onMalformed(reason: string, line: string, id: RpcId | undefined, out: MinerAction[]): void {
    this.strikes++;
    out.push({ type: 'malformed', reason, line, strikes: this.strikes });
    if (id !== undefined) out.push({ type: 'send', line: encodeError(id, StratumError.OTHER, reason) });
    if (this.strikes >= this.config.limits.maxMalformedLines) this.close(`${this.strikes} malformed lines`, out);
  }

  // ------------------------------------------------------------ handshake

  private onSubscribe(id: RpcId, params: unknown[], out: MinerAction[]): void {
    const g = guardSubscribe(params);
    if (!g.ok) return this.error(id, StratumError.OTHER, g.message, out);
    if (this.subscribed || this.subscribing) return this.error(id, StratumError.OTHER, 'already subscribed', out);
    this.subscribing = { id, resume: g.value.sessionId };
    out.push({ type: 'acquire', sessionId: g.value.sessionId });
  }

  private onSlot(slot: MinerSlot, sessionId: string, resumed: number | undefined, out: MinerAction[], nowMs: number): void {
    const asked = this.subscribing;
    this.subscribing = undefined;
    // Gone while waiting (or a slot nobody asked for): give it back.
    if (this.closed || !asked) return void out.push({ type: 'release' });
    let share: MinerShareState;
    try {
      const s = this.config.shares;
      share = new MinerShareState({
        extranonce1: slot.extranonce1,
        extranonce2Size: slot.extranonce2Size,
        versionMask: this.rolling.agreed(slot.channel.versionMask),
        ntimeWindowS: s.ntimeWindowS,
        duplicateWindow: s.duplicateWindow,
        // A job older than the book is unknown anyway: remembering its difficulty longer only costs memory.
        jobMemory: s.jobHistory,
        difficulty: this.feed.difficulty,
      });
    } catch (err) {
      return this.error(asked.id, StratumError.OTHER, (err as Error).message, out);
    }
    this.feed.slot = slot;
    this.feed.share = share;
    this.sessionId = sessionId;
    if (asked.resume === sessionId) this.resumedDifficulty = resumed;
    this.subscribed = true;
    this.syncReady();
    out.push({ type: 'send', line: encodeResult(asked.id, [[['mining.set_difficulty', sessionId], ['mining.notify', sessionId]], slot.extranonce1, slot.extranonce2Size]) });
    this.syncVersionMask(out);
    this.feed.start(out, nowMs);
  }

  private onAuthorize(id: RpcId, params: unknown[], out: MinerAction[]): void {
    const g = guardAuthorize(params);
    if (!g.ok) return this.error(id, StratumError.OTHER, g.message, out);
    this.admitting = g.value.worker;
    out.push({ type: 'admit', id, worker: g.value.worker });
  }

  private onAdmission(a: Extract<MinerEvent, { type: 'admission' }>, out: MinerAction[], nowMs: number): void {
    const { id, worker } = a;
    if (this.admitting !== worker) return;
    this.admitting = undefined;
    if (a.withheld) {
      this.error(id, StratumError.UNAUTHORIZED_WORKER, 'worker is curtailed by the power plan; try later', out);
      return this.close('withheld worker tried to connect', out);
    }
    if (a.bannedUntilMs !== undefined) {
      const s = Math.ceil((a.bannedUntilMs - nowMs) / 1000);
      this.error(id, StratumError.UNAUTHORIZED_WORKER, `worker is banned for invalid shares for ${s} s more`, out);
      return this.close('banned worker tried to connect', out);
    }
    if (this.workers.size >= 8 && !this.workers.has(worker)) return this.error(id, StratumError.OTHER, 'too many workers on one connection', out);
    this.workers.add(worker);
    this.syncReady();
    const first = this.worker === undefined;
    if (first) {
      this.worker = worker;
      this.feed.begin(a.plannedDifficulty, this.resumedDifficulty, nowMs);
    }
    out.push({ type: 'authorized', worker });
    out.push({ type: 'send', line: encodeResult(id, true) });
    if (first) this.feed.start(out, nowMs);
  }

  private onConfigure(id: RpcId, params: unknown[], out: MinerAction[]): void {
    const g = guardConfigure(params);
    if (!g.ok) return this.error(id, StratumError.OTHER, g.message, out);
    const o = negotiateConfigure(g.value, this.poolMask());
    if (o.versionMask !== undefined) {
      const asked = g.value.options['version-rolling.mask'];
      this.rolling.configured(asked === undefined ? 0xffffffff : parseInt(String(asked), 16), o.versionMask);
      this.feed.share?.setVersionMask(this.agreedMask());
    }
    if (o.minimumDifficulty !== undefined) this.feed.floors.minimum = o.minimumDifficulty;
    if (o.subscribeExtranonce) this.extranonceSubscribed = true;
    out.push({ type: 'send', line: encodeResult(id, o.result) });
  }

  private poolMask(): number {
    return this.feed.slot?.channel.versionMask ?? this.handshakeMask;
  }

  /** BIP310: miner's mask ∧ the upstream's mask. */
  private agreedMask(): number {
    return this.rolling.agreed(this.poolMask());
  }

  /** BIP310 mining.set_version_mask when the upstream's mask (and so ours) changed. */
  private syncVersionMask(out: MinerAction[]): void {
    this.feed.share?.setVersionMask(this.agreedMask());
    const mask = this.rolling.announce(this.poolMask());
    if (mask !== undefined) out.push({ type: 'send', line: encodeNotification('mining.set_version_mask', [hex32(mask)]) });
  }

  // ------------------------------------------------------------ upstream

  private onMoved(slot: MinerSlot, out: MinerAction[], nowMs: number): void {
    const was = this.feed.slot;
    const changed = !was || was.extranonce1 !== slot.extranonce1 || was.extranonce2Size !== slot.extranonce2Size;
    this.feed.slot = slot;
    const share = this.feed.share;
    if (!this.subscribed || !share) return;
    this.feed.invalidate();
    if (changed) {
      if (!this.extranonceSubscribed) {
        // Without extranonce.subscribe the only way to hand over a new extranonce1 is a reconnect.
        out.push({ type: 'send', line: encodeNotification('client.reconnect', []) });
        // Requests already read (a submit being hashed, lines queued behind it) are answered first.
        this.leaving = true;
        this.syncReady();
        return void out.push({ type: 'leave', reason: 'extranonce changed; miner asked to reconnect' });
      }
      share.setExtranonce(slot.extranonce1);
      out.push({ type: 'send', line: encodeNotification('mining.set_extranonce', [slot.extranonce1, slot.extranonce2Size]) });
    }
    this.syncVersionMask(out);
    this.feed.restart(out, nowMs);
  }

  // ------------------------------------------------------------ helpers

  private syncReady(): void {
    this.feed.ready = this.ready;
  }

  /** Flush what was sent, then close; the `closed` event follows from the connection. */
  close(reason: string, out: MinerAction[]): void {
    out.push({ type: 'close', reason });
  }

  error(id: RpcId, code: number, message: string, out: MinerAction[]): void {
    out.push({ type: 'send', line: encodeError(id, code, message) });
  }

  private answer(id: RpcId | undefined, result: unknown, out: MinerAction[]): void {
    if (id !== undefined) out.push({ type: 'send', line: encodeResult(id, result) });
  }
}
