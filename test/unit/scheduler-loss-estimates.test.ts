import { describe, expect, it } from 'vitest';
import { LossEstimates } from '../../src/scheduler/loss-estimates.js';
import type { Plan } from '../../src/scheduler/policy.js';
import { fleetOf } from './scheduler-fixtures.js';

describe('live loss estimates (issue 12 item 7)', () => {
  it('integrates the draw a ramping unit has not reached yet', () => {
    const f = fleetOf([{}, { on: false }]);
    f.units[0]!.changedAtMs = 0; // switched on at 0: ramps 30 s from standby to 8.1 kW
    const l = new LossEstimates(f);
    l.started(0);
    for (let t = 0; t <= 40_000; t += 1000) l.advance(t);
    const expected = Array.from({ length: 30 }, (_, k) => (8.1 - 0.15) * (1 - k / 30)).reduce((a, b) => a + b, 0) / 3600;
    expect(l.rampUpKwh).toBeCloseTo(expected, 12);
    expect(l.rampLimitKwh).toBe(0);
  });

  it('integrates the budget room a ramp-limited plan leaves unplanned, capped by the fleet', () => {
    const f = fleetOf([{ on: false }, { on: false }]);
    const l = new LossEstimates(f);
    const plan = (atMs: number, budgetKw: number, plannedKw: number, limitedBy: Plan['limitedBy']): Plan => ({ atMs, budgetKw, plannedKw, limitedBy }) as Plan;
    l.planned(plan(0, 100, 8.1, 'ramp')); // the fleet tops at 16.2 kW: 8.1 kW held back
    l.planned(plan(60_000, 100, 16.2, 'fleet'));
    l.advance(120_000);
    expect(l.rampLimitKwh).toBeCloseTo((8.1 * 60) / 3600, 12);
  });
});
