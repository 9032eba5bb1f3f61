import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ConfigError, InputError } from '../../src/errors.js';
import { guardBudget } from '../../src/power/budget-guard.js';
import { parseBudgetPayload } from '../../src/power/budget-payload.js';
import { HttpBudgetSource, parseBudgetBody } from '../../src/power/http-budget-source.js';
import { ScheduleBudgetSource, type ScheduleOptions } from '../../src/power/schedule-budget-source.js';
import { parseTrace, traceValueAt, type TraceOptions } from '../../src/power/trace-parse.js';
import '../support/fast-check-seed.js';

/**
 * Every input form the budget sources accept, and every refusal with its
 * message (README, "Budget sources"). One row per form: a new publisher or
 * export format is a new row here.
 */

const T = (iso: string): number => Date.parse(iso);
const H10 = T('2026-06-01T10:00:00Z');
const MIN = 60_000;

const pts = (...pairs: [number, number][]) => pairs.map(([tMs, kw]) => ({ tMs, kw }));

describe('CSV schedules: accepted forms', () => {
  it.each<[string, string, TraceOptions, 'relative' | 'absolute', { tMs: number; kw: number }[]]>([
    ['minute,kw', 'minute,kw\n0,10\n1,12.5\n', {}, 'relative', pts([0, 10], [MIN, 12.5])],
    ['column names in any case', 'Minute,KW\n0,10\n', {}, 'relative', pts([0, 10])],
    ['timestamp,kW (ISO, Z)', 'timestamp,kW\n2026-06-01T10:00:00Z,5\n', {}, 'absolute', pts([H10, 5])],
    ['time,power_kw with minutes', 'time,power_kw\n0,1\n15,2\n', {}, 'relative', pts([0, 1], [15 * MIN, 2])],
    ['datetime;surplus_kw with decimal comma', 'datetime;surplus_kw\n2026-06-01 10:00;12,5\n', {}, 'absolute', pts([H10, 12.5])],
    ['tab separated', 'timestamp\tkw\n2026-06-01T10:00:00Z\t7.5\n', {}, 'absolute', pts([H10, 7.5])],
    ['tab separated with decimal comma', 'minute\tkw\n0\t7,5\n', {}, 'relative', pts([0, 7.5])],
    ['MW column scaled x1000', 'timestamp,MW\n2026-06-01T10:00Z,0.3\n', {}, 'absolute', pts([H10, 300])],
    ['mw in lower case', 'minute,mw\n0,1.25\n', {}, 'relative', pts([0, 1250])],
    ['W column scaled /1000', 'timestamp,W\n2026-06-01T10:00Z,12500\n', {}, 'absolute', pts([H10, 12.5])],
    ['power_w', 'minute,power_w\n0,500\n', {}, 'relative', pts([0, 0.5])],
    ['pv_frac scaled by the site peak', 'minute,pv_frac\n0,0.5\n', { siteKw: 4000 }, 'relative', pts([0, 2000])],
    ['an inverter export: a power column that names its unit', 'Timestamp,AC Power (W)\n2026-06-01 10:00,12500\n', {}, 'absolute', pts([H10, 12.5])],
    ['PV output [kW] beside other columns', 'time;Irradiance (W/m2);PV output [kW];Load (kW)\n0;800;4;1\n', {}, 'relative', pts([0, 4])],
    ['P_AC (MW)', 'minute,P_AC (MW)\n0,1.5\n', {}, 'relative', pts([0, 1500])],
    ['spreadsheet headers with units in brackets', 'Timestamp (UTC);Power [kW]\n2026-06-01 10:00;3\n', {}, 'absolute', pts([H10, 3])],
    ['BOM, CRLF, comments, blank and separator-only lines', '\uFEFF# site 7\r\nminute;kw\r\n\r\n;;\r\n# night\r\n0;1\r\n1;2\r\n', {}, 'relative', pts([0, 1], [MIN, 2])],
    ['old Mac CR line ends', 'minute,kw\r0,1\r1,2\r', {}, 'relative', pts([0, 1], [MIN, 2])],
    ['quoted fields', '"timestamp","kw"\n"2026-06-01 10:00:00","12.5"\n', {}, 'absolute', pts([H10, 12.5])],
    ['a quoted decimal comma in a comma file', 'minute,kw\n0,"12,5"\n', {}, 'relative', pts([0, 12.5])],
    ['quotes escaped by doubling', 'minute,kw,note\n0,1,"say ""hi"", twice"\n', {}, 'relative', pts([0, 1])],
    ['unknown extra columns are ignored', 'timestamp,kw,quality\n2026-06-01T10:00Z,4,good\n', {}, 'absolute', pts([H10, 4])],
    ['trailing empty cells (spreadsheet padding)', 'minute;kw;;\n0;4;;\n', {}, 'relative', pts([0, 4])],
    ['a lone Date column with the date and time', 'Date,Value\n2026-06-01 10:00,5\n', {}, 'absolute', pts([H10, 5])],
    ['date and time of day in two columns', 'date;time;kw\n01.06.2026;10:00;5\n2026-06-01;10:15;6\n', {}, 'absolute', pts([H10, 5], [H10 + 15 * MIN, 6])],
    ['date and time of day in local time', 'Date,Time,kW\n2026-06-01,12:00,5\n', { timeZone: 'Europe/Berlin' }, 'absolute', pts([H10, 5])],
    ['a unit column beside value', 'timestamp,value,unit\n2026-06-01T10:00Z,0.5,MW\n2026-06-01T10:15Z,2500,W\n', {}, 'absolute', pts([H10, 500], [H10 + 15 * MIN, 2.5])],
    ['a unit column that agrees with the value column', 'minute,kw,unit\n0,5,kW\n', {}, 'relative', pts([0, 5])],
    ['no header, ISO times', '2026-06-01T10:00:00Z,5\n2026-06-01T10:15:00Z,6\n', {}, 'absolute', pts([H10, 5], [H10 + 15 * MIN, 6])],
    ['no header, minutes', '0,5\n30,6\n', {}, 'relative', pts([0, 5], [30 * MIN, 6])],
    ['no header, ; and decimal comma', '2026-06-01 10:00;5,5\n', {}, 'absolute', pts([H10, 5.5])],
    ['no header, unix seconds', '1780308000,5\n', {}, 'absolute', pts([1_780_308_000_000, 5])],
    ['unix seconds in a timestamp column', 'timestamp,kw\n1780308060,6\n', {}, 'absolute', pts([1_780_308_060_000, 6])],
    ['unix milliseconds', 'timestamp,kw\n1780308060000,6\n', {}, 'absolute', pts([1_780_308_060_000, 6])],
    ['ISO without seconds', 'timestamp,kw\n2026-06-01T10:00Z,1\n', {}, 'absolute', pts([H10, 1])],
    ['ISO with milliseconds', 'timestamp,kw\n2026-06-01T10:00:00.250Z,1\n', {}, 'absolute', pts([H10 + 250, 1])],
    ['ISO with an offset +09:00', 'timestamp,kw\n2026-06-01T19:00:00+09:00,1\n', {}, 'absolute', pts([H10, 1])],
    ['ISO with an offset -0530', 'timestamp,kw\n2026-06-01T04:30:00-0530,1\n', {}, 'absolute', pts([H10, 1])],
    ['ISO with a space and "UTC"', 'timestamp,kw\n2026-06-01 10:00:00 UTC,1\n', {}, 'absolute', pts([H10, 1])],
    ['no offset is UTC, not the host zone', 'timestamp,kw\n2026-06-01T10:00:00,1\n', {}, 'absolute', pts([H10, 1])],
    ['day.month.year (European spreadsheets)', 'datetime;kw\n01.06.2026 10:00;1\n', {}, 'absolute', pts([H10, 1])],
    ['no offset with timeZone: wall time there (CEST)', 'timestamp,kw\n2026-06-01 12:00,1\n', { timeZone: 'Europe/Berlin' }, 'absolute', pts([H10, 1])],
    ['no offset with timeZone: wall time there (CET)', 'timestamp,kw\n2026-01-15 11:00,1\n', { timeZone: 'Europe/Berlin' }, 'absolute', pts([T('2026-01-15T10:00:00Z'), 1])],
    ['an offset in the file wins over timeZone', 'timestamp,kw\n2026-06-01T10:00:00Z,1\n', { timeZone: 'Asia/Tokyo' }, 'absolute', pts([H10, 1])],
    ['timeZone does not touch minutes', 'minute,kw\n5,1\n', { timeZone: 'Asia/Tokyo' }, 'relative', pts([5 * MIN, 1])],
    ['minutes with a decimal comma', 'minute;kw\n0,5;1\n', {}, 'relative', pts([30_000, 1])],
    ['an explicit +sign and exponent', 'minute,kw\n0,+1.5e2\n', {}, 'relative', pts([0, 150])],
  ])('%s', (_, text, opts, timeBase, points) => {
    const t = parseTrace(text, 'f.csv', opts);
    expect(t.timeBase).toBe(timeBase);
    expect(t.points).toEqual(points);
    expect(t.warnings).toBeUndefined();
  });
});

