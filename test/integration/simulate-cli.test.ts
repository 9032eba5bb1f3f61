import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { run as runInProcess } from '../../src/commands/simulate.js';
import { ProxyError } from '../../src/errors.js';
import { runCliInProcess } from '../support/cli-in-process.js';

/** `surplus simulate` as a user runs it: the built CLI (npm test builds dist/ first), real files. */
const run = promisify(execFile);
const CLI = join(process.cwd(), 'dist', 'cli.js');
let dir: string;

/** The same command line in-process, through the CLI's own run() (no Node start per case). */
const cli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => runCliInProcess(['simulate', ...args]);

/** As a process: what the exit status is. */
async function spawned(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'simulate', ...args], { cwd: process.cwd() });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'surplus-simulate-'));
  const rows = Array.from({ length: 120 }, (_, m) => `${m},${m < 60 ? 40 : 12}`);
  await writeFile(join(dir, 'two-hours.csv'), `minute,kw\n${rows.join('\n')}\n`);
  await writeFile(join(dir, 'fleet.yaml'), 'fleet:\n  miners:\n    - { id: a, worker: s.a, model: avalon-a1566ha, api: "10.0.0.1:4028" }\n    - { id: b, worker: s.b, model: generic }\n');
  await writeFile(join(dir, 'bad.csv'), 'minute,kw\n0,10\n1,ten\n');
});

