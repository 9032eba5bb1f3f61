/**
 * One upstream connection shared by many miners: it carves per-miner
 * extranonce prefixes out of the pool's extranonce2, turns each upstream job
 * into one miner job (serialised once, written to every member) and forwards
 * shares with prefix ‖ miner extranonce2 under the pool account.
 */
import { performance } from 'node:perf_hooks';
import { PeerError } from '../errors.js';
import { encodeNotification } from '../wire/json-rpc.js';
import { notifyParams, type StratumJob } from '../wire/stratum-job.js';
import { carveLayout, ExtranonceAllocator, type CarveLayout } from './extranonce-allocator.js';
import { prepareJob, type PreparedJob } from '../shares/validator.js';
import { blockRecord, type BlockCandidateRecord, type BlockFound } from './block-watch.js';
import type { PoolClient, PoolClientEvents, PoolSession, SubmitAnswer } from './pool-client.js';

/**
 * A job as miners see it: proxy-issued id, and the notify line serialised
 * once into one Buffer that is written as is to every miner socket (no
 * per-miner JSON or UTF-8 encoding on the fan-out path).
 */
export interface MinerJob {
  job: StratumJob;
  line: Buffer;
  /** The job's hex parsed once for every miner it goes to. */
  prepared: PreparedJob;
  /** Where it came from upstream: every id re-issuing one upstream job carries the same object. */
  origin: JobOrigin;
}

/**
 * How one upstream connection's extranonce2 is shared out. `carveLayout`
 * serves pool sizes 3..12; two more cases real pools produce are handled here:
 * 2 bytes (some altcoin and small pools) is passed through whole to a single
 * miner per connection (2^16 coinbases, with version rolling ample for one
 * ASIC), and 13..16 bytes leave the miner 8 and make the per-miner prefix
 * longer, zero-padded (nothing needs more than 2^32 miners per connection).
 */
export function layoutFor(upstreamSize: number, wanted: number, maxMinersPerConnection: number): CarveLayout | string {
  if (upstreamSize === 2) return { prefixBytes: 0, minerExtranonce2Size: 2, capacity: 1 };
  if (upstreamSize > 12 && upstreamSize <= 16) {
    return { prefixBytes: upstreamSize - 8, minerExtranonce2Size: 8, capacity: Math.min(2 ** 32, maxMinersPerConnection) };
  }
  return carveLayout(upstreamSize, wanted, maxMinersPerConnection);
}

function notifyLine(job: StratumJob): Buffer {
  return Buffer.from(encodeNotification('mining.notify', notifyParams(job)));
}

/** Where a miner-facing job came from: the upstream connection, its job id and the pool difficulty then. */
export interface JobOrigin {
  channel: Channel;
  upstreamJobId: string;
  poolDifficulty: number;
}

export interface Slot {
  channel: Channel;
  prefix: number;
  prefixHex: string;
  /** The miner's extranonce1: upstream extranonce1 ‖ prefix. */
  extranonce1: string;
  extranonce2Size: number;
}

/** What a channel needs from a miner session. */
export interface ChannelMember {
  /** The slot changed (pool set_extranonce, failover, fallback); previous jobs are void. */
  moveTo(slot: Slot): void;
  /** The slot is gone and no other is available yet; keep the miner connected without jobs. */
  orphan(reason: string): void;
  deliverJob(job: MinerJob): void;
  /** The pool's difficulty or version mask changed. */
  upstreamChanged(): void;
}

export interface ChannelHooks {
  nextJobId(): string;
  closed(channel: Channel, reason: string, members: ChannelMember[]): void;
  /** Members that no longer fit after a re-carve (set_extranonce shrank the space). */
  displaced(channel: Channel, members: ChannelMember[]): void;
  /** A block candidate was sent upstream; follow it until the pool answers (BlockWatch). */
  block?(record: BlockCandidateRecord, answer: Promise<SubmitAnswer>): void;
  /**
   * Time to hand one upstream job to every member (translate, serialise once,
   * write many), ms, and when the last write was issued (performance.now()).
   */
  fannedOut?(ms: number, members: number, endedAt: number): void;
}

export class Channel implements PoolClientEvents {
  private allocator: ExtranonceAllocator | undefined;
  private readonly members = new Map<ChannelMember, number>();
  current: MinerJob | undefined;
  closedReason: string | undefined;