describe('CSV schedules: accepted with a warning', () => {
  it.each<[string, string, { tMs: number; kw: number }[], RegExp]>([
    ['rows out of order are sorted', 'minute,kw\n2,3\n0,1\n1,2\n', pts([0, 1], [MIN, 2], [2 * MIN, 3]), /^f\.csv: rows are not in time order; they were sorted$/],
    ['an exact repeat is dropped', 'minute,kw\n0,1\n1,2\n1,2\n', pts([0, 1], [MIN, 2]), /^f\.csv: 1 row repeats an earlier time with the same value; ignored$/],
    [
      'negative values (a net meter importing) are 0 kW',
      'minute,kw\n0,5\n1,-4\n2,-0.2\n',
      pts([0, 5], [MIN, 0], [2 * MIN, 0]),
      /^f\.csv: 2 negative values taken as 0 kW \(a surplus is never below 0\); first at f\.csv line 3 \(-4\)$/,
    ],
  ])('%s', (_, text, points, warning) => {
    const t = parseTrace(text, 'f.csv');
    expect(t.points).toEqual(points);
    expect(t.warnings).toHaveLength(1);
    expect(t.warnings![0]).toMatch(warning);
  });

  it('takes the first of a wall time that occurs twice (DST ends), and says so', () => {
    const t = parseTrace('timestamp,kw\n2026-10-25 02:30,1\n', 'f.csv', { timeZone: 'Europe/Berlin' });
    expect(t.points).toEqual(pts([T('2026-10-25T00:30:00Z'), 1]));
    expect(t.warnings![0]).toMatch(/^f\.csv line 2: "2026-10-25 02:30" occurs twice in Europe\/Berlin .* write the offset to choose$/);
  });
});

