import { afterEach, describe, expect, it } from 'vitest';
import { Proxy, SimPool, startMiners, startPools, testConfig, waitFor } from './proxy-harness.js';
import { RawClient } from './proxy-raw-client.js';

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

describe('proxy: per-miner vardiff over real sockets', () => {
  it('ramps a miner that starts far too low, with no share lost to the change', async () => {
    const [pool] = (await startPools(1, { difficulty: 1 })) as [SimPool];
    cleanup.push(() => pool.stop());
    const proxy = new Proxy(testConfig([pool], { difficulty: { initial: 1e-8, min: 1e-9, max: 1, targetSharesPerMinute: 120, retargetS: 2 } }));
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    // ~20 shares/s at 1e-8 for a 10k H/s miner: far above 2/s, so vardiff must raise it.
    const [m] = await startMiners(port, 1, { hashesPerSecond: 10_000 });
    cleanup.push(() => m!.stop());
    await waitFor(() => m!.stats.difficulty >= 1e-7, 10_000, 'difficulty raised');
    // Each change came as set_difficulty followed by a clean job under a new id.
    expect(m!.stats.cleanJobs).toBeGreaterThanOrEqual(2);
    m!.pause();
    await waitFor(() => m!.settled, 3000, 'answers');
    expect(m!.stats.rejected).toEqual({});
    expect(proxy.workers()[0]!.difficulty).toBe(m!.stats.difficulty);
  });

  it('honours mining.suggest_difficulty and BIP310 minimum-difficulty as floors, capped by the pool', async () => {
    const [pool] = (await startPools(1, { difficulty: 0.5 })) as [SimPool];
    cleanup.push(() => pool.stop());
    const proxy = new Proxy(testConfig([pool], { difficulty: { initial: 1e-6, min: 1e-9, max: 1e6, targetSharesPerMinute: 8, retargetS: 30 } }));
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const a = await RawClient.open(port);
    cleanup.push(() => a.close());
    await a.call(1, 'mining.configure', [['minimum-difficulty'], { 'minimum-difficulty.value': 0.01 }]);
    await a.call(2, 'mining.subscribe', []);
    await a.call(3, 'mining.authorize', ['floor-a', 'x']);
    expect((await a.waitFor('mining.set_difficulty'))[0]!.params).toEqual([0.01]);
    const b = await RawClient.open(port);
    cleanup.push(() => b.close());
    await b.call(1, 'mining.subscribe', []);
    await b.call(2, 'mining.suggest_difficulty', [64]);
    await b.call(3, 'mining.authorize', ['floor-b', 'x']);
    // Suggested 64, but never above the pool's 0.5.
    expect((await b.waitFor('mining.set_difficulty'))[0]!.params).toEqual([0.5]);
  });
});
