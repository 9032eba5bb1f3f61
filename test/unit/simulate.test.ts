import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schedulerSchema, type ModelConfig } from '../../src/config/schema.js';
import { BUILTIN_MODELS } from '../../src/fleet/models.js';
import { parseTrace } from '../../src/power/trace-parse.js';
import { simulate, type SimulateOptions } from '../../src/sim/simulator.js';
import { renderSvg } from '../../src/sim/simulator-plot.js';
import { formatReport } from '../../src/sim/simulator-report.js';

const miners = (n: number, model = 'avalon-a1566ha') =>
  Array.from({ length: n }, (_, i) => ({ id: `u${i}`, worker: `w${i}`, model, api: `10.0.0.${i + 1}:4028`, priority: 0 }));

function options(csv: string, n: number, over: Partial<SimulateOptions> = {}, sched: Record<string, unknown> = {}, models: Record<string, ModelConfig> = BUILTIN_MODELS): SimulateOptions {
  return {
    trace: parseTrace(csv, 't.csv'),
    fleet: { models, miners: miners(n, Object.keys(models).includes('avalon-a1566ha') ? 'avalon-a1566ha' : Object.keys(models)[0]!) },
    scheduler: schedulerSchema.parse({ minOnS: 0, minOffS: 0, hysteresisKw: 0, ...sched }),
    guard: { holdLastS: 60, failsafeKw: 0 },
    readingTtlS: 300,
    stepS: 1,
    series: true,
    ...over,
  };
}

/** One row per minute: the simulator delivers one reading per row, as a meter would. */
const rows = (minutes: number, kwAt: (m: number) => number): string => `minute,kw\n${Array.from({ length: minutes }, (_, m) => `${m},${kwAt(m)}`).join('\n')}\n`;
const flat = (kw: number, minutes: number): string => rows(minutes, () => kw);

