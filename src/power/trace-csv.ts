import { InputError } from '../errors.js';
import { TIME_NAME_LIST, VALUE_NAME_HINT, VALUE_NAME_LIST, namesUtc, normalizeName, parseDecimal, parseUnit, timeKindOf, valueUnitOf, type TimeKind, type ValueUnit } from './budget-units.js';
import { TraceReader, type RawPoint, type Trace, type TraceOptions } from './trace-points.js';
import { parseTimeCell } from './trace-time.js';

/**
 * CSV schedules as sites and utilities export them (RFC 4180 quoting, plus the
 * spreadsheet habits): `,` `;` or tab as the separator (found on the first
 * row), a decimal comma when the separator is not a comma, BOM, CRLF, `#`
 * comments, blank or separator-only lines, a header row or none, and the
 * date and the time of day in two columns ("date;time;kw").
 */

interface Columns {
  ti: number;
  /** A separate date column ("date,time,kw" exports): its cell is written before the time cell. */
  di?: number;
  vi: number;
  /** A `unit` column (kW, MW or W per row): for a `value` column; it must agree with a column that names its unit. */
  ui?: number;
  timeName: string;
  valueName: string;
  kind: TimeKind;
  unit: ValueUnit;
  width: number;
  /** The time (or date) column's name says UTC: `budget.timezone` does not apply to it. */
  utc: boolean;
}

interface Row {
  cells: string[];
  quoted: boolean[];
}

/** The separator of the first content row: tab, else `;`, else `,` (a `;` file may hold decimal commas, not the reverse). */
function detectSeparator(line: string): string {
  let inQuotes = false;
  const seen = new Set<string>();
  for (const ch of line) {
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (ch === '\t' || ch === ';' || ch === ',')) seen.add(ch);
  }
  return seen.has('\t') ? '\t' : seen.has(';') ? ';' : ',';
}

