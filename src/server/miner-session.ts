/**
 * One miner connection: the Stratum state machine on the miners' side. It is
 * the sink of its LineConnection (messages arrive in order; a submit holds
 * the next line until its hash is judged) and a member of one upstream
 * channel (jobs, extranonce moves, failover). Job delivery and difficulty
 * live in WorkFeed, BIP310 masks in VersionRolling, the submit gate in
 * submit-gate.ts, the firmwares' other methods in miner-hints.ts.
 */
import { StratumError } from '../wire/error-codes.js';
import { encodeError, encodeNotification, encodeResult, truncateForLog, type RpcId, type RpcMessage } from '../wire/json-rpc.js';
import { guardAuthorize, guardConfigure, guardSubscribe, hex32 } from '../wire/guards.js';
import { MinerShareState } from '../shares/share-policy.js';
import type { ChannelMember, MinerJob, Slot } from '../upstream/channel.js';
import { negotiateConfigure } from './configure.js';
import { readHint, type MinerHint } from './miner-hints.js';
import { MinerLimits } from './miner-limits.js';
import { handleSubmit } from './submit-gate.js';
import { VersionRolling } from './version-rolling.js';
import { WorkFeed } from './work-feed.js';
import type { LineConnection, LineSink } from '../net/line-connection.js';
import type { SessionHub } from './session-hub.js';

export type { SessionHub } from './session-hub.js';

/** The kind of a decode failure, without its detail (positions, names): the rate limiter's cause. */
function reasonKind(reason: string): string {
  return reason.replace(/:.*$/s, '').replace(/^\S+ params/, 'params').slice(0, 60);
}

export class MinerSession implements LineSink, ChannelMember {
  line!: LineConnection;

  /** The miner's IP address (bans hold per address and worker name). */
  get address(): string {
    return this.line.socket.remoteAddress ?? '?';
  }
  slot: Slot | undefined;
  sessionId: string | undefined;
  worker: string | undefined;
  readonly workers = new Set<string>();
  private subscribedFlag = false;
  private subscribing = false;
  private extranonceSubscribed = false;
  private readonly rolling = new VersionRolling();
  private shareState: MinerShareState | undefined;
  readonly feed: WorkFeed;
  private strikes = 0;
  readonly limits: MinerLimits;
  private closedFlag = false;
  /** The difficulty of the session this connection resumed, if it resumed one. */
  private resumedDifficulty: number | undefined;
  readonly connectedAtMs: number;

  constructor(readonly hub: SessionHub) {
    this.feed = new WorkFeed(hub.config, hub.clock, {
      ready: () => this.ready,
      slot: () => this.slot,
      share: () => this.share,
      send: (line) => void this.line.send(line),
    });
    this.limits = new MinerLimits(hub.config.limits);
    this.connectedAtMs = hub.clock.now();
  }

  get ready(): boolean {
    return this.subscribedFlag && this.workers.size > 0 && !this.closedFlag && !this.line.leaving;
  }

  get subscribed(): boolean {
    return this.subscribedFlag;
  }

  /** Share checks for this miner's extranonce and mask; set at subscribe. */
  get share(): MinerShareState | undefined {
    return this.shareState;
  }

  get difficulty(): number {
    return this.feed.difficulty;
  }

