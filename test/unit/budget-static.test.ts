import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { StaticBudgetSource } from '../../src/power/static-budget-source.js';
import { budgetSourceContract } from './budget-contract.js';

budgetSourceContract('static', async (kw) => {
  const clock = new ManualClock();
  return { source: new StaticBudgetSource(kw, undefined, clock), clock, dynamic: false, produce: async () => undefined };
});

describe('static budget source', () => {
  it('never expires without ttlS, and carries ttlS when configured', async () => {
    const clock = new ManualClock(5);
    const a = new StaticBudgetSource(100, undefined, clock);
    await a.start();
    expect(a.latest()!.ttlMs).toBe(Infinity);
    const b = new StaticBudgetSource(100, 30, clock);
    await b.start();
    expect(b.latest()!.ttlMs).toBe(30_000);
  });
});
