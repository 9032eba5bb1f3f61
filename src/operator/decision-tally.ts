import type { SchedulerView } from './snapshots.js';

/** The part of a scheduler decision the tally reads (`from`/`to` are "off", "unavailable" or a mode name). */
export interface DecisionLike {
  unitId?: string;
  from: string;
  to: string;
  reason: string;
  atMs: number;
}

/** on, off, mode (a mode change while on), unavailable, recovered. */
export function decisionAction(d: Pick<DecisionLike, 'from' | 'to'>): string {
  if (d.to === 'unavailable') return 'unavailable';
  if (d.from === 'unavailable') return 'recovered';
  if (d.to === 'off') return 'off';
  if (d.from === 'off') return 'on';
  return 'mode';
}

/** Cumulative scheduler decisions by action, fed by the scheduler's decision events. */
export class DecisionTally {
  private readonly counts: Record<string, number> = { on: 0, off: 0, mode: 0, unavailable: 0, recovered: 0 };
  private last: DecisionLike | null = null;
  /** Bounded: the status shows the recent past, the counters the whole run. */
  private readonly recent: DecisionLike[] = [];

  constructor(private readonly keepRecent = 20) {}

  add(d: DecisionLike): void {
    const a = decisionAction(d);
    this.counts[a] = (this.counts[a] ?? 0) + 1;
    this.last = d;
    this.recent.push(d);
    if (this.recent.length > this.keepRecent) this.recent.shift();
  }

  view(): SchedulerView {
    return {
      decisions: { ...this.counts },
      lastDecisionAtMs: this.last?.atMs ?? null,
      lastReason: this.last ? `${this.last.from} -> ${this.last.to}: ${this.last.reason}` : null,
      recent: this.recent.map((d) => ({ unitId: d.unitId ?? '', from: d.from, to: d.to, reason: d.reason, atMs: d.atMs })),
    };
  }
}