describe('surplus simulate (CLI)', () => {
  it('reads a fleet-only config (no pools), prints JSON and writes an SVG plot', async () => {
    const plot = join(dir, 'day.svg');
    const r = await cli(['--trace', join(dir, 'two-hours.csv'), '--config', join(dir, 'fleet.yaml'), '--json', '--plot', plot]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ units: 2, hours: 2, stepS: 1 });
    expect(report['offeredKwh']).toBeCloseTo(40 + 12, 6);
    expect(report['perHour']).toHaveLength(2);
    const svg = await readFile(plot, 'utf8');
    expect(svg).toContain('<svg');
    expect(svg).toContain('budget (surplus)');
  });

  it('keeps the old --json names, adds the issue 12 ones, and writes a per-second --series CSV that recomputes the energy', async () => {
    const seriesFile = join(dir, 'series.csv');
    const r = await cli(['--trace', join(dir, 'two-hours.csv'), '--config', join(dir, 'fleet.yaml'), '--json', '--series', seriesFile]);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as Record<string, number> & { cyclesPerUnit: Record<string, number> };
    for (const k of ['offeredKwh', 'drawnKwh', 'absorbedPct', 'aboveBudgetKwh', 'timeAbovePct', 'maxOvershootKw', 'overshootAfterDeadlineKw', 'longestAboveS']) expect(typeof report[k]).toBe('number');
    for (const k of ['aboveBudgetPctOfOffered', 'afterDeadlineAboveKwh', 'afterDeadlineAboveS', 'absorbedAboveFloorPct', 'rampUpLossKwh', 'rampLimitCostKwh', 'aboveByMoreThanUnitS']) expect(typeof report[k]).toBe('number');
    expect(Object.keys(report.cyclesPerUnit)).toEqual(['mean', 'max', 'p95']);
    const lines = (await readFile(seriesFile, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('time,budget_kw,drawn_kw,units_on');
    expect(lines).toHaveLength(1 + 2 * 3600 + 1);
    const rows = lines.slice(1, -1).map((l) => l.split(','));
    expect(rows[0]![0]).toBe('2026-06-21T00:00:00.000Z');
    // Left Riemann sums over the rows give the report's energies.
    const sum = (col: number): number => rows.reduce((a, row) => a + Number(row[col]), 0) / 3600;
    expect(sum(1)).toBeCloseTo(report['offeredKwh']!, 2);
    expect(sum(2)).toBeCloseTo(report['drawnKwh']!, 2);
    expect(Math.max(...rows.map((row) => Number(row[3])))).toBeGreaterThanOrEqual(1);
  });

  it('--bound prints the perfect-foresight LP bound beside the result (HiGHS), and the scheduler\'s share of it', async () => {
    const r = await cli(['--trace', join(dir, 'two-hours.csv'), '--units', '6', '--json', '--bound']);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { absorbedPct: number; bound: { status: string; absorbedPct: number; schedulerShareOfBoundPct: number; intervals: number } };
    expect(report.bound.status).toBe('Optimal');
    expect(report.bound.intervals).toBe(121);
    // An upper bound: at least what the scheduler reached (it ramps, leads and waits; the bound does not).
    expect(report.bound.absorbedPct).toBeGreaterThanOrEqual(report.absorbedPct - 0.5);
    expect(report.bound.absorbedPct).toBeLessThanOrEqual(100 + 1e-6);
    expect(report.bound.schedulerShareOfBoundPct).toBeCloseTo((report.absorbedPct / report.bound.absorbedPct) * 100, 6);
    const table = await cli(['--trace', join(dir, 'two-hours.csv'), '--units', '6', '--bound']);
    expect(table.stdout).toMatch(/best absorption \d+\.\d\d % at <= \d+ cycles per unit/);
    expect(table.stdout).toMatch(/the scheduler reached \d+\.\d % of it/);
  });

  it('--look-ahead gives the loop a nowcast, says so, and --look-ahead-error makes it err the same way on every run', async () => {
    const trace = 'config/traces/mixed-a.csv';
    const json = async (extra: string[]): Promise<{ absorbedPct: number; cyclesPerUnit: { max: number }; lookAheadS?: number; lookAheadErrorPct?: number }> =>
      JSON.parse((await cli(['--trace', trace, '--units', '60', '--step-s', '5', '--json', ...extra])).stdout) as never;
    const plain = await json([]);
    const perfect = await json(['--look-ahead', '60']);
    const erring = await json(['--look-ahead', '60', '--look-ahead-error', '20']);
    expect(plain.lookAheadS).toBeUndefined();
    expect(perfect).toMatchObject({ lookAheadS: 60 });
    expect(perfect.lookAheadErrorPct).toBeUndefined();
    expect(erring).toMatchObject({ lookAheadS: 60, lookAheadErrorPct: 20 });
    // Each is a different run: the nowcast changed the decisions, and its error changed them again.
    expect(perfect.absorbedPct).not.toBe(plain.absorbedPct);
    expect(erring.absorbedPct).not.toBe(perfect.absorbedPct);
    expect((await json(['--look-ahead', '60', '--look-ahead-error', '20'])).absorbedPct).toBe(erring.absorbedPct);
    const table = await cli(['--trace', trace, '--units', '60', '--step-s', '5', '--look-ahead', '60', '--look-ahead-error', '20']);
    expect(table.stdout).toMatch(/every reading carried a nowcast erring by 20 % per minute of its lowest value over the next 60 s \(--look-ahead\)/);
  });

  it('rejects a --series file that is not .csv', async () => {
    const r = await spawned(['--trace', join(dir, 'two-hours.csv'), '--units', '2', '--series', join(dir, 'x.txt')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--series: file name must end in \.csv/);
  });

  it('scales a pv_frac trace by --site-kw and synthesises --units of a model, as a table', async () => {
    const r = await cli(['--trace', 'config/traces/cloudy-day-pv-frac.csv', '--site-kw', '500', '--units', '40', '--model', 'avalon-a1566ha', '--step-s', '5']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/40 units, 24\.00 h/);
    expect(r.stdout).toMatch(/share absorbed\s+\d+\.\d\d %/);
    expect(r.stdout).toMatch(/\n\s+23\s/);
  });

  it('exits 2 with the file and line of a bad trace row', async () => {
    const r = await spawned(['--trace', join(dir, 'bad.csv'), '--units', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^surplus: .*bad\.csv line 3: kw must be a number >= 0, got "ten"\n$/);
  });

  // The same command in-process (no spawn per case): every bad input is a ProxyError naming what is wrong.
  it.each([
    [['--units', '3'], /option --trace FILE is required/],
    [['--trace', 'config/traces/clear-day.csv', '--units', '3', '--plot', 'x.png'], /PNG output is not supported, use \.svg/],
    [['--trace', 'config/traces/clear-day.csv', '--units', '3', '--model', 'nope'], /unknown model "nope"; allowed: avalon-a1566ha, generic/],
    [['--trace', 'config/traces/cloudy-day-pv-frac.csv', '--units', '3'], /column pv_frac needs the site peak in kW \(--site-kw KW\)/],
    [['--trace', 'config/traces/clear-day.csv'], /no units to simulate/],
    [['--trace', 'config/traces/clear-day.csv', '--units', '3', '--speed', '2'], /unknown option --speed/],
    [['--trace', 'nope.csv', '--units', '3'], /cannot read trace nope\.csv: ENOENT/],
    [['--trace', 'config/traces/clear-day.csv', '--units', '3', '--step-s', '0'], /--step-s must be in \(0, 60\] seconds, got 0/],
    [['--trace', 'config/traces/clear-day.csv', '--units', '3', '--look-ahead', '0'], /--look-ahead must be in \(0, 900\] seconds, got 0/],
    [['--trace', 'config/traces/clear-day.csv', '--units', '3', '--look-ahead', '3600'], /--look-ahead must be in \(0, 900\] seconds, got 3600/],
    [['--trace', 'config/traces/clear-day.csv', '--units', '3', '--look-ahead-error', '5'], /--look-ahead-error needs --look-ahead S/],
    [['--trace', 'config/traces/clear-day.csv', '--units', '3', '--look-ahead', '60', '--look-ahead-error', '-1'], /--look-ahead-error must be a percentage in 0\.\.100, got -1/],
  ])('rejects %j', async (args, message) => {
    const err = await runInProcess(args).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProxyError);
    expect((err as Error).message).toMatch(message);
  });
});
