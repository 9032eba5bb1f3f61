import type { ManualClock } from '../clock.js';
import type { Timers } from '../scheduler/timers.js';

/**
 * Timers on simulated time (issue 12 item 6): the live loop's `Timers`
 * backed by a ManualClock, so the scheduler's own re-plans, ticks, guard
 * wake-ups and staggered command timers run in a simulation or a test without
 * waiting for real time. `runUntil(t)` fires everything due up to `t` in time
 * order (ties in the order they were set), moving the clock to each timer's
 * time first, as a real event loop would have.
 *
 * A binary heap keeps `setTimeout` and the next-due lookup O(log n): a
 * 5,000-unit day sets hundreds of thousands of command timers.
 */

interface Entry {
  atMs: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class SimTimers implements Timers {
  private readonly heap: Entry[] = [];
  private seq = 0;
  /** Timers fired so far. */
  fired = 0;

  constructor(readonly clock: ManualClock) {}

  setTimeout(fn: () => void, ms: number): unknown {
    const e: Entry = { atMs: this.clock.now() + Math.max(0, Number.isFinite(ms) ? ms : 0), seq: this.seq++, fn, cancelled: false };
    this.push(e);
    return e;
  }

  clearTimeout(handle: unknown): void {
    if (handle && typeof handle === 'object' && 'cancelled' in handle) (handle as Entry).cancelled = true;
  }

  /** When the next live timer is due, or undefined when none is set. */
  nextAtMs(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.atMs;
  }

  /**
   * Fires every timer due at or before `toMs` (including those set by the
   * callbacks), then leaves the clock at `toMs`. Returns how many fired.
   */
  runUntil(toMs: number): number {
    let n = 0;
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      if (!top || top.atMs > toMs) break;
      this.pop();
      if (top.atMs > this.clock.now()) this.clock.set(top.atMs);
      n++;
      this.fired++;
      top.fn();
    }
    if (toMs > this.clock.now()) this.clock.set(toMs);
    return n;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
