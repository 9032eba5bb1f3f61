import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { EnergyReport, energyReportCsv, fractionAbove, integralOfNegativePart, type EnergySample } from '../../src/operator/energy-report.js';

const MIN = 60_000;
const s = (min: number, budgetKw: number, drawnKw: number, diffShares = 0): EnergySample => ({ atMs: min * MIN, budgetKw, drawnKw, diffShares });

/**
 * The trace used throughout (minutes, budget kW, drawn kW):
 *   A 0: 10, 0   B 30: 10, 20   C 50: 20, 20   D 70: 0, 20
 * C -> D crosses the hour and is split at 60 min, where the budget is 10 kW.
 */
/** The hand-made trace has 20-30 minute steps; the default gap limit (5 min) suits a 1 s sampler. */
const WIDE = { maxGapMs: 60 * MIN };

const TRACE = [s(0, 10, 0, 0), s(30, 10, 20, 100), s(50, 20, 20, 50), s(70, 0, 20, 7)];

describe('EnergyReport (trapezoid), checked by hand', () => {
  const r = new EnergyReport(WIDE);
  for (const x of TRACE) r.add(x);
  const [h0, h1] = r.intervals();

  it('integrates the first hour', () => {
    // A->B: b = 10, p 0->20. offered 10*0.5 = 5; drawn 10*0.5 = 5; p < b for the first
    //   15 min: absorbed = 1.25 (triangle) + 10*0.25 = 3.75; over budget 15 min.
    // B->C: b 10->20, p = 20. offered 15/3 = 5; drawn 20/3; absorbed 5; over 20 min.
    // C->60: b 20->10, p = 20. offered 15/6 = 2.5; drawn 20/6; absorbed 2.5; over 10 min.
    expect(h0!.startMs).toBe(0);
    expect(h0!.endMs).toBe(60 * MIN);
    expect(h0!.offeredKwh).toBeCloseTo(12.5, 9);
    expect(h0!.drawnKwh).toBeCloseTo(15, 9);
    expect(h0!.absorbedKwh).toBeCloseTo(11.25, 9);
    expect(h0!.excessKwh).toBeCloseTo(3.75, 9);
    expect(h0!.absorbedFraction).toBeCloseTo(0.9, 9);
    expect(h0!.overBudgetS).toBeCloseTo(2700, 6);
    expect(h0!.coveredS).toBeCloseTo(3600, 6);
    expect(h0!.diffShares).toBe(150);
  });

  it('gives the second hour its part of the split segment', () => {
    // 60->D: b 10->0, p = 20. offered 5/6; drawn 20/6; absorbed 5/6; over 10 min.
    expect(h1!.startMs).toBe(60 * MIN);
    expect(h1!.offeredKwh).toBeCloseTo(5 / 6, 9);
    expect(h1!.drawnKwh).toBeCloseTo(20 / 6, 9);
    expect(h1!.absorbedKwh).toBeCloseTo(5 / 6, 9);
    expect(h1!.overBudgetS).toBeCloseTo(600, 6);
    expect(h1!.coveredS).toBeCloseTo(600, 6);
    expect(h1!.diffShares).toBe(7);
  });

  it('sums the totals', () => {
    const t = r.totals();
    expect(t.offeredKwh).toBeCloseTo(12.5 + 5 / 6, 9);
    expect(t.drawnKwh).toBeCloseTo(15 + 20 / 6, 9);
    expect(t.absorbedFraction).toBeCloseTo((11.25 + 5 / 6) / (12.5 + 5 / 6), 9);
    expect(t.startMs).toBe(0);
    expect(t.endMs).toBe(120 * MIN);
  });
});

