/**
 * The pool side: an ordered pool list with failover, per-pool counters and
 * jittered backoff; the upstream connections (channels) on the active pool,
 * opened as miners need extranonce space; a stable-for-a-while probe before
 * falling back to a higher-priority pool. Miners never disconnect because of
 * a pool change: their sessions are moved to a slot on the new pool.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import type { PoolConfig, UpstreamConfig } from '../config/schema.js';
import { PeerError } from '../errors.js';
import { Channel, type ChannelMember, type Slot } from './channel.js';
import { PoolClient } from './pool-client.js';
import { parsePoolUrl, poolUrl, reconnectTarget } from './pool-endpoint.js';
import type { ReconnectAsk } from './pool-dialect.js';
import { CONFIGURE_RETRY_MS, PoolList, type PoolStatus } from './pool-list.js';

/** Upstream connections opened at the same time while miners wait for slots. */
const MAX_PARALLEL_OPENS = 4;

/**
 * Line cap for pool connections, at least this. limits.maxLineBytes (16 KiB)
 * is sized against hostile miners; a pool's mining.notify carries the whole
 * coinbase, and pools that pay many outputs from it (Ocean's TIDES, DATUM
 * gateways) send lines of tens of KiB. Still bounded.
 */
export const POOL_MIN_LINE_BYTES = 256 * 1024;

/** BIP320: the version bits free for rolling; asked of every pool. */
export const BIP320_MASK = 0x1fffe000;

export type { PoolState, PoolStatus } from './pool-list.js';