  constructor(
    readonly id: number,
    readonly poolIndex: number,
    readonly client: PoolClient,
    private readonly carve: { minerExtranonce2Size: number; maxMinersPerConnection: number },
    private readonly hooks: ChannelHooks,
  ) {}

  get session(): PoolSession {
    return this.client.session;
  }

  get layout(): CarveLayout | undefined {
    return this.allocator?.layout;
  }

  get memberCount(): number {
    return this.members.size;
  }

  get free(): number {
    return this.closedReason === undefined && this.allocator ? this.allocator.free : 0;
  }

  get versionMask(): number {
    return this.session.versionMask;
  }

  get difficulty(): number {
    return this.session.difficulty;
  }

  /** Connects, passes the pool's handshake gate and carves the extranonce space. */
  async open(): Promise<void> {
    const s = await this.client.open(this);
    const layout = layoutFor(s.extranonce2Size, this.carve.minerExtranonce2Size, this.carve.maxMinersPerConnection);
    if (typeof layout === 'string') {
      this.client.close(layout);
      throw new PeerError(`pool ${this.client.url}: ${layout}`);
    }
    this.allocator = new ExtranonceAllocator(layout, this.id * layout.capacity);
    if (s.job) this.current = this.translate(s.job);
  }

  /** A slot with exactly this prefix (a moved miner keeps its extranonce1), or undefined when it is taken. */
  takeExact(member: ChannelMember, prefix: number): Slot | undefined {
    if (!this.allocator || this.closedReason !== undefined || !this.allocator.isFree(prefix)) return undefined;
    return this.take(member, prefix);
  }

  take(member: ChannelMember, preferredPrefix?: number): Slot | undefined {
    if (!this.allocator || this.closedReason !== undefined) return undefined;
    const prefix = this.allocator.allocate(preferredPrefix);
    if (prefix === undefined) return undefined;
    this.members.set(member, prefix);
    return this.slot(prefix);
  }

  release(member: ChannelMember): void {
    const p = this.members.get(member);
    if (p === undefined) return;
    this.members.delete(member);
    this.allocator?.release(p);
  }

  /** The extranonce prefix `member` holds here (undefined: not a member). */
  prefixOf(member: ChannelMember): number | undefined {
    return this.members.get(member);
  }

  has(member: ChannelMember): boolean {
    return this.members.has(member);
  }

  memberList(): ChannelMember[] {
    return [...this.members.keys()];
  }

  /**
   * Whether the pool's extranonce1 goes into coinb1 of the miners' jobs
   * rather than into their extranonce1 (issue 11 item 10). The coinbase
   * bytes are the same either way (coinb1 ‖ pool en1 ‖ prefix ‖ miner en2 ‖
   * coinb2), but a miner's extranonce1 is then only its prefix: when the
   * pool connection is replaced (a pool dropping us every few seconds, a
   * failover, a fallback, the pool's set_extranonce), a miner that keeps its
   * prefix keeps its extranonce1 and only gets a clean job, instead of a
   * forced client.reconnect (or set_extranonce) each time. Not when the
   * connection serves one miner with no prefix: its extranonce1 cannot be empty.
   */
  private get folds(): boolean {
    return (this.allocator?.layout.prefixBytes ?? 0) > 0;
  }

  private slot(prefix: number): Slot {
    const a = this.allocator!;
    const prefixHex = a.prefixHex(prefix);
    const extranonce1 = this.folds ? prefixHex : this.session.extranonce1 + prefixHex;
    return { channel: this, prefix, prefixHex, extranonce1, extranonce2Size: a.layout.minerExtranonce2Size };
  }

  /** The same upstream job under a fresh miner-facing id (a per-miner difficulty change). */
  alias(base: MinerJob, cleanJobs: boolean): MinerJob {
    const job: StratumJob = { ...base.job, jobId: this.hooks.nextJobId(), cleanJobs };
    // Only the id and the clean flag differ: the parsed job is the base's.
    return { job, line: notifyLine(job), prepared: base.prepared, origin: base.origin };
  }

