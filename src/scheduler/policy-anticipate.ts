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
 */

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
 * last two changes were both falls): the slope is the gentler of the two, and
 * once the budget has stood for 1.5 of its update intervals the decline is
 * taken as over.
 */
export function anticipate(h: BudgetHistory, nowMs: number, leadMs: number): Anticipation {
  const none = { kw: h.kw, fallKwPerS: 0, revisitAtMs: Infinity };
  if (!(h.lastStepKw < 0 && h.prevStepKw < 0) || !(h.lastIntervalMs > 0) || !(h.prevIntervalMs > 0) || !(leadMs > 0)) return none;
  if (!(h.midMs > h.anchorMs) || !(h.midKw < h.anchorKw) || !(h.kw <= h.midKw) || !(h.sinceMs > h.anchorMs)) return none;
  const windowRate = (h.anchorKw - h.kw) / (h.sinceMs - h.anchorMs);
  const rate = Math.min(-h.lastStepKw / h.lastIntervalMs, -h.prevStepKw / h.prevIntervalMs, windowRate);
  const interval = h.lastIntervalMs;
  const endMs = h.sinceMs + 1.5 * interval;
  if (nowMs >= endMs) return none;
  const k = Math.floor((nowMs + leadMs - h.sinceMs) / interval);
  const next = h.sinceMs + (k + 1) * interval - leadMs;
  return { kw: h.kw - rate * interval * Math.max(0, k), fallKwPerS: rate * 1000, revisitAtMs: next < endMs ? next : endMs };
}