interface Waiter {
  member: ChannelMember;
  resume: { channelId: number; prefix: number } | undefined;
  resolve(slot: Slot): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export interface UpstreamManagerOptions {
  pools: readonly PoolConfig[];
  upstream: UpstreamConfig;
  maxLineBytes: number;
  maxWriteBufferBytes: number;
  clock: Clock;
  logger: Logger;
  random?: () => number;
}

export class UpstreamManager {
  private readonly pools: PoolList;
  private channels: Channel[] = [];
  private readonly homes = new Map<ChannelMember, Channel>();
  private readonly orphans = new Set<ChannelMember>();
  private waiters: Waiter[] = [];
  private opening = 0;
  private probe: { index: number; channel: Channel | undefined; upSinceMs: number } | undefined;
  private readonly resumable = new Map<string, { channelId: number; prefix: number }>();
  private channelSeq = 0;
  /**
   * Upstream jobs handed to miners and how long the last/slowest/all hand-outs
   * took (proxy side only); `lastEndAtMs`: wall-clock time (performance.timeOrigin
   * based, ms) the last write of the latest hand-out was issued, so a bench can
   * tell the proxy's share of a fan-out from the reading client's.
   */
  readonly fanout = { jobs: 0, lastMs: 0, maxMs: 0, totalMs: 0, lastMembers: 0, lastEndAtMs: 0 };
  private jobSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: UpstreamManagerOptions) {
    this.pools = new PoolList(o.pools, { initialMs: o.upstream.backoffInitialMs, maxMs: o.upstream.backoffMaxMs }, o.clock, o.random ?? Math.random);
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
    const every = Math.max(50, Math.min(1000, (u.fallbackStableS * 1000) / 4, u.backoffInitialMs));
    this.timer = setInterval(() => this.maintain(), every);
    this.timer.unref();
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

  /** Requests (after the handshake: submits) waiting for a pool's answer on every open connection (issue 7 accounting). */
  pendingRequests(): number {
    const open = new Set<Channel>([...this.channels, ...this.homes.values()]);
    if (this.probe?.channel) open.add(this.probe.channel);
    let n = 0;
    for (const ch of open) n += ch.client.pendingCount;
    return n;
  }

  /** A slot for a new miner; waits for upstream capacity up to the handshake timeout. */
  acquire(member: ChannelMember, resumeSessionId?: string): Promise<{ slot: Slot; sessionId: string }> {
    const resume = resumeSessionId ? this.resumable.get(resumeSessionId) : undefined;
    return new Promise<Slot>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new PeerError(`no upstream pool capacity within ${this.o.upstream.handshakeTimeoutS} s`));
      }, this.o.upstream.handshakeTimeoutS * 1000);
      const waiter: Waiter = { member, resume, resolve, reject, timer };
      this.waiters.push(waiter);
      this.pump();
    }).then((slot) => {
      const sessionId = resumeSessionId && resume ? resumeSessionId : randomBytes(4).toString('hex');
      this.remember(sessionId, slot);
      return { slot, sessionId };
    });
  }

  private remember(sessionId: string, slot: Slot): void {
    this.resumable.delete(sessionId);
    this.resumable.set(sessionId, { channelId: slot.channel.id, prefix: slot.prefix });
    if (this.resumable.size > 100_000) this.resumable.delete(this.resumable.keys().next().value as string);
  }

  release(member: ChannelMember): void {
    this.orphans.delete(member);
    this.waiters = this.waiters.filter((w) => {
      if (w.member !== member) return true;
      clearTimeout(w.timer);
      w.reject(new PeerError('miner left'));
      return false;
    });
    const home = this.homes.get(member);
    this.homes.delete(member);
    home?.release(member);
    if (home && home.poolIndex !== this.active && home.memberCount === 0) home.close('no miners left after fallback');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new PeerError('proxy closing'));
    }
    this.waiters = [];
    for (const ch of [...this.channels, ...this.homes.values()]) ch.close('proxy closing');
    this.probe?.channel?.close('proxy closing');
    this.channels = [];
  }

  // ------------------------------------------------------------------ internals

  private freeSlot(member: ChannelMember, resume?: { channelId: number; prefix: number }): Slot | undefined {
    if (resume) {
      const ch = this.channels.find((c) => c.id === resume.channelId);
      const s = ch?.take(member, resume.prefix);
      if (s) return s;
    }
    for (const ch of this.channels) {
      const s = ch.take(member);
      if (s) return s;
    }
    return undefined;
  }

  /** Hand out free slots, then open another connection if miners still wait. */
  private pump(): void {
    if (this.closed) return;
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      const slot = this.freeSlot(w.member, w.resume);
      if (!slot) break;
      this.waiters.shift();
      clearTimeout(w.timer);
      this.homes.set(w.member, slot.channel);
      w.resolve(slot);
    }
    for (const m of [...this.orphans]) {
      const slot = this.freeSlot(m);
      if (!slot) break;
      this.orphans.delete(m);
      const old = this.homes.get(m);
      if (old && old !== slot.channel) {
        old.release(m);
        if (old.memberCount === 0 && old.poolIndex !== this.active) old.close('all miners moved to another pool');
      }
      this.homes.set(m, slot.channel);
      m.moveTo(slot);
    }
    const demand = this.waiters.length + this.orphans.size;
    if (!this.pools.ready(this.active)) return;
    // Open enough connections for the miners waiting (a burst of 1,000 connects
    // should not queue behind one handshake at a time), a few at once, and keep
    // one open even with no miners so the first one does not wait.
    const perChannel = this.channels[0]?.layout?.capacity ?? this.o.upstream.maxMinersPerConnection;
    const wanted = Math.max(this.channels.length === 0 ? 1 : 0, Math.ceil(demand / perChannel));
    for (let n = Math.min(wanted, MAX_PARALLEL_OPENS) - this.opening; n > 0; n--) this.openChannel(this.active);
  }

  private newChannel(index: number): Channel {
    const p = this.pools.entry(index);
    const u = this.o.upstream;
    const client = new PoolClient({
      url: this.pools.url(index),
      user: p.cfg.user,
      password: p.cfg.password,
      versionRollingMask: this.pools.asksConfigure(index) ? BIP320_MASK : 0,
      handshakeTimeoutMs: u.handshakeTimeoutS * 1000,
      requestTimeoutMs: u.requestTimeoutS * 1000,
      silenceTimeoutMs: u.silenceTimeoutS * 1000,
      maxLineBytes: Math.max(this.o.maxLineBytes, POOL_MIN_LINE_BYTES),
      maxWriteBufferBytes: this.o.maxWriteBufferBytes,
      ...(p.payoutScript ? { expectedPayoutScript: p.payoutScript, onPayoutMismatch: () => void p.status.payoutMismatches++ } : {}),
      counters: p.status,
      clock: this.o.clock,
      logger: this.o.logger,
    });
    const ch = new Channel(++this.channelSeq, index, client, { minerExtranonce2Size: u.minerExtranonce2Size, maxMinersPerConnection: u.maxMinersPerConnection }, {
      nextJobId: () => (++this.jobSeq).toString(16),
      fannedOut: (ms, members, endedAt) => {
        const f = this.fanout;
        f.lastEndAtMs = performance.timeOrigin + endedAt;
        f.jobs++;
        f.lastMs = ms;
        f.totalMs += ms;
        f.maxMs = Math.max(f.maxMs, ms);
        f.lastMembers = members;
      },
      closed: (c, reason, members) => this.onChannelClosed(c, reason, members),
      displaced: (_c, members) => {
        for (const m of members) {
          this.homes.delete(m);
          this.orphans.add(m);
          m.orphan('extranonce space shrank');
        }
        this.pump();
      },
    });
    ch.poolUser = p.cfg.user;
    return ch;
  }

  private openChannel(index: number): void {
    const ch = this.newChannel(index);
    const url = ch.client.url;
    this.opening++;
    this.pools.attempt(index);
    if (this.channels.length === 0) this.pools.setState(index, 'connecting');
    ch.open().then(
      () => {
        this.opening--;
        this.learnConfigure(index, ch);
        if (this.closed || index !== this.active) return void ch.close('pool no longer active');
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
          this.followReconnect(index, ask);
          return void (index === this.active && this.pump());
        }
        this.pools.failed(index, (err as Error).message);
        this.o.logger.warn({ pool: url, err: (err as Error).message }, 'upstream connection failed');
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
  private followReconnect(index: number, ask: ReconnectAsk): void {
    const e = this.pools.entry(index);
    const d = reconnectTarget(parsePoolUrl(e.cfg.url), e.redirect, ask, e.cfg.allowRedirect === true);
    if (d.refused) {
      this.o.logger.warn({ pool: e.cfg.url, asked: poolUrl(d.refused) }, `pool asked to reconnect to another host; not followed (pools[${index}].allowRedirect is off), reconnecting to the configured url`);
    }
    const waitMs = Math.min((ask.waitS ?? 0) * 1000, this.o.upstream.backoffMaxMs);
    const delayMs = this.pools.reconnectAsked(index, d.target, waitMs);
    this.o.logger.info({ pool: e.cfg.url, to: this.pools.url(index), delayMs }, 'reconnecting as the pool asked');
  }


  private onChannelClosed(ch: Channel, reason: string, members: ChannelMember[]): void {
    const index = ch.poolIndex;
    this.o.logger.warn({ pool: ch.client.url, channel: ch.id, reason, miners: members.length }, 'upstream connection closed');
    const ask = this.closed ? undefined : ch.client.reconnectAsk;
    if (ask) this.followReconnect(index, ask);
    if (this.probe?.channel === ch) {
      this.probe = undefined;
      if (ask) return;
      this.pools.failed(index, reason);
      this.pools.setState(index, 'down');
      return;
    }
    const wasActive = this.channels.includes(ch);
    this.channels = this.channels.filter((c) => c !== ch);
    if (wasActive && !ask) this.pools.disconnected(index, reason);
    for (const m of members) {
      if (this.homes.get(m) === ch) this.homes.delete(m);
      this.orphans.add(m);
      m.orphan(`upstream connection lost: ${reason}`);
    }
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
  }

  /** Move to the next pool in order (wrapping), then connect there. */
  private failover(): void {
    const before = this.active;
    const now = this.pools.failover();
    if (now !== before) this.o.logger.warn({ from: this.pools.entry(before).cfg.url, to: this.pools.entry(now).cfg.url }, 'failing over');
    this.pump();
  }

  /** Probe higher-priority pools; fall back once one has been up for fallbackStableS. */
  private maintain(): void {
    if (this.closed) return;
    const now = this.o.clock.now();
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
      const ch = this.newChannel(index);
      const probe = { index, channel: undefined as Channel | undefined, upSinceMs: now };
      this.probe = probe;
      this.pools.attempt(index);
      ch.open().then(
        () => {
          this.learnConfigure(index, ch);
          if (this.closed || this.probe !== probe) return void ch.close('probe no longer needed');
          probe.channel = ch;
          probe.upSinceMs = this.o.clock.now();
          this.pools.succeeded(index);
        },
        (err: unknown) => {
          if (this.probe === probe) this.probe = undefined;
          this.learnConfigure(index, ch);
          const ask = ch.client.reconnectAsk;
          if (ask && !this.closed) return void this.followReconnect(index, ask);
          this.pools.failed(index, (err as Error).message);
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
      for (const m of c.memberList()) this.orphans.add(m);
      if (c.memberCount === 0) c.close('fallback');
    }
    // Standby: its remaining connections close as their miners move over.
    this.pools.setState(from, 'down');
    this.pump();
  }
}
