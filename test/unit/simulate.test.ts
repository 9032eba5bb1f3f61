import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schedulerSchema, type ModelConfig } from '../../src/config/schema.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { parseTrace } from '../../src/power/trace-parse.js';
import { simulate, type SimulateOptions } from '../../src/whatif/simulator.js';
import { renderSvg } from '../../src/whatif/simulator-plot.js';
import { formatReport } from '../../src/whatif/simulator-report.js';

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
    expect(report.cyclesPerUnit).toEqual({ mean: 1, p95: 1, max: 1 });
  });

  it('books the room held off by the wear budget: units out of cycles that would fit (issue 12)', async () => {
    // Room for both units for 10 minutes, nothing for 10, room again for 10: with one cycle a day
    // neither unit may come back, and the second 10 minutes' room for two units is held off.
    const csv = rows(30, (m) => (m < 10 || m >= 20 ? 20 : 0));
    const spent = await simulate(options(csv, 2, { series: false }, { maxCyclesPerDay: 1, minOnS: 0, minOffS: 0 }));
    const room = 2 * (6.5 - 0.15);
    expect(spent.report.cyclesPerUnit.max).toBe(1);
    expect(spent.report.wearHeldKwh).toBeGreaterThan((room * 9.5) / 60);
    expect(spent.report.wearHeldKwh).toBeLessThanOrEqual((room * 10) / 60 + 1e-9);
    // With cycles to spare only the second unit-on's short wear hold (15 s x 1/23, then the next plan) is.
    const free = await simulate(options(csv, 2, { series: false }, { maxCyclesPerDay: 24, minOnS: 0, minOffS: 0 }));
    expect(free.report.wearHeldKwh).toBeLessThan((room * 10) / 3600);
    expect(free.report.absorbedPct).toBeGreaterThan(spent.report.absorbedPct);
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
    expect(r.cyclesPerUnit).toEqual({ mean: 1, p95: 1, max: 1 });
    expect(r.perHour).toHaveLength(1);
    expect(r.perHour[0]!.offeredKwh).toBeCloseTo(r.offeredKwh, 12);
  });

  it('books honest metrics (issue 12 item 7): late overshoot of a unit that stops only after its Stratum grace, ramp-up loss, floor share', async () => {
    // One Stratum-only unit (no API): withheld at a cut, it keeps hashing for withholdGraceS (60 s), far
    // past the response deadline (10 s + 6 s lead + a step): that part is late and must be booked as such.
    const models: Record<string, ModelConfig> = { tiny: { standbyKw: 0.5, modes: [{ name: 'on', kw: 2, ths: 100 }], rampUpS: 20, softoffDelayS: 5, nominal: true } };
    const o: SimulateOptions = {
      ...options('minute,kw\n0,3\n10,1\n', 1, { readingTtlS: 3600, initialOn: true }, { commandStaggerMs: 0, withholdGraceS: 60 }, models),
      fleet: { models, miners: [{ id: 'u0', worker: 'w0', model: 'tiny', priority: 0 }] },
    };
    const { report: r } = await simulate(o);
    const h = 1 / 3600;
    // Cut at 600 s; the unit stops at 660 s. Late from 600 + 17 s on (the response deadline).
    expect(r.afterDeadlineAboveS).toBe(660 - 617);
    expect(r.afterDeadlineAboveKwh).toBeCloseTo((2 - 1) * (660 - 617) * h, 9);
    expect(r.overshootAfterDeadlineKw).toBeCloseTo(1, 9);
    expect(r.aboveBudgetKwh).toBeCloseTo(1 * 60 * h, 9);
    expect(r.aboveBudgetPctOfOffered).toBeCloseTo((r.aboveBudgetKwh / r.offeredKwh) * 100, 9);
    // Drawn above the floor within the budget: 1.5 kW for 600 s, then 0.5 kW until the unit stops (60 s),
    // over the 2.5 kW and 0.5 kW offered above the floor for 600 s each.
    expect(r.absorbedAboveFloorPct).toBeCloseTo(((1.5 * 600 + 0.5 * 60) / (2.5 * 600 + 0.5 * 600)) * 100, 6);
    // Starting on at full power: no ramp loss; an API unit switched on from off ramps for 20 s with room to spare.
    expect(r.rampUpLossKwh).toBe(0);
    const { report: ramp } = await simulate(options('minute,kw\n0,3\n10,1\n', 1, { readingTtlS: 3600 }, { commandStaggerMs: 0 }, models));
    // Ramp from 0.5 to 2 kW over 20 s, left Riemann sums on 1 s: Σ (1.5 - 1.5 k/20) for k = 0..19.
    expect(ramp.rampUpLossKwh).toBeCloseTo(Array.from({ length: 20 }, (_, k) => 1.5 - (1.5 * k) / 20).reduce((a, b) => a + b, 0) * h, 9);
    expect(ramp.afterDeadlineAboveKwh).toBe(0);
    expect(ramp.cyclesPerUnit).toEqual({ mean: 1, p95: 1, max: 1 });
  });

  it('honours budget.interpolation: a linear trace reaches the loop as a reading a second while it moves', async () => {
    const csv = 'minute,kw\n0,0\n60,60\n';
    const step = (await simulate(options(csv, 10, { readingTtlS: 3600, interpolation: 'step' }))).report;
    const linear = (await simulate(options(csv, 10, { readingTtlS: 3600, interpolation: 'linear' }))).report;
    // Step: 0 kW for the first hour, 60 kW for the second. Linear: a ramp 0 -> 60 kW, then 60 kW.
    expect(step.offeredKwh).toBeCloseTo(60, 6);
    expect(linear.offeredKwh).toBeCloseTo(90, 1);
    expect(step.perHour[0]!.drawnKwh).toBeCloseTo(10 * 0.15, 6);
    expect(linear.perHour[0]!.drawnKwh).toBeGreaterThan(15);
    expect(linear.plans).toBeGreaterThan(step.plans + 50);
    expect(linear.afterDeadlineAboveKwh).toBe(0);
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
