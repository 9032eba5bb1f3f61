/**
 * Which miner sits where upstream: miners waiting for a slot (each only up
 * to the handshake timeout), the connection each one's slot is on, orphans
 * (connected, their slot gone) waiting to move to a new one, and session ids
 * a reconnecting miner can name in mining.subscribe to get its old slot (the
 * same extranonce1) back. Which connections exist is the upstream manager's
 * business; this only hands out their free slots.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.js';
import { PeerError } from '../errors.js';
import { AgedTable } from './aged-table.js';
import type { Channel, ChannelMember, Slot } from './channel.js';

/** Session ids remembered for resume; the oldest is forgotten past this. */
const MAX_RESUMABLE = 100_000;
/**
 * How long a session id stays resumable after its miner left (issue 11 item
 * 9: by count alone, 36,000 reconnects filled the table and held it). A
 * miner back later simply gets a new extranonce1.
 */
export const RESUME_WINDOW_MS = 300_000;

type Resume = { channelId: number; prefix: number };

interface Waiter {
  member: ChannelMember;
  resume: Resume | undefined;
  resolve(slot: Slot): void;
  reject(err: Error): void;
  timer: TimerHandle;
}

export class MinerSlots {
  private waiters: Waiter[] = [];
  private readonly homes = new Map<ChannelMember, Channel>();
  private readonly orphans = new Set<ChannelMember>();
  private readonly resumable: AgedTable<string, Resume>;
  /** The session id each miner holding a slot was given (refreshed in `resumable` when it leaves). */
  private readonly sessionOf = new Map<ChannelMember, string>();
  /** The prefix each connected miner last held: a moved miner asks for it again, to keep its extranonce1. */
  private readonly lastPrefix = new Map<ChannelMember, number>();
  /** Connections no miner is on any more, open until the shares sent on them are answered. */
  private readonly draining = new Set<Channel>();

  /** `activePool`: a connection to any other pool is closed once its last miner leaves it. */
  constructor(
    private readonly activePool: () => number,
    private readonly clock: Clock,
    resumeWindowMs = RESUME_WINDOW_MS,
  ) {
    this.resumable = new AgedTable(MAX_RESUMABLE, resumeWindowMs);
  }

  /** Session ids a returning miner can resume now. */
  get resumableCount(): number {
    return this.resumable.size;
  }

  /** Forgets session ids past the resume window (the manager's maintenance timer). */
  prune(): number {
    return this.resumable.prune(this.clock.now());
  }

  /** Miners waiting for a first slot plus orphans waiting for a new one. */
  get demand(): number {
    return this.waiters.length + this.orphans.size;
  }

  /** Connections that still hold a miner (those on a pool no longer active included), or shares waiting for an answer. */
  *homeChannels(): IterableIterator<Channel> {
    yield* this.homes.values();
    yield* this.draining;
  }

  /** A connection on a pool no longer active lost its last miner: close it once its shares are answered. */
  retire(channel: Channel, reason: string): void {
    if (channel.closedReason !== undefined) return;
    if (channel.client.pendingCount > 0) this.draining.add(channel);
    channel.client.closeWhenIdle(reason);
  }