describe('CSV schedules: refused with the line and what is allowed', () => {
  it.each<[string, string, RegExp, TraceOptions?]>([
    ['NaN', 'minute,kw\n0,1\n1,NaN\n', /^f\.csv line 3: kw must be a number >= 0, got "NaN"$/],
    ['an empty value cell', 'minute,kw\n0,1\n1,\n', /^f\.csv line 3: kw is empty; expected a number >= 0$/],
    ['a missing value cell', 'minute,kw\n0,1\n1\n', /^f\.csv line 3: expected 2 columns like the header, got 1$/],
    ['an empty quoted value cell', 'minute,kw\n0,""\n', /^f\.csv line 2: kw is empty; expected a number >= 0$/],
    ['an empty time cell', 'timestamp;kw\n;5\n', /^f\.csv line 2: timestamp is empty; expected an ISO 8601 time/],
    ['Infinity', 'minute,kw\n0,Infinity\n', /^f\.csv line 2: kw must be a number >= 0, got "Infinity"$/],
    ['hex', 'minute,kw\n0,0x10\n', /^f\.csv line 2: kw must be a number >= 0, got "0x10"$/],
    ['thousands separators', 'minute;kw\n0;1.234,5\n', /^f\.csv line 2: kw must be a number >= 0, got "1\.234,5"$/],
    ['a decimal comma in a comma file', 'minute,kw\n0,12,5\n', /^f\.csv line 2: expected 2 columns like the header, got 3 \(a decimal comma needs ";" or tab as the separator\)$/],
    ['an unclosed quote', 'minute,kw\n0,"12\n', /^f\.csv line 2: a quoted field is not closed/],
    ['text after a closing quote', 'minute,kw\n0,"12"x\n', /^f\.csv line 2: text after a closing quote; expected the separator ","$/],
    ['an unknown header', 'time_s,power\n0,1\n', /^f\.csv line 1: header must name a time column \(minute, minutes, t, time, .*; or date, alone or beside a time of day\) and a value column \(kw, value, .*, any case\), got "time_s,power"; without a header each row is time,kW$/],
    ['a header without a value column', 'timestamp,power\n2026-06-01T10:00Z,1\n', /^f\.csv line 1: header must name a time column/],
    ['two value columns', 'timestamp,kw,mw\n2026-06-01T10:00Z,1,2\n', /^f\.csv line 1: header has 2 value columns \(kw, mw\); keep one$/],
    ['two power columns that name units', 'timestamp,AC Power (W),DC Power (W)\n2026-06-01T10:00Z,1,2\n', /^f\.csv line 1: header has 2 value columns \(AC Power \(W\), DC Power \(W\)\); keep one$/],
    ['only a load or an irradiance column', 'timestamp,Load (kW),GHI (W/m2)\n2026-06-01T10:00Z,1,2\n', /^f\.csv line 1: header must name a time column .*, or a power column that names its unit, such as "AC Power \(W\)", any case\), got/],
    ['two time columns', 'minute,timestamp,kw\n0,2026-06-01T10:00Z,1\n', /^f\.csv line 1: header has 2 time columns \(minute, timestamp\); keep one$/],
    ['a headerless row with three cells', '0,1,2\n', /^f\.csv line 1: header must name a time column/],
    ['a lone date column with dates only', 'date,kw\n2026-06-01,1\n', /^f\.csv line 2: date "2026-06-01" is a date without a time of day; write 2026-06-01T00:00:00Z$/],
    ['an impossible time in date;time columns', 'date;time;kw\n2026-06-01;25:00;1\n', /^f\.csv line 2: date time "2026-06-01 25:00" is not a valid date and time/],
    ['an unknown unit in a unit column', 'minute,value,unit\n0,5,kWh\n', /^f\.csv line 2: unit must be "kW", "MW" or "W", got "kWh"$/],
    ['a unit column against the value column', 'minute,kw,unit\n0,5,W\n', /^f\.csv line 2: unit "W" contradicts the column kw \(kW\)/],
    ['a date without a time', 'timestamp,kw\n2026-06-01,1\n', /^f\.csv line 2: timestamp "2026-06-01" is a date without a time of day; write 2026-06-01T00:00:00Z$/],
    ['a time of day without a date', 'time,kw\n10:00,1\n', /^f\.csv line 2: time "10:00" is a time of day without a date; use a full date and time, or minutes/],
    ['slashed dates', 'timestamp,kw\n06/01/2026 10:00,1\n', /^f\.csv line 2: timestamp "06\/01\/2026 10:00": day\/month order with slashes is ambiguous; use ISO 8601/],
    ['an impossible date', 'timestamp,kw\n2026-02-30T10:00Z,1\n', /^f\.csv line 2: timestamp "2026-02-30T10:00Z" is not a valid date and time/],
    ['an offset beyond 14 h', 'timestamp,kw\n2026-06-01T10:00+15:00,1\n', /^f\.csv line 2: timestamp "2026-06-01T10:00\+15:00": offset \+15:00 must be Z or \+hh:mm within ±14:00$/],
    ['an ISO time in a minute column', 'minute,kw\n2026-06-01T10:00Z,1\n', /^f\.csv line 2: minute must be a number of minutes >= 0, got "2026-06-01T10:00Z"$/],
    ['a negative minute', 'minute,kw\n-1,1\n', /^f\.csv line 2: minute must be a number of minutes >= 0, got "-1"$/],
    [
      'one time with two values',
      'timestamp,kw\n2026-06-01T10:00Z,1\n2026-06-01T12:00+02:00,2\n',
      /^f\.csv line 3: time 2026-06-01T10:00:00\.000Z appears twice \(also f\.csv line 2\) with different values \(1 and 2 kW\); each time may appear once$/,
    ],
    ['minutes mixed with timestamps', 'time,kw\n0,1\n2026-06-01T10:00Z,2\n', /^f\.csv line 3: mixes absolute times with the minutes of f\.csv line 2; use one kind per file$/],
    ['a W file labelled kW (1 GW guard)', 'minute,kw\n0,4180000\n', /^f\.csv line 2: kw 4180000 is 4180000 kW, above 1000000 kW \(1 GW\): if the values are watts, name the column or key "w" or "power_w"$/],
    ['pv_frac above 1.5', 'minute,pv_frac\n0,2\n', /^f\.csv line 2: pv_frac must be a fraction of the site peak \(0\.\.1\.5\), got 2$/, { siteKw: 10 }],
    ['pv_frac without the site peak', 'minute,pv_frac\n0,0.5\n', /^f\.csv: column pv_frac needs the site peak in kW \(--site-kw KW\)$/],
    [
      'the repeated hour of a local-time export (DST ends)',
      'timestamp,kw\n2026-10-25 02:00,1\n2026-10-25 02:00,2\n',
      /^f\.csv line 3: time 2026-10-25T00:00:00\.000Z appears twice \(also f\.csv line 2\) .*; if these are the repeated hour at the end of daylight saving in Europe\/Berlin, write the offsets$/,
      { timeZone: 'Europe/Berlin' },
    ],
    ['a wall time that does not exist (DST starts)', 'timestamp,kw\n2026-03-29 02:30,1\n', /^f\.csv line 2: timestamp "2026-03-29 02:30" does not exist in Europe\/Berlin .*; write the offset$/, { timeZone: 'Europe/Berlin' }],
    ['only comments', '# nothing\n\n', /^f\.csv: empty trace/],
    ['a header and no rows', 'minute,kw\n', /^f\.csv: no data rows$/],
  ])('%s', (_, text, message, opts) => {
    expect(() => parseTrace(text, 'f.csv', opts)).toThrow(InputError);
    expect(() => parseTrace(text, 'f.csv', opts)).toThrow(message);
  });
});

