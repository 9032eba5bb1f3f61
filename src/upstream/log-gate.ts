/**
 * Rate limit for repeated upstream warnings (a pool refusing connections
 * every backoff step, submits timing out one after another): the first of a
 * kind is logged, then at most one per `everyMs`, carrying how many were
 * suppressed in between. Keyed by pool and cause; the key set is bounded.
 * Pure: time comes in as a value.
 *
 * A local stand-in until the shared limiter of issue 11 item 8
 * (src/observability/log-limiter.ts) lands; the interface is one call.
 */

export interface GateVerdict {
  log: boolean;
  /** Occurrences not logged since the last one that was (attach to the logged line). */
  suppressed: number;
}

interface Slot {
  lastLoggedAtMs: number;
  suppressed: number;
}

export class LogGate {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly everyMs = 60_000,
    private readonly maxKeys = 1000,
  ) {}

  allow(key: string, nowMs: number): GateVerdict {
    const s = this.slots.get(key);
    if (s && nowMs - s.lastLoggedAtMs < this.everyMs) {
      s.suppressed++;
      return { log: false, suppressed: s.suppressed };
    }
    const suppressed = s?.suppressed ?? 0;
    this.slots.delete(key);
    // Oldest key out first: causes carry peer text (an error message), so the set must not grow with it.
    if (this.slots.size >= this.maxKeys) this.slots.delete(this.slots.keys().next().value as string);
    this.slots.set(key, { lastLoggedAtMs: nowMs, suppressed: 0 });
    return { log: true, suppressed };
  }
}