  /**
   * Queues a miner for a slot, then calls `queued` (which hands out slots
   * with `handOut`; inside the promise, so a throw there rejects this miner's
   * acquire rather than escaping to the caller). Rejects with PeerError after
   * `timeoutS`, or when the miner leaves first. A known `resumeSessionId`
   * asks for the slot that session had.
   */
  acquire(member: ChannelMember, resumeSessionId: string | undefined, timeoutS: number, queued: () => void): Promise<{ slot: Slot; sessionId: string }> {
    const resume = resumeSessionId ? this.resumable.get(resumeSessionId) : undefined;
    return new Promise<Slot>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new PeerError(`no upstream pool capacity within ${timeoutS} s`));
      }, timeoutS * 1000);
      const waiter: Waiter = { member, resume, resolve, reject, timer };
      this.waiters.push(waiter);
      queued();
    }).then((slot) => {
      const sessionId = resumeSessionId && resume ? resumeSessionId : randomBytes(4).toString('hex');
      this.remember(sessionId, slot);
      if (this.homes.has(member)) this.sessionOf.set(member, sessionId);
      return { slot, sessionId };
    });
  }

  /** The youngest row: a resumed id, or one whose miner just left, starts its window afresh. */
  private remember(sessionId: string, slot: Pick<Slot, 'channel' | 'prefix'>): void {
    this.resumable.set(sessionId, { channelId: slot.channel.id, prefix: slot.prefix }, this.clock.now());
  }

  /** The miner left: stop waiting for it and free its slot. */
  release(member: ChannelMember): void {
    this.orphans.delete(member);
    this.waiters = this.waiters.filter((w) => {
      if (w.member !== member) return true;
      this.clock.clearTimeout(w.timer);
      w.reject(new PeerError('miner left'));
      return false;
    });
    const home = this.homes.get(member);
    const sessionId = this.sessionOf.get(member);
    this.sessionOf.delete(member);
    this.lastPrefix.delete(member);
    // Resumable from now for the window, at the slot it last held (it may have moved since it came).
    const prefix = home?.prefixOf(member);
    if (sessionId !== undefined && home && prefix !== undefined) this.remember(sessionId, { channel: home, prefix });
    this.homes.delete(member);
    home?.release(member);
    if (home && home.poolIndex !== this.activePool() && home.memberCount === 0) this.retire(home, 'no miners left after fallback');
  }

  /** Fails every waiting miner (the proxy is closing). */
  rejectAll(reason: string): void {
    for (const w of this.waiters) {
      this.clock.clearTimeout(w.timer);
      w.reject(new PeerError(reason));
    }
    this.waiters = [];
  }

  /** Free slots on `channels` to waiting miners first (in arrival order), then to orphans. */
  handOut(channels: readonly Channel[]): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      const slot = freeSlot(channels, w.member, w.resume);
      if (!slot) break;
      this.waiters.shift();
      this.clock.clearTimeout(w.timer);
      this.homes.set(w.member, slot.channel);
      this.lastPrefix.set(w.member, slot.prefix);
      w.resolve(slot);
    }
    for (const m of [...this.orphans]) {
      const slot = sameOrFreeSlot(channels, m, this.lastPrefix.get(m));
      if (!slot) break;
      this.lastPrefix.set(m, slot.prefix);
      this.orphans.delete(m);
      const old = this.homes.get(m);
      if (old && old !== slot.channel) {
        old.release(m);
        if (old.memberCount === 0 && old.poolIndex !== this.activePool()) this.retire(old, 'all miners moved to another pool');
      }
      this.homes.set(m, slot.channel);
      m.moveTo(slot);
    }
  }

  /** A re-carve left these members of a connection without a slot (set_extranonce shrank the space). */
  displaced(members: readonly ChannelMember[]): void {
    for (const m of members) {
      this.homes.delete(m);
      this.orphans.add(m);
      m.orphan('extranonce space shrank');
    }
  }

  /** `channel` closed under these members: each waits, connected, for a slot elsewhere. */
  lost(channel: Channel, members: readonly ChannelMember[], reason: string): void {
    this.draining.delete(channel);
    for (const m of members) {
      if (this.homes.get(m) === channel) this.homes.delete(m);
      this.orphans.add(m);
      m.orphan(`upstream connection lost: ${reason}`);
    }
  }

  /**
   * These members should move (fallback to another pool); they keep their
   * current slot, and keep hashing on it, until `handOut` finds them a new one.
   */
  move(members: readonly ChannelMember[]): void {
    for (const m of members) this.orphans.add(m);
  }
}

/**
 * A moved miner's own prefix on any of `channels` when one has it free (the
 * miner's extranonce1 is its prefix, Channel.folds: it then needs no new
 * extranonce1), else the first free slot.
 */
function sameOrFreeSlot(channels: readonly Channel[], member: ChannelMember, prefix: number | undefined): Slot | undefined {
  if (prefix !== undefined) {
    for (const ch of channels) {
      const s = ch.takeExact(member, prefix);
      if (s) return s;
    }
  }
  return freeSlot(channels, member);
}

/** A resumed session's own slot when it is still free, else the first free one. */
function freeSlot(channels: readonly Channel[], member: ChannelMember, resume?: Resume): Slot | undefined {
  if (resume) {
    const ch = channels.find((c) => c.id === resume.channelId);
    const s = ch?.take(member, resume.prefix);
    if (s) return s;
  }
  for (const ch of channels) {
    const s = ch.take(member);
    if (s) return s;
  }
  return undefined;
}