describe('JSON schedules', () => {
  it.each<[string, string, TraceOptions, { tMs: number; kw: number }[]]>([
    ['[{ t: minute, kw }]', '[{"t":0,"kw":1},{"t":2,"kw":3}]', {}, pts([0, 1], [2 * MIN, 3])],
    ['{ points: [...] }', '{"points":[{"t":0,"kw":1}]}', {}, pts([0, 1])],
    ['{ data: [...] } with metadata', '{"site":"x","data":[{"t":0,"kw":1}]}', {}, pts([0, 1])],
    ['pairs [[t, kW]]', '[["2026-06-01T10:00:00Z",5],["2026-06-01T10:15:00Z",6]]', {}, pts([H10, 5], [H10 + 15 * MIN, 6])],
    ['pairs with a top-level unit', '{"unit":"MW","points":[[0,1.5]]}', {}, pts([0, 1500])],
    ['time / value', '[{"time":"2026-06-01T10:00Z","value":4}]', {}, pts([H10, 4])],
    ['timestamp (unix s) / power_kw', '[{"timestamp":1780308000,"power_kw":4}]', {}, pts([1_780_308_000_000, 4])],
    ['start (unix ms) / kw', '[{"start":1780308000000,"kw":4}]', {}, pts([1_780_308_000_000, 4])],
    ['value with a unit per point', '[{"t":0,"value":2,"unit":"MW"},{"t":1,"value":500,"unit":"W"}]', {}, pts([0, 2000], [MIN, 0.5])],
    ['a unit that agrees with the key', '[{"t":0,"kw":2,"unit":"kW"}]', {}, pts([0, 2])],
    ['a key in W', '[{"t":0,"w":2500}]', {}, pts([0, 2.5])],
    ['numbers as strings', '[{"t":"0","kw":"2.5"}]', {}, pts([0, 2.5])],
    ['extra keys per point are ignored', '[{"t":0,"kw":1,"end":15,"quality":"ok"}]', {}, pts([0, 1])],
    ['pv_frac', '[{"minute":0,"pv_frac":0.25}]', { siteKw: 400 }, pts([0, 100])],
    ['a BOM before the JSON', '\uFEFF[{"t":0,"kw":1}]', {}, pts([0, 1])],
    ['local time with timeZone', '[{"time":"2026-06-01T19:00","kw":1}]', { timeZone: 'Asia/Tokyo' }, pts([H10, 1])],
  ])('accepts %s', (_, text, opts, points) => {
    expect(parseTrace(text, 'f.json', opts).points).toEqual(points);
  });

  it('takes a negative value as 0 with a warning, and sorts', () => {
    const t = parseTrace('[{"t":1,"kw":-3},{"t":0,"kw":2}]', 'f.json');
    expect(t.points).toEqual(pts([0, 2], [MIN, 0]));
    expect(t.warnings).toEqual(['f.json: rows are not in time order; they were sorted', 'f.json: 1 negative value taken as 0 kW (a surplus is never below 0); first at f.json [0] (-3)']);
  });

  it.each<[string, string, RegExp]>([
    ['not JSON', '[1,', /^f\.json: not valid JSON/],
    ['an object without points', '{"kw":1}', /^f\.json: JSON trace must be an array of points like .* or an object \{ "points": \[\.\.\.\] \}$/],
    ['a scalar element', '[1]', /^f\.json \[0\]: must be an object like \{ "t": 0, "kw": 100 \} or a pair \[t, kW\]$/],
    ['a pair of three', '[[0,1,2]]', /^f\.json \[0\]: a pair must be \[time, kW\], got 3 elements$/],
    ['a null value', '[{"t":0,"kw":null}]', /^f\.json \[0\]\.kw: is empty; expected a number >= 0$/],
    ['a boolean value', '{"points":[{"t":0,"kw":true}]}', /^f\.json points\[0\]\.kw: must be a number >= 0, got true$/],
    ['a non-numeric string', '[{"t":0,"kw":1},{"t":1,"kw":"x"}]', /^f\.json \[1\]\.kw: must be a number >= 0, got "x"$/],
    ['no time key', '[{"kw":1}]', /^f\.json \[0\]: needs a time key \(minute, .*\) and a value key \(kw, .*\)$/],
    ['two value keys', '[{"t":0,"kw":1,"value":2}]', /^f\.json \[0\]: has 2 value keys \(kw, value\); keep one$/],
    ['an object as time', '[{"t":{},"kw":1}]', /^f\.json \[0\]\.t: must be a number of minutes, unix seconds or milliseconds, or an ISO 8601 time, got \{\}$/],
    ['a unknown unit', '[{"t":0,"value":1,"unit":"GW"}]', /^f\.json \[0\]\.unit: must be "kW", "MW" or "W", got "GW"$/],
    ['a unit against the key', '[{"t":0,"kw":1,"unit":"MW"}]', /^f\.json \[0\]\.unit: "MW" contradicts the key kw \(kW\)/],
    ['a bad top-level unit', '{"unit":"kWh","points":[[0,1]]}', /^f\.json: unit must be "kW", "MW" or "W", got "kWh"$/],
    ['one time with two values', '[{"t":0,"kw":1},{"t":0,"kw":2}]', /^f\.json \[1\]: minute 0 appears twice \(also f\.json \[0\]\)/],
    ['an empty array', '[]', /^f\.json: no data rows$/],
  ])('refuses %s', (_, text, message) => {
    expect(() => parseTrace(text, 'f.json')).toThrow(InputError);
    expect(() => parseTrace(text, 'f.json')).toThrow(message);
  });
});

