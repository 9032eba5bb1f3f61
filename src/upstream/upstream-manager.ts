/**
 * The pool side: which pool is active and how healthy each is (failover in
 * order, a stable-for-a-while probe before falling back to a higher-priority
 * pool, `client.reconnect` followed without failing over, mining.configure
 * learnt per pool), and how many upstream connections (channels) the active
 * pool gets as miners need extranonce space. Miners never disconnect because
 * of a pool change: their sessions are moved to a slot on the new pool.
 * Where each miner sits is `miner-slots.ts`; how a channel is built,
 * `channel-factory.ts`; per-pool counters and backoff, `pool-list.ts`.
 */
import { every, type Repeater } from '../clock.js';
import type { PoolConfig } from '../config/schema.js';
import type { BlockCounters } from './block-watch.js';
import type { Channel, ChannelMember, Slot } from './channel.js';
import { BIP320_MASK, ChannelFactory, type ChannelFactoryOptions, type FanoutStats } from './channel-factory.js';
import { MinerSlots } from './miner-slots.js';
import { parsePoolUrl, poolUrl, reconnectTarget } from './pool-endpoint.js';
import type { ReconnectAsk } from '../wire/pool-dialect.js';
import { CONFIGURE_RETRY_MS, PoolList, type PoolStatus } from './pool-list.js';

/** Upstream connections opened at the same time while miners wait for slots. */
const MAX_PARALLEL_OPENS = 4;

export { BIP320_MASK, POOL_MIN_LINE_BYTES } from './channel-factory.js';
export type { PoolState, PoolStatus } from './pool-list.js';

export interface UpstreamManagerOptions extends ChannelFactoryOptions {
  pools: readonly PoolConfig[];
  random?: () => number;
}

export class UpstreamManager {
  private readonly pools: PoolList;
  private readonly slots: MinerSlots;
  private readonly factory: ChannelFactory;
  private channels: Channel[] = [];
  private opening = 0;
  private probe: { index: number; channel: Channel | undefined; upSinceMs: number } | undefined;
  /** Job fan-out timings, proxy side (see FanoutStats). */
  readonly fanout: FanoutStats;
  /** Block candidates sent upstream and what became of them. */
  readonly blocks: BlockCounters;
  private timer: Repeater | undefined;
  private closed = false;

  constructor(private readonly o: UpstreamManagerOptions) {
    this.pools = new PoolList(o.pools, { initialMs: o.upstream.backoffInitialMs, maxMs: o.upstream.backoffMaxMs }, o.clock, o.random ?? Math.random);
    this.slots = new MinerSlots(() => this.active, o.clock, o.upstream.resumeWindowS * 1000);
    this.factory = new ChannelFactory(this.pools, o, {
      closed: (c, reason, members) => this.onChannelClosed(c, reason, members),
      displaced: (_c, members) => {
        this.slots.displaced(members);
        this.pump();
      },
    });
    this.fanout = this.factory.fanout;
    this.blocks = this.factory.blocks.counters;
  }

  private get active(): number {
    return this.pools.active;
  }

  get activeIndex(): number {
    return this.active;
  }

  /** Starts connecting to the first pool and the maintenance timer. */
  start(): void {
    const u = this.o.upstream;
    const period = Math.max(50, Math.min(1000, (u.fallbackStableS * 1000) / 4, u.backoffInitialMs));
    this.timer = every(this.o.clock, period, () => this.maintain()).unref();
    this.pump();
  }

  status(): PoolStatus[] {
    return this.pools.status((i) => (i === this.active ? this.channels.length : 0) + (this.probe?.index === i && this.probe.channel ? 1 : 0));
  }

  /** The version mask miners will most likely get: the active pool's, BIP320 before it is known. */
  versionMask(): number {
    return this.channels[0]?.versionMask ?? BIP320_MASK;
  }

  channelsOpen(): number {
    return this.channels.length;
  }

  /** Session ids a returning miner could resume now (bounded by count and upstream.resumeWindowS). */
  resumableSessions(): number {
    return this.slots.resumableCount;
  }

  /** Requests (after the handshake: submits) waiting for a pool's answer on every open connection (issue 7 accounting). */
  pendingRequests(): number {
    const open = new Set<Channel>([...this.channels, ...this.slots.homeChannels()]);
    if (this.probe?.channel) open.add(this.probe.channel);
    let n = 0;
    for (const ch of open) n += ch.client.pendingCount;
    return n;
  }

  /** A slot for a new miner; waits for upstream capacity up to the handshake timeout. */
  acquire(member: ChannelMember, resumeSessionId?: string): Promise<{ slot: Slot; sessionId: string }> {
    return this.slots.acquire(member, resumeSessionId, this.o.upstream.handshakeTimeoutS, () => this.pump());
  }

  release(member: ChannelMember): void {
    this.slots.release(member);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timer?.stop();
    this.slots.rejectAll('proxy closing');
    for (const ch of [...this.channels, ...this.slots.homeChannels()]) ch.close('proxy closing', true);
    this.probe?.channel?.close('proxy closing', true);
    this.channels = [];
  }

