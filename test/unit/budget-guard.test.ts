import { describe, expect, it } from 'vitest';
import { guardBudget } from '../../src/power/budget-guard.js';
import type { BudgetReading } from '../../src/power/budget-source.js';

const reading: BudgetReading = Object.freeze({ kw: 120, atMs: 1_000_000, ttlMs: 60_000, source: 'mqtt' });
const opts = { holdLastS: 30, failsafeKw: 5 };

describe('budget guard', () => {
  it.each([
    ['just produced', 1_000_000, 120, 'live', 1_060_000],
    ['at the end of its TTL', 1_060_000, 120, 'live', 1_060_000],
    ['past TTL: holding', 1_060_001, 120, 'holding', 1_090_000],
    ['at the end of the hold', 1_090_000, 120, 'holding', 1_090_000],
    ['past the hold: fail-safe', 1_090_001, 5, 'failsafe', Infinity],
  ])('%s', (_, now, kw, status, changesAt) => {
    const v = guardBudget(reading, now, opts);
    expect(v).toMatchObject({ kw, status, source: 'mqtt', changesAtMs: changesAt });
  });

  it('explains itself', () => {
    expect(guardBudget(reading, 1_070_000, opts).reason).toBe('mqtt silent for 70 s (TTL 60 s): holding 120 kW until the hold ends');
    expect(guardBudget(reading, 1_200_000, opts).reason).toBe('mqtt silent for 200 s (TTL 60 s + hold 30 s): fail-safe 5 kW');
  });

  it('passes a live reading\'s look-ahead on while it lasts, and re-plans when it ends', () => {
    const ahead: BudgetReading = Object.freeze({ ...reading, lowAhead: { kw: 90, untilMs: 1_030_000 } });
    expect(guardBudget(ahead, 1_000_000, opts)).toMatchObject({ kw: 120, status: 'live', lowAhead: { kw: 90, untilMs: 1_030_000 }, changesAtMs: 1_030_000, reason: 'mqtt: 120 kW, at lowest 90 kW ahead' });
    const after = guardBudget(ahead, 1_030_000, opts);
    expect(after).toMatchObject({ kw: 120, status: 'live', changesAtMs: 1_060_000 });
    expect(after.lowAhead).toBeUndefined();
    // A held value carries none: the sender has gone quiet, its forecast with it.
    const late: BudgetReading = Object.freeze({ ...reading, lowAhead: { kw: 90, untilMs: 2_000_000 } });
    expect(guardBudget(late, 1_070_000, opts).lowAhead).toBeUndefined();
    // Reaching past the TTL: the TTL still ends the live value first.
    expect(guardBudget(late, 1_000_000, opts).changesAtMs).toBe(1_060_000);
  });

  it('is in fail-safe before any reading', () => {
    expect(guardBudget(undefined, 0, opts)).toMatchObject({ kw: 5, status: 'failsafe', source: undefined });
  });

  it('never expires a reading with an infinite TTL', () => {
    expect(guardBudget({ ...reading, ttlMs: Infinity }, 1e15, opts).status).toBe('live');
  });
});

describe('budget guard: the boot hold (issue 12 item 5)', () => {
  const boot = { ...opts, boot: { sinceMs: 2_000_000, heldKw: 42.5 } };
  it.each([
    ['no reading, at start', undefined, 2_000_000, 'holding', 42.5, true],
    ['no reading, at the end of the hold', undefined, 2_030_000, 'holding', 42.5, true],
    ['no reading, past the hold: fail-safe', undefined, 2_030_001, 'failsafe', 5, undefined],
    ['a restored reading still live is followed', { ...reading, atMs: 1_990_000 }, 2_000_000, 'live', 120, undefined],
    ['a restored reading long expired: held as measured', reading, 2_010_000, 'holding', 42.5, true],
  ] as const)('%s', (_, r, now, status, kw, isBoot) => {
    const v = guardBudget(r, now, boot);
    expect(v).toMatchObject({ status, kw });
    expect(v.boot).toBe(isBoot);
  });
});
