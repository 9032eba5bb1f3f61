import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { InputError } from '../../src/errors.js';
import { ScheduleBudgetSource, type ScheduleOptions } from '../../src/power/schedule-budget-source.js';
import { parseTrace, traceValueAt } from '../../src/power/trace-parse.js';
import { budgetSourceContract } from './budget-contract.js';

const OPTS: ScheduleOptions = { interpolation: 'step', speed: 1, loop: false, ttlS: 600 };

budgetSourceContract('schedule', async (kw) => {
  const clock = new ManualClock();
  const source = new ScheduleBudgetSource(parseTrace(`minute,kw\n0,${kw}\n60,${kw}\n`, 'flat.csv'), OPTS, clock);
  return { source, clock, dynamic: false, produce: async () => undefined };
});

describe('trace parsing', () => {
  it('reads minute,kw with comments and blank lines', () => {
    const t = parseTrace('# a day\nminute,kw\n\n0,10\n1,12.5\n3,0\n', 'a.csv');
    expect(t).toEqual({ timeBase: 'relative', points: [{ tMs: 0, kw: 10 }, { tMs: 60_000, kw: 12.5 }, { tMs: 180_000, kw: 0 }] });
  });

  it('reads timestamp,kw as ISO or unix seconds', () => {
    const t = parseTrace('timestamp,kw\n2026-06-01T10:00:00Z,5\n1780308060,6\n', 'b.csv');
    expect(t.timeBase).toBe('absolute');
    expect(t.points.map((p) => p.tMs)).toEqual([Date.parse('2026-06-01T10:00:00Z'), 1_780_308_060_000]);
  });

  it('scales minute,pv_frac by the site peak', () => {
    expect(parseTrace('minute,pv_frac\n0,0.5\n', 'c.csv', { siteKw: 4000 }).points[0]!.kw).toBe(2000);
  });

  it('reads the JSON form', () => {
    const t = parseTrace('[{"t":0,"kw":1},{"t":2,"kw":3}]', 'd.json');
    expect(t.points).toEqual([{ tMs: 0, kw: 1 }, { tMs: 120_000, kw: 3 }]);
  });

  it.each([
    ['minute,kw\n0,1\n1,abc\n', /^x\.csv line 3: kw must be a number >= 0, got "abc"$/],
    ['minute,kw\n0,1\n1,NaN\n', /^x\.csv line 3: kw must be a number >= 0, got "NaN"$/], // negatives: 0 kW with a warning (budget-formats.test.ts)
    ['minute,kw\n0,1\n\n0,2\n', /^x\.csv line 4: minute 0 appears twice \(also x\.csv line 2\) with different values/],
    ['minute,kw\n0,1\n1\n', /^x\.csv line 3: expected 2 columns like the header, got 1$/],
    ['time_s,power\n0,1\n', /^x\.csv line 1: header must name a time column/],
    ['timestamp,kw\nyesterday,1\n', /^x\.csv line 2: timestamp must be an ISO 8601 time .*, unix seconds or unix milliseconds, got "yesterday"$/],
    ['minute,pv_frac\n0,0.5\n', /^x\.csv: column pv_frac needs the site peak in kW \(--site-kw KW\)$/],
    ['', /^x\.csv: empty trace/],
    ['minute,kw\n', /^x\.csv: no data rows$/],
  ])('names the line of a bad CSV row: %j', (text, message) => {
    expect(() => parseTrace(text, 'x.csv')).toThrow(InputError);
    expect(() => parseTrace(text, 'x.csv')).toThrow(message);
  });

  it.each([
    ['[{"t":0,"kw":1},{"t":1,"kw":"x"}]', /^x\.json \[1\]\.kw: must be a number >= 0, got "x"$/],
    ['[{"t":0}]', /^x\.json \[0\]: needs a time key/],
    ['[1,', /^x\.json: not valid JSON/],
    ['{"kw":1}', /^x\.json: JSON trace must be an array/],
  ])('names the element of a bad JSON trace: %j', (text, message) => {
    expect(() => parseTrace(text, 'x.json')).toThrow(message);
  });

  it('interpolates step and linear, holding the last value', () => {
    const pts = parseTrace('minute,kw\n0,0\n10,100\n', 'i.csv').points;
    expect(traceValueAt(pts, 300_000, 'step')).toBe(0);
    expect(traceValueAt(pts, 300_000, 'linear')).toBe(50);
    expect(traceValueAt(pts, 3_600_000, 'linear')).toBe(100);
    expect(traceValueAt(pts, -1, 'step')).toBeUndefined();
  });
});

describe('schedule budget source (fake timers)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const trace = parseTrace('minute,kw\n0,100\n1,50\n2,75\n', 't.csv');

  it('follows the trace in clock time and falls silent after its end', async () => {
    const clock = new ManualClock(1_000);
    const s = new ScheduleBudgetSource(trace, OPTS, clock);
    const seen: number[] = [];
    s.on('reading', (r) => seen.push(r.kw));
    await s.start();
    for (let i = 0; i < 240; i++) {
      clock.advance(1000);
      vi.advanceTimersByTime(1000);
    }
    expect(seen).toEqual([100, 50, 75]);
    expect(s.traceTimeAt(clock.now())).toBeUndefined();
    await s.stop();
  });

  it('replays faster with speed and wraps with loop', async () => {
    const clock = new ManualClock(0);
    const s = new ScheduleBudgetSource(trace, { ...OPTS, speed: 60, loop: true }, clock);
    const seen: number[] = [];
    s.on('reading', (r) => seen.push(r.kw));
    await s.start();
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      vi.advanceTimersByTime(1000);
    }
    expect(seen).toEqual([100, 50, 75, 100, 50]);
    await s.stop();
  });

  it('refreshes an unchanged value before its TTL runs out', async () => {
    const clock = new ManualClock(0);
    const s = new ScheduleBudgetSource(parseTrace('minute,kw\n0,10\n600,10\n', 'f.csv'), { ...OPTS, ttlS: 10 }, clock);
    await s.start();
    for (let i = 0; i < 6; i++) {
      clock.advance(1000);
      vi.advanceTimersByTime(1000);
    }
    expect(s.latest()!.atMs).toBe(5000); // half the 10 s TTL
    await s.stop();
  });

  it('reads a file and names it when it is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'surplus-sched-'));
    const file = join(dir, 'day.csv');
    await writeFile(file, 'minute,kw\n0,3\n');
    const s = await ScheduleBudgetSource.fromFile(file, OPTS, new ManualClock());
    await s.start();
    expect(s.latest()!.kw).toBe(3);
    await s.stop();
    await expect(ScheduleBudgetSource.fromFile(join(dir, 'nope.csv'), OPTS, new ManualClock())).rejects.toThrow(/budget\.file: cannot read .*nope\.csv: ENOENT/);
  });
});