describe('MQTT payloads', () => {
  it.each<[string, string | Buffer, { kw: number; ttlS?: number; negative?: number; ahead?: { kw: number; forS: number } }]>([
    ['a bare number', '12.5', { kw: 12.5 }],
    ['a bare number with spaces and a newline', ' 80 \n', { kw: 80 }],
    ['an exponent', '1e3', { kw: 1000 }],
    ['zero', '0', { kw: 0 }],
    ['a JSON string', '"12.5"', { kw: 12.5 }],
    ['{ kw }', '{"kw": 5}', { kw: 5 }],
    ['{ kw } as a numeric string', '{"kw":"5"}', { kw: 5 }],
    ['{ value } (kW)', '{"value": 7}', { kw: 7 }],
    ['{ value, unit: kW }', '{"value": 7, "unit": "kW"}', { kw: 7 }],
    ['{ value, unit: MW }', '{"value": 2.5, "unit": "MW"}', { kw: 2500 }],
    ['{ value, unit: W }', '{"value": 1500, "unit": "W"}', { kw: 1.5 }],
    ['a unit in any case', '{"value": 1, "unit": "mw"}', { kw: 1000 }],
    ['{ kw, ttlS }', '{"kw": 5, "ttlS": 30}', { kw: 5, ttlS: 30 }],
    ['{ power_kw, timestamp } (timestamp ignored)', '{"power_kw": 3, "timestamp": "2026-06-01T10:00:00Z"}', { kw: 3 }],
    ['{ mw }', '{"mw": 0.3}', { kw: 300 }],
    ['a BOM', Buffer.from('\uFEFF42'), { kw: 42 }],
    ['a negative number (a meter importing): 0 kW', '-2', { kw: 0, negative: -2 }],
    ['a negative in W', '{"value": -500, "unit": "W"}', { kw: 0, negative: -500 }],
    ['a look-ahead in kW', '{"kw": 4200, "lowAhead": 3400, "aheadS": 120}', { kw: 4200, ahead: { kw: 3400, forS: 120 } }],
    ['a look-ahead in the unit of the value', '{"value": 4.2, "unit": "MW", "lowAhead": "3.4", "aheadS": "60"}', { kw: 4200, ahead: { kw: 3400, forS: 60 } }],
    ['a look-ahead equal to the value', '{"mw": 2, "lowAhead": 2, "aheadS": 900}', { kw: 2000, ahead: { kw: 2000, forS: 900 } }],
    ['a look-ahead below zero (import expected): 0 kW', '{"kw": 5, "lowAhead": -3, "aheadS": 30}', { kw: 5, ahead: { kw: 0, forS: 30 } }],
  ])('accepts %s', (_, payload, expected) => {
    expect(parseBudgetPayload(typeof payload === 'string' ? Buffer.from(payload) : payload)).toEqual({ ok: true, ...expected });
  });

  it.each<[string, string, RegExp]>([
    ['empty', '', /^empty payload; expected a number of kW \(12\.5\), a JSON string/],
    ['a word', 'lots', /^payload "lots" is neither a number nor JSON; expected /],
    ['NaN', 'NaN', /^payload "NaN" is neither a number nor JSON/],
    ['Infinity', 'Infinity', /^payload "Infinity" is neither a number nor JSON/],
    ['hex', '0x10', /^payload "0x10" is neither a number nor JSON/],
    ['a decimal comma', '12,5', /^payload "12,5" is neither a number nor JSON/],
    ['broken JSON', '{"kw":', /^payload "\{\\"kw\\":" is neither a number nor JSON/],
    ['a JSON array', '[1]', /^payload is JSON array; expected /],
    ['JSON null', 'null', /^payload is JSON null; expected /],
    ['JSON true', 'true', /^payload is JSON boolean; expected /],
    ['a non-numeric JSON string', '"abc"', /^payload is a JSON string "abc", not a number; expected /],
    ['an empty object', '{}', /^JSON object without a value key; expected /],
    ['an unknown key', '{"kw": 5, "foo": 1}', /^unknown key "foo"; allowed: one of kw, value, .*, then unit, ttlS, lowAhead, aheadS \(t, ts, time, timestamp are ignored\)$/],
    ['lowAhead without aheadS', '{"kw": 5, "lowAhead": 3}', /^lowAhead without aheadS; send both \(the lowest value expected over the next aheadS seconds\) or neither$/],
    ['aheadS without lowAhead', '{"kw": 5, "aheadS": 60}', /^aheadS without lowAhead; send both/],
    ['a lowAhead above the value', '{"kw": 5, "lowAhead": 6, "aheadS": 60}', /^lowAhead 6 is above kw 5: it is the lowest value expected from now on, so at most the value itself$/],
    ['a lowAhead above the value in MW', '{"value": 1, "unit": "MW", "lowAhead": 1.5, "aheadS": 60}', /^lowAhead 1\.5 is above value 1:/],
    ['a word as lowAhead', '{"kw": 5, "lowAhead": "less", "aheadS": 60}', /^lowAhead must be a number \(or a numeric string\) in the unit of kw, got "less"$/],
    ['aheadS 0', '{"kw": 5, "lowAhead": 3, "aheadS": 0}', /^aheadS must be a number of seconds in \(0, 900\], got 0$/],
    ['aheadS over 15 minutes (a forecast, not a nowcast)', '{"kw": 5, "lowAhead": 3, "aheadS": 3600}', /^aheadS must be a number of seconds in \(0, 900\], got 3600$/],
    ['pv_frac', '{"pv_frac": 0.5}', /^unknown key "pv_frac"/],
    ['two value keys', '{"kw": 1, "mw": 1}', /^two value keys, "kw" and "mw"; send one$/],
    ['a unit against the key', '{"kw": 5, "unit": "MW"}', /^unit "MW" contradicts the key "kw" \(kW\); send "value" with a unit/],
    ['an unknown unit', '{"value": 5, "unit": "GW"}', /^unit must be "kW", "MW" or "W", got "GW"$/],
    ['a null value', '{"kw": null}', /^kw must be a number \(or a numeric string\), got null$/],
    ['a word as value', '{"value": "lots"}', /^value must be a number \(or a numeric string\), got "lots"$/],
    ['ttlS 0', '{"kw": 5, "ttlS": 0}', /^ttlS must be a number of seconds in \(0, 86400\], got 0$/],
    ['ttlS text', '{"kw": 5, "ttlS": "soon"}', /^ttlS must be a number of seconds in \(0, 86400\], got "soon"$/],
    ['ttlS over a day', '{"kw": 5, "ttlS": 86401}', /^ttlS must be a number of seconds in \(0, 86400\], got 86401$/],
    ['a number too large for a double', '1e400', /^kw must be a finite number, got Infinity$/],
    ['an unknown key beside value and unit', '{"value": 2, "unit": "MW", "x": 0}', /^unknown key "x"/],
    ['over 1 GW (typo guard)', '{"value": 2000, "unit": "MW"}', /^value 2000 MW is above 1000000 kW \(1 GW\); check the unit$/],
    ['longer than 256 bytes', '9'.repeat(300), /^payload longer than 256 bytes$/],
  ])('refuses %s', (_, payload, message) => {
    const v = parseBudgetPayload(Buffer.from(payload));
    expect(v.ok).toBe(false);
    expect(!v.ok && v.reason).toMatch(message);
  });
});