  workerNames(): string[] {
    return [...this.workers];
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  // ------------------------------------------------------------ LineSink

  onMessage(m: RpcMessage): void | Promise<void> {
    if (m.kind === 'notification') return this.onNotification(m.method, m.params);
    if (m.kind !== 'request') return;
    const p = m.params;
    switch (m.method) {
      case 'mining.subscribe':
        return this.onSubscribe(m.id, p);
      case 'mining.authorize':
        return this.onAuthorize(m.id, p);
      case 'mining.configure':
        return this.onConfigure(m.id, p);
      case 'mining.submit':
        return handleSubmit(this, m.id, p);
      default: {
        const hint = readHint(m.method, p);
        if (!hint) return this.error(m.id, StratumError.OTHER, `unknown method ${m.method}`);
        return this.applyHint(hint, m.id);
      }
    }
  }

  /** JSON-RPC notifications are never answered; a hint sent as one (`"id": null`) still applies. */
  private onNotification(method: string, params: unknown[]): void {
    const hint = readHint(method, params);
    if (hint && hint.kind !== 'error') return this.applyHint(hint);
    this.hub.logger.debug({ miner: this.line.remote, method }, 'ignored notification from miner');
  }

  private applyHint(h: MinerHint, id?: RpcId): void {
    switch (h.kind) {
      case 'extranonce-subscribe':
        this.extranonceSubscribed = true;
        return this.answer(id, true);
      case 'difficulty-floor':
        this.feed.floors.suggested = h.difficulty;
        this.answer(id, true);
        return this.feed.retarget();
      case 'answer':
        return this.answer(id, h.result);
      case 'error':
        if (id !== undefined) this.error(id, h.code, h.message);
    }
  }

  onMalformed(reason: string, line: string, id?: RpcId): void {
    this.strikes++;
    this.hub.malformed();
    // Per address and reason, not per line: 20 KB of bad lines made 2.2 MB of warnings (issue 11).
    this.hub.logLimiter.log(this.hub.logger, 'warn', this.address, `malformed: ${reasonKind(reason)}`, { miner: this.line.remote, reason, line: truncateForLog(line), strikes: this.strikes }, 'malformed line from miner');
    if (id !== undefined) this.line.send(encodeError(id, StratumError.OTHER, reason));
    if (this.strikes >= this.hub.config.limits.maxMalformedLines) this.close(`${this.strikes} malformed lines`);
  }

  onClose(reason: string): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.hub.logger.debug({ miner: this.line.remote, worker: this.worker, reason }, 'miner disconnected');
    this.hub.release(this);
    this.hub.closed(this);
  }

  close(reason: string): void {
    this.line.end(reason);
  }

  private error(id: RpcId, code: number, message: string): void {
    this.line.send(encodeError(id, code, message));
  }

  private answer(id: RpcId | undefined, result: unknown): void {
    if (id !== undefined) this.line.send(encodeResult(id, result));
  }

  // ------------------------------------------------------------ handshake

  private async onSubscribe(id: RpcId, params: unknown[]): Promise<void> {
    const g = guardSubscribe(params);
    if (!g.ok) return this.error(id, StratumError.OTHER, g.message);
    if (this.subscribedFlag || this.subscribing) return this.error(id, StratumError.OTHER, 'already subscribed');
    this.subscribing = true;
    try {
      const { slot, sessionId } = await this.hub.acquire(this, g.value.sessionId);
      if (this.closedFlag) return void this.hub.release(this);
      this.slot = slot;
      this.sessionId = sessionId;
      if (g.value.sessionId === sessionId) this.resumedDifficulty = this.hub.resumedDifficulty(sessionId);
      const cfg = this.hub.config;
      this.shareState = new MinerShareState({
        extranonce1: slot.extranonce1,
        extranonce2Size: slot.extranonce2Size,
        versionMask: this.agreedMask(),
        ntimeWindowS: cfg.shares.ntimeWindowS,
        duplicateWindow: cfg.shares.duplicateWindow,
        // A job older than the book is unknown anyway: remembering its difficulty longer only costs memory.
        jobMemory: cfg.shares.jobHistory,
        difficulty: this.difficulty,
      });
      this.subscribedFlag = true;
      this.line.send(encodeResult(id, [[['mining.set_difficulty', sessionId], ['mining.notify', sessionId]], slot.extranonce1, slot.extranonce2Size]));
      this.syncVersionMask();
      this.feed.start();
    } catch (err) {
      this.error(id, StratumError.OTHER, (err as Error).message);
    } finally {
      this.subscribing = false;
    }
  }

