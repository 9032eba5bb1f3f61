/**
 * The ordered pool list (as nats.js keeps its servers): which pool is active,
 * per-pool counters, and when each may be tried again (capped exponential
 * backoff with jitter). No sockets; time from the injected clock.
 */
import type { Clock } from '../clock.js';
import type { PoolConfig } from '../config/schema.js';
import { backoffDelayMs, type BackoffPolicy } from './backoff.js';
import { expectedScriptHex } from './payout-guard.js';
import type { ConfigureOutcome, PoolProtocolCounters } from './pool-client.js';
import { poolUrl, type PoolEndpoint } from './pool-endpoint.js';

/** A pool asking to reconnect more often than this within a minute is throttled by the backoff. */
const RECONNECTS_BEFORE_BACKOFF = 2;
const RECONNECT_WINDOW_MS = 60_000;
/** How long a pool that ignored mining.configure is not asked again. */
export const CONFIGURE_RETRY_MS = 30 * 60_000;

export type PoolState = 'connecting' | 'up' | 'down';

export interface PoolStatus extends PoolProtocolCounters {
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
  /** When lastError happened (null: never). */
  lastErrorAtMs: number | null;
  /** Where a `client.reconnect` redirect sent us (null: the configured url). */
  redirectedTo: string | null;
}

export interface PoolEntry {
  readonly cfg: PoolConfig;
  readonly status: PoolStatus;
  /** Output script the coinbase must pay (pools[].expectedPayout), hex. */
  readonly payoutScript: string | undefined;
  failStreak: number;
  nextAttemptAtMs: number;
  /** Set by an allowed `client.reconnect` redirect; cleared when it fails. */
  redirect: PoolEndpoint | undefined;
  /** Until then, do not send BIP310 `mining.configure` (the pool ignores it or hangs up on it). */
  skipConfigureUntilMs: number;
  /** Handshakes in a row the pool closed before answering configure or subscribe. */
  configureHangups: number;
  /** When recent `client.reconnect` requests came (a pool asking in a loop is backed off). */
  reconnectTimes: number[];
  /** `client.reconnect` requests counted so far; a connection made before the latest one was asked in the same broadcast. */
  reconnectEpoch: number;
  /** Times in a row the pool was lost within LOST_STABLE_MS of coming up (it passes the handshake, then drops us). */
  lostStreak: number;
}

/**
 * A pool that stayed up this long before it was lost starts its backoff
 * afresh; one lost sooner (it accepts the handshake, then drops us, or its
 * jobs fail the payout guard) backs off further each time instead of being
 * hammered every backoffInitialMs.
 */