  /**
   * The current job as a clean job, for miners that join (or come back)
   * while it is current: one alias per upstream job, shared by every such
   * miner (its line, parsed form and origin exist once), instead of one copy
   * per miner in a reconnect storm. The notify carries nothing per miner.
   */
  cleanCopy(base: MinerJob): MinerJob {
    const c = this.cleanAlias;
    if (c !== undefined && c.base === base.job) return c.copy;
    const copy = this.alias(base, true);
    this.cleanAlias = { base: base.job, copy };
    return copy;
  }

  private cleanAlias: { base: StratumJob; copy: MinerJob } | undefined;

  private translate(up: StratumJob): MinerJob {
    const job: StratumJob = { ...up, jobId: this.hooks.nextJobId(), ...(this.folds ? { coinb1: up.coinb1 + this.session.extranonce1 } : {}) };
    return { job, line: notifyLine(job), prepared: prepareJob(job), origin: { channel: this, upstreamJobId: up.jobId, poolDifficulty: this.session.difficulty } };
  }

  /**
   * Forwards one share under the pool account: extranonce2 = prefix ‖ miner
   * extranonce2. A block candidate (`block`) is also followed by the block
   * watch until the pool acknowledges it.
   */
  submit(origin: JobOrigin, prefixHex: string, minerExtranonce2: string, ntime: string, nonce: string, versionBits?: string, block?: BlockFound): Promise<SubmitAnswer> {
    const params: unknown[] = [this.poolUser, origin.upstreamJobId, prefixHex + minerExtranonce2, ntime, nonce];
    if (versionBits !== undefined) params.push(versionBits);
    const answer = this.client.submit(params);
    if (block && this.hooks.block) {
      let record: BlockCandidateRecord;
      try {
        record = blockRecord(block, this.client.url, this.session.extranonce1, params);
      } catch (err) {
        // The share was validated already; should rebuilding it fail, the fields the pool needs still go to the log.
        record = { pool: this.client.url, worker: block.worker, hash: block.hash, submitParams: params, upstreamJobId: origin.upstreamJobId, extranonce1: this.session.extranonce1, extranonce2: prefixHex + minerExtranonce2, ntime, nonce, version: '', headerHex: `(not rebuilt: ${(err as Error).message})`, coinbaseHex: '', merkleBranches: block.request.job.merkleBranch, prevhash: block.request.job.prevhash, nbits: block.request.job.nbits };
      }
      this.hooks.block(record, answer);
    }
    return answer;
  }

  poolUser = '';
  /** The pool's `client.reconnect` count when this connection was made (PoolList.reconnectAsked). */
  reconnectEpoch = 0;

  /** `planned`: surplus closes it on purpose (shutdown, pool no longer active), logged without a warning. */
  close(reason: string, planned = false): void {
    this.client.close(reason, planned);
  }

  // ---- PoolClientEvents (after the gate)

  onJob(up: StratumJob): void {
    const t0 = performance.now();
    const mj = this.translate(up);
    this.current = mj;
    for (const m of this.members.keys()) m.deliverJob(mj);
    const t1 = performance.now();
    this.hooks.fannedOut?.(t1 - t0, this.members.size, t1);
  }

  onDifficulty(): void {
    for (const m of this.members.keys()) m.upstreamChanged();
  }

  onVersionMask(): void {
    for (const m of this.members.keys()) m.upstreamChanged();
  }

  /** Pool changed our extranonce: re-carve and move every member (they get set_extranonce or reconnect). */
  onExtranonce(_en1: string, size: number): void {
    const layout = layoutFor(size, this.carve.minerExtranonce2Size, this.carve.maxMinersPerConnection);
    if (typeof layout === 'string') {
      this.close(`after set_extranonce: ${layout}`);
      return;
    }
    const old = [...this.members];
    this.members.clear();
    this.allocator = new ExtranonceAllocator(layout, this.id * layout.capacity);
    this.current = undefined; // jobs built for the old extranonce are void; the pool sends a new one
    const displaced: ChannelMember[] = [];
    for (const [m, prefix] of old) {
      const p = this.allocator.allocate(prefix);
      if (p === undefined) displaced.push(m);
      else {
        this.members.set(m, p);
        m.moveTo(this.slot(p));
      }
    }
    if (displaced.length > 0) this.hooks.displaced(this, displaced);
  }

  onClose(reason: string): void {
    this.closedReason = reason;
    const members = [...this.members.keys()];
    this.members.clear();
    this.hooks.closed(this, reason, members);
  }
}
