import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../src/upstream/backoff.js';

const P = { initialMs: 500, maxMs: 30_000 };

describe('backoffDelayMs', () => {
  it.each([
    [0, 1, 500],
    [1, 1, 1000],
    [2, 1, 2000],
    [5, 1, 16_000],
    [6, 1, 30_000],
    [60, 1, 30_000],
    [10_000, 1, 30_000],
  ])('attempt %i with the top draw is initial·2^n capped', (attempt, r, ms) => {
    expect(backoffDelayMs(attempt, P, r)).toBe(ms);
  });

  it('jitters within [d·(1−jitter), d]', () => {
    expect(backoffDelayMs(2, P, 0)).toBe(1000);
    expect(backoffDelayMs(2, P, 0.5)).toBe(1500);
    expect(backoffDelayMs(2, { ...P, jitter: 1 }, 0)).toBe(0);
    expect(backoffDelayMs(2, { ...P, jitter: 0 }, 0.3)).toBe(2000);
    for (let a = 0; a < 20; a++) {
      for (const r of [0, 0.1, 0.77, 0.999]) {
        const d = backoffDelayMs(a, P, r);
        expect(d).toBeGreaterThanOrEqual(250);
        expect(d).toBeLessThanOrEqual(30_000);
      }
    }
  });

  it('is monotone in the attempt for a fixed draw and tolerates odd inputs', () => {
    let prev = 0;
    for (let a = 0; a < 12; a++) {
      const d = backoffDelayMs(a, { ...P, factor: 3 }, 0.4);
      expect(d).toBeGreaterThanOrEqual(prev);
      prev = d;
    }
    expect(backoffDelayMs(-3, P, 2)).toBe(500);
  });
});
