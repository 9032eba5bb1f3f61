/**
 * Share accounting per worker and in total. Counters only grow; snapshots
 * are plain objects. The invariants the tests check:
 *   submitsReceived = submitsAnswered (+ in flight)
 *   accepted + Σ rejected = submitsAnswered
 *   forwarded = poolAccepted + poolRejected + poolTimedOut + poolLost (+ pending)
 */
import { AgedTable } from '../upstream/aged-table.js';

export interface ShareCounters {
  submitsReceived: number;
  submitsAnswered: number;
  accepted: number;
  /** By reason: low-difficulty, duplicate, unknown-job, stale-job, bad-params, not-subscribed, unauthorized, overloaded... */
  rejected: Record<string, number>;
  /** Σ difficulty each accepted share was judged at (difficulty-weighted shares). */
  acceptedDifficulty: number;
  /** Accepted shares that also met the pool's target and were sent upstream. */
  forwarded: number;
  poolAccepted: number;
  poolRejected: number;
  poolTimedOut: number;
  /** Forwarded, then the upstream connection closed before it answered. */
  poolLost: number;
  blocks: number;
}

export function emptyCounters(): ShareCounters {
  return {
    submitsReceived: 0, submitsAnswered: 0, accepted: 0, rejected: {}, acceptedDifficulty: 0,
    forwarded: 0, poolAccepted: 0, poolRejected: 0, poolTimedOut: 0, poolLost: 0, blocks: 0,
  };
}

const BUCKET_MS = 10_000;
const BUCKETS = 30; // 5 minutes

/** Difficulty-weighted hashrate over the last 5 minutes: Σdiff·2^32/Δt. */
export class HashrateMeter {
  private readonly sums = new Float64Array(BUCKETS);
  private readonly stamps = new Float64Array(BUCKETS).fill(-1);
  private firstMs = -1;

  add(difficulty: number, nowMs: number): void {
    if (this.firstMs < 0) this.firstMs = nowMs;
    const b = Math.floor(nowMs / BUCKET_MS);
    const i = b % BUCKETS;
    if (this.stamps[i] !== b) {
      this.stamps[i] = b;
      this.sums[i] = 0;
    }
    this.sums[i] = this.sums[i]! + difficulty;
  }

  /** Hashes per second. */
  rate(nowMs: number): number {
    if (this.firstMs < 0) return 0;
    const b = Math.floor(nowMs / BUCKET_MS);
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) if (this.stamps[i]! > b - BUCKETS) sum += this.sums[i]!;
    const spanMs = Math.min(nowMs - this.firstMs, BUCKETS * BUCKET_MS);
    return spanMs <= 0 ? 0 : (sum * 2 ** 32) / (spanMs / 1000);
  }
}

/** The row that collects workers beyond ShareLedger's cap. */
export const OTHER_WORKERS = '(other workers)';

/** A worker's row unused this long (no submit, no answer) is dropped unless its owner keeps it (ShareLedger.prune). */
export const WORKER_ROW_IDLE_MS = 3_600_000;

interface WorkerRow {
  c: ShareCounters;
  meter: HashrateMeter;
  lastShareAtMs: number | null;
}

export interface ShareLedgerOptions {
  /** Distinct worker rows; past it, new names share the OTHER_WORKERS row (default 10,000). */
  maxWorkers?: number;
  /** A row unused this long is dropped by `prune` (default WORKER_ROW_IDLE_MS). */
  maxIdleMs?: number;
  /** Clock for row ages (default Date.now). */
  now?: () => number;
}

export class ShareLedger {
  readonly total = emptyCounters();
  /**
   * Worker names are chosen by miners: bounded by count (past maxWorkers
   * distinct names the rest share one row) and by age (issue 11 item 9: under
   * churn, rows of miners long gone held the table at its cap for good).
   */
  private readonly byWorker: AgedTable<string, WorkerRow>;
  private readonly meter = new HashrateMeter();
  private readonly maxWorkers: number;
  private readonly now: () => number;

  constructor(opts: ShareLedgerOptions | number = {}) {
    const o = typeof opts === 'number' ? { maxWorkers: opts } : opts;
    this.maxWorkers = o.maxWorkers ?? 10_000;
    this.now = o.now ?? Date.now;
    // One more than maxWorkers: room for the OTHER_WORKERS row itself.
    this.byWorker = new AgedTable(this.maxWorkers + 1, o.maxIdleMs ?? WORKER_ROW_IDLE_MS);
  }

  private w(worker: string): WorkerRow {
    const now = this.now();
    let e = this.byWorker.get(worker);
    if (!e && this.byWorker.size >= this.maxWorkers) {
      worker = OTHER_WORKERS;
      e = this.byWorker.get(worker);
    }
    if (!e) {
      e = { c: emptyCounters(), meter: new HashrateMeter(), lastShareAtMs: null };
      this.byWorker.set(worker, e, now);
    } else this.byWorker.touch(worker, now);
    return e;
  }

  /**
   * Drops the rows of workers unused for maxIdleMs, except those `keep`
   * vouches for (connected, or named in the fleet); the totals keep their
   * shares. Returns the rows dropped.
   */
  prune(nowMs: number, keep?: (worker: string) => boolean): number {
    return this.byWorker.prune(nowMs, keep && ((w) => keep(w)));
  }

  /** Worker rows held now. */
  get rows(): number {
    return this.byWorker.size;
  }

  private both(worker: string, f: (c: ShareCounters) => void): void {
    f(this.total);
    f(this.w(worker).c);
  }

  received(worker: string): void {
    this.both(worker, (c) => c.submitsReceived++);
  }

  accepted(worker: string, judgedAt: number, nowMs: number, block: boolean): void {
    this.both(worker, (c) => {
      c.submitsAnswered++;
      c.accepted++;
      c.acceptedDifficulty += judgedAt;
      if (block) c.blocks++;
    });
    const e = this.w(worker);
    e.meter.add(judgedAt, nowMs);
    e.lastShareAtMs = nowMs;
    this.meter.add(judgedAt, nowMs);
  }

  rejected(worker: string, reason: string): void {
    this.both(worker, (c) => {
      c.submitsAnswered++;
      c.rejected[reason] = (c.rejected[reason] ?? 0) + 1;
    });
  }

  forwarded(worker: string): void {
    this.both(worker, (c) => c.forwarded++);
  }

  poolAnswer(worker: string, outcome: 'accepted' | 'rejected' | 'timeout' | 'lost'): void {
    this.both(worker, (c) => {
      if (outcome === 'accepted') c.poolAccepted++;
      else if (outcome === 'rejected') c.poolRejected++;
      else if (outcome === 'timeout') c.poolTimedOut++;
      else c.poolLost++;
    });
  }

  workerNames(): string[] {
    return [...this.byWorker.keys()];
  }

  worker(worker: string, nowMs: number): { counters: ShareCounters; hashesPerSecond: number; lastShareAtMs: number | null } | undefined {
    const e = this.byWorker.get(worker);
    return e && { counters: structuredClone(e.c), hashesPerSecond: e.meter.rate(nowMs), lastShareAtMs: e.lastShareAtMs };
  }

  totals(nowMs: number): { counters: ShareCounters; hashesPerSecond: number } {
    return { counters: structuredClone(this.total), hashesPerSecond: this.meter.rate(nowMs) };
  }
}