describe('EnergyReport (step)', () => {
  it('holds each sample until the next one', () => {
    const r = new EnergyReport({ ...WIDE, integration: 'step' });
    for (const x of TRACE) r.add(x);
    const [h0, h1] = r.intervals();
    // A->B: b 10, p 0 for 30 min: offered 5, drawn 0. B->C: b 10, p 20 for 20 min: offered 10/3, drawn 20/3,
    // absorbed 10/3, over 1200 s. C->D: b = p = 20 for 20 min, 10 of them in each hour: never *over*.
    expect(h0!.offeredKwh).toBeCloseTo(5 + 10 / 3 + 20 / 6, 9);
    expect(h0!.drawnKwh).toBeCloseTo(10, 9);
    expect(h0!.absorbedKwh).toBeCloseTo(10 / 3 + 20 / 6, 9);
    expect(h0!.overBudgetS).toBeCloseTo(1200, 6);
    expect(h1!.offeredKwh).toBeCloseTo(20 / 6, 9);
    expect(h1!.overBudgetS).toBe(0);
  });
});

describe('EnergyReport options and edges', () => {
  it('counts over-budget time only beyond the tolerance', () => {
    const r = new EnergyReport({ ...WIDE, toleranceKw: 5 });
    r.add(s(0, 10, 0));
    r.add(s(30, 10, 20));
    // p - b goes -10 -> 10; above 5 kW for the last quarter of the 30 minutes.
    expect(r.intervals()[0]!.overBudgetS).toBeCloseTo(450, 6);
  });

  it('does not integrate across a gap longer than maxGapMs', () => {
    const r = new EnergyReport({ maxGapMs: 10 * MIN });
    r.add(s(0, 10, 10));
    r.add(s(30, 10, 10));
    r.add(s(35, 10, 10));
    expect(r.gaps).toBe(1);
    expect(r.intervals()[0]!.coveredS).toBeCloseTo(300, 6);
    expect(r.intervals()[0]!.offeredKwh).toBeCloseTo(10 / 12, 9);
  });

  it('ignores samples that are not later than the previous one', () => {
    const r = new EnergyReport(WIDE);
    expect(r.add(s(10, 10, 10))).toBe(true);
    expect(r.add(s(10, 99, 99))).toBe(false);
    expect(r.add(s(5, 99, 99))).toBe(false);
    expect(r.outOfOrder).toBe(2);
    expect(r.add(s(20, 10, 10))).toBe(true);
    expect(r.intervals()[0]!.offeredKwh).toBeCloseTo(10 / 6, 9);
  });

  it('keeps at most maxIntervals, dropping the oldest', () => {
    const r = new EnergyReport({ intervalMs: MIN, maxIntervals: 2 });
    for (let m = 0; m <= 3; m++) r.add(s(m, 1, 1));
    expect(r.intervals().map((i) => i.startMs)).toEqual([2 * MIN, 3 * MIN]);
  });

  it('rejects bad samples and options with messages naming the field', () => {
    const r = new EnergyReport();
    expect(() => r.add({ atMs: 0, budgetKw: Number.NaN, drawnKw: 0, diffShares: 0 })).toThrow(/budgetKw must be a finite number/);
    expect(() => r.add({ atMs: 0, budgetKw: 1, drawnKw: -1, diffShares: 0 })).toThrow(InputError);
    expect(() => new EnergyReport({ intervalMs: 0 })).toThrow(/intervalMs must be a positive number/);
    expect(() => new EnergyReport({ integration: 'cubic' as 'step' })).toThrow(/integration must be/);
  });

  it('reports a null fraction when nothing was offered', () => {
    const r = new EnergyReport();
    r.add(s(0, 0, 1));
    r.add(s(1, 0, 1));
    expect(r.intervals()[0]!.absorbedFraction).toBeNull();
    expect(r.intervals()[0]!.excessKwh).toBeCloseTo(1 / 60, 9);
  });
});

describe('piece integrals', () => {
  it.each([
    [1, 2, 0],
    [-1, -3, -2],
    [-2, 2, -0.5], // triangle below zero over the first half
    [2, -2, -0.5],
  ])('∫min(d,0) for d %d -> %d is %d', (d0, d1, want) => {
    expect(integralOfNegativePart(d0, d1)).toBeCloseTo(want, 12);
  });

  it.each([
    [1, 1, 1],
    [-1, 0, 0],
    [-1, 3, 0.75],
    [3, -1, 0.75],
    [0, 0, 0],
  ])('fraction above zero for %d -> %d is %d', (e0, e1, want) => {
    expect(fractionAbove(e0, e1)).toBeCloseTo(want, 12);
  });
});

