/**
 * Tells a hung pool from a slow one (issue 11 item 3): a pool process that
 * stopped keeps its TCP connection open and answers nothing, and the silence
 * watchdog only notices once nothing at all has come for silenceTimeoutS
 * (120 s by default) while the miners are told their shares were accepted.
 * Pure: time comes in as values.
 *
 * The pool owes an answer from the moment it was sent the oldest request
 * still unanswered; any answer (a result or an error, to any request) shows
 * it is alive and restarts the wait from then. Requests that timed out still
 * count until the next answer: a pool that let them all expire is no less
 * hung. Requests a pool may legitimately ignore (mining.configure,
 * mining.extranonce.subscribe) are never given to the detector.
 */

export interface HungVerdict {
  hung: boolean;
  /** Since when the pool owes an answer and has given none (undefined: it owes none). */
  waitingSinceMs: number | undefined;
  /** Requests waiting or expired since the last answer. */
  unanswered: number;
}

export class HungDetector {
  /** Request id → when it was sent; ids are handed out in send order, so the first entry is the oldest. */
  private readonly open = new Map<number, number>();
  private lastAnswerAtMs = Number.NEGATIVE_INFINITY;
  /** Earliest send time of a request that expired since the last answer. */
  private expiredSinceMs: number | undefined;
  private expiredCount = 0;

  constructor(readonly hungAfterMs: number) {}

  sent(id: number, atMs: number): void {
    this.open.set(id, atMs);
  }

  /** The pool answered `id` (any id counts: the pool is alive). */
  answered(id: number, atMs: number): void {
    this.open.delete(id);
    this.lastAnswerAtMs = Math.max(this.lastAnswerAtMs, atMs);
    this.expiredSinceMs = undefined;
    this.expiredCount = 0;
  }

  /** `id` timed out unanswered: it still counts against the pool until the next answer. */
  expired(id: number): void {
    const t = this.open.get(id);
    if (t === undefined) return;
    this.open.delete(id);
    this.expiredSinceMs = this.expiredSinceMs === undefined ? t : Math.min(this.expiredSinceMs, t);
    this.expiredCount++;
  }

  /** `id` was never written or the connection closed: no verdict on the pool either way. */
  forget(id: number): void {
    this.open.delete(id);
  }

  check(nowMs: number): HungVerdict {
    let oldest = this.expiredSinceMs;
    const first = this.open.values().next();
    if (!first.done) oldest = oldest === undefined ? first.value : Math.min(oldest, first.value);
    if (oldest === undefined) return { hung: false, waitingSinceMs: undefined, unanswered: 0 };
    const since = Math.max(oldest, this.lastAnswerAtMs);
    return { hung: nowMs - since >= this.hungAfterMs, waitingSinceMs: since, unanswered: this.open.size + this.expiredCount };
  }
}
