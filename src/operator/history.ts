import { InputError } from '../errors.js';

/** One point of the dashboard's time series. Share counts are cumulative; the page derives rates. */
export interface HistoryPoint {
  atMs: number;
  budgetKw: number;
  plannedKw: number;
  measuredKw: number;
  hashrateThs: number;
  sharesAccepted: number;
  sharesRejected: number;
}

/**
 * A fixed-capacity ring of history points: memory is bounded whatever the
 * uptime, and the oldest point is overwritten first.
 */
export class HistoryRing {
  private readonly buf: Array<HistoryPoint | undefined>;
  private next = 0;
  private size = 0;

  constructor(readonly capacity = 900) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new InputError(`history capacity must be an integer >= 1, got ${capacity}`);
    this.buf = new Array<HistoryPoint | undefined>(capacity);
  }

  push(p: HistoryPoint): void {
    this.buf[this.next] = p;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size += 1;
  }

  get length(): number {
    return this.size;
  }

  /** Points oldest first; with `sinceMs`, only those strictly after it (incremental polling). */
  points(sinceMs = -Infinity): HistoryPoint[] {
    const out: HistoryPoint[] = [];
    const start = (this.next - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) {
      const p = this.buf[(start + i) % this.capacity];
      if (p && p.atMs > sinceMs) out.push(p);
    }
    return out;
  }
}
