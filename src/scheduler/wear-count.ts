/**
 * Wear as the live loop spends it (issue 12 item 7): on -> off cycles and
 * mode changes per unit since start, from the commands the loop issues for
 * a plan (re-assertions of a state after a restart are not wear).
 */
export interface WearFigures {
  cyclesPerUnit: { mean: number; p95: number; max: number };
  modeChangesPerUnit: { mean: number; max: number };
}

export class WearCount {
  private readonly cycles: Int32Array;
  private readonly modes: Int32Array;

  /** Whether each unit's last on/off command was an on (a softon reached it). */
  private readonly on: Uint8Array;

  /** `onAtStart`: the units running when counting starts (their first off ends a cycle). */
  constructor(units: number, onAtStart?: readonly boolean[]) {
    this.cycles = new Int32Array(units);
    this.modes = new Int32Array(units);
    this.on = new Uint8Array(units);
    if (onAtStart) for (let i = 0; i < units; i++) this.on[i] = onAtStart[i] ? 1 : 0;
  }

  /**
   * Counts one issued command; true when it ended a cycle. An off counts only
   * after an on: a softon superseded by an off before its issue time never
   * reached the device, and the off that replaces it (sent all the same, to be
   * safe) ends no cycle. Counting every off put 13 cycles against a budget of
   * 12 on instant-mode variable-d/e, where the wear budget had rightly not
   * charged the superseded softon.
   */
  add(index: number, action: 'off' | 'on' | 'mode'): boolean {
    if (index < 0 || index >= this.cycles.length) return false;
    if (action === 'off') {
      const ended = this.on[index] === 1;
      this.on[index] = 0;
      if (ended) this.cycles[index]!++;
      return ended;
    }
    if (action === 'on') this.on[index] = 1;
    else this.modes[index]!++;
    return false;
  }

  figures(): WearFigures {
    const c = stats(this.cycles);
    const m = stats(this.modes);
    return { cyclesPerUnit: c, modeChangesPerUnit: { mean: m.mean, max: m.max } };
  }
}

function stats(a: Int32Array): { mean: number; p95: number; max: number } {
  if (a.length === 0) return { mean: 0, p95: 0, max: 0 };
  const sorted = Int32Array.from(a).sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  return { mean: sum / sorted.length, p95: sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]!, max: sorted[sorted.length - 1]! };
}