describe('HTTP PUT /api/budget bodies (both validators: the server and the source)', () => {
  const source = async (): Promise<HttpBudgetSource> => {
    const s = new HttpBudgetSource(300, undefined, new ManualClock());
    await s.start();
    s.put({ kw: 50 });
    return s;
  };

  // PUT /api/budget hands the decoded body to the source: this is the only validator (the server checks JSON and size).
  it.each<[string, unknown, RegExp]>([
    ['a negative kw', { kw: -1 }, /kw must be a number of kW in 0\.\.1000000, got -1/],
    ['NaN', { kw: NaN }, /kw must be a number of kW/],
    ['Infinity', { kw: Infinity }, /kw must be a number of kW/],
    ['a string', { kw: '12' }, /kw must be a number of kW in 0\.\.1000000, got "12"/],
    ['no kw', {}, /kw must be a number of kW in 0\.\.1000000, got nothing$/],
    ['an unknown key', { kw: 5, watts: 5 }, /unknown key watts; allowed: kw, ttlS, lowAhead, aheadS/],
    ['a lowAhead without aheadS', { kw: 5, lowAhead: 3 }, /budget body: lowAhead without aheadS; send both/],
    ['a lowAhead above kw', { kw: 5, lowAhead: 8, aheadS: 60 }, /budget body: lowAhead 8 is above kw 5/],
    ['a string lowAhead', { kw: 5, lowAhead: '3', aheadS: 60 }, /budget body: lowAhead must be a number, got "3"/],
    ['an aheadS of an hour', { kw: 5, lowAhead: 3, aheadS: 3600 }, /budget body: aheadS must be a number of seconds in \(0, 900\], got 3600/],
    ['a negative ttlS', { kw: 5, ttlS: -3 }, /ttlS must be a number of seconds in \(0, 86400\], got -3/],
    ['a string ttlS', { kw: 5, ttlS: '60' }, /ttlS must be a number of seconds in \(0, 86400\], got "60"/],
    ['a ttlS over a day (it would switch the fail-safe off)', { kw: 5, ttlS: 1e12 }, /ttlS must be a number of seconds in \(0, 86400\], got 1000000000000/],
    ['an array', [5], /must be a JSON object/],
  ])('refuses %s, naming the field, and keeps the last budget', async (_, body, message) => {
    const s = await source();
    expect(() => s.put(body)).toThrow(InputError);
    expect(() => s.put(body)).toThrow(message);
    expect(s.latest()!.kw).toBe(50);
  });

  it('accepts { kw } and { kw, ttlS }', async () => {
    const s = await source();
    expect(s.put({ kw: 0 })).toMatchObject({ kw: 0, ttlMs: 300_000 });
    expect(s.put({ kw: 12.5, ttlS: 30 })).toMatchObject({ kw: 12.5, ttlMs: 30_000 });
    expect(s.put({ kw: 12.5 }).lowAhead).toBeUndefined();
  });

  it('accepts a look-ahead, stamped from when it arrives', async () => {
    const clock = new ManualClock(5_000);
    const s = new HttpBudgetSource(300, undefined, clock);
    await s.start();
    expect(s.put({ kw: 4200, lowAhead: 3400, aheadS: 120 })).toMatchObject({ kw: 4200, atMs: 5_000, lowAhead: { kw: 3400, untilMs: 125_000 } });
  });
});

