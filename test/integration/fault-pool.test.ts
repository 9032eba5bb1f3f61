/**
 * Faults on the pool side (issue 7), over loopback: the pool closing the
 * socket while submits wait for it, a pool that stops answering (submits
 * time out and are counted; failover), every pool down (miners stay
 * connected and resume), and a pool whose coinbase pays someone else (the
 * payout guard keeps its jobs from every miner and fails over). Every test
 * ends with the share books balanced.
 *
 * Proxy, pools and miners run on one ManualClock over real loopback sockets
 * (test/support/manual-time.ts): timeouts, watchdogs and outages pass as
 * site time, moved in small steps while the rig runs, not waited for.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { fakeTime, type FakeTime } from '../support/manual-time.js';
import { MINER_DIFF, Proxy, SimMiner, SimPool, startMiners, startPools, testConfig } from './proxy-harness.js';
import { expectBalanced } from './fault-accounting.js';
import { SIM_PAYOUT_SCRIPT } from '../../src/demo/sim-jobs.js';

let cleanup: Array<() => unknown> = [];
let time: FakeTime;
const waitFor = (cond: () => boolean, limitMs?: number, what?: string): Promise<void> => time.waitFor(cond, limitMs, what);
beforeEach(() => {
  time = fakeTime(new ManualClock(Date.now()));
});
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function rig(n: number, overrides: Record<string, unknown> = {}, poolOpts = {}) {
  const pools = await startPools(n, { ...poolOpts, clock: time.clock });
  cleanup.push(() => Promise.all(pools.map((p) => p.stop())));
  const proxy = new Proxy(testConfig(pools, overrides), { clock: time.clock });
  cleanup.push(() => proxy.close());
  const { port } = await proxy.start();
  const miners = await startMiners(port, 3, { clock: time.clock });
  cleanup.push(() => miners.forEach((m: SimMiner) => m.stop()));
  return { pools, proxy, port, miners };
}

/** Stops the miners and waits until every submit and every forwarded share is settled. */
async function settle(proxy: Proxy, miners: SimMiner[]): Promise<void> {
  for (const m of miners) m.stop();
  await waitFor(() => proxy.snapshot().minersConnected === 0, 10_000, 'miners gone');
  // A share still being hashed when its miner left is answered (and maybe forwarded) a moment later.
  await waitFor(() => {
    const s = proxy.snapshot();
    return s.shares.submitsAnswered === s.shares.submitsReceived && s.accounting.poolPending === 0;
  }, 15_000, 'every submit answered, pool answers or timeouts');
}

