/**
 * Builds one upstream connection (a Channel over a PoolClient) to a pool in
 * the list, from the resolved config and what the list has learnt about the
 * pool (redirect, whether to ask mining.configure, payout script). Also keeps
 * the proxy-wide sequences all channels share (miner-facing job ids) and the
 * job fan-out timings.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ConfigError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { PoolConfig, UpstreamConfig } from '../config/schema.js';
import { LogLimiter } from '../observability/log-limiter.js';
import type { Logger } from '../observability/logger.js';
import { BlockWatch } from './block-watch.js';
import { Channel, type ChannelHooks } from './channel.js';
import { PoolClient } from './pool-client.js';
import type { PoolTlsSettings } from './pool-transport.js';
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
  /** Block candidates followed until the pool acknowledges them (upstream.blockAckTimeoutS). */
  readonly blocks: BlockWatch;
  /** Trouble warnings (failed connects, submit timeouts, lost shares): one a minute per pool and cause, shared by every connection. */
  readonly troubleLog: LogLimiter;
  /** Certificate checks per pool index (stratum+ssl:// pools only). */
  private readonly tls: Array<PoolTlsSettings | undefined>;
  /** Shared by every connection: a pool that reconnects keeps its budget of warnings. */
  private readonly logLimiter: LogLimiter;

  constructor(
    private readonly pools: PoolList,
    private readonly o: ChannelFactoryOptions,
    /** What happens to a channel's miners is the owner's: it closed, or a re-carve displaced some. */
    private readonly hooks: Pick<ChannelHooks, 'closed' | 'displaced'>,
  ) {
    this.blocks = new BlockWatch({ ackTimeoutMs: o.upstream.blockAckTimeoutS * 1000, logger: o.logger, clock: o.clock });
    this.tls = Array.from({ length: pools.size }, (_, i) => tlsSettings(i, pools.entry(i).cfg, o.logger));
    this.logLimiter = new LogLimiter({ clock: o.clock });
    this.troubleLog = new LogLimiter({ clock: o.clock, burst: 1 });
  }

  /** A new, unopened channel to pool `index` (at its redirect target if it has one). */
  create(index: number): Channel {
    const p = this.pools.entry(index);
    const u = this.o.upstream;
    const client = new PoolClient({
      url: this.pools.url(index),
      ...(this.tls[index] ? { tls: this.tls[index] } : {}),
      user: p.cfg.user,
      password: p.cfg.password,
      versionRollingMask: this.pools.asksConfigure(index) ? BIP320_MASK : 0,
      handshakeTimeoutMs: u.handshakeTimeoutS * 1000,
      requestTimeoutMs: u.requestTimeoutS * 1000,
      hungAfterMs: u.hungAfterS * 1000,
      onTrouble: (reason) => this.pools.noteError(index, reason),
      troubleLog: this.troubleLog,
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
      block: (record, answer) => this.blocks.watch(record, answer),
    });
    ch.poolUser = p.cfg.user;
    ch.reconnectEpoch = p.reconnectEpoch;
    return ch;
  }
}

/**
 * A stratum+ssl:// pool's certificate checks, read once before anything
 * binds or dials: the CA file must be readable PEM (ConfigError naming the
 * key otherwise). Skipping verification is allowed, and warned about loudly
 * at every start.
 */
function tlsSettings(index: number, cfg: PoolConfig, logger: Logger): PoolTlsSettings | undefined {
  if (!cfg.url.startsWith('stratum+ssl://')) return undefined;
  const t = cfg.tls;
  let ca: string | undefined;
  if (t?.caFile !== undefined) {
    try {
      ca = readFileSync(t.caFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`pools[${index}].tls.caFile: cannot read ${t.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`pools[${index}].tls.caFile: ${t.caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  if (t?.insecureSkipVerify) {
    logger.warn({ pool: cfg.url }, `INSECURE: pools[${index}].tls.insecureSkipVerify is on: the pool's certificate is not checked, so anyone in the path can read and change this pool's traffic (and redirect the hashrate)`);
    return { rejectUnauthorized: false };
  }
  return { rejectUnauthorized: true, ...(ca !== undefined ? { ca } : {}) };
}
