/**
 * Time is injected so that pure policy and time-driven loops can be tested with
 * fake clocks and the simulator can run a day in seconds. One clock carries
 * both the time and the timers: a part that waits asks its clock, so a test or
 * `surplus simulate` moves every waiting part together, in time order.
 */

/** What `setTimeout` returns; Node's Timeout has this shape too. */
export interface TimerHandle {
  /** Lets the process exit while this timer is pending (no-op on a manual clock). */
  unref(): TimerHandle;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `fn` once, `ms` from now (negative or non-finite delays mean now). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a pending timer; an undefined, fired or foreign handle is ignored. */
  clearTimeout(handle: TimerHandle | undefined): void;
}

/**
 * Wall time and Node's timers. The global functions are looked up at call time,
 * so vi.useFakeTimers() installed after import still applies.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout | undefined),
};

interface ManualTimer extends TimerHandle {
  atMs: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock the caller moves by hand (tests, `surplus simulate`). Moving it fires
 * every timer due on the way, in time order (ties in the order they were set),
 * with the clock at each timer's time first, as a real event loop would have.
 * A binary heap keeps `setTimeout` and the next-due lookup O(log n): a
 * 5,000-unit simulated day sets hundreds of thousands of command timers.
 */
export class ManualClock implements Clock {
  private readonly heap: ManualTimer[] = [];
  private seq = 0;
  /** Timers fired so far. */
  fired = 0;

  constructor(private t = 0) {}

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = {
      atMs: this.t + Math.max(0, Number.isFinite(ms) ? ms : 0),
      seq: this.seq++,
      fn,
      cancelled: false,
      unref: () => timer,
    };
    this.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle && 'cancelled' in handle) (handle as ManualTimer).cancelled = true;
  }

  /** Moves the clock to `ms`, firing the timers due on the way (a clock never goes back). */
  set(ms: number): void {
    this.runUntil(ms);
  }

  /** Moves the clock forward by `ms`, firing the timers due on the way. */
  advance(ms: number): void {
    this.runUntil(this.t + ms);
  }

  /** Timers still pending. */
  pending(): number {
    this.dropCancelled();
    let n = 0;
    for (const e of this.heap) if (!e.cancelled) n++;
    return n;
  }

  /** When the next live timer is due, or undefined when none is set. */
  nextAtMs(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.atMs;
  }

  /**
   * Fires every timer due at or before `toMs` (including those set by the
   * callbacks), then leaves the clock at `toMs` (or where it was, if later).
   * Returns how many fired.
   */
  runUntil(toMs: number): number {
    let n = 0;
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      if (!top || top.atMs > toMs) break;
      this.pop();
      if (top.atMs > this.t) this.t = top.atMs;
      n++;
      this.fired++;
      top.fn();
    }
    if (toMs > this.t) this.t = toMs;
    return n;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private less(a: ManualTimer, b: ManualTimer): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  private push(e: ManualTimer): void {
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

  private pop(): ManualTimer | undefined {
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
