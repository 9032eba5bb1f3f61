import { describe, expect, it } from 'vitest';
import { MinerLimits } from '../../src/miner/miner-limits.js';

describe('MinerLimits', () => {
  it('caps submits per one-second window', () => {
    const l = new MinerLimits({ maxSubmitsPerSecond: 3, banInvalidShares: 5, banWindowS: 10 });
    expect([0, 100, 200, 300].map((t) => l.allowSubmit(t))).toEqual([true, true, true, false]);
    expect(l.allowSubmit(999)).toBe(false);
    expect(l.allowSubmit(1000)).toBe(true);
  });

  it('bans after N invalid shares within the window, never on one', () => {
    const l = new MinerLimits({ maxSubmitsPerSecond: 100, banInvalidShares: 3, banWindowS: 10 });
    expect(l.noteInvalid(0)).toBe(false);
    expect(l.noteInvalid(1000)).toBe(false);
    expect(l.noteInvalid(20_000)).toBe(false); // 3 in 20 s: outside the 10 s window
    expect(l.noteInvalid(21_000)).toBe(false); // last three: 1 s, 20 s, 21 s
    expect(l.noteInvalid(22_000)).toBe(true); // 20, 21, 22 s
  });

  it('with a threshold of 2, the second invalid share inside the window bans', () => {
    const l = new MinerLimits({ maxSubmitsPerSecond: 1, banInvalidShares: 2, banWindowS: 1 });
    expect(l.noteInvalid(0)).toBe(false);
    expect(l.noteInvalid(500)).toBe(true);
  });
});