  private onAuthorize(id: RpcId, params: unknown[]): void {
    const g = guardAuthorize(params);
    if (!g.ok) return this.error(id, StratumError.OTHER, g.message);
    if (this.hub.isWithheld(g.value.worker)) {
      this.error(id, StratumError.UNAUTHORIZED_WORKER, 'worker is curtailed by the power plan; try later');
      return this.close('withheld worker tried to connect');
    }
    const bannedUntil = this.hub.bannedUntil(g.value.worker, this.address);
    if (bannedUntil !== undefined) {
      const s = Math.ceil((bannedUntil - this.hub.clock.now()) / 1000);
      this.error(id, StratumError.UNAUTHORIZED_WORKER, `worker is banned for invalid shares for ${s} s more`);
      return this.close('banned worker tried to connect');
    }
    if (this.workers.size >= 8 && !this.workers.has(g.value.worker)) return this.error(id, StratumError.OTHER, 'too many workers on one connection');
    this.workers.add(g.value.worker);
    const first = this.worker === undefined;
    if (first) {
      this.worker = g.value.worker;
      this.feed.begin(this.hub.plannedDifficulty(g.value.worker), this.resumedDifficulty);
    }
    this.hub.authorized(this, g.value.worker);
    this.line.send(encodeResult(id, true));
    if (first) this.feed.start();
  }

  private onConfigure(id: RpcId, params: unknown[]): void {
    const g = guardConfigure(params);
    if (!g.ok) return this.error(id, StratumError.OTHER, g.message);
    const out = negotiateConfigure(g.value, this.poolMask());
    if (out.versionMask !== undefined) {
      const asked = g.value.options['version-rolling.mask'];
      this.rolling.configured(asked === undefined ? 0xffffffff : parseInt(String(asked), 16), out.versionMask);
      this.share?.setVersionMask(this.agreedMask());
    }
    if (out.minimumDifficulty !== undefined) this.feed.floors.minimum = out.minimumDifficulty;
    if (out.subscribeExtranonce) this.extranonceSubscribed = true;
    this.line.send(encodeResult(id, out.result));
  }

  private poolMask(): number {
    return this.slot?.channel.versionMask ?? this.hub.poolVersionMask();
  }

  /** BIP310: miner's mask ∧ the upstream's mask. */
  private agreedMask(): number {
    return this.rolling.agreed(this.poolMask());
  }

  /** BIP310 mining.set_version_mask when the upstream's mask (and so ours) changed. */
  private syncVersionMask(): void {
    this.share?.setVersionMask(this.agreedMask());
    const mask = this.rolling.announce(this.poolMask());
    if (mask !== undefined) this.line.send(encodeNotification('mining.set_version_mask', [hex32(mask)]));
  }

  // ------------------------------------------------------------ difficulty, timer, lever

  /** expectHashrate: jump to a planned difficulty ahead of the shares. */
  setPlannedDifficulty(d: number): void {
    this.feed.plan(d);
  }

  /** Timer from the server: handshake deadline and vardiff for quiet miners. */
  tick(nowMs: number): void {
    if (this.closedFlag) return;
    if (!this.ready && nowMs - this.connectedAtMs > this.hub.config.limits.handshakeTimeoutS * 1000) {
      return this.close('no subscribe/authorize within the handshake timeout');
    }
    if (this.ready) this.feed.retarget();
  }

  withhold(): void {
    this.feed.withhold();
  }

  release(): void {
    this.feed.release();
  }

  // ------------------------------------------------------------ channel member

  deliverJob(mj: MinerJob): void {
    this.feed.deliver(mj);
  }

  moveTo(slot: Slot): void {
    const changed = !this.slot || this.slot.extranonce1 !== slot.extranonce1 || this.slot.extranonce2Size !== slot.extranonce2Size;
    this.slot = slot;
    if (!this.subscribedFlag || !this.shareState) return;
    this.feed.invalidate();
    if (changed) {
      if (!this.extranonceSubscribed) {
        // Without extranonce.subscribe the only way to hand over a new extranonce1 is a reconnect.
        this.line.send(encodeNotification('client.reconnect', []));
        // Requests already read (a submit being hashed, lines queued behind it) are answered first.
        return this.line.endAfterPending('extranonce changed; miner asked to reconnect');
      }
      this.shareState.setExtranonce(slot.extranonce1, slot.extranonce2Size);
      this.line.send(encodeNotification('mining.set_extranonce', [slot.extranonce1, slot.extranonce2Size]));
    }
    this.syncVersionMask();
    this.feed.restart();
  }

  orphan(reason: string): void {
    // Keep the miner connected; its jobs can no longer be submitted anywhere.
    this.hub.logger.debug({ worker: this.worker, reason }, 'miner waits for a new upstream slot');
    this.feed.invalidate();
  }

  upstreamChanged(): void {
    this.syncVersionMask();
    this.feed.retarget();
  }
}