  // ------------------------------------------------------------------ internals

  /** Hand out free slots, then open another connection if miners still wait. */
  private pump(): void {
    if (this.closed) return;
    this.slots.handOut(this.channels);
    const demand = this.slots.demand;
    if (!this.pools.ready(this.active)) return;
    // Open enough connections for the miners waiting (a burst of 1,000 connects
    // should not queue behind one handshake at a time), a few at once, and keep
    // one open even with no miners so the first one does not wait.
    const perChannel = this.channels[0]?.layout?.capacity ?? this.o.upstream.maxMinersPerConnection;
    const wanted = Math.max(this.channels.length === 0 ? 1 : 0, Math.ceil(demand / perChannel));
    for (let n = Math.min(wanted, MAX_PARALLEL_OPENS) - this.opening; n > 0; n--) this.openChannel(this.active);
  }

  private openChannel(index: number): void {
    const ch = this.factory.create(index);
    const url = ch.client.url;
    this.opening++;
    this.pools.attempt(index);
    if (this.channels.length === 0) this.pools.setState(index, 'connecting');
    ch.open().then(
      () => {
        this.opening--;
        this.learnConfigure(index, ch);
        if (this.closed || index !== this.active) return void ch.close('pool no longer active', true);
        this.pools.succeeded(index);
        this.channels.push(ch);
        this.o.logger.info({ pool: url, channel: ch.id, extranonce2Size: ch.session.extranonce2Size, capacity: ch.layout?.capacity }, 'upstream connection ready');
        this.pump();
      },
      (err: unknown) => {
        this.opening--;
        this.learnConfigure(index, ch);
        if (this.closed) return;
        const ask = ch.client.reconnectAsk;
        if (ask) {
          // Asked to reconnect during the handshake: not a failure of the pool.
          this.followReconnect(index, ask, ch);
          return void (index === this.active && this.pump());
        }
        this.pools.failed(index, (err as Error).message);
        this.connectFailed(index, url, (err as Error).message);
        if (index !== this.active) return;
        if (this.pools.entry(index).redirect) {
          // The host a redirect sent us to does not work: back to the configured url (after the backoff), no failover yet.
          this.pools.clearRedirect(index);
          this.o.logger.warn({ pool: this.pools.entry(index).cfg.url, redirect: url }, 'redirect target failed; back to the configured pool url');
          return;
        }
        if (this.channels.length === 0) {
          this.pools.setState(index, 'down');
          this.failover();
        }
      },
    );
  }

  /** BIP310: a pool that ignores or hangs up on configure is not asked for a while (PoolList.configureEnded). */
  private learnConfigure(index: number, ch: Channel): void {
    if (!this.pools.configureEnded(index, ch.client.configureOutcome, ch.session.extranonce1 !== '')) return;
    this.o.logger.info({ pool: this.pools.entry(index).cfg.url, outcome: ch.client.configureOutcome, retryInS: CONFIGURE_RETRY_MS / 1000 }, 'pool does not answer mining.configure; not asking for a while (no version rolling)');
  }

  /**
   * `client.reconnect` (ckpool, Braiins and others send it before a restart or
   * to rebalance): reconnect, never fail over. Where to is `reconnectTarget`'s
   * rule; the wait asked for is honoured up to upstream.backoffMaxMs, and a
   * pool asking in a loop gets the backoff (PoolList.reconnectAsked).
   */
  private followReconnect(index: number, ask: ReconnectAsk, ch: Channel): void {
    const e = this.pools.entry(index);
    const d = reconnectTarget(parsePoolUrl(e.cfg.url), e.redirect, ask, e.cfg.allowRedirect === true);
    if (d.refused) {
      this.o.logger.warn({ pool: e.cfg.url, asked: poolUrl(d.refused) }, `pool asked to reconnect to another host; not followed (pools[${index}].allowRedirect is off), reconnecting to the configured url`);
    }
    const waitMs = Math.min((ask.waitS ?? 0) * 1000, this.o.upstream.backoffMaxMs);
    const delayMs = this.pools.reconnectAsked(index, d.target, waitMs, ch.reconnectEpoch);
    this.o.logger.info({ pool: e.cfg.url, to: this.pools.url(index), delayMs }, 'reconnecting as the pool asked');
  }

  /**
   * A connection attempt failed (refused, timed out, the handshake refused):
   * logged with its cause, rate-limited per pool and cause (a dead
   * higher-priority pool is tried at every backoff step).
   */
  private connectFailed(index: number, url: string, cause: string): void {
    const s = this.pools.entry(index).status;
    this.factory.troubleLog.log(this.o.logger, 'warn', url, `connect ${cause}`, { pool: url, err: cause, failuresTotal: s.connectFailures, active: index === this.active }, 'upstream connection failed');
  }

