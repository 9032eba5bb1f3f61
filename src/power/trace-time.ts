import { MINUTES_BELOW, UNIX_MS_FROM, parseDecimal, type TimeKind } from './budget-units.js';

/**
 * Time cells of schedule files. Our own parser, not `Date.parse`: V8 reads
 * "2026-06-01 10:00" and "2026-06-01T10:00" (no offset) in the process's local
 * zone, so the same file would mean different instants on different hosts.
 * Here a time without an offset is UTC, or wall time in `zone` when given.
 */

export type TimeResult =
  | { ok: true; tMs: number; absolute: boolean; warning?: string }
  | { ok: false; reason: string };

// ISO 8601 / RFC 3339: date, "T" or a space, hh:mm[:ss[.fff]], optional Z / UTC / ±hh[:mm].
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;
// DIN 5008 day.month.year as written by European spreadsheets: unambiguous, unlike d/m/y.
const DOTTED = /^(\d{1,2})\.(\d{1,2})\.(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/;

const ALLOWED = 'an ISO 8601 time (2026-06-01T10:00:00Z, 2026-06-01 10:00+02:00), unix seconds or unix milliseconds';

/** True when `tz` is an IANA zone name this Node.js knows (full ICU ships with Node 20). */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * One time cell. `kind` comes from the column name; `raw` is the cell text or
 * a JSON number. `decimalComma` lets "90,5" be minutes in `;`-separated files.
 */
export function parseTimeCell(raw: string | number, kind: TimeKind, opts: { zone?: WallZone | undefined; decimalComma?: boolean }): TimeResult {
  const text = typeof raw === 'number' ? String(raw) : raw.trim();
  const n = typeof raw === 'number' ? raw : parseDecimal(text, opts.decimalComma);
  if (text === '') return { ok: false, reason: `is empty; expected ${kind === 'minute' ? 'a number of minutes >= 0' : ALLOWED}` };
  if (kind === 'minute') {
    if (!Number.isFinite(n) || n < 0) return { ok: false, reason: `must be a number of minutes >= 0, got "${text}"` };
    return { ok: true, tMs: n * 60_000, absolute: false };
  }
  if (Number.isFinite(n)) {
    if (n < 0) return { ok: false, reason: `must be ${ALLOWED}, got "${text}"` };
    if (kind === 'auto' && n < MINUTES_BELOW) return { ok: true, tMs: n * 60_000, absolute: false };
    return { ok: true, tMs: n >= UNIX_MS_FROM ? Math.round(n) : Math.round(n * 1000), absolute: true };
  }
  return parseDateTime(text, opts.zone);
}

function parseDateTime(text: string, zone: WallZone | undefined): TimeResult {
  let fields: number[];
  let frac = '';
  let offset: string | undefined;
  const iso = ISO.exec(text);
  const dotted = iso ? null : DOTTED.exec(text);
  if (iso) {
    fields = iso.slice(1, 7).map((f) => Number(f ?? 0));
    frac = iso[7] ?? '';
    offset = iso[8];
  } else if (dotted) {
    const [, d, mo, y, h, mi, s] = dotted;
    fields = [y, mo, d, h, mi, s].map((f) => Number(f ?? 0));
  } else {
    return { ok: false, reason: explainBadTime(text) };
  }
  const [y, mo, d, h, mi, s] = fields as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || mi > 59 || s > 59) {
    return { ok: false, reason: `"${text}" is not a valid date and time (month 1-12, day within the month, hh 00-23, mm and ss 00-59)` };
  }
  // Date.UTC treats years 0-99 as 1900+; setUTCFullYear does not.
  const wall = new Date(Date.UTC(2000, mo - 1, d, h, mi, s, Number((frac + '000').slice(0, 3))));
  wall.setUTCFullYear(y);
  const wallMs = wall.getTime();
  if (offset !== undefined) {
    const off = parseOffset(offset);
    if (off === undefined) return { ok: false, reason: `"${text}": offset ${offset} must be Z or +hh:mm within ±14:00` };
    return { ok: true, tMs: wallMs - off, absolute: true };
  }
  if (zone === undefined) return { ok: true, tMs: wallMs, absolute: true };
  return wallTimeIn(wallMs, zone, text);
}

function parseOffset(o: string): number | undefined {
  if (/^(z|utc|gmt)$/i.test(o)) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(o);
  if (!m) return undefined;
  const h = Number(m[2]);
  const mi = Number(m[3] ?? 0);
  if (h > 14 || mi > 59 || h * 60 + mi > 14 * 60) return undefined;
  return (m[1] === '-' ? -1 : 1) * (h * 60 + mi) * 60_000;
}

function explainBadTime(text: string): string {
  if (/^\d{1,2}:\d{2}(:\d{2})?$/.test(text)) return `"${text}" is a time of day without a date; use a full date and time, or minutes from the start in a "minute" column`;
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return `"${text}" is a date without a time of day; write ${text}T00:00:00Z`;
  if (/^\d{1,4}\/\d{1,2}\/\d{1,4}/.test(text)) return `"${text}": day/month order with slashes is ambiguous; use ISO 8601 (2026-06-01T10:00:00Z)`;
  return `must be ${ALLOWED}, got "${text}"`;
}

/**
 * An IANA time zone that wall times are read in, with the formatter that
 * finds its UTC offset (building an Intl.DateTimeFormat costs far more than
 * using one, so it is built once, on first use, and kept here). One per
 * trace being read (TraceReader holds it).
 */
export class WallZone {
  #format: Intl.DateTimeFormat | undefined;

  constructor(readonly name: string) {}

  /** Offset of the zone from UTC at the instant `utcMs`, ms (Berlin in summer: +7,200,000). */
  offsetMs(utcMs: number): number {
    this.#format ??= new Intl.DateTimeFormat('en-US', {
      timeZone: this.name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    const p: Record<string, number> = {};
    for (const part of this.#format.formatToParts(utcMs)) if (part.type !== 'literal') p[part.type] = Number(part.value);
    const asUtc = new Date(Date.UTC(2000, p['month']! - 1, p['day']!, p['hour']! % 24, p['minute']!, p['second']!));
    asUtc.setUTCFullYear(p['year']!);
    return asUtc.getTime() - (utcMs - (((utcMs % 1000) + 1000) % 1000));
  }
}

/**
 * The instant at which clocks in `zone` show `wallMs` (wall time written
 * as if it were UTC). Around a DST change a wall time can occur twice (the
 * earlier is taken, with a warning) or never (an error): offsets in the file
 * remove both doubts.
 */
function wallTimeIn(wallMs: number, zone: WallZone, text: string): TimeResult {
  const DAY = 86_400_000;
  const timeZone = zone.name;
  // The zone's offsets a day either side: every real zone changes offset at most once in two days.
  const candidates = [...new Set([zone.offsetMs(wallMs - DAY), zone.offsetMs(wallMs + DAY)])]
    .map((off) => wallMs - off)
    .filter((u) => zone.offsetMs(u) === wallMs - u)
    .sort((a, b) => a - b);
  const first = candidates[0];
  if (first === undefined) return { ok: false, reason: `"${text}" does not exist in ${timeZone} (skipped by a daylight-saving change); write the offset` };
  if (candidates.length > 1) {
    return { ok: true, tMs: first, absolute: true, warning: `"${text}" occurs twice in ${timeZone} (daylight saving ends); taken as the first, write the offset to choose` };
  }
  return { ok: true, tMs: first, absolute: true };
}