/** One line into cells; a quoted cell may hold the separator and `""` for a quote. Throws InputError naming the line. */
function splitLine(line: string, sep: string, where: string): Row {
  const cells: string[] = [];
  const quoted: boolean[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ') i++;
    if (line[i] === '"') {
      let cell = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new InputError(`${where}: a quoted field is not closed (a quote inside a field is written "")`);
        cell += line.slice(i, q);
        if (line[q + 1] === '"') {
          cell += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      while (line[i] === ' ') i++;
      if (i < line.length && line[i] !== sep) throw new InputError(`${where}: text after a closing quote; expected the separator "${sep === '\t' ? '\\t' : sep}"`);
      cells.push(cell.trim());
      quoted.push(true);
    } else {
      const end = line.indexOf(sep, i);
      cells.push(line.slice(i, end < 0 ? line.length : end).trim());
      quoted.push(false);
      i = end < 0 ? line.length : end;
    }
    if (i >= line.length) break;
    i++; // the separator
  }
  return { cells, quoted };
}

/** Cells up to the last non-empty one: spreadsheets pad rows with empty trailing cells. */
function significant(row: Row): number {
  let n = row.cells.length;
  while (n > 1 && row.cells[n - 1] === '' && !row.quoted[n - 1]) n--;
  return n;
}

function headerColumns(row: Row, line: string, where: string): Columns | undefined {
  const times = row.cells.flatMap((c, i) => (timeKindOf(c) ? [i] : []));
  const values = row.cells.flatMap((c, i) => (valueUnitOf(c) ? [i] : []));
  const di = row.cells.findIndex((c) => DATE_NAMES.has(normalizeName(c)));
  if (times.length === 0 && values.length === 0) return undefined;
  if (times.length > 1) throw new InputError(`${where}: header has ${times.length} time columns (${times.map((i) => row.cells[i]).join(', ')}); keep one`);
  if (values.length > 1) throw new InputError(`${where}: header has ${values.length} value columns (${values.map((i) => row.cells[i]).join(', ')}); keep one`);
  // A lone "Date" column usually holds the full date and time.
  const ti = times[0] ?? (di >= 0 ? di : undefined);
  const vi = values[0];
  if (ti === undefined || vi === undefined) throw new InputError(headerMessage(where, line));
  const timeName = row.cells[ti]!;
  const valueName = row.cells[vi]!;
  const cols: Columns = { ti, vi, timeName, valueName, kind: timeKindOf(timeName) ?? 'absolute', unit: valueUnitOf(valueName)!, width: significant(row), utc: namesUtc(timeName) };
  const ui = row.cells.findIndex((c) => ['unit', 'units'].includes(normalizeName(c)));
  if (ui >= 0) cols.ui = ui;
  if (di >= 0 && di !== ti && cols.kind === 'auto') {
    // "date;time;kw": the time column holds the time of day.
    cols.di = di;
    cols.kind = 'absolute';
    cols.timeName = `${row.cells[di]} ${timeName}`;
    cols.utc ||= namesUtc(row.cells[di]!);
  }
  return cols;
}

function headerMessage(where: string, line: string): string {
  return `${where}: header must name a time column (${TIME_NAME_LIST}; or date, alone or beside a time of day) and a value column (${VALUE_NAME_LIST}, ${VALUE_NAME_HINT}, any case), got "${line}"; without a header each row is time,kW`;
}

/** No header: two cells, a time and a number (kW). */
function headerless(row: Row, decimalComma: boolean): Columns | undefined {
  if (significant(row) !== 2) return undefined;
  const t = parseTimeCell(row.cells[0]!, 'auto', { decimalComma });
  if (!t.ok || !Number.isFinite(parseDecimal(row.cells[1]!, decimalComma || row.quoted[1]))) return undefined;
  return { ti: 0, vi: 1, timeName: 'column 1 (time)', valueName: 'column 2 (kW)', kind: 'auto', unit: 'kW', width: 2, utc: false };
}

/** Date columns that pair with a time-of-day column. */
const DATE_NAMES: ReadonlySet<string> = new Set(['date', 'day', 'date_utc']);

/** The unit cell of a row; a value read in the wrong unit would be off by 1000, so anything unclear is an error. */
function rowUnit(cell: string, cols: Columns, where: string): ValueUnit {
  const u = parseUnit(cell);
  if (!u) throw new InputError(`${where}: unit must be "kW", "MW" or "W", got "${cell}"`);
  if (normalizeName(cols.valueName) === 'value') return u;
  if (u !== cols.unit) throw new InputError(`${where}: unit "${cell}" contradicts the column ${cols.valueName} (${cols.unit}); use a "value" column with a unit column, or a column that names it`);
  return u;
}

const isBlank = (line: string): boolean => /^[\s,;"]*$/.test(line);
const isComment = (line: string): boolean => line.trimStart().startsWith('#');

export function parseCsvTrace(text: string, file: string, opts: TraceOptions): Trace {
  const reader = new TraceReader(file, opts);
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  let sep = ',';
  let decimalComma = false;
  let cols: Columns | undefined;
  const raw: RawPoint[] = [];
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (isBlank(line) || isComment(line)) continue;
    const where = `${file} line ${n + 1}`;
    if (!cols) {
      sep = detectSeparator(line);
      decimalComma = sep !== ',';
      const row = splitLine(line, sep, where);
      cols = headerColumns(row, line.trim(), where);
      if (cols) {
        reader.checkSiteKw(cols.valueName, cols.unit);
        continue;
      }
      cols = headerless(row, decimalComma);
      if (!cols) throw new InputError(headerMessage(where, line.trim()));
    }
    const row = splitLine(line, sep, where);
    const width = significant(row);
    if (width > cols.width || row.cells.length <= Math.max(cols.ti, cols.vi, cols.di ?? 0, cols.ui ?? 0)) {
      const hint = width > cols.width && sep === ',' ? ' (a decimal comma needs ";" or tab as the separator)' : '';
      throw new InputError(`${where}: expected ${cols.width} columns like the header, got ${width}${hint}`);
    }
    const timeCell = cols.di === undefined ? row.cells[cols.ti]! : `${row.cells[cols.di]} ${row.cells[cols.ti]}`.trim();
    const t = parseTimeCell(timeCell, cols.kind, { zone: cols.utc ? undefined : reader.zone, decimalComma: decimalComma || row.quoted[cols.ti]! });
    if (!t.ok) throw new InputError(`${where}: ${cols.timeName} ${t.reason}`);
    if (t.warning) reader.warnings.push(`${where}: ${t.warning}`);
    const unit = cols.ui === undefined ? cols.unit : rowUnit(row.cells[cols.ui]!, cols, where);
    const kw = reader.value(row.cells[cols.vi], unit, `${where}: ${cols.valueName}`, where, decimalComma || row.quoted[cols.vi]!);
    raw.push({ tMs: t.tMs, absolute: t.absolute, kw, where });
  }
  if (!cols) throw new InputError(`${file}: empty trace (expected a header such as "minute,kw" or "timestamp,kw", or rows of time,kW)`);
  return reader.finish(raw);
}
