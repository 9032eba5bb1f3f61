import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { captureLog } from '../support/log-capture.js';
import { fakeTime, type FakeTime } from '../support/manual-time.js';
import { Proxy, SimMiner, SimPool, startMiners, startPools, testConfig } from './proxy-harness.js';

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

// Pools at 2x the miners' difficulty: half the shares go upstream, so the "N shares on pool X"
// waits take a second or two even when load slows the CPU miners (at 5x, a single load-slowed
// miner sometimes found no pool share within 10 s).
const POOL_DIFF = 4e-6;

describe('proxy: pool failover and fallback', () => {
  it('keeps miners connected through a primary outage, mines on the backup, then falls back', { timeout: 90_000 }, async () => {
    const [primary, backup] = (await startPools(2, { clock: time.clock, difficulty: POOL_DIFF })) as [SimPool, SimPool];
    cleanup.push(() => primary.stop(), () => backup.stop());
    const log = captureLog();
    const proxy = new Proxy(testConfig([primary, backup]), { clock: time.clock, logger: log.logger });
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const miners = await startMiners(port, 2, { clock: time.clock });
    cleanup.push(() => miners.forEach((m: SimMiner) => m.stop()));

    await waitFor(() => primary.stats.accepted >= 2, 20_000, 'shares on the primary');
    expect(proxy.snapshot().activePool).toBe(primary.url);
    const before = miners.map((m) => ({ clean: m.stats.cleanJobs, en1: m.extranonce.extranonce1 }));

    await primary.stop();
    await waitFor(() => backup.stats.accepted >= 2, 20_000, 'shares on the backup');
    const snap = proxy.snapshot();
    expect(snap.activePool).toBe(backup.url);
    expect(snap.pools[0]).toMatchObject({ url: primary.url, state: 'down', failovers: 1 });
    expect(snap.pools[1]).toMatchObject({ url: backup.url, state: 'up', active: true });
    miners.forEach((m, i) => {
      // Same TCP connection all along: no reconnect was asked, and no new extranonce was needed
      // (the pool's extranonce1 is in the jobs' coinb1; the miner kept its prefix): only a clean job.
      expect(m.connected).toBe(true);
      expect(m.stats.reconnectsAsked).toBe(0);
      expect(m.stats.extranonceChanges).toBe(0);
      expect(m.extranonce.extranonce1).toBe(before[i]!.en1);
      expect(m.stats.cleanJobs).toBeGreaterThan(before[i]!.clean);
    });
    expect(backup.stats.rejected).toEqual({});

    // The primary comes back; after fallbackStableS (1 s here) surplus moves everyone back.
    await primary.start();
    const primaryBefore = primary.stats.accepted;
    await waitFor(() => proxy.snapshot().activePool === primary.url, 20_000, 'fallback to the primary');
    await waitFor(() => primary.stats.accepted >= primaryBefore + 2, 20_000, 'shares on the primary again');
    expect(miners.every((m) => m.connected && m.stats.reconnectsAsked === 0)).toBe(true);
    expect(primary.stats.rejected).toEqual({});
    await waitFor(() => backup.connectionCount === 0, 20_000, 'backup connection closed after fallback');
    // The operator sees the pool come back when it does, not only at the fallback fallbackStableS later.
    const msgs = log.lines.map((l) => l.msg);
    const upAgain = msgs.indexOf('higher-priority pool is up again; falling back if it stays up');
    expect(upAgain).toBeGreaterThanOrEqual(0);
    expect(log.lines[upAgain]).toMatchObject({ pool: primary.url, fallbackInS: 1 });
    expect(upAgain).toBeLessThan(msgs.indexOf('falling back to higher-priority pool'));
    const s = proxy.snapshot().shares;
    expect(Object.keys(s.rejected).filter((k) => k !== 'stale-job')).toEqual([]);
  });

  it('fails over when the pool goes silent (liveness watchdog)', { timeout: 60_000 }, async () => {
    // Live pools send a job every 200 ms here, so 0.5 s of silence means a hung pool.
    const [primary, backup] = (await startPools(2, { clock: time.clock, jobIntervalMs: 200, difficulty: POOL_DIFF })) as [SimPool, SimPool];
    cleanup.push(() => primary.stop(), () => backup.stop());
    const proxy = new Proxy(testConfig([primary, backup], { upstream: { silenceTimeoutS: 0.5, fallbackStableS: 60 } }), { clock: time.clock });
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const miners = await startMiners(port, 1, { clock: time.clock });
    cleanup.push(() => miners.forEach((m: SimMiner) => m.stop()));
    await waitFor(() => primary.stats.accepted >= 1, 20_000, 'share on the primary');
    primary.mute(true);
    await waitFor(() => proxy.snapshot().activePool === backup.url, 20_000, 'failover after silence');
    await waitFor(() => backup.stats.accepted >= 1, 20_000, 'share on the backup');
    expect(miners[0]!.connected).toBe(true);
    expect(proxy.snapshot().pools[0]!.lastError ?? '').toMatch(/silent|handshake/);
  });

  it('counts forwarded shares the pool never answers as timeouts, and the books still balance', { timeout: 60_000 }, async () => {
    const [pool] = (await startPools(1, { clock: time.clock, difficulty: 4e-6 })) as [SimPool];
    cleanup.push(() => pool.stop());
    const proxy = new Proxy(testConfig([pool], { upstream: { requestTimeoutS: 0.3, silenceTimeoutS: 30 } }), { clock: time.clock });
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const miners = await startMiners(port, 2, { clock: time.clock });
    cleanup.push(() => miners.forEach((m: SimMiner) => m.stop()));
    await waitFor(() => pool.stats.accepted >= 1, 20_000, 'a share accepted');
    pool.mute(true); // hung pool: socket open, no answers
    await waitFor(() => proxy.snapshot().shares.poolTimedOut >= 2, 20_000, 'submits timing out');
    for (const m of miners) m.pause();
    await waitFor(() => miners.every((m) => m.settled) && proxy.snapshot().accounting.poolPending === 0, 20_000, 'settled');
    const snap = proxy.snapshot();
    const s = snap.shares;
    expect(s.forwarded).toBe(s.poolAccepted + s.poolRejected + s.poolTimedOut + s.poolLost);
    expect(snap.accounting.balanced).toBe(true);
    // Miners were answered by the proxy's own validation, not left waiting for the pool.
    expect(miners.every((m) => m.stats.answered === m.stats.submitted && m.connected)).toBe(true);
  });
});
