import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { fakeTime, type FakeTime } from '../support/manual-time.js';
import { Proxy, SimPool, startMiners, startPools, testConfig } from './proxy-harness.js';
import { RawClient } from './proxy-raw-client.js';

let time: FakeTime;
const waitFor = (cond: () => boolean, limitMs?: number, what?: string): Promise<void> => time.waitFor(cond, limitMs, what);
beforeEach(() => {
  time = fakeTime(new ManualClock(Date.now()));
});
let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

describe('proxy: the Stratum fail-safe lever', () => {
  it('withholds jobs, disconnects after the grace period, refuses reconnection until released', async () => {
    const [pool] = (await startPools(1, { clock: time.clock })) as [SimPool];
    cleanup.push(() => pool.stop());
    const proxy = new Proxy(testConfig([pool]), { clock: time.clock });
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const [m] = await startMiners(port, 1, { clock: time.clock, worker: 'unit-7', followReconnect: false });
    cleanup.push(() => m!.stop());
    expect(proxy.lever.isConnected('unit-7')).toBe(true);
    expect(proxy.lever.isConnected('unit-8')).toBe(false);

    // A miner that is not withheld shows when the next job has been fanned out.
    const control = await RawClient.open(port);
    cleanup.push(() => control.close());
    await control.call(1, 'mining.subscribe', []);
    await control.call(2, 'mining.authorize', ['unit-9', 'x']);
    await control.waitFor('mining.notify');

    let closedAtMs: number | undefined;
    m!.onClose = () => void (closedAtMs ??= time.clock.now());
    const withheldAtMs = time.clock.now();
    proxy.lever.withhold('unit-7', 1);
    const jobs = m!.stats.jobs;
    pool.newJob(true);
    await control.waitFor('mining.notify', 2);
    await waitFor(() => !m!.connected, 10_000, 'disconnect after grace');
    // No new work while withheld (a job written before the close arrives before it), and the
    // connection lasted the grace period: judged from timestamps, so a slow machine only delays it.
    expect(m!.stats.jobs).toBe(jobs);
    expect(closedAtMs! - withheldAtMs).toBeGreaterThanOrEqual(1000 - 1);
    expect(proxy.lever.isConnected('unit-7')).toBe(false);

    // Reconnecting while withheld: authorize is refused and the connection closed.
    const c = await RawClient.open(port);
    cleanup.push(() => c.close());
    await c.call(1, 'mining.subscribe', []);
    const auth = await c.call(2, 'mining.authorize', ['unit-7', 'x']);
    expect(auth.error?.[0]).toBe(24);
    await waitFor(() => c.closed, 10_000, 'refused connection closed');
    expect(proxy.workers().find((w) => w.worker === 'unit-7')?.withheld).toBe(true);

    // Released: the next connection gets the current job with clean_jobs.
    proxy.lever.release('unit-7');
    const c2 = await RawClient.open(port);
    cleanup.push(() => c2.close());
    await c2.call(1, 'mining.subscribe', []);
    expect((await c2.call(2, 'mining.authorize', ['unit-7', 'x'])).result).toBe(true);
    const [n] = await c2.waitFor('mining.notify');
    expect(n!.params![8]).toBe(true);
    expect(proxy.lever.isConnected('unit-7')).toBe(true);
  });

  it('expectHashrate retargets difficulty ahead of the shares (set_difficulty, then the job again, not clean)', async () => {
    const [pool] = (await startPools(1, { clock: time.clock, difficulty: 1e6 })) as [SimPool];
    cleanup.push(() => pool.stop());
    const proxy = new Proxy(testConfig([pool], { difficulty: { initial: 1, min: 1e-6, max: 1e9, targetSharesPerMinute: 8 } }), { clock: time.clock });
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const c = await RawClient.open(port);
    cleanup.push(() => c.close());
    await c.call(1, 'mining.subscribe', []);
    await c.call(2, 'mining.authorize', ['unit-1', 'x']);
    await c.waitFor('mining.notify');
    expect(c.notifications('mining.set_difficulty')[0]!.params).toEqual([1]);
    proxy.lever.expectHashrate('unit-1', 440);
    const diffs = await c.waitFor('mining.set_difficulty', 2);
    // 440 TH/s at 8 shares/min: 440e12 / 2^32 · 7.5 s ≈ 768,000.
    expect(diffs[1]!.params![0]).toBeCloseTo((440e12 / 2 ** 32) * 7.5, -1);
    const notifies = await c.waitFor('mining.notify', 2);
    const last = notifies[1]!;
    // A difficulty change alone does not void the miner's work (issue 13).
    expect(last.params![8]).toBe(false);
    expect(c.messages.indexOf(diffs[1]!)).toBeLessThan(c.messages.indexOf(last));
    expect(proxy.workers().find((w) => w.worker === 'unit-1')?.difficulty).toBeCloseTo(diffs[1]!.params![0] as number);
  });
});
