import { describe, expect, it } from 'vitest';
import { schedulerSchema } from '../../src/config/schema.js';
import { LossEstimates } from '../../src/scheduler/loss-estimates.js';
import type { Plan } from '../../src/scheduler/policy.js';
import { SchedulerCore } from '../../src/scheduler/scheduler-core.js';
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
    const plan = (atMs: number, budgetKw: number, plannedKw: number, limitedBy: Plan['limitedBy']): Plan => ({ atMs, budgetKw, plannedKw, limitedBy, wearHeldKw: 0 }) as Plan;
    l.planned(plan(0, 100, 8.1, 'ramp')); // the fleet tops at 16.2 kW: 8.1 kW held back
    l.planned(plan(60_000, 100, 16.2, 'fleet'));
    l.advance(120_000);
    expect(l.rampLimitKwh).toBeCloseTo((8.1 * 60) / 3600, 12);
    expect(l.wearHeldKwh).toBe(0);
  });

  it('integrates the room the wear budget holds off: a unit out of cycles under room it would fill', () => {
    const f = fleetOf([{ on: false }, { on: false }]);
    const T0 = 1_700_000_000_000;
    // Unit 0 has spent its one switch-on of the day; unit 1 has its cycle. Room for both.
    f.units[0]!.onsMs = [T0 - 3_600_000];
    for (const u of f.units) u.sinceMs = T0 - 3_600_000;
    const core = new SchedulerCore(f, schedulerSchema.parse({ maxCyclesPerDay: 1, minOffS: 0, commandStaggerMs: 0, rampKwPerMin: 1e9 }), { holdLastS: 0, failsafeKw: 0 });
    const { plan } = core.step({ kw: 20, atMs: T0, ttlMs: Infinity, source: 'test' }, T0);
    // Unit 1 goes on; unit 0 would have fit in the room left, at its lowest mode.
    expect(plan.targets.map((t) => t.on)).toEqual([false, true]);
    expect(plan.wearHeldKw).toBeGreaterThan(0);
    const l = new LossEstimates(f);
    l.planned(plan);
    expect(l.wearHeldKw).toBe(plan.wearHeldKw);
    l.advance(T0 + 600_000);
    expect(l.wearHeldKwh).toBeCloseTo((plan.wearHeldKw * 600) / 3600, 12);
    // A plan with nothing held stops the integral.
    l.planned({ ...plan, atMs: T0 + 600_000, wearHeldKw: 0 });
    l.advance(T0 + 1_200_000);
    expect(l.wearHeldKwh).toBeCloseTo((plan.wearHeldKw * 600) / 3600, 12);
  });
});
