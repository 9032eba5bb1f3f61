/**
 * The budget level that has been sustained, pure (issue 12: on/off follows the
 * sustained trend). A switch-on pays only if the surplus lasts well beyond the
 * unit's ramp; the hold before one used to ask only that the budget had stood
 * *above* what runs since some time, so a budget that sat a few kW above the
 * running units for minutes and then spiked for one minute (a sun-break
 * between clouds) switched on units for the whole spike, all of which the next
 * minute shed again: a cycle each for half a minute of hashing. Here a unit
 * may go on only into the room the budget has offered for its whole hold: the
 * minimum of the budget over the last `holdMs`.
 *
 * Kept as a monotone queue of the budget's steps: a later, lower value makes
 * every earlier higher one irrelevant to any window that reaches back to it,
 * so the queue rises from front to back and stays short.
 */

export interface SustainedSteps {
  /** When each kept value stopped standing (Infinity for the current one), ascending. */
  readonly endMs: readonly number[];
  /** The kept values, ascending. */
  readonly kw: readonly number[];
}

/** The queue after the budget reads `kw` at `nowMs`; entries older than `keepMs` are dropped. */
export function updateSustained(s: SustainedSteps | undefined, kw: number, nowMs: number, keepMs: number): SustainedSteps {
  const n = s?.kw.length ?? 0;
  if (s && n > 0 && s.kw[n - 1] === kw && (n === 1 || s.endMs[0]! > nowMs - keepMs)) return s;
  const endMs = s ? s.endMs.slice() : [];
  const kws = s ? s.kw.slice() : [];
  if (endMs.length > 0 && kws[kws.length - 1] !== kw) endMs[endMs.length - 1] = nowMs;
  if (kws.length > 0 && kws[kws.length - 1] === kw) {
    // unchanged value: only the pruning below
  } else {
    while (kws.length > 0 && kws[kws.length - 1]! >= kw) {
      kws.pop();
      endMs.pop();
    }
    kws.push(kw);
    endMs.push(Infinity);
  }
  let drop = 0;
  while (drop < endMs.length - 1 && endMs[drop]! <= nowMs - keepMs) drop++;
  return drop > 0 ? { endMs: endMs.slice(drop), kw: kws.slice(drop) } : { endMs, kw: kws };
}

/**
 * The lowest budget over the last `windowMs` up to `nowMs`, and when that
 * figure can next rise (the time its lowest value leaves the window).
 */
export function sustainedKw(s: SustainedSteps, nowMs: number, windowMs: number): { kw: number; risesAtMs: number } {
  const lo = sustainedStep(s, nowMs, windowMs);
  if (lo >= 0) return { kw: s.kw[lo]!, risesAtMs: s.endMs[lo]! + windowMs };
  return { kw: -Infinity, risesAtMs: Infinity };
}

/**
 * sustainedKw without the object: the index of the step it reports (its `kw`, and its
 * `endMs` + `windowMs` when the figure rises), -1 when none (the plan asks this once per paced
 * unit, thousands of times a plan, where an object each was most of what a plan allocated:
 * issue 12 item 10).
 */
export function sustainedStep(s: SustainedSteps, nowMs: number, windowMs: number): number {
  const from = nowMs - windowMs;
  // The first step still standing after `from`: `endMs` ascends, so a binary search finds it.
  const end = s.endMs;
  let lo = 0;
  let hi = end.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (end[mid]! > from) hi = mid;
    else lo = mid + 1;
  }
  return lo < end.length ? lo : -1;
}
