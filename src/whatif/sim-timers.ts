import type { ManualClock, TimerHandle } from '../clock.js';
import type { Timers } from '../scheduler/timers.js';

/**
 * The scheduler's `Timers` on a ManualClock, whose own timers run on simulated
 * time (issue 12 item 6). Kept while the scheduler still takes `Timers`.
 */
export class SimTimers implements Timers {
  constructor(readonly clock: ManualClock) {}

  get fired(): number {
    return this.clock.fired;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.clock.setTimeout(fn, ms);
  }

  clearTimeout(handle: unknown): void {
    this.clock.clearTimeout(handle as TimerHandle | undefined);
  }

  nextAtMs(): number | undefined {
    return this.clock.nextAtMs();
  }

  runUntil(toMs: number): number {
    return this.clock.runUntil(toMs);
  }
}
