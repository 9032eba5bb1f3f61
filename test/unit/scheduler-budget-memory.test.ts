import { describe, expect, it } from 'vitest';
import type { BudgetReading } from '../../src/power/budget-source.js';
import { BudgetMemory } from '../../src/scheduler/budget-memory.js';
import { fleetOf } from './scheduler-fixtures.js';

const r = (kw: number, atMs: number, ttlMs = 60_000): BudgetReading => Object.freeze({ kw, atMs, ttlMs, source: 'http' });

describe('budget memory across a start or restart (issue 12 item 5)', () => {
  it('holds the fleet as it draws until the first reading, then resumes nothing restored', () => {
    const fleet = fleetOf([{}, { on: false }]);
    fleet.units[0]!.measuredKw = 7.9;
    const m = new BudgetMemory({ holdLastS: 60, failsafeKw: 0 }, fleet);
    m.restore(r(30, 0));
    expect(m.reading(undefined)).toMatchObject({ kw: 30 });
    m.beginHold(1000);
    expect(m.guard.boot).toEqual({ sinceMs: 1000, heldKw: 7.9 + 0.15 });
    expect(m.received(r(20, 2000))).toEqual({ first: true, save: true });
    expect(m.holding).toBe(false);
    expect(m.reading(undefined)).toBeUndefined();
  });

  it('saves a lower reading at once and a higher or repeated one at most every 5 s', () => {
    const m = new BudgetMemory({ holdLastS: 60, failsafeKw: 0 }, fleetOf([{}]));
    expect(m.received(r(50, 0)).save).toBe(true);
    expect(m.received(r(60, 1000)).save).toBe(false);
    expect(m.received(r(50, 2000)).save).toBe(false);
    expect(m.received(r(40, 3000)).save).toBe(true);
    expect(m.received(r(40, 4000, 30_000)).save).toBe(true);
    expect(m.received(r(45, 8999, 30_000)).save).toBe(false);
    expect(m.received(r(45, 9000, 30_000)).save).toBe(true);
  });
});