  private onChannelClosed(ch: Channel, reason: string, members: ChannelMember[]): void {
    const index = ch.poolIndex;
    // A close surplus asked for (shutdown, a pool no longer active, fallback) is routine (issue 13 item 9).
    const fields = { pool: ch.client.url, channel: ch.id, reason, miners: members.length };
    if (ch.client.plannedClose || this.closed) this.o.logger.info(fields, 'upstream connection closed');
    else this.o.logger.warn(fields, 'upstream connection closed');
    const ask = this.closed ? undefined : ch.client.reconnectAsk;
    if (ask) this.followReconnect(index, ask, ch);
    if (this.probe?.channel === ch) {
      this.probe = undefined;
      if (ask) return;
      this.pools.failed(index, reason);
      this.pools.setState(index, 'down');
      return;
    }
    const wasActive = this.channels.includes(ch);
    // A hung pool is hung on every connection: leave them all at once rather
    // than move this one's miners onto its siblings until each times out.
    const siblings = wasActive && ch.client.closedHung ? this.channels.filter((c) => c !== ch) : [];
    this.channels = siblings.length > 0 ? [] : this.channels.filter((c) => c !== ch);
    if (wasActive && !ask) this.pools.disconnected(index, reason);
    this.slots.lost(ch, members, reason);
    if (this.closed) return;
    if (ask) {
      if (wasActive && this.channels.length === 0) this.pools.setState(index, 'connecting');
      this.pump();
    } else if (wasActive && this.channels.length === 0) {
      // The active pool is gone (closed or silent): fail over at once rather than
      // leave the miners idle while we retry it; it comes back via the fallback probe.
      this.pools.lost(index);
      this.failover();
    } else this.pump();
    // After the failover: their miners, orphaned as they close, go to the new pool.
    for (const c of siblings) {
      c.client.closedHung = true;
      c.close(`${reason} (seen on another connection to this pool)`);
    }
  }

  /** Move to the next pool in order (wrapping), then connect there. */
  private failover(): void {
    const before = this.active;
    const now = this.pools.failover();
    if (now !== before) this.o.logger.warn({ from: this.pools.entry(before).cfg.url, to: this.pools.entry(now).cfg.url }, 'failing over');
    if (this.probe && this.probe.index >= now) {
      // Failover wrapped round to (or past) the pool being probed: it is not a
      // higher-priority pool any more. Left open, the probe would sit beside the
      // active connections, and its close would mark the active pool down.
      const ch = this.probe.channel;
      this.probe = undefined;
      ch?.close('probe no longer needed: failover reached its pool', true);
    }
    this.pump();
  }

  /** Probe higher-priority pools; fall back once one has been up for fallbackStableS. */
  private maintain(): void {
    if (this.closed) return;
    const now = this.o.clock.now();
    this.slots.prune();
    this.pump();
    if (this.active === 0) return;
    if (this.probe) {
      const ch = this.probe.channel;
      if (ch && ch.closedReason === undefined && now - this.probe.upSinceMs >= this.o.upstream.fallbackStableS * 1000) this.fallBackTo(this.probe.index, ch);
      return;
    }
    for (let i = 0; i < this.active; i++) {
      if (!this.pools.ready(i)) continue;
      const index = i;
      const ch = this.factory.create(index);
      const probe = { index, channel: undefined as Channel | undefined, upSinceMs: now };
      this.probe = probe;
      this.pools.attempt(index);
      ch.open().then(
        () => {
          this.learnConfigure(index, ch);
          if (this.closed || this.probe !== probe) return void ch.close('probe no longer needed', true);
          probe.channel = ch;
          probe.upSinceMs = this.o.clock.now();
          this.pools.succeeded(index);
          // Without this line the log showed a pool's return only at the fallback, fallbackStableS later.
          this.o.logger.info({ pool: this.pools.entry(index).cfg.url, fallbackInS: this.o.upstream.fallbackStableS }, 'higher-priority pool is up again; falling back if it stays up');
        },
        (err: unknown) => {
          const current = this.probe === probe;
          if (current) this.probe = undefined;
          this.learnConfigure(index, ch);
          const ask = ch.client.reconnectAsk;
          if (ask && !this.closed) return void this.followReconnect(index, ask, ch);
          // A probe dropped meanwhile (failover reached its pool) says nothing about that pool's state now.
          if (!current) return;
          this.pools.failed(index, (err as Error).message);
          this.connectFailed(index, ch.client.url, (err as Error).message);
          if (this.pools.entry(index).redirect) this.pools.clearRedirect(index);
          this.pools.setState(index, 'down');
        },
      );
      return;
    }
  }

  /** The higher-priority pool has been up for fallbackStableS: move every miner there. */
  private fallBackTo(index: number, ch: Channel): void {
    const from = this.active;
    this.o.logger.info({ from: this.pools.entry(from).cfg.url, to: this.pools.entry(index).cfg.url }, 'falling back to higher-priority pool');
    this.probe = undefined;
    const old = this.channels;
    this.pools.setActive(index);
    this.channels = [ch];
    for (const c of old) {
      // Miners keep hashing on the old pool until they get a slot on the new one.
      this.slots.move(c.memberList());
      if (c.memberCount === 0) this.slots.retire(c, 'fallback');
    }
    // Standby: its remaining connections close as their miners move over.
    this.pools.setState(from, 'down');
    this.pump();
  }
}
