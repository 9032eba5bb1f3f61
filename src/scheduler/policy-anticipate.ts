/**
 * Anticipation on a falling budget (issue 12), pure. A cut takes effect a
 * device lead after the plan (softoff time a whole second at least
 * `softoffDelayS` ahead), so a plan that waits for the draw to exceed the
 * budget overshoots a smoothly falling budget every time it steps. On a steady
 * decline the plan instead aims at the budget expected one lead ahead: the
 * falling slope times the lead, in whole steps of the budget's own update
 * interval (a meter read every second falls a little each second; a one-minute
 * schedule falls once a minute, and the cut for that step goes out a lead
 * before the minute).
 *
 * A decline is steady when the last two changes were falls, the budget fell
 * over the last full window of `WINDOW_MS` and has not risen since; the slope
 * is the gentlest of the last two changes and the fall since that window began. The windows keep a budget that flickers every second
 * (two falls in a row are common there) from being read as a steep decline.
 *
 * Only a decline the sun can make is anticipated: at most `SUN_FALL_PCT_PER_MIN`
 * of the larger of the fleet's capacity and the budget at the window's start.
 * A clear sky takes PV output down by under 1 % of its peak per minute even on
 * trackers (a sine over the day falls at most pi / day length: 0.4 %/min for
 * 12 h); a cloud edge falls 10-45 %/min and stops after a minute or two. Cutting
 * ahead of a cloud edge sheds a further step that usually never comes, and the
 * units shed then sit out their minimum off-time and a cycle: on the synthetic
 * highly variable days that cost 2-3 points of absorption (at 10:40:55 on
 * variable-h, 173 units went off with the budget flat at 2.2 MW). A cloud edge
 * is overshot instead for one device lead, well inside the response deadline.
 */

/** The steepest decline anticipated, percent of the fleet's capacity (or the budget, when larger) per minute. */
export const SUN_FALL_PCT_PER_MIN = 3;

/** Half the span over which a decline must hold, ms. */
export const WINDOW_MS = 120_000;

export interface BudgetHistory {
  /** The budget as it stands and since when. */
  kw: number;
  sinceMs: number;
  /** The last two changes, kW (negative: a fall), and the time each value stood before it changed, ms. */
  lastStepKw: number;
  lastIntervalMs: number;
  prevStepKw: number;
  prevIntervalMs: number;
  /** Budget samples at least WINDOW_MS apart: older, newer. */
  anchorKw: number;
  anchorMs: number;
  midKw: number;
  midMs: number;
}

/** The history after seeing `kw` at `nowMs`. */
export function updateHistory(h: BudgetHistory | undefined, kw: number, nowMs: number): BudgetHistory {
  if (!h) return { kw, sinceMs: nowMs, lastStepKw: 0, lastIntervalMs: 0, prevStepKw: 0, prevIntervalMs: 0, anchorKw: kw, anchorMs: nowMs, midKw: kw, midMs: nowMs };
  const roll = nowMs - h.midMs >= WINDOW_MS;
  if (kw === h.kw && !roll) return h;
  const out: BudgetHistory =
    kw === h.kw ? { ...h } : { ...h, kw, sinceMs: nowMs, lastStepKw: kw - h.kw, lastIntervalMs: Math.max(0, nowMs - h.sinceMs), prevStepKw: h.lastStepKw, prevIntervalMs: h.lastIntervalMs };
  if (roll) {
    out.anchorKw = h.midKw;
    out.anchorMs = h.midMs;
    out.midKw = kw;
    out.midMs = nowMs;
  }
  return out;
}

/**
 * How often the budget brings news, ms: `everyMs`, the shorter of the last two intervals between
 * its changes (a reading equal to the one before it makes one interval look twice as long), and
 * `jitterMs`, how far the longer is from a whole number of the shorter (a repeated reading is no
 * jitter, a late one is). Both 0 until there are two intervals.
 */
export function readingCadence(h: BudgetHistory): { everyMs: number; jitterMs: number } {
  const a = h.lastIntervalMs;
  const b = h.prevIntervalMs;
  if (!(a > 0 && b > 0)) return { everyMs: 0, jitterMs: 0 };
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  return { everyMs: lo, jitterMs: Math.abs(hi - Math.round(hi / lo) * lo) };
}

export interface Anticipation {
  /** Budget to plan for: the current one, or lower on a steady decline. */
  kw: number;
  /** Falling slope used, kW/s (0: none). */
  fallKwPerS: number;
  /** When the anticipated budget next steps down (a re-plan then gives a different answer). */
  revisitAtMs: number;
}

/**
 * The budget expected `leadMs` ahead of `nowMs`. Only on a steady decline (the
 * last two changes were both falls) no steeper than the sun makes for a fleet
 * of `fleetKw` at its top mode: the slope is the gentler of the two, and
 * once the budget has stood for 1.5 of its update intervals the decline is
 * taken as over.
 */
export function anticipate(h: BudgetHistory, nowMs: number, leadMs: number, fleetKw = 0): Anticipation {
  const none = { kw: h.kw, fallKwPerS: 0, revisitAtMs: Infinity };
  if (!(h.lastStepKw < 0 && h.prevStepKw < 0) || !(h.lastIntervalMs > 0) || !(h.prevIntervalMs > 0) || !(leadMs > 0)) return none;
  if (!(h.midMs > h.anchorMs) || !(h.midKw < h.anchorKw) || !(h.kw <= h.midKw) || !(h.sinceMs > h.anchorMs)) return none;
  const windowRate = (h.anchorKw - h.kw) / (h.sinceMs - h.anchorMs);
  const rate = Math.min(-h.lastStepKw / h.lastIntervalMs, -h.prevStepKw / h.prevIntervalMs, windowRate);
  // A cloud edge, not the sun: no anticipation (see the module comment).
  if (rate * 60_000 > (SUN_FALL_PCT_PER_MIN / 100) * Math.max(fleetKw, h.anchorKw)) return none;
  const interval = h.lastIntervalMs;
  const endMs = h.sinceMs + 1.5 * interval;
  if (nowMs >= endMs) return none;
  const k = Math.floor((nowMs + leadMs - h.sinceMs) / interval);
  const next = h.sinceMs + (k + 1) * interval - leadMs;
  return { kw: h.kw - rate * interval * Math.max(0, k), fallKwPerS: rate * 1000, revisitAtMs: next < endMs ? next : endMs };
}
