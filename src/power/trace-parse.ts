import { InputError } from '../errors.js';

/**
 * Power traces: the `schedule` budget source and `surplus simulate` read the
 * same formats. CSV with a header naming the columns:
 *   minute,kw        minutes from the start, surplus kW
 *   timestamp,kw     ISO 8601 or unix seconds, surplus kW
 *   minute,pv_frac   fraction of the site's PV peak, scaled by `siteKw`
 * or JSON: [{ "t": ISO or minute, "kw": n }] (also "minute"/"timestamp" keys,
 * "pv_frac" instead of "kw"). Every error names the file and the line (CSV)
 * or the element (JSON).
 */

export interface TracePoint {
  /** Relative traces: ms from the trace start; absolute traces: unix ms. */
  tMs: number;
  kw: number;
}

export interface Trace {
  timeBase: 'relative' | 'absolute';
  /** Strictly increasing in time, at least one. */
  points: TracePoint[];
}

export interface TraceOptions {
  /** Scales a `pv_frac` column to kW. */
  siteKw?: number;
}

export type Interpolation = 'step' | 'linear';

const TIME_COLUMNS = ['minute', 'timestamp', 't', 'time'];
const VALUE_COLUMNS = ['kw', 'pv_frac'];

function parseTime(raw: string | number, column: string, where: string): { tMs: number; absolute: boolean } {
  if (column === 'minute' || (column !== 'timestamp' && typeof raw === 'number')) {
    const m = typeof raw === 'number' ? raw : Number(raw);
    if (raw === '' || !Number.isFinite(m) || m < 0) throw new InputError(`${where}: ${column} must be a number of minutes >= 0, got "${raw}"`);
    return { tMs: m * 60_000, absolute: false };
  }
  if (typeof raw === 'number' || /^\d+(\.\d+)?$/.test(raw)) {
    const s = Number(raw);
    if (!Number.isFinite(s)) throw new InputError(`${where}: ${column} "${raw}" is not a unix time`);
    return { tMs: s * 1000, absolute: true };
  }
  const ms = Date.parse(raw);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(ms)) throw new InputError(`${where}: ${column} must be an ISO 8601 time or unix seconds, got "${raw}"`);
  return { tMs: ms, absolute: true };
}

function parseValue(raw: string | number, column: string, where: string, opts: TraceOptions): number {
  const v = typeof raw === 'number' ? raw : raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new InputError(`${where}: ${column} must be a number >= 0, got "${raw}"`);
  if (column === 'pv_frac') {
    if (v > 1.5) throw new InputError(`${where}: pv_frac must be a fraction of the site peak (0..1.5), got ${v}`);
    return v * opts.siteKw!;
  }
  return v;
}

function finish(points: TracePoint[], absolute: boolean, file: string, whereOf: (i: number) => string): Trace {
  if (points.length === 0) throw new InputError(`${file}: no data rows`);
  for (let i = 1; i < points.length; i++) {
    if (points[i]!.tMs <= points[i - 1]!.tMs) throw new InputError(`${whereOf(i)}: time must increase (previous row is at the same time or later)`);
  }
  return { timeBase: absolute ? 'absolute' : 'relative', points };
}

function needSiteKw(column: string, file: string, opts: TraceOptions): void {
  if (column === 'pv_frac' && !(opts.siteKw !== undefined && opts.siteKw > 0)) {
    throw new InputError(`${file}: column pv_frac needs the site peak in kW (--site-kw KW)`);
  }
}

export function parseTrace(text: string, file: string, opts: TraceOptions = {}): Trace {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return parseJsonTrace(trimmed, file, opts);
  const lines = text.split(/\r?\n/);
  let header: { time: string; value: string; ti: number; vi: number; width: number } | undefined;
  const points: TracePoint[] = [];
  const lineOf: number[] = [];
  let absolute = false;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file} line ${n + 1}`;
    const cells = line.split(',').map((c) => c.trim());
    if (!header) {
      const names = cells.map((c) => c.toLowerCase());
      const ti = names.findIndex((c) => TIME_COLUMNS.includes(c));
      const vi = names.findIndex((c) => VALUE_COLUMNS.includes(c));
      if (ti < 0 || vi < 0) {
        throw new InputError(`${where}: header must name a time column (${TIME_COLUMNS.join(', ')}) and a value column (${VALUE_COLUMNS.join(', ')}), got "${line}"`);
      }
      header = { time: names[ti]!, value: names[vi]!, ti, vi, width: cells.length };
      needSiteKw(header.value, file, opts);
      continue;
    }
    if (cells.length !== header.width) throw new InputError(`${where}: expected ${header.width} columns like the header, got ${cells.length}`);
    const t = parseTime(cells[header.ti]!, header.time, where);
    if (points.length > 0 && t.absolute !== absolute) throw new InputError(`${where}: mixes unix/ISO times and minutes`);
    absolute = t.absolute;
    points.push({ tMs: t.tMs, kw: parseValue(cells[header.vi]!, header.value, where, opts) });
    lineOf.push(n + 1);
  }
  if (!header) throw new InputError(`${file}: empty trace (expected a header such as "minute,kw")`);
  return finish(points, absolute, file, (i) => `${file} line ${lineOf[i]}`);
}

function parseJsonTrace(text: string, file: string, opts: TraceOptions): Trace {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new InputError(`${file}: JSON trace must be an array of { "t": ..., "kw": ... }`);
  const points: TracePoint[] = [];
  let absolute = false;
  data.forEach((row: unknown, i) => {
    const where = `${file} [${i}]`;
    if (!row || typeof row !== 'object' || Array.isArray(row)) throw new InputError(`${where}: must be an object like { "t": 0, "kw": 100 }`);
    const r = row as Record<string, unknown>;
    const time = ['t', 'minute', 'timestamp'].find((k) => k in r);
    const value = VALUE_COLUMNS.find((k) => k in r);
    if (!time || !value) throw new InputError(`${where}: needs a time key (t, minute, timestamp) and a value key (kw, pv_frac)`);
    needSiteKw(value, file, opts);
    const rawT = r[time];
    const rawV = r[value];
    if (typeof rawT !== 'string' && typeof rawT !== 'number') throw new InputError(`${where}.${time}: must be a number of minutes, unix seconds or an ISO time`);
    if (typeof rawV !== 'number') throw new InputError(`${where}.${value}: must be a number >= 0, got ${JSON.stringify(rawV)}`);
    const t = parseTime(rawT, time, `${where}.${time}`);
    if (i > 0 && t.absolute !== absolute) throw new InputError(`${where}.${time}: mixes absolute times and minutes`);
    absolute = t.absolute;
    points.push({ tMs: t.tMs, kw: parseValue(rawV, value, `${where}.${value}`, opts) });
  });
  return finish(points, absolute, file, (i) => `${file} [${i}]`);
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
