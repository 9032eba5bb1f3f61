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

  constructor(units: number) {
    this.cycles = new Int32Array(units);
    this.modes = new Int32Array(units);
  }

  add(index: number, action: 'off' | 'on' | 'mode'): void {
    if (index < 0 || index >= this.cycles.length) return;
    if (action === 'off') this.cycles[index]!++;
    else if (action === 'mode') this.modes[index]!++;
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
