import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { clampDifficulty, difficultyForHashrate, recordShare, retarget, startVardiff, type VardiffSettings, type VardiffState } from '../../src/vardiff/vardiff.js';

const CFG: VardiffSettings = { targetSharesPerMinute: 8, retargetS: 30, min: 0.001, max: 1e12 };

/**
 * Drives the policy with a miner of fixed hashrate: at difficulty d it finds
 * shares every d·2^32/H seconds (deterministic, the mean of the Poisson process).
 */
function simulate(hashesPerS: number, startDiff: number, seconds: number, poolDiff?: number): { state: VardiffState; changes: number[]; sharesLastMinute: number } {
  const clock = new ManualClock(0);
  let s = startVardiff(startDiff, 0);
  const changes: number[] = [];
  let nextShareAt = (s.difficulty * 2 ** 32) / hashesPerS * 1000;
  const shareTimes: number[] = [];
  for (let t = 0; t <= seconds * 1000; t += 100) {
    clock.set(t);
    while (nextShareAt <= t) {
      s = recordShare(s, s.difficulty);
      shareTimes.push(nextShareAt);
      nextShareAt += (s.difficulty * 2 ** 32) / hashesPerS * 1000;
      const r = retarget(s, CFG, {}, poolDiff, clock.now());
      s = r.state;
      if (r.newDifficulty !== undefined) {
        changes.push(r.newDifficulty);
        nextShareAt = t + (s.difficulty * 2 ** 32) / hashesPerS * 1000;
      }
    }
    if (t % 1000 === 0) {
      const r = retarget(s, CFG, {}, poolDiff, clock.now());
      s = r.state;
      if (r.newDifficulty !== undefined) {
        changes.push(r.newDifficulty);
        nextShareAt = t + (s.difficulty * 2 ** 32) / hashesPerS * 1000;
      }
    }
  }
  const end = seconds * 1000;
  return { state: s, changes, sharesLastMinute: shareTimes.filter((x) => x > end - 60_000).length };
}

describe('vardiff policy', () => {
  it('converges from far too low to the target share rate (100 TH/s miner from difficulty 1)', () => {
    const H = 100e12;
    const { state, sharesLastMinute, changes } = simulate(H, 1, 600);
    const ideal = difficultyForHashrate(H, 8);
    expect(state.difficulty / ideal).toBeGreaterThan(0.5);
    expect(state.difficulty / ideal).toBeLessThan(2);
    expect(sharesLastMinute).toBeGreaterThanOrEqual(4);
    expect(sharesLastMinute).toBeLessThanOrEqual(16);
    // The fast first ramp gets there in a few steps, not dozens of ×4 steps.
    expect(changes.length).toBeLessThan(8);
  });

  it('converges from far too high (decay when quiet) for a CPU-class miner', () => {
    const H = 5e6;
    const { state } = simulate(H, 1000, 1800);
    const ideal = difficultyForHashrate(H, 8);
    expect(state.difficulty / ideal).toBeGreaterThan(0.4);
    expect(state.difficulty / ideal).toBeLessThan(2.5);
  });

  it('never goes above the pool difficulty', () => {
    const { state } = simulate(100e12, 1, 300, 1000);
    expect(state.difficulty).toBe(1000);
  });

  it('holds steady within the ±50 % dead band', () => {
    let s: VardiffState = { ...startVardiff(100, 0), ramping: false };
    for (let i = 0; i < 5; i++) s = recordShare(s, 100); // 5 shares in 30 s ≈ 10/min vs target 8
    const r = retarget(s, CFG, {}, undefined, 30_000);
    expect(r.newDifficulty).toBeUndefined();
    // The evidence is kept: the next look sees 5 + whatever comes next, not a fresh 30 s window.
    expect(r.state.windowShares).toBe(5);
  });

  it('bounds regular steps to ×4 after the ramp', () => {
    let s: VardiffState = { ...startVardiff(100, 0), ramping: false };
    for (let i = 0; i < 400; i++) s = recordShare(s, 100);
    expect(retarget(s, CFG, {}, undefined, 30_000).newDifficulty).toBe(400);
  });

  it('does not retarget before the window is due', () => {
    let s = startVardiff(100, 0);
    s = recordShare(s, 100);
    expect(retarget(s, CFG, {}, undefined, 10_000)).toEqual({ state: s });
  });

  it('applies floors and clamps at once', () => {
    const s = startVardiff(1, 0);
    expect(retarget(s, CFG, { suggested: 64 }, undefined, 1000).newDifficulty).toBe(64);
    expect(retarget(s, CFG, { minimum: 8 }, undefined, 1000).newDifficulty).toBe(8);
    expect(retarget(startVardiff(1000, 0), CFG, {}, 50, 1000).newDifficulty).toBe(50);
    expect(clampDifficulty(1e-9, CFG, {})).toBe(0.001);
    expect(clampDifficulty(1e20, CFG, {})).toBe(1e12);
    expect(clampDifficulty(10, CFG, { suggested: 500 }, 100)).toBe(100);
  });

  it('maps hashrate to difficulty (expectHashrate)', () => {
    // 440 TH/s at 8 shares/min: 440e12 / 2^32 · 7.5 s
    expect(difficultyForHashrate(440e12, 8)).toBeCloseTo((440e12 / 2 ** 32) * 7.5, 0);
  });
});

describe('clampDifficulty against a pool outside the bounds (issue 11 item 5)', () => {
  const cfg = { targetSharesPerMinute: 8, retargetS: 30, min: 0.5, max: 1000 };
  it.each([
    [1e-300, 0.5],
    [2.3e-10, 0.5],
    [0.25, 0.5],
    [1e300, 64],
    [Number.MIN_VALUE, 0.5],
  ])('pool difficulty %s keeps a miner at 64 within [0.5, 1000] → %s', (pool, want) => {
    expect(clampDifficulty(64, cfg, {}, pool)).toBe(want);
    expect(clampDifficulty(64, cfg, { suggested: 900 }, pool)).toBeGreaterThanOrEqual(0.5);
  });
  it('a NaN difficulty becomes the floor', () => expect(clampDifficulty(Number.NaN, cfg, {}, undefined)).toBe(0.5));
});
