import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { LOST_STABLE_MS, PoolList } from '../../src/upstream/pool-list.js';

const POOLS = [
  { url: 'stratum+tcp://a:1', user: 'u', password: 'x' },
  { url: 'stratum+tcp://b:2', user: 'u', password: 'x' },
  { url: 'stratum+tcp://c:3', user: 'u', password: 'x' },
];

function list(): { pools: PoolList; clock: ManualClock } {
  const clock = new ManualClock(1_000_000);
  // random = 1: the top of the jitter range, so delays are exactly initial·2^n (capped).
  return { pools: new PoolList(POOLS, { initialMs: 500, maxMs: 4000 }, clock, () => 1), clock };
}

describe('PoolList', () => {
  it('fails over in order, wrapping, and counts failovers on the pool left behind', () => {
    const { pools } = list();
    expect(pools.active).toBe(0);
    expect(pools.failover()).toBe(1);
    expect(pools.failover()).toBe(2);
    expect(pools.failover()).toBe(0);
    expect(pools.status(() => 0).map((p) => p.failovers)).toEqual([1, 1, 1]);
    pools.setActive(2);
    expect(pools.status(() => 0).map((p) => p.active)).toEqual([false, false, true]);
  });

  it('backs off a failing pool exponentially up to the cap, and resets on success', () => {
    const { pools, clock } = list();
    const delays: number[] = [];
    for (let k = 0; k < 6; k++) {
      pools.failed(0, 'ECONNREFUSED');
      delays.push(pools.entry(0).nextAttemptAtMs - clock.now());
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    expect(pools.ready(0)).toBe(false);
    clock.advance(4000);
    expect(pools.ready(0)).toBe(true);
    pools.succeeded(0);
    pools.failed(0, 'again');
    expect(pools.entry(0).nextAttemptAtMs - clock.now()).toBe(500);
    expect(pools.status(() => 0)[0]).toMatchObject({ connectFailures: 7, lastError: 'again', state: 'up' });
  });

  it('tracks state with the time it was entered, disconnects and lost pools', () => {
    const { pools, clock } = list();
    pools.setState(1, 'connecting');
    clock.advance(10);
    pools.setState(1, 'connecting');
    expect(pools.status(() => 0)[1]).toMatchObject({ state: 'connecting', sinceMs: 1_000_000 });
    pools.succeeded(1);
    pools.disconnected(1, 'pool silent');
    pools.lost(1);
    expect(pools.status((i) => (i === 1 ? 3 : 0))[1]).toMatchObject({ state: 'down', sinceMs: 1_000_010, disconnects: 1, lastError: 'pool silent', connections: 3 });
    expect(pools.ready(1)).toBe(false);
    clock.advance(500);
    expect(pools.ready(1)).toBe(true);
  });

  it('a pool lost soon after coming up is retried later each time; one that stayed up starts afresh', () => {
    const { pools, clock } = list();
    const delays: number[] = [];
    for (let k = 0; k < 5; k++) {
      pools.succeeded(0); // passes the handshake...
      clock.advance(1000);
      pools.lost(0); // ...and drops us a second later
      delays.push(pools.entry(0).nextAttemptAtMs - clock.now());
      clock.advance(delays[k]!);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 4000]);
    pools.succeeded(0);
    clock.advance(LOST_STABLE_MS);
    pools.lost(0);
    expect(pools.entry(0).nextAttemptAtMs - clock.now()).toBe(500);
  });

  it('checks expectedPayout when the list is built', () => {
    const clock = new ManualClock(0);
    expect(() => new PoolList([{ ...POOLS[0]!, expectedPayout: 'not-an-address' }], { initialMs: 1, maxMs: 2 }, clock)).toThrow(/expectedPayout/);
    const ok = new PoolList([{ ...POOLS[0]!, expectedPayout: '0014' + 'ab'.repeat(20) }], { initialMs: 1, maxMs: 2 }, clock);
    expect(ok.entry(0).payoutScript).toBe('0014' + 'ab'.repeat(20));
  });
});
