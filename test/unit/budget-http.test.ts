import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { InputError } from '../../src/errors.js';
import { HttpBudgetSource, parseBudgetBody } from '../../src/power/http-budget-source.js';
import { budgetSourceContract } from './budget-contract.js';

budgetSourceContract('http', async () => {
  const clock = new ManualClock();
  const source = new HttpBudgetSource(300, undefined, clock);
  return { source, clock, dynamic: true, produce: async (kw) => void source.put({ kw }) };
});

describe('http budget source', () => {
  it('uses the PUT ttlS, or the configured default', async () => {
    const s = new HttpBudgetSource(300, undefined, new ManualClock());
    await s.start();
    expect(s.put({ kw: 5 }).ttlMs).toBe(300_000);
    expect(s.put({ kw: 5, ttlS: 20 }).ttlMs).toBe(20_000);
  });

  it('publishes initialKw at start', async () => {
    const s = new HttpBudgetSource(300, 80, new ManualClock());
    await s.start();
    expect(s.latest()?.kw).toBe(80);
  });

  it.each([
    [null, /must be a JSON object/],
    [[1], /must be a JSON object/],
    ['12', /must be a JSON object/],
    [{}, /kw must be a number of kW in 0\.\.1000000, got nothing/],
    [{ kw: '12' }, /kw must be a number .* got "12"/],
    [{ kw: -1 }, /kw must be a number/],
    [{ kw: 2e6 }, /kw must be a number/],
    [{ kw: 5, ttlS: 0 }, /ttlS must be a number of seconds in \(0, 86400\], got 0/],
    [{ kw: 5, ttl: 10 }, /unknown key ttl; allowed: kw, ttlS/],
  ])('rejects %j with a clear error and keeps the last budget', async (body, message) => {
    const s = new HttpBudgetSource(300, undefined, new ManualClock());
    await s.start();
    s.put({ kw: 50 });
    expect(() => s.put(body)).toThrow(InputError);
    expect(() => s.put(body)).toThrow(message);
    expect(s.latest()!.kw).toBe(50);
  });

  it('parses a valid body', () => {
    expect(parseBudgetBody({ kw: 0 }, 60)).toEqual({ kw: 0, ttlS: 60 });
  });
});