describe('energyReportCsv', () => {
  it('writes a header and one ISO-timed row per interval', () => {
    const r = new EnergyReport(WIDE);
    for (const x of TRACE) r.add(x);
    const lines = energyReportCsv(r.intervals()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('start,end,offered_kwh,drawn_kwh,absorbed_kwh,absorbed_fraction,excess_kwh,over_budget_s,covered_s,diff_shares');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe('1970-01-01T00:00:00.000Z,1970-01-01T01:00:00.000Z,12.5,15,11.25,0.9,3.75,2700,3600,150');
  });
});

describe('energy report: overshoot after the response deadline (issue 12 item 7)', () => {
  it('books a draw above every budget of the last response deadline apart, and the share above budget', () => {
    const r = new EnergyReport({ integration: 'step', responseMs: 17_000, intervalMs: 3_600_000 });
    // Budget 20 kW, then 10 kW from 30 s; the draw stays at 15 kW until 60 s, then 8 kW.
    for (let t = 0; t <= 90; t++) r.add({ atMs: 3_600_000 + t * 1000, budgetKw: t < 30 ? 20 : 10, drawnKw: t < 60 ? 15 : 8, diffShares: 0 });
    const tot = r.totals();
    // Late from 47 s (17 s after the drop, the 20 kW reading has left the window) to 60 s.
    expect(tot.afterDeadlineAboveS).toBe(13);
    expect(tot.afterDeadlineAboveKwh).toBeCloseTo((5 * 13) / 3600, 12);
    expect(tot.afterDeadlineMaxKw).toBe(5);
    expect(tot.excessKwh).toBeCloseTo((5 * 30) / 3600, 12);
    expect(tot.aboveBudgetPctOfOffered).toBeCloseTo((tot.excessKwh / tot.offeredKwh) * 100, 12);
    expect(r.intervals()[0]!.afterDeadlineAboveS).toBe(13);
  });

  it('books absorption above the standby floor and time above budget by more than one unit', () => {
    const r = new EnergyReport({ integration: 'step', floorKw: 2, unitKw: 3, intervalMs: 3_600_000 });
    // 60 s: budget 10, draw 7 (5 of the 8 above the floor); 60 s: budget 4, draw 8 (4 over: more than a unit).
    for (let t = 0; t <= 120; t++) r.add({ atMs: 7_200_000 + t * 1000, budgetKw: t < 60 ? 10 : 4, drawnKw: t < 60 ? 7 : 8, diffShares: 0 });
    const tot = r.totals();
    expect(tot.offeredAboveFloorKwh).toBeCloseTo((8 * 60 + 2 * 60) / 3600, 12);
    expect(tot.absorbedAboveFloorKwh).toBeCloseTo((5 * 60 + 2 * 60) / 3600, 12);
    expect(tot.absorbedAboveFloorPct).toBeCloseTo((7 / 10) * 100, 9);
    expect(tot.aboveByMoreThanUnitS).toBe(60);
  });
});

describe('a site with no budget (proxy only)', () => {
  it('books the draw and the shares, offers nothing and is never over budget (it read as a 0 kW budget)', () => {
    const r = new EnergyReport({ intervalMs: 3_600_000 });
    for (let i = 0; i <= 60; i++) r.add({ atMs: i * 1000, budgetKw: 0, drawnKw: 100, diffShares: 1, noBudget: true });
    const [row] = r.intervals();
    expect(row!.drawnKwh).toBeCloseTo((100 * 60) / 3600, 9);
    expect(row!.offeredKwh).toBe(0);
    expect(row!.excessKwh).toBe(0);
    expect(row!.overBudgetS).toBe(0);
    expect(row!.afterDeadlineAboveS).toBe(0);
    expect(row!.diffShares).toBe(61);
    expect(r.totals().overBudgetS).toBe(0);
  });
});
