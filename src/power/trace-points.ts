import { describePeerValue } from '../wire/peer-value.js';
import { InputError } from '../errors.js';
import { MAX_BUDGET_KW, parseDecimal, toKw, type ValueUnit } from './budget-units.js';
import { WallZone } from './trace-time.js';

/** Shared by the CSV and JSON readers: types, value cells, and the final checks. */

export interface TracePoint {
  /** Relative traces: ms from the trace start; absolute traces: unix ms. */
  tMs: number;
  kw: number;
}

export interface Trace {
  timeBase: 'relative' | 'absolute';
  /** Strictly increasing in time, at least one. */
  points: TracePoint[];
  /** What was accepted but changed (negative values, reordering); present only when there is something to say. */
  warnings?: string[];
}

export interface TraceOptions {
  /** Scales a `pv_frac` column to kW. */
  siteKw?: number;
  /** IANA zone for timestamps written without an offset (default: they are UTC). */
  timeZone?: string;
}

/** A point as read, with where it came from, before sorting and checks. */
export interface RawPoint {
  tMs: number;
  absolute: boolean;
  kw: number;
  where: string;
}

/** Per-file state while reading: options plus what to warn about. */
export class TraceReader {
  readonly warnings: string[] = [];
  private negatives = 0;
  private firstNegative = '';

  /** The zone wall times without an offset are read in (`opts.timeZone`), with its formatter; kept for the whole file. */
  readonly zone: WallZone | undefined;

  constructor(
    readonly file: string,
    readonly opts: TraceOptions,
  ) {
    this.zone = opts.timeZone === undefined ? undefined : new WallZone(opts.timeZone);
  }

  /**
   * A value cell (CSV text or a JSON value) in `unit`, as kW >= 0. `label`
   * starts the error messages ("f.csv line 3: kw"); negative values become 0,
   * counted for one warning naming the first (`where`).
   */
  value(raw: unknown, unit: ValueUnit, label: string, where: string, decimalComma = false): number {
    if (raw === null || raw === undefined || (typeof raw === 'string' && raw.trim() === '')) {
      throw new InputError(`${label} is empty; expected a number >= 0`);
    }
    const v = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseDecimal(raw, decimalComma) : NaN;
    if (!Number.isFinite(v)) {
      const hint = typeof raw === 'string' && raw.includes(',') && !decimalComma ? ' (a decimal comma needs ";" or tab as the separator)' : '';
      throw new InputError(`${label} must be a number >= 0, got ${describePeerValue(typeof raw === 'string' ? raw.trim() : raw, 40)}${hint}`);
    }
    if (v <= 0) {
      if (v === 0) return 0; // also -0
      // Net-export meters log import as negative: no surplus then, never a reason to refuse the day.
      if (this.negatives++ === 0) this.firstNegative = `${where} (${v})`;
      return 0;
    }
    if (unit === 'pv_frac') {
      if (v > 1.5) throw new InputError(`${label} must be a fraction of the site peak (0..1.5), got ${v}`);
      return v * this.siteKw();
    }
    const kw = toKw(v, unit);
    if (kw > MAX_BUDGET_KW) {
      throw new InputError(`${label} ${v} is ${kw} kW, above ${MAX_BUDGET_KW} kW (1 GW): if the values are watts, name the column or key "w" or "power_w"`);
    }
    return kw;
  }

  /** Throws unless `--site-kw` (or the demo's equivalent) gave the site peak a `pv_frac` column needs. */
  checkSiteKw(column: string, unit: ValueUnit): void {
    if (unit === 'pv_frac') this.siteKw(column);
  }

  private siteKw(column = 'pv_frac'): number {
    const s = this.opts.siteKw;
    if (s === undefined || !(s > 0)) throw new InputError(`${this.file}: column ${column} needs the site peak in kW (--site-kw KW)`);
    return s;
  }

  /**
   * Sorts by time (files concatenated from several exports are out of order),
   * drops exact repeats, and refuses one time with two different values, or a
   * mix of minutes and absolute times.
   */
  finish(raw: RawPoint[]): Trace {
    if (raw.length === 0) throw new InputError(`${this.file}: no data rows`);
    const first = raw[0]!;
    const mixed = raw.find((p) => p.absolute !== first.absolute);
    if (mixed) {
      throw new InputError(`${mixed.where}: mixes ${mixed.absolute ? 'absolute times' : 'minutes'} with the ${first.absolute ? 'absolute times' : 'minutes'} of ${first.where}; use one kind per file`);
    }
    const sorted = raw.map((p, i) => ({ p, i })).sort((a, b) => a.p.tMs - b.p.tMs || a.i - b.i);
    if (sorted.some((s, k) => s.i !== k)) this.warnings.push(`${this.file}: rows are not in time order; they were sorted`);
    const points: TracePoint[] = [];
    let prev: RawPoint | undefined;
    let repeats = 0;
    for (const { p } of sorted) {
      if (prev && p.tMs === prev.tMs) {
        if (p.kw !== prev.kw) {
          // Local wall times repeat for an hour when daylight saving ends; only an offset tells them apart.
          const dst = this.opts.timeZone !== undefined && p.absolute ? `; if these are the repeated hour at the end of daylight saving in ${this.opts.timeZone}, write the offsets` : '';
          throw new InputError(`${p.where}: ${describeTime(p)} appears twice (also ${prev.where}) with different values (${prev.kw} and ${p.kw} kW); each time may appear once${dst}`);
        }
        repeats++;
        continue;
      }
      points.push({ tMs: p.tMs, kw: p.kw });
      prev = p;
    }
    if (repeats > 0) this.warnings.push(`${this.file}: ${repeats} row${repeats > 1 ? 's' : ''} repeat${repeats > 1 ? '' : 's'} an earlier time with the same value; ignored`);
    if (this.negatives > 0) {
      this.warnings.push(`${this.file}: ${this.negatives} negative value${this.negatives > 1 ? 's' : ''} taken as 0 kW (a surplus is never below 0); first at ${this.firstNegative}`);
    }
    const trace: Trace = { timeBase: first.absolute ? 'absolute' : 'relative', points };
    if (this.warnings.length > 0) trace.warnings = this.warnings;
    return trace;
  }
}

function describeTime(p: RawPoint): string {
  return p.absolute ? `time ${new Date(p.tMs).toISOString()}` : `minute ${p.tMs / 60_000}`;
}
