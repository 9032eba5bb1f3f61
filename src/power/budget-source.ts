import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';

/**
 * One interface for every budget source (issue 4): static config, HTTP PUT,
 * a schedule file, MQTT. The scheduler only sees readings; how fresh they must
 * be is the reading's own `ttlMs`, judged by the pure budget guard.
 */

/** Surplus power available to the fleet, as told by a source. Frozen. */
export interface BudgetReading {
  /** Surplus power, kW (>= 0). */
  readonly kw: number;
  /** When the source produced it, ms on the injected clock. */
  readonly atMs: number;
  /** Valid for this long after `atMs`; then the guard holds it, then falls back. Infinity: never expires. */
  readonly ttlMs: number;
  /** `BudgetSource.name` of the producer. */
  readonly source: string;
  /**
   * The lowest budget the sender expects from now until `untilMs` (a nowcast: a sky camera, an
   * EMS that knows a load is about to start). The plan switches no unit on into room that is
   * about to go (policy.ts); it never raises anything. Absent: no look-ahead.
   */
  readonly lowAhead?: LowAhead;
}

/** A reading's look-ahead (BudgetReading.lowAhead). */
export interface LowAhead {
  /** kW, at most the reading's `kw`. */
  readonly kw: number;
  /** ms on the injected clock. */
  readonly untilMs: number;
}

/** What a sender's look-ahead covers: its lowest budget, kW, over the next `forS` seconds. */
export interface AheadInput {
  kw: number;
  forS: number;
}

export interface BudgetSourceEvents {
  reading: [BudgetReading];
}

export interface BudgetSource {
  /** "static", "http", "schedule" or "mqtt" (plus detail for logs). */
  readonly name: string;
  start(): Promise<void>;
  /** Idempotent; no readings are emitted after it resolves. */
  stop(): Promise<void>;
  latest(): BudgetReading | undefined;
  on(event: 'reading', listener: (r: BudgetReading) => void): this;
  off(event: 'reading', listener: (r: BudgetReading) => void): this;
}

/** Shared plumbing: freezing, the latest value, and silence after stop. */
export abstract class BaseBudgetSource extends EventEmitter<BudgetSourceEvents> implements BudgetSource {
  abstract readonly name: string;
  private last: BudgetReading | undefined;
  protected running = false;

  constructor(protected readonly clock: Clock) {
    super();
  }

  latest(): BudgetReading | undefined {
    return this.last;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.onStart();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.onStop();
  }

  protected abstract onStart(): Promise<void>;
  protected abstract onStop(): Promise<void>;

  /** Records and emits a reading stamped with the clock; ignored once stopped. */
  protected publish(kw: number, ttlMs: number, ahead?: AheadInput): BudgetReading | undefined {
    if (!this.running) return undefined;
    const atMs = this.clock.now();
    const r: BudgetReading = Object.freeze(
      ahead ? { kw, atMs, ttlMs, source: this.name, lowAhead: Object.freeze({ kw: Math.min(kw, ahead.kw), untilMs: atMs + ahead.forS * 1000 }) } : { kw, atMs, ttlMs, source: this.name },
    );
    this.last = r;
    this.emit('reading', r);
    return r;
  }
}
