import type { GuardOptions } from '../power/budget-guard.js';
import type { BudgetReading } from '../power/budget-source.js';
import { currentKw, type FleetState } from './fleet-state.js';

/**
 * What the loop remembers of the budget across a start or restart (issue 12
 * item 5, never trip the site): the reading persisted before a restart (used
 * until the source delivers one), the boot hold (until the first reading the
 * guard holds the measured draw for `holdLastS` instead of going straight to
 * the fail-safe), and when a new reading is worth writing to the state file.
 * No I/O and no timers: the Scheduler calls it.
 */
export class BudgetMemory {
  /** The guard options the core judges with; `boot` is set at start and dropped at the first reading. */
  readonly guard: GuardOptions;
  private restored: BudgetReading | undefined;
  private saved: BudgetReading | undefined;

  constructor(
    guard: GuardOptions,
    private readonly fleet: FleetState,
  ) {
    this.guard = { ...guard };
  }

  /** The reading the plan rests on: the source's latest, else the one persisted before a restart. */
  reading(latest: BudgetReading | undefined): BudgetReading | undefined {
    return latest ?? this.restored;
  }

  /** The reading from the state file (restart). */
  restore(r: BudgetReading | undefined): void {
    this.restored = r;
  }

  /** No reading yet at start: hold the devices as they are from `nowMs`. */
  beginHold(nowMs: number): void {
    this.guard.boot = { sinceMs: nowMs, heldKw: this.heldKw() };
  }

  /** True while the boot hold is set (it may already have run out; the guard says). */
  get holding(): boolean {
    return this.guard.boot !== undefined;
  }

  /** A status poll updated the measured draw. */
  refreshHeld(): void {
    if (this.guard.boot) this.guard.boot.heldKw = this.heldKw();
  }

  /**
   * A reading arrived: the hold and the restored reading end. Returns whether it was the
   * first since start, and whether to save it: a lower budget at once (a restart must not
   * resume a higher one), a higher or repeated one at most every `SAVE_MS` (each save
   * writes the whole fleet's state).
   */
  received(r: BudgetReading): { first: boolean; save: boolean } {
    const first = this.guard.boot !== undefined;
    delete this.guard.boot;
    this.restored = undefined;
    const s = this.saved;
    const save = !s || r.kw < s.kw || s.ttlMs !== r.ttlMs || r.atMs - s.atMs >= SAVE_MS;
    if (save) this.saved = r;
    return { first, save };
  }

  /** What the fleet draws as last seen: measured where read, else what the plan counts. */
  private heldKw(): number {
    let kw = 0;
    for (const u of this.fleet.units) kw += u.available && u.measuredKw !== undefined ? u.measuredKw : currentKw(u);
    return kw;
  }
}

/** A reading no lower than the last saved one is written to the state file at most this often, ms. */
const SAVE_MS = 5000;