describe('schedule semantics', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const OPTS: ScheduleOptions = { interpolation: 'step', speed: 1, loop: false, ttlS: 3600 };
  const guard = { holdLastS: 60, failsafeKw: 5 };

  /** Advances the clock and the poll timer together, one second at a time. */
  const run = (clock: ManualClock, seconds: number): void => {
    for (let i = 0; i < seconds; i++) {
      clock.advance(1000);
      vi.advanceTimersByTime(1000);
    }
  };

  it('a day-ahead schedule that has ended: its reading expires at the end, then hold, then the fail-safe', async () => {
    // Points 10:00 and 10:15: the last value lasts one interval, to 10:30.
    const trace = parseTrace('timestamp,kw\n2026-06-01T10:00Z,100\n2026-06-01T10:15Z,80\n', 'd.csv');
    const clock = new ManualClock(H10 + 29 * MIN);
    const s = new ScheduleBudgetSource(trace, OPTS, clock);
    await s.start();
    // The TTL is 1 h, but the reading ends with the schedule, 60 s from now.
    expect(s.latest()).toMatchObject({ kw: 80, atMs: H10 + 29 * MIN, ttlMs: 60_000 });
    run(clock, 60);
    expect(guardBudget(s.latest(), clock.now(), guard)).toMatchObject({ kw: 80, status: 'live' });
    run(clock, 1);
    expect(s.traceTimeAt(clock.now())).toBeUndefined();
    expect(guardBudget(s.latest(), clock.now(), guard)).toMatchObject({ kw: 80, status: 'holding' });
    run(clock, 60);
    expect(guardBudget(s.latest(), clock.now(), guard)).toMatchObject({ kw: 5, status: 'failsafe' });
    await s.stop();
  });

  it('a schedule that ended before start gives no reading: the fail-safe applies', async () => {
    const trace = parseTrace('timestamp,kw\n2026-06-01T10:00Z,100\n2026-06-01T10:15Z,80\n', 'd.csv');
    const clock = new ManualClock(H10 + 24 * 60 * MIN);
    const s = new ScheduleBudgetSource(trace, OPTS, clock);
    await s.start();
    expect(s.latest()).toBeUndefined();
    expect(s.realTimeWindow()).toEqual({ fromMs: H10, toMs: H10 + 30 * MIN });
    expect(guardBudget(s.latest(), clock.now(), guard)).toMatchObject({ kw: 5, status: 'failsafe' });
    await s.stop();
  });

  it('before its first point a schedule gives no reading, and starts on time', async () => {
    const trace = parseTrace('timestamp,kw\n2026-06-01T10:00Z,100\n2026-06-01T10:15Z,80\n', 'd.csv');
    const clock = new ManualClock(H10 - 5_000);
    const s = new ScheduleBudgetSource(trace, OPTS, clock);
    await s.start();
    expect(s.latest()).toBeUndefined();
    run(clock, 5);
    expect(s.latest()).toMatchObject({ kw: 100, atMs: H10 });
    await s.stop();
  });

  it('a relative schedule at speed 60 ends after span / 60 of clock time', async () => {
    const clock = new ManualClock(0);
    const s = new ScheduleBudgetSource(parseTrace('minute,kw\n0,10\n1,20\n', 'r.csv'), { ...OPTS, speed: 60 }, clock);
    await s.start();
    expect(s.endsAtMs()).toBe(2000);
    expect(s.latest()).toMatchObject({ kw: 10, ttlMs: 2000 });
    run(clock, 1);
    expect(s.latest()).toMatchObject({ kw: 20, atMs: 1000, ttlMs: 1000 });
    await s.stop();
  });

  it('step and linear at the boundaries', () => {
    const p = parseTrace('minute,kw\n0,0\n10,100\n20,40\n', 'b.csv').points;
    const at = (m: number, i: 'step' | 'linear') => traceValueAt(p, m * MIN, i);
    // Step: a point's value holds until the next point, which takes over exactly at its time.
    expect([at(0, 'step'), at(9.999, 'step'), at(10, 'step'), at(19.999, 'step'), at(20, 'step'), at(29, 'step')]).toEqual([0, 0, 100, 100, 40, 40]);
    // Linear: straight lines between points; after the last point its value.
    expect([at(0, 'linear'), at(5, 'linear'), at(10, 'linear'), at(15, 'linear'), at(20, 'linear'), at(29, 'linear')]).toEqual([0, 50, 100, 70, 40, 40]);
    expect(at(-0.001, 'step')).toBeUndefined();
  });

  it('reads budget.timezone from the options, and refuses an unknown zone naming the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'surplus-formats-'));
    const file = join(dir, 'day-ahead.csv');
    await writeFile(file, 'minute,kw\n0,1\n');
    await expect(ScheduleBudgetSource.fromFile(file, { ...OPTS, timeZone: 'Mars/Olympus' }, new ManualClock())).rejects.toThrow(ConfigError);
    await expect(ScheduleBudgetSource.fromFile(file, { ...OPTS, timeZone: 'Mars/Olympus' }, new ManualClock())).rejects.toThrow(
      'budget.timezone: unknown time zone "Mars/Olympus"; use an IANA name such as "Europe/Berlin" or "UTC"',
    );
  });

  it('a German day-ahead export with budget.timezone Europe/Berlin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'surplus-formats-'));
    const file = join(dir, 'day-ahead.csv');
    await writeFile(file, '\uFEFFZeitstempel;Leistung [kW]\r\n01.06.2026 12:00;120,5\r\n01.06.2026 12:15;-3\r\n');
    // "Zeitstempel" is not an accepted name: the error lists the accepted ones.
    await expect(ScheduleBudgetSource.fromFile(file, { ...OPTS, timeZone: 'Europe/Berlin' }, new ManualClock())).rejects.toThrow(/line 1: header must name a time column/);
    await writeFile(file, '\uFEFFDatetime;Power [kW]\r\n01.06.2026 12:00;120,5\r\n01.06.2026 12:15;-3\r\n');
    const clock = new ManualClock(H10 + 20 * MIN);
    const s = await ScheduleBudgetSource.fromFile(file, { ...OPTS, timeZone: 'Europe/Berlin' }, clock);
    expect(s.warnings).toEqual([expect.stringMatching(/1 negative value taken as 0 kW .* first at .*day-ahead\.csv line 3 \(-3\)$/)]);
    await s.start();
    expect(s.latest()).toMatchObject({ kw: 0, ttlMs: 10 * MIN });
    await s.stop();
  });
});

