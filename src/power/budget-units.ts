/**
 * Names and numbers shared by every budget input that is not our own API:
 * schedule files (CSV and JSON columns and keys) and MQTT payloads. Real sites
 * spell the same thing many ways ("Power (kW)", "surplus_kw", "MW"); they all
 * land here, so one table decides what is accepted and what the errors list.
 */

/** Largest budget accepted from any source, kW: a typo guard (1 GW), not a site limit. */
/**
 * Longest validity a sender may ask for (HTTP or MQTT `ttlS`), seconds: one
 * day. A reading that never expires would switch the fail-safe off for good;
 * a sender that means "until further notice" re-sends at least daily.
 */
export const MAX_SENDER_TTL_S = 86_400;

/**
 * Longest look-ahead a sender may attach to a reading (BudgetReading.lowAhead), seconds. It holds
 * switch-ons back for as long as it reaches: a nowcast (a sky camera, a load about to start)
 * reaches minutes; a forecast of hours would keep the fleet off on its error alone.
 */
export const MAX_AHEAD_S = 900;

export const MAX_BUDGET_KW = 1_000_000;

/** How the numbers of a value column or key become kW. */
export type ValueUnit = 'kW' | 'MW' | 'W' | 'pv_frac';

/**
 * How a time column is read. `minute`: minutes from the start (relative trace).
 * `absolute`: ISO 8601 or unix seconds/milliseconds. `auto`: as `absolute`, but
 * a number below {@link MINUTES_BELOW} is minutes (the JSON `"t": 0` form).
 */
export type TimeKind = 'minute' | 'absolute' | 'auto';

const TIME_NAMES: Record<string, TimeKind> = {
  minute: 'minute',
  minutes: 'minute',
  t: 'auto',
  time: 'auto',
  start: 'auto',
  start_time: 'auto',
  period_start: 'auto',
  interval_start: 'auto',
  from: 'auto',
  timestamp: 'absolute',
  timestamp_utc: 'absolute',
  datetime: 'absolute',
  date_time: 'absolute',
  datetime_utc: 'absolute',
  time_utc: 'absolute',
  ts: 'absolute',
  unix: 'absolute',
  epoch: 'absolute',
};

const VALUE_NAMES: Record<string, ValueUnit> = {
  kw: 'kW',
  value: 'kW',
  power_kw: 'kW',
  powerkw: 'kW',
  surplus_kw: 'kW',
  surpluskw: 'kW',
  budget_kw: 'kW',
  available_kw: 'kW',
  export_kw: 'kW',
  kilowatts: 'kW',
  mw: 'MW',
  power_mw: 'MW',
  surplus_mw: 'MW',
  budget_mw: 'MW',
  megawatts: 'MW',
  w: 'W',
  power_w: 'W',
  surplus_w: 'W',
  budget_w: 'W',
  watts: 'W',
  pv_frac: 'pv_frac',
  pv_fraction: 'pv_frac',
};

/** Accepted time column names / keys, for error messages. */
export const TIME_NAME_LIST = Object.keys(TIME_NAMES).join(', ');
/** Accepted value column names / keys, for error messages. */
export const VALUE_NAME_LIST = Object.keys(VALUE_NAMES).join(', ');
/** What else a value column may be called, for error messages (see valueUnitOf). */
export const VALUE_NAME_HINT = 'or a power column that names its unit, such as "AC Power (W)"';

/**
 * Words that make a name ending in a unit a power column: inverter and meter exports name their
 * column "AC Power (W)", "PV output [kW]", "P_AC (kW)", "Active power (MW)". A site's `load`,
 * an irradiance (`W/m2` does not end in a unit) or a temperature never match.
 */
const POWER_WORDS: ReadonlySet<string> = new Set(['power', 'p', 'pac', 'ac', 'pv', 'surplus', 'budget', 'export', 'available', 'generation', 'output', 'production', 'active']);
const UNIT_WORDS: Readonly<Record<string, 'kW' | 'MW' | 'W'>> = { kw: 'kW', mw: 'MW', w: 'W' };

/** Numbers in a time column of kind `auto` below this are minutes: 1e8 min is 190 years, 1e8 s is 1973. */
export const MINUTES_BELOW = 1e8;
/** Unix times at or above this are milliseconds: 1e11 s is the year 5138, 1e11 ms is 1973. */
export const UNIX_MS_FROM = 1e11;

/** "Power (kW)" -> "power_kw", "Surplus [MW]" -> "surplus_mw", "Timestamp" -> "timestamp". */
export function normalizeName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * True for a time column or key whose name says its times are UTC
 * ("Timestamp (UTC)", timestamp_utc, date_utc): `budget.timezone` is for
 * times written without any offset, and must not shift these.
 */
export function namesUtc(name: string): boolean {
  return /(?:^|_)utc$/.test(normalizeName(name));
}

export function timeKindOf(name: string): TimeKind | undefined {
  return TIME_NAMES[normalizeName(name)];
}

/**
 * The unit of a value column or key: one of VALUE_NAMES, else a name whose last word is a
 * unit and whose other words name power ("AC Power (W)" -> ac_power_w -> W), so an inverter's
 * own export is read as it is. Two such columns in one header are an error (trace-csv.ts).
 */
export function valueUnitOf(name: string): ValueUnit | undefined {
  const n = normalizeName(name);
  const exact = VALUE_NAMES[n];
  if (exact !== undefined) return exact;
  const words = n.split('_');
  const unit = UNIT_WORDS[words[words.length - 1]!];
  return unit !== undefined && words.length > 1 && words.slice(0, -1).some((w) => POWER_WORDS.has(w)) ? unit : undefined;
}

/** The `unit` field of a JSON point or MQTT payload; case-insensitive. */
export function parseUnit(raw: unknown): 'kW' | 'MW' | 'W' | undefined {
  if (typeof raw !== 'string') return undefined;
  const u = raw.trim().toLowerCase();
  return u === 'kw' ? 'kW' : u === 'mw' ? 'MW' : u === 'w' ? 'W' : undefined;
}

/** `v` in `unit`, as kW. Scaled values are rounded to the milliwatt so 0.3 MW is 300 kW, not 300.00000000000006. */
export function toKw(v: number, unit: 'kW' | 'MW' | 'W'): number {
  if (unit === 'kW') return v;
  const kw = unit === 'MW' ? v * 1000 : v / 1000;
  return Math.round(kw * 1e6) / 1e6;
}

const DECIMAL = /^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A decimal number as text: digits, one optional decimal point, optional
 * exponent. With `decimalComma` the point may be a comma (European exports).
 * No thousands separators, no hex, no "Infinity": NaN for anything else.
 */
export function parseDecimal(text: string, decimalComma = false): number {
  const s = text.trim();
  if (!DECIMAL.test(s)) return NaN;
  if (s.includes(',')) return decimalComma ? Number(s.replace(',', '.')) : NaN;
  return Number(s);
}