export const LOST_STABLE_MS = 60_000;

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
      status: { url: cfg.url, user: cfg.user, state: 'down', sinceMs: now, active: false, connections: 0, connectAttempts: 0, connectFailures: 0, disconnects: 0, failovers: 0, payoutMismatches: 0, lastError: null, lastErrorAtMs: null, redirectedTo: null, malformedLines: 0, badMessages: 0, unknownReplies: 0, reconnectRequests: 0, submitTimeouts: 0, sharesLost: 0, hungDetections: 0, difficultyOutOfRange: 0 },
      payoutScript: cfg.expectedPayout ? expectedScriptHex(cfg.expectedPayout) : undefined,
      failStreak: 0,
      nextAttemptAtMs: 0,
      redirect: undefined,
      skipConfigureUntilMs: 0,
      configureHangups: 0,
      reconnectTimes: [],
      reconnectEpoch: 0,
      lostStreak: 0,
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

  /** The url to connect to: the configured one, or where an allowed redirect points. */
  url(i: number): string {
    const e = this.entries[i]!;
    return e.redirect ? poolUrl(e.redirect) : e.cfg.url;
  }

  /**
   * The pool asked us to reconnect (`client.reconnect`), to `target` (undefined:
   * the configured url) after `waitMs`. Not a failure and not a reason to fail
   * over; but a pool asking again and again within a minute gets the backoff.
   * `connEpoch` (the pool's `reconnectEpoch` when the asked connection was
   * made): a pool restarting sends the request to every connection at once,
   * and a connection older than the last request counted is part of that one
   * broadcast, not a loop (else 10 connections would look like 10 asks and
   * hold every miner for the backoff). Returns the delay before the next attempt, ms.
   */
  reconnectAsked(i: number, target: PoolEndpoint | undefined, waitMs: number, connEpoch?: number): number {
    const e = this.entries[i]!;
    const now = this.clock.now();
    let delay = waitMs;
    if (connEpoch === undefined || connEpoch >= e.reconnectEpoch) {
      e.reconnectEpoch++;
      e.reconnectTimes = e.reconnectTimes.filter((t) => now - t < RECONNECT_WINDOW_MS);
      e.reconnectTimes.push(now);
      const excess = e.reconnectTimes.length - RECONNECTS_BEFORE_BACKOFF;
      delay = Math.max(waitMs, excess > 0 ? backoffDelayMs(excess - 1, this.backoff, this.random()) : 0);
    }
    e.redirect = target;
    e.status.redirectedTo = target ? poolUrl(target) : null;
    e.nextAttemptAtMs = Math.max(e.nextAttemptAtMs, now + delay);
    return Math.max(delay, e.nextAttemptAtMs - now);
  }

  /** Whether to send BIP310 `mining.configure` on a new connection to this pool. */
  asksConfigure(i: number): boolean {
    return this.clock.now() >= this.entries[i]!.skipConfigureUntilMs;
  }

  /**
   * How a handshake's configure ended (`subscribed`: the pool answered
   * subscribe). A pool that lets configure time out (alive, answering
   * subscribe and authorize: it ignores the method), or that hung up before
   * answering anything three handshakes in a row (some pools drop a client
   * on an unknown method), is not asked for CONFIGURE_RETRY_MS, so its
   * connections skip the wait. Not for ever: a restarting pool can look the
   * same. Returns true when it stops asking.
   */
  configureEnded(i: number, outcome: ConfigureOutcome | undefined, subscribed: boolean): boolean {
    const e = this.entries[i]!;
    if (outcome === 'granted' || outcome === 'refused') e.configureHangups = 0;
    const hungUp = outcome === 'closed' && !subscribed && ++e.configureHangups >= 3;
    // A timeout means "ignores configure" only when the pool answered subscribe on
    // that connection: a pool that answered nothing at all (hung, restarting) let
    // configure time out for reasons of its own.
    const ignored = outcome === 'timeout' && subscribed;
    if (!ignored && !hungUp) return false;
    e.configureHangups = 0;
    e.skipConfigureUntilMs = this.clock.now() + CONFIGURE_RETRY_MS;
    return true;
  }

  /** A redirect target failed: back to the configured url. */
  clearRedirect(i: number): void {
    const e = this.entries[i]!;
    e.redirect = undefined;
    e.status.redirectedTo = null;
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

  /** Something went wrong with this pool (a failed connect, a submit timeout, a hung pool): shown as its last error. */
  noteError(i: number, reason: string): void {
    const s = this.entries[i]!.status;
    s.lastError = reason;
    s.lastErrorAtMs = this.clock.now();
  }

  /** A connection attempt failed: count it and back off (capped, jittered). */
  failed(i: number, reason: string): void {
    const e = this.entries[i]!;
    e.status.connectFailures++;
    this.noteError(i, reason);
    e.nextAttemptAtMs = this.clock.now() + backoffDelayMs(e.failStreak, this.backoff, this.random());
    e.failStreak++;
  }

  /** One upstream connection to this pool closed (pool closed it, went silent, refused a job...). */
  disconnected(i: number, reason: string): void {
    const e = this.entries[i]!;
    e.status.disconnects++;
    this.noteError(i, reason);
  }

  /** The pool is gone (its last connection dropped): down, and not retried before the first backoff step. */
  lost(i: number): void {
    const e = this.entries[i]!;
    const now = this.clock.now();
    if (e.status.state === 'up' && now - e.status.sinceMs >= LOST_STABLE_MS) e.lostStreak = 0;
    e.failStreak++;
    e.nextAttemptAtMs = now + Math.max(this.backoff.initialMs, backoffDelayMs(e.lostStreak, this.backoff, this.random()));
    e.lostStreak++;
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
