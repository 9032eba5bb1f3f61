/**
 * Rate limit for repeated warnings, per peer and cause (issue 11: 20 KB of
 * bad lines from one miner produced 2.2 MB of warnings). Each (peer, cause)
 * key may log `burst` lines per `windowMs`; the rest are counted, and the
 * count is reported as `suppressed` on the next line of that key that is let
 * through, or in a summary line once its window has ended (so a burst that
 * stops is still accounted for). Keys are bounded by count (oldest evicted,
 * its count reported first) and by age (windows that ended are swept).
 * Time comes from the injected clock; usable by any module with a logger.
 */
import type { Clock } from '../clock.js';
import type { Logger } from './logger.js';

export type LimitedLevel = 'error' | 'warn' | 'info' | 'debug';

export interface LogLimiterOptions {
  clock: Clock;
  /** Lines let through per key and window (default 5). */
  burst?: number;
  /** Window length, ms (default 60 s). */
  windowMs?: number;
  /** Keys remembered at once (default 10,000); beyond, the oldest is reported and forgotten. */
  maxKeys?: number;
}

interface Entry {
  peer: string;
  cause: string;
  level: LimitedLevel;
  windowStartMs: number;
  logged: number;
  suppressed: number;
}

export class LogLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private lastSweepMs = -Infinity;
  /** Lines suppressed since start (for tests and status). */
  suppressedTotal = 0;

  constructor(private readonly o: LogLimiterOptions) {
    this.burst = o.burst ?? 5;
    this.windowMs = o.windowMs ?? 60_000;
    this.maxKeys = o.maxKeys ?? 10_000;
  }

  /**
   * Logs `msg` with `fields` at `level` unless this (peer, cause) already
   * used its burst in the current window. Returns whether it was logged.
   * The line carries `peer`, `cause` and, after suppression, `suppressed`.
   */
  log(logger: Logger, level: LimitedLevel, peer: string, cause: string, fields: Record<string, unknown>, msg: string): boolean {
    const now = this.o.clock.now();
    this.sweep(logger, now);
    const key = `${peer}\u0000${cause}`;
    let e = this.entries.get(key);
    if (e && now - e.windowStartMs >= this.windowMs) {
      this.entries.delete(key);
      if (e.suppressed > 0) {
        // The next line of the key carries the count of the window that ended.
        const carried = e.suppressed;
        e = { peer, cause, level, windowStartMs: now, logged: 0, suppressed: 0 };
        this.entries.set(key, e);
        e.logged++;
        logger[level]({ ...fields, peer, cause, suppressed: carried }, msg);
        return true;
      }
      e = undefined;
    }
    if (!e) {
      if (this.entries.size >= this.maxKeys) this.evictOldest(logger);
      e = { peer, cause, level, windowStartMs: now, logged: 0, suppressed: 0 };
      this.entries.set(key, e);
    }
    if (e.logged >= this.burst) {
      e.suppressed++;
      this.suppressedTotal++;
      return false;
    }
    e.logged++;
    logger[level]({ ...fields, peer, cause }, msg);
    return true;
  }

  /** Reports and forgets keys whose window ended (called from `log`, at most once a second; callers with a timer may call it too). */
  sweep(logger: Logger, now = this.o.clock.now()): void {
    if (now - this.lastSweepMs < 1000) return;
    this.lastSweepMs = now;
    for (const [key, e] of this.entries) {
      if (now - e.windowStartMs < this.windowMs) continue;
      this.entries.delete(key);
      if (e.suppressed > 0) this.summary(logger, e);
    }
  }

  private evictOldest(logger: Logger): void {
    const first = this.entries.entries().next();
    if (first.done) return;
    const [key, e] = first.value;
    this.entries.delete(key);
    if (e.suppressed > 0) this.summary(logger, e);
  }

  private summary(logger: Logger, e: Entry): void {
    logger[e.level]({ peer: e.peer, cause: e.cause, suppressed: e.suppressed }, `${e.suppressed} more "${e.cause}" lines from ${e.peer} were not logged`);
  }
}
