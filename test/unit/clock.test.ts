import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/clock.js';

describe('ManualClock: time and timers moved by hand', () => {
  it('fires due timers in time order, ties in the order set, with the clock at each timer time', () => {
    const c = new ManualClock(1000);
    const seen: string[] = [];
    c.setTimeout(() => seen.push(`b@${c.now()}`), 20);
    c.setTimeout(() => seen.push(`a@${c.now()}`), 10);
    c.setTimeout(() => seen.push(`c@${c.now()}`), 20);
    c.advance(15);
    expect(seen).toEqual(['a@1010']);
    expect(c.now()).toBe(1015);
    c.advance(100);
    expect(seen).toEqual(['a@1010', 'b@1020', 'c@1020']);
    expect(c.now()).toBe(1115);
    expect(c.fired).toBe(3);
  });

  it('runs timers set by a firing timer when they fall due inside the same move', () => {
    const c = new ManualClock(0);
    const at: number[] = [];
    const tick = (): void => {
      at.push(c.now());
      if (at.length < 4) c.setTimeout(tick, 5);
    };
    c.setTimeout(tick, 5);
    c.set(100);
    expect(at).toEqual([5, 10, 15, 20]);
  });

  it('never fires a cleared timer, and ignores foreign or spent handles', () => {
    const c = new ManualClock(0);
    let n = 0;
    const h = c.setTimeout(() => n++, 10);
    c.clearTimeout(h);
    c.clearTimeout(undefined);
    c.advance(50);
    expect(n).toBe(0);
    expect(c.nextAtMs()).toBeUndefined();
    const spent = c.setTimeout(() => n++, 0);
    c.advance(0);
    c.clearTimeout(spent);
    expect(n).toBe(1);
    expect(c.pending()).toBe(0);
  });

  it('does not go back in time', () => {
    const c = new ManualClock(500);
    c.set(100);
    expect(c.now()).toBe(500);
  });

  it('treats a negative or non-finite delay as now', () => {
    const c = new ManualClock(0);
    let n = 0;
    c.setTimeout(() => n++, -5);
    c.setTimeout(() => n++, Number.NaN);
    c.advance(0);
    expect(n).toBe(2);
  });
});

describe('systemClock', () => {
  it('hands out Node timers that can be unref-ed and cleared', () => {
    let fired = false;
    const h = systemClock.setTimeout(() => (fired = true), 60_000);
    expect(h.unref()).toBe(h);
    systemClock.clearTimeout(h);
    expect(fired).toBe(false);
    expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(1000);
  });
});
