import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { fakeTime, type FakeTime } from '../support/manual-time.js';
import { Proxy, SimPool, SimMiner, startMiners, startPools, testConfig } from './proxy-harness.js';
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

async function setup(poolOpts = {}, overrides: Record<string, unknown> = {}): Promise<{ pool: SimPool; proxy: Proxy; port: number }> {
  const [pool] = (await startPools(1, poolOpts)) as [SimPool];
  cleanup.push(() => pool.stop());
  const proxy = new Proxy(testConfig([pool], overrides), { clock: time.clock });
  cleanup.push(() => proxy.close());
  const { port } = await proxy.start();
  return { pool, proxy, port };
}

async function raw(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  cleanup.push(() => c.close());
  return c;
}

describe('proxy: what miners send', () => {
  it('answers malformed, oversized and unknown input, and never crashes', async () => {
    const { proxy, port } = await setup({}, { limits: { maxMalformedLines: 4, maxLineBytes: 1024 } });
    const c = await raw(port);
    // Submit before subscribe → 25; unknown method with an id → 20; params not an array → 20 with the id.
    expect((await c.call(1, 'mining.submit', ['w', 'j', '00000000', '00000000', '00000000'])).error?.[0]).toBe(25);
    expect((await c.call(2, 'mining.frobnicate', [])).error).toEqual([20, 'unknown method mining.frobnicate', null]);
    c.send({ id: 3, method: 'mining.subscribe', params: { agent: 'x' } });
    expect((await c.reply(3)).error?.[1]).toMatch(/params must be an array/);
    // Subscribe works, then a submit before authorize → 24.
    const sub = await c.call(4, 'mining.subscribe', ['raw/1.0']);
    expect(sub.error).toBeNull();
    expect((await c.call(5, 'mining.submit', ['w', 'j', '00000000', '00000000', '00000000'])).error?.[0]).toBe(24);
    // A guard error names the parameter.
    expect((await c.call(6, 'mining.authorize', [42])).error?.[1]).toBe('mining.authorize params[0] (worker) must be a string');
    // An over-long line is rejected without killing the connection (strike 2), and garbage JSON (strike 3).
    c.write('{"id":7,"method":"mining.authorize","params":["' + 'x'.repeat(5000) + '"]}\n');
    c.write('this is not json\n');
    expect((await c.call(8, 'mining.authorize', ['rig-raw', 'x'])).result).toBe(true);
    await c.waitFor('mining.notify');
    expect(c.closed).toBe(false);
    expect(proxy.snapshot().malformedLines).toBe(3);
    // A fourth strike disconnects.
    c.write('{{{\n');
    await waitFor(() => c.closed, 10_000, 'disconnect after strikes');
    // The proxy still serves others.
    const m = await startMiners(port, 1, { clock: time.clock });
    cleanup.push(() => m[0]!.stop());
    await waitFor(() => m[0]!.stats.accepted >= 1, 10_000, 'a share after the bad client');
    const s = proxy.snapshot().shares;
    expect(s.rejected['not-subscribed']).toBe(1);
    expect(s.rejected['unauthorized']).toBe(1);
  });

  it('rejects bad shares one by one without disconnecting (stale, duplicate, low difficulty, bad params)', async () => {
    // Miner and pool difficulty 1: nonce 0 of the first en2 misses it with certainty short of a
    // 1-in-2^32 draw (at the harness's 2e-6 it was a share one run in ~500,000).
    const { pool, proxy, port } = await setup({ difficulty: 1 }, { difficulty: { initial: 1, min: 1, max: 1 } });
    const c = await raw(port);
    const sub = await c.call(1, 'mining.subscribe', []);
    const [, , en2size] = sub.result as [unknown, string, number];
    await c.call(2, 'mining.authorize', ['rig-x', 'x']);
    const [notify] = await c.waitFor('mining.notify');
    const jobId = notify!.params![0] as string;
    const ntime = notify!.params![7] as string;
    const en2 = '00'.repeat(en2size);
    const low = await c.call(3, 'mining.submit', ['rig-x', jobId, en2, ntime, '00000000']);
    expect(low.error?.[0]).toBe(23);
    expect((await c.call(4, 'mining.submit', ['rig-x', jobId, en2, ntime, '00000000'])).error?.[0]).toBe(22);
    expect((await c.call(5, 'mining.submit', ['rig-x', 'ffff', en2, ntime, '00000000'])).error?.[0]).toBe(21);
    expect((await c.call(6, 'mining.submit', ['rig-x', jobId, en2 + '00', ntime, '00000000'])).error?.[1]).toBe(`mining.submit params[2] (extranonce2) must be ${en2size * 2} hex characters`);
    expect((await c.call(7, 'mining.submit', ['someone-else', jobId, en2, ntime, '00000001'])).error?.[0]).toBe(24);
    pool.newJob(true);
    await c.waitFor('mining.notify', 2);
    expect((await c.call(8, 'mining.submit', ['rig-x', jobId, en2, ntime, '00000002'])).error).toEqual([21, 'stale job', null]);
    expect(c.closed).toBe(false);
    const s = proxy.snapshot().shares;
    expect(s).toMatchObject({ submitsReceived: 6, submitsAnswered: 6, accepted: 0, forwarded: 0 });
    expect(s.rejected).toEqual({ 'low-difficulty': 1, duplicate: 1, 'unknown-job': 1, 'bad-params': 1, unauthorized: 1, 'stale-job': 1 });
    expect(pool.stats.submits).toBe(0);
  });

  it('negotiates version rolling as miner mask ∧ pool mask and rejects bits outside it', async () => {
    const { pool, proxy, port } = await setup({ versionMask: 0x00ffe000, difficulty: 4e-6 });
    const c = await raw(port);
    // The first miner may configure before any upstream is known; wait until the upstream connection
    // has finished its handshake (the pool's mask is learnt before it counts as open), not a fixed 50 ms.
    await waitFor(() => proxy.snapshot().upstreamConnections === 1, 10_000, 'upstream');
    const conf = await c.call(1, 'mining.configure', [['version-rolling'], { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': 2 }]);
    expect(conf.result).toEqual({ 'version-rolling': true, 'version-rolling.mask': '00ffe000' });
    await c.call(2, 'mining.subscribe', []);
    await c.call(3, 'mining.authorize', ['rig-v', 'x']);
    const [notify] = await c.waitFor('mining.notify');
    const p = notify!.params!;
    const bad = await c.call(4, 'mining.submit', ['rig-v', p[0], '00000000', p[7], '00000000', '1f000000']);
    expect(bad.error).toEqual([20, 'version bits outside the negotiated mask', null]);

    // A hashing miner rolling inside the agreed mask gets its shares accepted by the pool.
    const [m] = await startMiners(port, 1, { clock: time.clock, versionRollingMask: 0x1fffe000 });
    cleanup.push(() => m!.stop());
    expect(m!.stats.versionMask).toBe(0x00ffe000);
    await waitFor(() => pool.stats.accepted >= 2, 10_000, 'rolled shares accepted upstream');
    expect(pool.stats.rejected).toEqual({});
  });

  it('re-carves on mining.set_extranonce from the pool: the miners keep their extranonce1 (the pool part is in coinb1) and their connection', async () => {
    const { pool, proxy, port } = await setup({ difficulty: 4e-6 });
    const [sub] = await startMiners(port, 1, { clock: time.clock });
    const [plain] = await startMiners(port, 1, { clock: time.clock, extranonceSubscribe: false, worker: 'plain' });
    cleanup.push(() => sub!.stop(), () => plain!.stop());
    await waitFor(() => pool.stats.accepted >= 1, 10_000, 'first shares');
    const before = [sub!.extranonce.extranonce1, plain!.extranonce.extranonce1];
    const clean = [sub!.stats.cleanJobs, plain!.stats.cleanJobs];
    pool.rotateExtranonce();
    await waitFor(() => sub!.stats.cleanJobs > clean[0]! && plain!.stats.cleanJobs > clean[1]!, 10_000, 'a clean job for both');
    // Same prefix, and the pool's new extranonce1 travels in coinb1: nothing to tell either miner.
    expect([sub!.extranonce.extranonce1, plain!.extranonce.extranonce1]).toEqual(before);
    expect(sub!.stats.extranonceChanges + plain!.stats.extranonceChanges).toBe(0);
    expect(plain!.stats.reconnectsAsked).toBe(0);
    expect(plain!.connected && sub!.connected).toBe(true);
    // A share already on its way upstream when the pool rotated can only be stale at the pool
    // (the network race every proxy has); after the re-carve nothing at all may be refused.
    expect(Object.keys(pool.stats.rejected).filter((r) => r !== 'stale')).toEqual([]);
    const rejectedBefore = Object.values(pool.stats.rejected).reduce((a, b) => a + b, 0);
    const accepted = pool.stats.accepted;
    await waitFor(() => pool.stats.accepted >= accepted + 3, 10_000, 'shares after the re-carve');
    expect(Object.values(pool.stats.rejected).reduce((a, b) => a + b, 0)).toBe(rejectedBefore);
    expect(proxy.snapshot().upstreamConnections).toBe(1);
  });

  it('resumes the extranonce prefix for a known session id', async () => {
    const { proxy, port } = await setup();
    const a = await raw(port);
    const r1 = (await a.call(1, 'mining.subscribe', ['x'])).result as [[string, string][], string, number];
    const sessionId = r1[0][0]![1];
    a.close();
    await waitFor(() => proxy.snapshot().minersConnected === 0, 10_000, 'the first connection gone');
    const b = await raw(port);
    const r2 = (await b.call(1, 'mining.subscribe', ['x', sessionId])).result as [[string, string][], string, number];
    expect(r2[1]).toBe(r1[1]);
    expect(r2[0][0]![1]).toBe(sessionId);
  });
});

export { SimMiner };
