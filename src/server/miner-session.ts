/**
 * One miner connection: the Stratum state machine on the miners' side. It is
 * the sink of its LineConnection (messages arrive in order; a submit holds
 * the next line until its hash is judged) and a member of one upstream
 * channel (jobs, extranonce moves, failover).
 */
import type { Clock } from '../clock.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Logger } from '../observability/logger.js';
import { StratumError } from '../protocol/error-codes.js';
import { encodeError, encodeNotification, encodeResult, truncateForLog, type RpcId, type RpcMessage } from '../protocol/json-rpc.js';
import { guardAuthorize, guardConfigure, guardExtranonceSubscribe, guardSubmit, guardSubscribe, guardSuggestDifficulty, hex32 } from '../protocol/guards.js';
import { JobBook } from '../shares/job-book.js';
import { MinerShareState } from '../shares/share-policy.js';
import type { ShareHasher } from '../shares/types.js';
import { jobOrigins, type ChannelMember, type MinerJob, type Slot } from '../upstream/channel.js';
import { clampDifficulty, recordShare, retarget, startVardiff, type VardiffSettings, type VardiffState } from '../vardiff/vardiff.js';
import { negotiateConfigure } from './configure.js';
import { MinerLimits } from './miner-limits.js';
import { processShare } from './share-path.js';
import type { LineConnection, LineSink } from './line-connection.js';
import type { ShareLedger } from './worker-stats.js';

/** What a session needs from the proxy around it. */
export interface SessionHub {
  readonly config: ResolvedConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly hasher: ShareHasher;
  readonly ledger: ShareLedger;
  acquire(member: ChannelMember, resumeSessionId?: string): Promise<{ slot: Slot; sessionId: string }>;
  release(member: ChannelMember): void;
  /** Version mask of the upstream the miner will most likely land on. */
  poolVersionMask(): number;
  /** Fail-safe lever: a withheld worker may not (re)connect. */
  isWithheld(worker: string): boolean;
  /** Difficulty planned for this worker by expectHashrate, if any. */
  plannedDifficulty(worker: string): number | undefined;
  authorized(session: MinerSession, worker: string): void;
  closed(session: MinerSession): void;
  malformed(): void;
}

export class MinerSession implements LineSink, ChannelMember {
  line!: LineConnection;
  slot: Slot | undefined;
  sessionId: string | undefined;
  worker: string | undefined;
  private readonly workers = new Set<string>();
  private subscribed = false;
  private subscribing = false;
  private extranonceSubscribed = false;
  private minerMask: number | undefined;
  /** The mask the miner was last told (configure result or set_version_mask). */
  private announcedMask = 0;
  private floors: { suggested?: number; minimum?: number } = {};
  private share: MinerShareState | undefined;
  private book: JobBook;
  private vd: VardiffState | undefined;
  private readonly vdCfg: VardiffSettings;
  private jobsSent = 0;
  private withheld = false;
  private strikes = 0;
  private readonly limits: MinerLimits;
  private closedFlag = false;
  readonly connectedAtMs: number;

  constructor(private readonly hub: SessionHub) {
    const d = hub.config.difficulty;
    this.vdCfg = { targetSharesPerMinute: d.targetSharesPerMinute, retargetS: d.retargetS, min: d.min, max: d.max };
    this.book = new JobBook({ history: hub.config.shares.jobHistory });
    this.limits = new MinerLimits(hub.config.limits);
    this.connectedAtMs = hub.clock.now();
  }

  get ready(): boolean {
    return this.subscribed && this.workers.size > 0 && !this.closedFlag;
  }

  get difficulty(): number {
    return this.vd?.difficulty ?? this.hub.config.difficulty.initial;
  }

