/**
 * Hung-pool detection (issue 11 item 3) on a fake clock: the detector alone,
 * and the request map feeding it (each request's timeout on vitest's fake
 * timers, time read from a ManualClock moved with them).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { TimeoutError } from '../../src/errors.js';
import { HungDetector } from '../../src/upstream/hung-detector.js';
import { PendingRequests } from '../../src/upstream/pending-requests.js';
import { upstreamSchema } from '../../src/config/schema.js';

describe('HungDetector', () => {
  it('owes nothing without requests; hung once the oldest unanswered request is hungAfterMs old', () => {
    const d = new HungDetector(10_000);
    expect(d.check(50_000)).toEqual({ hung: false, waitingSinceMs: undefined, unanswered: 0 });
    d.sent(1, 1000);
    d.sent(2, 3000);
    expect(d.check(10_999)).toMatchObject({ hung: false, waitingSinceMs: 1000, unanswered: 2 });
    expect(d.check(11_000)).toMatchObject({ hung: true, waitingSinceMs: 1000, unanswered: 2 });
  });

  it('any answer shows the pool alive: the wait restarts from it', () => {
    const d = new HungDetector(10_000);
    d.sent(1, 0);
    d.sent(2, 1000);
    d.answered(2, 8000); // the later one answered: the pool lives, request 1 was lost by the pool
    expect(d.check(15_000)).toMatchObject({ hung: false, waitingSinceMs: 8000, unanswered: 1 });
    expect(d.check(18_000).hung).toBe(true);
    d.answered(1, 18_500);
    expect(d.check(60_000)).toEqual({ hung: false, waitingSinceMs: undefined, unanswered: 0 });
  });

  it('an answer to an id it never saw (a late answer after the timeout) also counts as alive', () => {
    const d = new HungDetector(5000);
    d.sent(7, 0);
    d.answered(3, 4000);
    expect(d.check(8000)).toMatchObject({ hung: false, waitingSinceMs: 4000 });
  });

  it('requests that timed out still count until the next answer', () => {
    const d = new HungDetector(10_000);
    d.sent(1, 0);
    d.expired(1); // requestTimeoutS shorter than hungAfterS
    expect(d.check(9999)).toMatchObject({ hung: false, waitingSinceMs: 0, unanswered: 1 });
    expect(d.check(10_000).hung).toBe(true);
    d.answered(99, 10_500);
    expect(d.check(30_000).hung).toBe(false);
  });

  it('a request forgotten (never written, connection closed) leaves no verdict', () => {
    const d = new HungDetector(1000);
    d.sent(1, 0);
    d.forget(1);
    expect(d.check(10_000).hung).toBe(false);
  });

  it('with the default upstream.hungAfterS, a stopped pool is left at most 15 s after the first unanswered share', () => {
    const { hungAfterS } = upstreamSchema.parse({});
    const d = new HungDetector(hungAfterS * 1000);
    // The client checks every min(1 s, hungAfter/10): the close comes within one period of the verdict.
    const every = Math.min(1000, (hungAfterS * 1000) / 10);
    d.sent(1, 100_000);
    let t = 100_000;
    while (!d.check(t).hung) t += every;
    expect(t - 100_000).toBeLessThanOrEqual(15_000);
    expect(t - 100_000).toBeGreaterThanOrEqual(hungAfterS * 1000);
  });
});

describe('PendingRequests feeding the detector', () => {
  it('submits that go unanswered make the pool hung; configure/extranonce.subscribe never do', async () => {
    const clock = new ManualClock(0);
    const d = new HungDetector(10_000);
    const p = new PendingRequests('stratum+tcp://pool:1', 100, clock, d);
    const lines: string[] = [];
    const write = (l: string): boolean => (lines.push(l), true);
    const optional = p.request('mining.extranonce.subscribe', [], 60_000, write, { optional: true });
    optional.catch(() => undefined);
    clock.advance(30_000);
    expect(d.check(clock.now()).hung).toBe(false); // an ignored extranonce.subscribe is not a hung pool
    const submit = p.request('mining.submit', ['u', 'j', '00', '00', '00'], 15_000, write);
    const outcome = submit.catch((e: unknown) => e);
    clock.advance(9_999);
    expect(d.check(clock.now()).hung).toBe(false);
    clock.advance(1);
    expect(d.check(clock.now())).toMatchObject({ hung: true, waitingSinceMs: 30_000, unanswered: 1 });
    // Its own timeout later still rejects it (the share path counts it), and it keeps counting against the pool.
    clock.advance(5000);
    expect(await outcome).toBeInstanceOf(TimeoutError);
    expect(d.check(clock.now()).hung).toBe(true);
    // An answer (to anything) clears it.
    expect(p.settle(1, { result: true, error: null })).toBe(true);
    expect(d.check(clock.now()).hung).toBe(false);
  });

  it('a closed connection fails every request and leaves no verdict behind', async () => {
    const clock = new ManualClock(0);
    const d = new HungDetector(1000);
    const p = new PendingRequests('stratum+tcp://pool:1', 100, clock, d);
    const r = p.request('mining.submit', [], 60_000, () => true).catch((e: unknown) => e);
    p.failAll('gone');
    await r;
    clock.advance(5000);
    expect(d.check(clock.now()).hung).toBe(false);
  });
});
