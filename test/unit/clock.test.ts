import { describe, expect, it } from 'vitest';
import { every, ManualClock, systemClock } from '../../src/clock.js';

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

describe('every: a repeating timer on any clock', () => {
  it('fires once per period in time order with other timers, until stopped', () => {
    const c = new ManualClock(0);
    const seen: string[] = [];
    const r = every(c, 100, () => seen.push(`tick@${c.now()}`));
    c.setTimeout(() => seen.push(`once@${c.now()}`), 150);
    c.advance(350);
    expect(seen).toEqual(['tick@100', 'once@150', 'tick@200', 'tick@300']);
    r.stop();
    r.stop();
    c.advance(1000);
    expect(seen).toHaveLength(4);
    expect(c.pending()).toBe(0);
  });

  it('can be stopped from inside its own call, and keeps going after a throwing call', () => {
    const c = new ManualClock(0);
    let n = 0;
    const r = every(c, 10, () => {
      n++;
      if (n === 3) r.stop();
    });
    c.advance(100);
    expect(n).toBe(3);
    let m = 0;
    every(c, 10, () => {
      m++;
      if (m === 1) throw new Error('boom');
    });
    expect(() => c.advance(10)).toThrow('boom');
    c.advance(20);
    expect(m).toBe(3);
  });

  it('stays unref-ed across re-arms (never holds the process open)', () => {
    const c = new ManualClock(0);
    const handles: { unrefd: boolean }[] = [];
    const recording = {
      now: () => c.now(),
      clearTimeout: (h: Parameters<ManualClock['clearTimeout']>[0]) => c.clearTimeout(h),
      setTimeout: (fn: () => void, ms: number) => {
        const h = c.setTimeout(fn, ms);
        const rec = { unrefd: false };
        handles.push(rec);
        return { unref: () => ((rec.unrefd = true), h.unref()) };
      },
    };
    const r = every(recording, 5, () => undefined).unref();
    c.advance(20);
    expect(handles).toHaveLength(5);
    expect(handles.every((h) => h.unrefd)).toBe(true);
    r.stop();
  });
});