describe('properties (fixed seed)', () => {
  const piece = fc.constantFrom(
    'minute', 'timestamp', 'kw', 'MW', 'W', 'value', 'unit', 'date', 'time', 'pv_frac',
    ',', ';', '\t', '"', '""', '\n', '\r\n', '\r', '#', ' ', '\uFEFF',
    '0', '7', '12.5', '12,5', '-3', '1e400', 'NaN', '1780308000', '1780308000000',
    '2026-06-01T10:00Z', '2026-06-01 10:00+02:00', '01.06.2026 10:00', '10:00', '[', ']', '{', '}', ':', '{"t":0,"kw":1}',
    '"lowAhead"', '"aheadS"', '{"kw":5,', '"lowAhead":3,"aheadS":60}',
  );
  const text = fc.array(piece, { maxLength: 40 }).map((p) => p.join(''));

  it('any text is a valid trace or an InputError, never another exception', () => {
    fc.assert(
      fc.property(text, fc.constantFrom(undefined, 'Europe/Berlin'), (t, timeZone) => {
        let trace;
        try {
          trace = parseTrace(t, 'p.csv', { siteKw: 100, ...(timeZone ? { timeZone } : {}) });
        } catch (err) {
          expect(err).toBeInstanceOf(InputError);
          return;
        }
        expect(trace.points.length).toBeGreaterThan(0);
        for (let i = 0; i < trace.points.length; i++) {
          const p = trace.points[i]!;
          expect(Number.isFinite(p.kw) && p.kw >= 0 && Number.isFinite(p.tMs)).toBe(true);
          if (i > 0) expect(p.tMs).toBeGreaterThan(trace.points[i - 1]!.tMs);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('any payload is a finite budget in 0..1 GW or a refusal, never an exception', () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1'))), (p) => {
        const v = parseBudgetPayload(Buffer.from(p));
        if (v.ok) {
          expect(Number.isFinite(v.kw) && v.kw >= 0 && v.kw <= 1_000_000).toBe(true);
          if (v.ahead) expect(v.ahead.kw >= 0 && v.ahead.kw <= v.kw && v.ahead.forS > 0 && v.ahead.forS <= 900).toBe(true);
        } else expect(v.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 400 },
    );
  });

  it('a table written in any accepted CSV dialect reads back the same', () => {
    const row = fc.record({ dtMin: fc.integer({ min: 1, max: 90 }), kw: fc.integer({ min: 0, max: 5_000_000 }).map((n) => n / 1000) });
    const dialect = fc.record({
      sep: fc.constantFrom(',', ';', '\t'),
      eol: fc.constantFrom('\n', '\r\n'),
      bom: fc.boolean(),
      quote: fc.boolean(),
      header: fc.constantFrom('minute,kw', 'Minute,KW', 'time,power_kw', 'start,kW', 'none'),
      shuffle: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 30 }), dialect, (rows, d) => {
        let m = 0;
        const points = rows.map((r) => ({ tMs: (m += r.dtMin) * MIN, kw: r.kw }));
        const cell = (s: string): string => (d.quote ? `"${s}"` : s);
        const num = (n: number): string => (d.sep === ',' ? String(n) : String(n).replace('.', ','));
        const lines = points.map((p) => [cell(num(p.tMs / MIN)), cell(num(p.kw))].join(d.sep));
        if (d.shuffle) lines.reverse();
        if (d.header !== 'none') lines.unshift(d.header.split(',').map(cell).join(d.sep));
        const t = parseTrace((d.bom ? '\uFEFF' : '') + lines.join(d.eol) + d.eol, 'p.csv');
        expect(t.points).toEqual(points);
        expect(t.timeBase).toBe('relative');
      }),
      { numRuns: 300 },
    );
  });
});

describe('budget payloads nested deep or huge (issue 11 item 1)', () => {
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  it.each([
    // MQTT payloads are capped at 256 bytes, so these stay under it.
    ['kw', `{"kw":${deep(100)}}`],
    ['value', `{"value":${deep(100)},"unit":"kW"}`],
    ['unit', `{"value":1,"unit":${deep(100)}}`],
    ['ttlS', `{"kw":1,"ttlS":${deep(100)}}`],
    ['a key', `{"${'k'.repeat(200)}":1}`],
    ['the whole payload', deep(120)],
  ])('an MQTT payload with a deep or long %s is refused with a short reason', (_what, text) => {
    const v = parseBudgetPayload(text);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason.length).toBeLessThan(600);
  });

  it('an HTTP body with a deep kw or ttlS is refused with a short reason', () => {
    const nested = JSON.parse(deep(9000)) as unknown;
    for (const body of [{ kw: nested }, { kw: 1, ttlS: nested }]) {
      expect(() => parseBudgetBody(body, 300)).toThrow(/^budget body: .{0,200}$/);
    }
  });
});

describe('schedule files with deep values (issue 11 item 1)', () => {
  const deep = '['.repeat(9000) + ']'.repeat(9000);
  it.each([
    ['a time', `[{"t":${deep},"kw":1}]`],
    ['a value', `[{"t":0,"kw":${deep}}]`],
    ['a unit', `[{"t":0,"value":1,"unit":${deep}}]`],
  ])('%s nested 9,000 deep is an InputError with a short message', (_what, text) => {
    let msg = '';
    try {
      parseTrace(text, 'f.json');
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/^f\.json \[0\]/);
    expect(msg.length).toBeLessThan(300);
  });
});
