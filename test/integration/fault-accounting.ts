/**
 * `expectBalanced(snapshot)`: the share books of a proxy snapshot balance
 * (issue 7). For the end of any integration test that sends shares:
 *   submits received = answered (settled: nothing in flight),
 *   accepted + rejected = answered,
 *   forwarded = pool accepted + rejected + timed out + lost (+ pending).
 * With `pools`, the simulated pools' own counts must match what surplus
 * believes they answered.
 */
import { expect } from 'vitest';
import type { ProxySnapshot } from '../../src/proxy.js';
import type { SimPool } from '../../src/demo/sim-pool.js';

export interface BalanceOptions {
  /** Require nothing in flight (the test waited for every answer). Default true. */
  settled?: boolean;
  /** Simulated pools that received every forwarded share (cross-check their own counts). */
  pools?: SimPool[];
}

export function expectBalanced(snap: ProxySnapshot, opts: BalanceOptions = {}): void {
  const a = snap.accounting;
  expect(a.problems, 'share books').toEqual([]);
  expect(a.balanced).toBe(true);
  const c = snap.shares;
  if (opts.settled ?? true) {
    expect(c.submitsAnswered, 'every submit answered').toBe(c.submitsReceived);
    expect(a.poolPending, 'no forwarded share waiting').toBe(0);
    expect(c.poolAccepted + c.poolRejected + c.poolTimedOut + c.poolLost).toBe(c.forwarded);
  }
  if (opts.pools) {
    const poolSeen = opts.pools.reduce((n, p) => n + p.stats.submits, 0);
    const poolAccepted = opts.pools.reduce((n, p) => n + p.stats.accepted, 0);
    // A pool counts every submit that reached it; surplus counts the ones it got an answer for,
    // plus the ones it gave up on (timed out) or lost with the connection (they may or may not have arrived).
    expect(poolSeen).toBeGreaterThanOrEqual(c.poolAccepted + c.poolRejected);
    expect(poolSeen).toBeLessThanOrEqual(c.forwarded);
    expect(poolAccepted).toBeGreaterThanOrEqual(c.poolAccepted);
  }
}