  workerNames(): string[] {
    return [...this.workers];
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  // ------------------------------------------------------------ LineSink

  onMessage(m: RpcMessage): void | Promise<void> {
    if (m.kind !== 'request') {
      if (m.kind === 'notification') this.hub.logger.debug({ miner: this.line.remote, method: m.method }, 'ignored notification from miner');
      return;
    }
    const p = m.params;
    switch (m.method) {
      case 'mining.subscribe':
        return this.onSubscribe(m.id, p);
      case 'mining.authorize':
        return this.onAuthorize(m.id, p);
      case 'mining.configure':
        return this.onConfigure(m.id, p);
      case 'mining.extranonce.subscribe': {
        const g = guardExtranonceSubscribe(p);
        if (!g.ok) return this.error(m.id, StratumError.OTHER, g.message);
        this.extranonceSubscribed = true;
        return void this.line.send(encodeResult(m.id, true));
      }
      case 'mining.suggest_difficulty': {
        const g = guardSuggestDifficulty(p);
        if (!g.ok) return this.error(m.id, StratumError.OTHER, g.message);
        this.floors.suggested = g.value;
        this.line.send(encodeResult(m.id, true));
        return this.retargetNow();
      }
      case 'mining.submit':
        return this.onSubmit(m.id, p);
      default:
        return this.error(m.id, StratumError.OTHER, `unknown method ${m.method}`);
    }
  }

  onMalformed(reason: string, line: string, id?: RpcId): void {
    this.strikes++;
    this.hub.malformed();
    this.hub.logger.warn({ miner: this.line.remote, reason, line: truncateForLog(line), strikes: this.strikes }, 'malformed line from miner');
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

  // ------------------------------------------------------------ handshake

  private async onSubscribe(id: RpcId, params: unknown[]): Promise<void> {
    const g = guardSubscribe(params);
    if (!g.ok) return this.error(id, StratumError.OTHER, g.message);
    if (this.subscribed || this.subscribing) return this.error(id, StratumError.OTHER, 'already subscribed');
    this.subscribing = true;
    try {
      const { slot, sessionId } = await this.hub.acquire(this, g.value.sessionId);
      if (this.closedFlag) return void this.hub.release(this);
      this.slot = slot;
      this.sessionId = sessionId;
      const cfg = this.hub.config;
      this.share = new MinerShareState({
        extranonce1: slot.extranonce1,
        extranonce2Size: slot.extranonce2Size,
        versionMask: this.agreedMask(),
        ntimeWindowS: cfg.shares.ntimeWindowS,
        duplicateWindow: cfg.shares.duplicateWindow,
        // A job older than the book is unknown anyway: remembering its difficulty longer only costs memory.
        jobMemory: cfg.shares.jobHistory,
        difficulty: this.difficulty,
      });
      this.subscribed = true;
      this.line.send(encodeResult(id, [[['mining.set_difficulty', sessionId], ['mining.notify', sessionId]], slot.extranonce1, slot.extranonce2Size]));
      this.syncVersionMask();
      this.startWork();
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
    if (this.workers.size >= 8 && !this.workers.has(g.value.worker)) return this.error(id, StratumError.OTHER, 'too many workers on one connection');
    this.workers.add(g.value.worker);
    const first = this.worker === undefined;
    if (first) {
      this.worker = g.value.worker;
      const planned = this.hub.plannedDifficulty(g.value.worker);
      this.vd = startVardiff(clampDifficulty(planned ?? this.hub.config.difficulty.initial, this.vdCfg, this.floors, this.poolDifficulty()), this.hub.clock.now());
    }
    this.hub.authorized(this, g.value.worker);
    this.line.send(encodeResult(id, true));
    if (first) this.startWork();
  }

  private onConfigure(id: RpcId, params: unknown[]): void {
    const g = guardConfigure(params);
    if (!g.ok) return this.error(id, StratumError.OTHER, g.message);
    const out = negotiateConfigure(g.value, this.slot?.channel.versionMask ?? this.hub.poolVersionMask());
    if (out.versionMask !== undefined) {
      const asked = g.value.options['version-rolling.mask'];
      this.minerMask = asked === undefined ? 0xffffffff : parseInt(String(asked), 16) >>> 0;
      this.announcedMask = out.versionMask;
      this.share?.setVersionMask(this.agreedMask());
    }
    if (out.minimumDifficulty !== undefined) this.floors.minimum = out.minimumDifficulty;
    if (out.subscribeExtranonce) this.extranonceSubscribed = true;
    this.line.send(encodeResult(id, out.result));
  }

  /** BIP310: miner's mask ∧ the upstream's mask. */
  private agreedMask(): number {
    if (this.minerMask === undefined) return 0;
    return (this.minerMask & (this.slot?.channel.versionMask ?? this.hub.poolVersionMask())) >>> 0;
  }

  private poolDifficulty(): number | undefined {
    return this.slot?.channel.difficulty;
  }

  /** Once subscribed and authorized: difficulty, then the current job (clean). */
  private startWork(): void {
    if (!this.ready || !this.slot || this.withheld) return;
    this.retargetNow(false);
    this.line.send(encodeNotification('mining.set_difficulty', [this.difficulty]));
    const cur = this.slot.channel.current;
    if (cur) this.sendJob(cur, true);
  }

  // ------------------------------------------------------------ jobs

  private sendJob(mj: MinerJob, forceClean: boolean): void {
    if (!this.ready || this.withheld || !this.share || !this.slot) return;
    let sent = mj;
    if (forceClean && !mj.job.cleanJobs) {
      sent = this.slot.channel.cleanCopy(mj.job);
      // Already had that copy (back from being withheld): a fresh id, so the work restarts under the difficulty in force now.
      if (this.book.has(sent.job.jobId)) sent = this.slot.channel.alias(mj.job, true);
    }
    this.book.add(sent.job, sent.job.cleanJobs, jobOrigins.get(sent.job));
    this.share.noteJobSent(sent.job.jobId, this.difficulty);
    this.jobsSent++;
    this.line.send(sent.line);
  }

  deliverJob(mj: MinerJob): void {
    this.sendJob(mj, this.jobsSent === 0);
  }

  /** A new difficulty applies from the next job: set_difficulty, then the current job again under a new id. */
  private applyDifficulty(d: number): void {
    if (!this.ready || !this.slot || this.withheld) return;
    this.line.send(encodeNotification('mining.set_difficulty', [d]));
    const cur = this.slot.channel.current;
    if (!cur || !this.share) return;
    const alias = this.slot.channel.alias(cur.job, true);
    // In our book the alias does not supersede older jobs: work found on them is still
    // valid and is judged at the difficulty they were sent with.
    // (No copy of the job with cleanJobs false: that cost an object and a second parse per miner per retarget.)
    // Same upstream work as the id it re-issues: a share sent under both is credited once.
    this.book.add(alias.job, false, jobOrigins.get(alias.job));
    this.share.noteJobSent(alias.job.jobId, d);
    this.jobsSent++;
    this.line.send(alias.line);
  }

  private retargetNow(apply = true): void {
    if (!this.vd) return;
    const r = retarget(this.vd, this.vdCfg, this.floors, this.poolDifficulty(), this.hub.clock.now());
    this.vd = r.state;
    if (r.newDifficulty !== undefined && apply && this.jobsSent > 0) this.applyDifficulty(r.newDifficulty);
  }

  /** expectHashrate: jump to a planned difficulty ahead of the shares. */
  setPlannedDifficulty(d: number): void {
    if (!this.vd) return;
    const next = clampDifficulty(d, this.vdCfg, this.floors, this.poolDifficulty());
    this.vd = startVardiff(next, this.hub.clock.now());
    if (this.jobsSent > 0) this.applyDifficulty(next);
  }

  /** Timer from the server: handshake deadline and vardiff for quiet miners. */
  tick(nowMs: number): void {
    if (this.closedFlag) return;
    if (!this.ready && nowMs - this.connectedAtMs > this.hub.config.limits.handshakeTimeoutS * 1000) {
      return this.close('no subscribe/authorize within the handshake timeout');
    }
    if (this.ready) this.retargetNow();
  }

  // ------------------------------------------------------------ channel member

  moveTo(slot: Slot): void {
    const changed = !this.slot || this.slot.extranonce1 !== slot.extranonce1 || this.slot.extranonce2Size !== slot.extranonce2Size;
    this.slot = slot;
    if (!this.subscribed || !this.share) return;
    this.book.invalidateAll();
    if (changed) {
      if (!this.extranonceSubscribed) {
        // Without extranonce.subscribe the only way to hand over a new extranonce1 is a reconnect.
        this.line.send(encodeNotification('client.reconnect', []));
        return this.close('extranonce changed; miner asked to reconnect');
      }
      this.share.setExtranonce(slot.extranonce1, slot.extranonce2Size);
      this.line.send(encodeNotification('mining.set_extranonce', [slot.extranonce1, slot.extranonce2Size]));
    }
    this.syncVersionMask();
    this.jobsSent = 0;
    this.startWork();
  }

  orphan(reason: string): void {
    // Keep the miner connected; its jobs can no longer be submitted anywhere.
    this.hub.logger.debug({ worker: this.worker, reason }, 'miner waits for a new upstream slot');
    this.book.invalidateAll();
  }

  upstreamChanged(): void {
    this.syncVersionMask();
    this.retargetNow();
  }

  /** BIP310 mining.set_version_mask when the upstream's mask (and so ours) changed. */
  private syncVersionMask(): void {
    const mask = this.agreedMask();
    this.share?.setVersionMask(mask);
    if (this.minerMask !== undefined && mask !== this.announcedMask) {
      this.announcedMask = mask;
      this.line.send(encodeNotification('mining.set_version_mask', [hex32(mask)]));
    }
  }

  // ------------------------------------------------------------ lever

  withhold(): void {
    this.withheld = true;
  }

  release(): void {
    if (!this.withheld) return;
    this.withheld = false;
    this.jobsSent = 0;
    this.startWork();
  }

  // ------------------------------------------------------------ shares

  private accountName(params: unknown[]): string {
    const w = params[0];
    if (typeof w === 'string' && this.workers.has(w)) return w;
    return this.worker ?? '(unauthorized)';
  }

  private reject(id: RpcId, worker: string, code: number, kind: string, message: string, invalid: boolean): void {
    this.hub.ledger.rejected(worker, kind);
    this.line.send(encodeError(id, code, message));
    if (invalid) this.noteInvalid();
  }

  private noteInvalid(): void {
    if (this.limits.noteInvalid(this.hub.clock.now())) {
      const { banInvalidShares, banWindowS } = this.hub.config.limits;
      this.close(`${banInvalidShares} invalid shares within ${banWindowS} s`);
    }
  }

  private async onSubmit(id: RpcId, params: unknown[]): Promise<void> {
    const ledger = this.hub.ledger;
    const worker = this.accountName(params);
    ledger.received(worker);
    if (!this.subscribed || !this.share || !this.slot) return this.reject(id, worker, StratumError.NOT_SUBSCRIBED, 'not-subscribed', 'not subscribed', false);
    if (this.workers.size === 0) return this.reject(id, worker, StratumError.UNAUTHORIZED_WORKER, 'unauthorized', 'unauthorized worker', false);
    const g = guardSubmit(params, this.slot.extranonce2Size);
    if (!g.ok) return this.reject(id, worker, StratumError.OTHER, 'bad-params', g.message, true);
    if (!this.workers.has(g.value.worker)) return this.reject(id, worker, StratumError.UNAUTHORIZED_WORKER, 'unauthorized', `worker ${g.value.worker} is not authorized on this connection`, false);
    if (!this.limits.allowSubmit(this.hub.clock.now())) return this.reject(id, worker, StratumError.OTHER, 'rate-limited', 'too many submits per second', false);
    const share = this.share;
    await processShare(
      {
        hasher: this.hub.hasher,
        ledger,
        logger: this.hub.logger,
        share,
        book: this.book,
        slot: this.slot,
        nowMs: () => this.hub.clock.now(),
        reject: (code, kind, message, invalid) => this.reject(id, worker, code, kind, message, invalid),
        accept: () => void this.line.send(encodeResult(id, true)),
        counted: (d) => {
          if (this.vd) this.vd = recordShare(this.vd, d);
        },
      },
      worker,
      g.value,
    );
    this.retargetNow();
  }
}