describe('fault: pools', () => {
  it('pool closes the socket while submits wait for it: they are counted lost, miners stay, the backup takes over', async () => {
    const { pools, proxy, miners } = await rig(2, { upstream: { requestTimeoutS: 10, silenceTimeoutS: 10 } }, { difficulty: MINER_DIFF });
    const [primary, backup] = pools as [SimPool, SimPool];
    await waitFor(() => primary.stats.accepted >= 2, 10_000, 'shares on the primary');
    primary.mute(true); // answers stop: forwarded shares pile up in the pending map
    // Answers the pool sent before the mute may still be on their way (a loaded machine reads them
    // late): wait until surplus has every one of them, so what is pending now can only be lost.
    const answered = (): number => primary.stats.accepted + Object.values(primary.stats.rejected).reduce((a, b) => a + b, 0);
    await waitFor(() => {
      const s = proxy.snapshot();
      return s.shares.poolAccepted + s.shares.poolRejected === answered() && s.accounting.poolPending >= 2;
    }, 10_000, 'submits waiting on the pool, every earlier answer received');
    const pending = proxy.snapshot().accounting.poolPending;
    await primary.stop(); // ... and the socket closes under them
    await waitFor(() => backup.stats.accepted >= 2, 10_000, 'shares on the backup');
    const s = proxy.snapshot();
    expect(s.shares.poolLost).toBeGreaterThanOrEqual(pending);
    expect(s.activePool).toBe(backup.url);
    expect(miners.every((m) => m.connected)).toBe(true);
    await settle(proxy, miners);
    expectBalanced(proxy.snapshot(), { pools });
  });

  it('pool stops answering: submits time out and are counted, the watchdog fails over', async () => {
    // Pool target = miner target: every accepted share is forwarded, so some are in flight when it hangs.
    const { pools, proxy, miners } = await rig(2, { upstream: { requestTimeoutS: 0.5, silenceTimeoutS: 3, fallbackStableS: 60 } }, { jobIntervalMs: 200, difficulty: MINER_DIFF });
    const [primary, backup] = pools as [SimPool, SimPool];
    await waitFor(() => primary.stats.accepted >= 2, 10_000, 'shares on the primary');
    primary.mute(true);
    await waitFor(() => proxy.snapshot().shares.poolTimedOut >= 1, 10_000, 'a submit timing out');
    await waitFor(() => proxy.snapshot().activePool === backup.url, 10_000, 'failover on silence');
    await waitFor(() => backup.stats.accepted >= 2, 10_000, 'shares on the backup');
    expect(miners.every((m) => m.connected)).toBe(true);
    expect(proxy.snapshot().pools[0]!.failovers).toBeGreaterThanOrEqual(1);
    await settle(proxy, miners);
    expectBalanced(proxy.snapshot());
  });

  it('all pools down: miners stay connected and resume when a pool returns', async () => {
    const { pools, proxy, miners } = await rig(2);
    const [primary, backup] = pools as [SimPool, SimPool];
    await waitFor(() => primary.stats.accepted >= 1, 10_000, 'shares on the primary');
    await Promise.all([primary.stop(), backup.stop()]);
    await time.pass(2000);
    const down = proxy.snapshot();
    expect(down.pools.every((p) => p.state !== 'up')).toBe(true);
    expect(down.minersConnected).toBe(3);
    expect(miners.every((m) => m.connected)).toBe(true);
    const accepted = miners.map((m) => m.stats.accepted);
    // The pool's counters survive its restart: count from here (it may already have been at 3).
    const poolBefore = primary.stats.accepted;
    await primary.start();
    await waitFor(() => primary.stats.accepted >= poolBefore + 2, 15_000, 'shares after the outage');
    await waitFor(() => miners.some((m, i) => m.stats.accepted > accepted[i]!), 10_000, 'a miner credited after the outage');
    expect(miners.every((m) => m.connected)).toBe(true);
    await settle(proxy, miners);
    expectBalanced(proxy.snapshot());
  });

  it('payout guard: jobs paying another script never reach a miner; the pool is failed over and counted', async () => {
    const thief = new SimPool({ difficulty: 1e-5, payoutScript: '0014' + '66'.repeat(20), clock: time.clock });
    await thief.start();
    const [honest] = (await startPools(1, { clock: time.clock })) as [SimPool];
    cleanup.push(() => thief.stop(), () => honest.stop());
    const cfg = testConfig([thief, honest]);
    const proxy = new Proxy({ ...cfg, pools: cfg.pools.map((p) => ({ ...p, expectedPayout: SIM_PAYOUT_SCRIPT })) }, { clock: time.clock });
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const miners = await startMiners(port, 2, { clock: time.clock });
    cleanup.push(() => miners.forEach((m) => m.stop()));
    await waitFor(() => honest.stats.accepted >= 2, 15_000, 'shares on the honest pool');
    const s = proxy.snapshot();
    expect(s.payoutMismatches).toBeGreaterThanOrEqual(1);
    expect(s.pools[0]!.payoutMismatches).toBe(s.payoutMismatches);
    expect(s.activePool).toBe(honest.url);
    // Nothing was ever mined for the thief: it saw no share.
    expect(thief.stats.submits).toBe(0);
    await settle(proxy, miners);
    expectBalanced(proxy.snapshot(), { pools: [honest] });
  });
});
