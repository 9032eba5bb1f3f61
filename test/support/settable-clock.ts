import { systemClock, type Clock } from '../../src/clock.js';

/** Real time and timers, except while a test pins `fixedMs` (to back-fill history, say). */
export class SettableClock implements Clock {
  fixedMs: number | null = null;
  readonly setTimeout = systemClock.setTimeout;
  readonly clearTimeout = systemClock.clearTimeout;
  now(): number {
    return this.fixedMs ?? Date.now();
  }
}
