import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { OverloadError, PeerError, TimeoutError } from '../../src/errors.js';
import { PendingRequests } from '../../src/upstream/pending-requests.js';

const URL = 'stratum+tcp://127.0.0.1:3333';

describe('PendingRequests', () => {
  let clock = new ManualClock(0);
  beforeEach(() => void (clock = new ManualClock(0)));

  it('writes one JSON-RPC line per request and settles it by id, echoed as a number or a string', async () => {
    const p = new PendingRequests(URL, 10, clock);
    const lines: string[] = [];
    const a = p.request('mining.subscribe', ['ua'], 1000, (l) => lines.push(l) > 0);
    const b = p.request('mining.authorize', ['u', 'x'], 1000, (l) => lines.push(l) > 0);
    expect(lines.map((l) => JSON.parse(l) as { id: number; method: string })).toMatchObject([
      { id: 1, method: 'mining.subscribe' },
      { id: 2, method: 'mining.authorize' },
    ]);
    expect(p.size).toBe(2);
    expect(p.settle('2', { result: true, error: null })).toBe(true);
    expect(p.settle(1, { result: [null, 'ab', 4], error: null })).toBe(true);
    await expect(a).resolves.toEqual({ result: [null, 'ab', 4], error: null });
    await expect(b).resolves.toEqual({ result: true, error: null });
    // Answers to ids that wait for nothing are reported, not taken.
    expect(p.settle(1, { result: true, error: null })).toBe(false);
    expect(p.settle(null, { result: true, error: null })).toBe(false);
    expect(p.size).toBe(0);
  });

  it('times a request out, and a late answer then finds nothing', async () => {
    const p = new PendingRequests(URL, 10, clock);
    const r = p.request('mining.submit', [], 500, () => true);
    const seen = r.catch((e: unknown) => e);
    clock.advance(499);
    expect(p.size).toBe(1);
    clock.advance(1);
    const err = await seen;
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe(`pool ${URL} did not answer mining.submit within 500 ms`);
    expect(p.settle(1, { result: true, error: null })).toBe(false);
  });

  it('refuses over the cap, fails an unwritable request at once, and fails everything on close', async () => {
    const p = new PendingRequests(URL, 2, clock);
    const a = p.request('mining.submit', [], 1000, () => true).catch((e: unknown) => e);
    const b = p.request('mining.submit', [], 1000, () => true).catch((e: unknown) => e);
    await expect(p.request('mining.submit', [], 1000, () => true)).rejects.toBeInstanceOf(OverloadError);
    p.failAll('socket closed');
    expect(await a).toBeInstanceOf(PeerError);
    expect(((await b) as Error).message).toBe(`pool ${URL} closed before answering mining.submit: socket closed`);
    expect(p.size).toBe(0);
    await expect(p.request('mining.submit', [], 1000, () => false)).rejects.toThrow(`cannot write to pool ${URL}`);
    expect(p.size).toBe(0);
    expect(clock.pending()).toBe(0); // no timer outlives its request
  });
});
