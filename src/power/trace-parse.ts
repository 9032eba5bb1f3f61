import { parseCsvTrace } from './trace-csv.js';
import { parseJsonTrace } from './trace-json.js';
import type { Trace, TraceOptions, TracePoint } from './trace-points.js';

export type { Trace, TraceOptions, TracePoint } from './trace-points.js';

/**
 * Power traces: the `schedule` budget source, `surplus simulate` and the demo
 * read the same formats (README, "Budget sources", lists them all):
 *  - CSV (trace-csv.ts): a header naming a time column (minute, timestamp,
 *    time, datetime, ...) and a value column (kw, power_kw, MW, W, pv_frac,
 *    ...), any case, or no header and rows of time,kW; `,` `;` or tab.
 *  - JSON (trace-json.ts): [{ "t": ..., "kw": ... }], { "points": [...] }, [[t, kW], ...].
 * Times: minutes from the start, ISO 8601 (no offset: UTC, or `timeZone`),
 * unix seconds or milliseconds. Rows are sorted; one time with two values,
 * NaN or empty cells are errors naming the line (CSV) or element (JSON);
 * negative values are taken as 0 with a warning.
 */

export type Interpolation = 'step' | 'linear';

export function parseTrace(text: string, file: string, opts: TraceOptions = {}): Trace {
  const body = text.replace(/^\uFEFF/, '').trimStart();
  if (body.startsWith('[') || body.startsWith('{')) return parseJsonTrace(body, file, opts);
  return parseCsvTrace(text, file, opts);
}

/** Value at `tMs` (same time base as the points); undefined before the first point. Holds the last value after the end. */
export function traceValueAt(points: readonly TracePoint[], tMs: number, interpolation: Interpolation): number | undefined {
  if (points.length === 0 || tMs < points[0]!.tMs) return undefined;
  let lo = 0;
  let hi = points.length - 1;
  if (tMs >= points[hi]!.tMs) return points[hi]!.kw;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (points[mid]!.tMs <= tMs) lo = mid;
    else hi = mid;
  }
  const a = points[lo]!;
  if (interpolation === 'step') return a.kw;
  const b = points[hi]!;
  return a.kw + ((b.kw - a.kw) * (tMs - a.tMs)) / (b.tMs - a.tMs);
}

/** Length of a trace when looped: first to last point plus one more interval (the last value's own span). */
export function traceSpanMs(points: readonly TracePoint[]): number {
  if (points.length < 2) return 60_000;
  const last = points[points.length - 1]!.tMs;
  const interval = last - points[points.length - 2]!.tMs;
  return last - points[0]!.tMs + interval;
}
