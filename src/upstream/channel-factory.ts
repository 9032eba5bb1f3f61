/**
 * Builds one upstream connection (a Channel over a PoolClient) to a pool in
 * the list, from the resolved config and what the list has learnt about the
 * pool (redirect, whether to ask mining.configure, payout script). Also keeps
 * the proxy-wide sequences all channels share (miner-facing job ids) and the
 * job fan-out timings.
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import type { UpstreamConfig } from '../config/schema.js';
import { LogLimiter } from '../observability/log-limiter.js';
import type { Logger } from '../observability/logger.js';
import { Channel, type ChannelHooks } from './channel.js';
import { PoolClient } from './pool-client.js';
import type { PoolList } from './pool-list.js';

/**
 * Line cap for pool connections, at least this. limits.maxLineBytes (16 KiB)
 * is sized against hostile miners; a pool's mining.notify carries the whole
 * coinbase, and pools that pay many outputs from it (Ocean's TIDES, DATUM
 * gateways) send lines of tens of KiB. Still bounded.
 */
export const POOL_MIN_LINE_BYTES = 256 * 1024;

/** BIP320: the version bits free for rolling; asked of every pool. */
export const BIP320_MASK = 0x1fffe000;

export interface ChannelFactoryOptions {
  upstream: UpstreamConfig;
  maxLineBytes: number;
  maxWriteBufferBytes: number;
  clock: Clock;
  logger: Logger;
  /** The miners' difficulty bounds (a pool difficulty outside them is counted per pool). */
  difficultyBounds?: { min: number; max: number };
}

/**
 * Upstream jobs handed to miners and how long the last/slowest/all hand-outs
 * took (proxy side only); `lastEndAtMs`: wall-clock time (performance.timeOrigin
 * based, ms) the last write of the latest hand-out was issued, so a bench can
 * tell the proxy's share of a fan-out from the reading client's.
 */
export interface FanoutStats {
  jobs: number;
  lastMs: number;
  maxMs: number;
  totalMs: number;
  lastMembers: number;
  lastEndAtMs: number;
}

export class ChannelFactory {
  readonly fanout: FanoutStats = { jobs: 0, lastMs: 0, maxMs: 0, totalMs: 0, lastMembers: 0, lastEndAtMs: 0 };
  private channelSeq = 0;
  private jobSeq = 0;
  /** Shared by every connection: a pool that reconnects keeps its budget of warnings. */
  private readonly logLimiter: LogLimiter;

  constructor(
    private readonly pools: PoolList,
    private readonly o: ChannelFactoryOptions,
    /** What happens to a channel's miners is the owner's: it closed, or a re-carve displaced some. */
    private readonly hooks: Pick<ChannelHooks, 'closed' | 'displaced'>,
  ) {
    this.logLimiter = new LogLimiter({ clock: o.clock });
  }

  /** A new, unopened channel to pool `index` (at its redirect target if it has one). */
  create(index: number): Channel {
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
      logLimiter: this.logLimiter,
      ...(this.o.difficultyBounds ? { difficultyBounds: this.o.difficultyBounds } : {}),
      clock: this.o.clock,
      logger: this.o.logger,
    });
    const ch = new Channel(++this.channelSeq, index, client, { minerExtranonce2Size: u.minerExtranonce2Size, maxMinersPerConnection: u.maxMinersPerConnection }, {
      // One sequence for every channel: a miner moved between connections never sees a job id twice.
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
      closed: this.hooks.closed,
      displaced: this.hooks.displaced,
    });
    ch.poolUser = p.cfg.user;
    ch.reconnectEpoch = p.reconnectEpoch;
    return ch;
  }
}