describe('simulate', () => {
  it('absorbs a flat budget to within one unit step, never above it', async () => {
    const { report, series } = await simulate(options(flat(50, 60), 10, {}, { minOnS: 300, minOffS: 300 }));
    const settled = series.minute.map((m, i) => ({ m, kw: series.drawnKw[i]! })).filter((x) => x.m >= 5);
    for (const x of settled) {
      expect(x.kw).toBeLessThanOrEqual(50);
      expect(x.kw).toBeGreaterThanOrEqual(50 - 8.1);
    }
    expect(report.aboveBudgetKwh).toBe(0);
    expect(report.cyclesPerUnit.max).toBe(0);
  });

  it('draws only standby power on a zero budget', async () => {
    const { report, series } = await simulate(options(flat(0, 30), 5, { initialOn: true }));
    // From the cut's deadline plus the softoff delay on, only the five standby draws remain.
    series.minute.forEach((m, i) => {
      if (m >= 1) expect(series.drawnKw[i]).toBeCloseTo(5 * 0.15, 9);
    });
    expect(report.standbyFloorKw).toBeCloseTo(0.75, 9);
    expect(report.longestAboveS).toBeLessThanOrEqual(10 + 6 + 1);
    expect(report.hashPhH).toBeGreaterThan(0); // the first seconds, before the softoff took effect
    expect(report.cyclesPerUnit).toEqual({ mean: 1, max: 1 });
  });

  it('meets a sudden cut within the deadline plus the device delay, even with a long stagger', async () => {
    const csv = rows(40, (m) => (m < 20 ? 200 : 30));
    const { report, series } = await simulate(options(csv, 30, {}, { commandStaggerMs: 2000, cutDeadlineS: 10 }));
    expect(report.longestAboveS).toBeGreaterThan(0);
    expect(report.longestAboveS).toBeLessThanOrEqual(10 + 5 + 1 + 1);
    expect(report.overshootAfterDeadlineKw).toBe(0);
    const at = (minute: number): number => series.drawnKw[series.minute.indexOf(minute)]!;
    expect(at(19)).toBeGreaterThan(200 - 8.1);
    expect(at(21)).toBeLessThanOrEqual(30);
  });

  it('matches a hand computation of the energy integrals on a small trace', async () => {
    // One unit: standby 0.5 kW, 2 kW / 100 TH/s, no ramp, softoff 5 s ahead.
    const models: Record<string, ModelConfig> = { tiny: { standbyKw: 0.5, modes: [{ name: 'on', kw: 2, ths: 100 }], rampUpS: 0, softoffDelayS: 5, nominal: true } };
    const o = options('minute,kw\n0,3\n10,1\n', 1, { readingTtlS: 3600 }, { commandStaggerMs: 0 }, models);
    const { report: r } = await simulate(o);
    // Minute 0: the 3 kW budget turns the unit on; the softon lands 5 s later (whole second ahead).
    // Minute 10: 1 kW, the unit is shed; the softoff lands at 605 s. Trace span: 20 minutes.
    const h = 1 / 3600;
    expect(r.hours).toBeCloseTo(20 / 60, 12);
    expect(r.offeredKwh).toBeCloseTo((3 * 600 + 1 * 600) * h, 9);
    expect(r.drawnKwh).toBeCloseTo((0.5 * 5 + 2 * 600 + 0.5 * 595) * h, 9);
    expect(r.aboveBudgetKwh).toBeCloseTo(1 * 5 * h, 9);
    expect(r.absorbedPct).toBeCloseTo((((0.5 * 5 + 2 * 595 + 1 * 5 + 0.5 * 595) * h) / ((3 * 600 + 600) * h)) * 100, 9);
    expect(r.timeAbovePct).toBeCloseTo((5 / 1200) * 100, 9);
    expect(r.longestAboveS).toBe(5);
    expect(r.maxOvershootKw).toBeCloseTo(1, 9);
    expect(r.hashPhH).toBeCloseTo((100 / 1000) * (600 - 5 + 5) * h, 9);
    expect(r.cyclesPerUnit).toEqual({ mean: 1, max: 1 });
    expect(r.perHour).toHaveLength(1);
    expect(r.perHour[0]!.offeredKwh).toBeCloseTo(r.offeredKwh, 12);
  });

  it('applies the budget fail-safe across a gap in the trace', async () => {
    // Readings at minute 0 and 30 only, TTL 5 min + hold 1 min: from minute 6 the fail-safe (0 kW) applies.
    const o = options('minute,kw\n0,50\n30,50\n', 3, { readingTtlS: 300 });
    const { series } = await simulate(o);
    const at = (minute: number): number => series.drawnKw[series.minute.indexOf(minute)]!;
    expect(at(4)).toBeGreaterThan(8);
    expect(at(7)).toBeCloseTo(3 * 0.15, 9);
    expect(at(35)).toBeGreaterThan(8);
  });

  it('property: on random traces and fleets, nothing is drawn above the budget once a cut deadline plus the device delay has passed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0, max: 120, noNaN: true }), { minLength: 3, maxLength: 25 }),
        fc.integer({ min: 1, max: 12 }),
        fc.record({ minOnS: fc.constantFrom(0, 120), minOffS: fc.constantFrom(0, 120), hysteresisKw: fc.constantFrom(0, 5), commandStaggerMs: fc.constantFrom(0, 500, 3000), rampKwPerMin: fc.constantFrom(20, 500) }),
        fc.boolean(),
        async (kws, units, sched, initialOn) => {
          const csv = `minute,kw\n${kws.map((kw, m) => `${m},${kw.toFixed(2)}`).join('\n')}\n`;
          const { report } = await simulate({ ...options(csv, units, { initialOn, series: false, stepS: 1 }, sched), fleet: { models: BUILTIN_MODELS, miners: miners(units).map((m, i) => (i % 3 === 2 ? { ...m, model: 'generic' } : m)) } });
          expect(report.overshootAfterDeadlineKw).toBe(0);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('churn: a sunrise switches nothing off and nothing down; a steady budget settles; every decision is issued or superseded', async () => {
    // Budget rising 1.5 kW a minute for an hour (a sunrise), with the demo's old trouble setting: minOnS 0.
    const rise = await simulate(options(rows(60, (m) => 1.5 * m), 12, {}, { minOnS: 0, minOffS: 0 }));
    expect(rise.report.againstTrend).toBe(0);
    expect(rise.report.cyclesPerUnit.max).toBe(0);
    expect(rise.report.switchesPerUnit.mean).toBeGreaterThan(0.5);
    // A unit comes on once and steps up at most twice (eco -> standard -> super).
    expect(rise.report.switchesPerUnit.max).toBeLessThanOrEqual(3);
    const d = rise.report.decisions;
    expect(d.decided).toBe(d.issued + d.superseded + d.pending);
    expect(d.decided).toBeGreaterThan(0);
    // A steady budget: switches only while filling up, then none.
    const steady = await simulate(options(flat(60, 120), 12, { initialOn: true }, { minOnS: 0, minOffS: 0 }));
    const early = await simulate(options(flat(60, 20), 12, { initialOn: true }, { minOnS: 0, minOffS: 0 }));
    expect(steady.report.commands).toBe(early.report.commands);
    expect(steady.report.perHour[1]!.cycles + steady.report.perHour[1]!.modeChanges).toBe(0);
  });

  it('formats a table and an SVG with axes and a legend', async () => {
    const { report, series } = await simulate(options(flat(20, 120), 3));
    const text = formatReport(report, 't.csv, 3 units');
    expect(text).toMatch(/share absorbed\s+\d+\.\d\d %/);
    expect(text.split('\n').filter((l) => /^\s+0[01]\s/.test(l))).toHaveLength(2);
    const svg = renderSvg(series, 'Budget vs drawn');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('budget (surplus)');
    expect(svg).toContain('drawn by the fleet');
    expect(svg).toContain('>60 min</text>');
  });
});
