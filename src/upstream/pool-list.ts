/**
 * The ordered pool list (as nats.js keeps its servers): which pool is active,
 * per-pool counters, and when each may be tried again (capped exponential
 * backoff with jitter). No sockets; time from the injected clock.
 */
import type { Clock } from '../clock.js';
import type { PoolConfig } from '../config/schema.js';
import { backoffDelayMs, type BackoffPolicy } from './backoff.js';
import { expectedScriptHex } from './payout-guard.js';

export type PoolState = 'connecting' | 'up' | 'down';

export interface PoolStatus {
  url: string;
  user: string;
  state: PoolState;
  sinceMs: number;
  active: boolean;
  /** Open upstream connections (the fallback probe included). */
  connections: number;
  connectAttempts: number;
  connectFailures: number;
  disconnects: number;
  /** Times surplus failed over away from this pool. */
  failovers: number;
  /** Jobs whose coinbase failed the payout guard (never handed to miners; the pool is dropped). */
  payoutMismatches: number;
  lastError: string | null;
}

export interface PoolEntry {
  readonly cfg: PoolConfig;
  readonly status: PoolStatus;
  /** Output script the coinbase must pay (pools[].expectedPayout), hex. */
  readonly payoutScript: string | undefined;
  failStreak: number;
  nextAttemptAtMs: number;
}

export class PoolList {
  private readonly entries: PoolEntry[];
  private activeIndex = 0;

  constructor(
    pools: readonly PoolConfig[],
    private readonly backoff: BackoffPolicy,
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {
    const now = clock.now();
    this.entries = pools.map((cfg) => ({
      cfg,
      status: { url: cfg.url, user: cfg.user, state: 'down', sinceMs: now, active: false, connections: 0, connectAttempts: 0, connectFailures: 0, disconnects: 0, failovers: 0, payoutMismatches: 0, lastError: null },
      payoutScript: cfg.expectedPayout ? expectedScriptHex(cfg.expectedPayout) : undefined,
      failStreak: 0,
      nextAttemptAtMs: 0,
    }));
  }

  get size(): number {
    return this.entries.length;
  }

  get active(): number {
    return this.activeIndex;
  }

  entry(i: number): PoolEntry {
    return this.entries[i]!;
  }

  /** Past its backoff delay. */
  ready(i: number): boolean {
    return this.clock.now() >= this.entries[i]!.nextAttemptAtMs;
  }

  setState(i: number, state: PoolState): void {
    const s = this.entries[i]!.status;
    if (s.state !== state) {
      s.state = state;
      s.sinceMs = this.clock.now();
    }
  }

  attempt(i: number): void {
    this.entries[i]!.status.connectAttempts++;
  }

  succeeded(i: number): void {
    this.entries[i]!.failStreak = 0;
    this.setState(i, 'up');
  }

  /** A connection attempt failed: count it and back off (capped, jittered). */
  failed(i: number, reason: string): void {
    const e = this.entries[i]!;
    e.status.connectFailures++;
    e.status.lastError = reason;
    e.nextAttemptAtMs = this.clock.now() + backoffDelayMs(e.failStreak, this.backoff, this.random());
    e.failStreak++;
  }

  /** One upstream connection to this pool closed (pool closed it, went silent, refused a job...). */
  disconnected(i: number, reason: string): void {
    const e = this.entries[i]!;
    e.status.disconnects++;
    e.status.lastError = reason;
  }

  /** The pool is gone (its last connection dropped): down, and not retried before the first backoff step. */
  lost(i: number): void {
    const e = this.entries[i]!;
    e.failStreak++;
    e.nextAttemptAtMs = this.clock.now() + this.backoff.initialMs;
    this.setState(i, 'down');
  }

  /** Move to the next pool in order (wrapping); returns the new active index. */
  failover(): number {
    if (this.entries.length > 1) {
      this.entries[this.activeIndex]!.status.failovers++;
      this.activeIndex = (this.activeIndex + 1) % this.entries.length;
    }
    return this.activeIndex;
  }

  /** Fall back to a higher-priority pool. */
  setActive(i: number): void {
    this.activeIndex = i;
  }

  status(connections: (i: number) => number): PoolStatus[] {
    return this.entries.map((e, i) => ({ ...e.status, active: i === this.activeIndex, connections: connections(i) }));
  }
}
