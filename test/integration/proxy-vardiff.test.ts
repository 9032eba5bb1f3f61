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
    // ~233 shares/s at the start (1e-8 is ~43 hashes per share at 10k H/s), above the default submit-rate cap
    // of 100/s: lifted here, or a retarget that comes late under load shows up as rate-limit rejections.
    const proxy = new Proxy(testConfig([pool], { difficulty: { initial: 1e-8, min: 1e-9, max: 1, targetSharesPerMinute: 120, retargetS: 2 }, limits: { maxSubmitsPerSecond: 10_000 } }));
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    // Far above 2/s, so vardiff must raise it.
    const [m] = await startMiners(port, 1, { hashesPerSecond: 10_000 });
    cleanup.push(() => m!.stop());
    await waitFor(() => m!.stats.difficulty >= 1e-7, 10_000, 'difficulty raised');
    // Each change came as set_difficulty followed by the job under a new id, not as a clean job
    // that throws the miner's work away (issue 13): the only clean one is the first job it got.
    expect(m!.stats.jobs).toBeGreaterThanOrEqual(2);
    expect(m!.stats.cleanJobs).toBe(1);
    m!.pause();
    await waitFor(() => m!.settled, 3000, 'answers');
    expect(m!.stats.rejected).toEqual({});
    expect(proxy.workers()[0]!.difficulty).toBe(m!.stats.difficulty);
  });

  it('credits a share once: sent again under the job re-issued at a new difficulty, it is a duplicate (22)', async () => {
    const [pool] = (await startPools(1, { difficulty: 1 })) as [SimPool];
    cleanup.push(() => pool.stop());
    // At 1e-9 about one hash in four is a share; a dozen a second is far above 1/min, so vardiff raises it.
    const proxy = new Proxy(testConfig([pool], { difficulty: { initial: 1e-9, min: 1e-9, max: 1, targetSharesPerMinute: 1, retargetS: 1 } }));
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const c = await RawClient.open(port);
    cleanup.push(() => c.close());
    const sub = await c.call(1, 'mining.subscribe', []);
    const en2Size = (sub.result as [unknown, string, number])[2];
    await c.call(2, 'mining.authorize', ['dup-w', 'x']);
    const [first] = await c.waitFor('mining.notify');
    const jobId = first!.params![0] as string;
    const ntime = first!.params![7] as string;
    const accepted: string[] = [];
    let id = 10;
    const t0 = Date.now();
    for (let n = 0; c.notifications('mining.notify').length < 2 && n < 20_000 && Date.now() - t0 < 8000; n++) {
      const nonce = n.toString(16).padStart(8, '0');
      const r = await c.call(id++, 'mining.submit', ['dup-w', jobId, '00'.repeat(en2Size), ntime, nonce]);
      if (r.result === true) accepted.push(nonce);
    }
    expect(accepted.length).toBeGreaterThan(0);
    // The retarget: set_difficulty, then the same upstream job under a fresh id.
    const [again] = await c.waitFor('mining.notify', 2, 1000).then((m) => m.slice(1));
    const aliasId = again!.params![0] as string;
    expect(aliasId).not.toBe(jobId);
    expect(again!.params!.slice(1, 8)).toEqual(first!.params!.slice(1, 8));
    // clean_jobs false: a difficulty change alone does not void the miner's work.
    expect(again!.params![8]).toBe(false);
    // And the old id still holds, judged at the difficulty it went out with.
    const old = await c.call(id++, 'mining.submit', ['dup-w', jobId, '00'.repeat(en2Size), ntime, 'ffff0000']);
    expect([true, null]).toContain(old.result ?? null);
    if (old.error) expect(old.error[0]).toBe(23);
    // Every share already credited is refused as a duplicate (before its difficulty is even looked at).
    for (const nonce of accepted) {
      const dup = await c.call(id++, 'mining.submit', ['dup-w', aliasId, '00'.repeat(en2Size), ntime, nonce]);
      expect(dup.error?.[0], `nonce ${nonce}`).toBe(22);
    }
  });

  it('a miner that resumes its session (client.reconnect) keeps its difficulty instead of starting from difficulty.initial', async () => {
    const [pool] = (await startPools(1, { difficulty: 1 })) as [SimPool];
    cleanup.push(() => pool.stop());
    const proxy = new Proxy(testConfig([pool], { difficulty: { initial: 1e-9, min: 1e-9, max: 1, targetSharesPerMinute: 1, retargetS: 1 } }));
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const a = await RawClient.open(port);
    const sub = await a.call(1, 'mining.subscribe', ['x']);
    const [ids, , en2Size] = sub.result as [[string, string][], string, number];
    const sessionId = ids[0]![1];
    await a.call(2, 'mining.authorize', ['resume-w', 'x']);
    const [first] = await a.waitFor('mining.notify');
    let id = 10;
    const t0 = Date.now();
    // Shares far above 1/min until vardiff raises the difficulty.
    for (let n = 0; a.notifications('mining.set_difficulty').length < 2 && n < 20_000 && Date.now() - t0 < 8000; n++) {
      await a.call(id++, 'mining.submit', ['resume-w', first!.params![0], '00'.repeat(en2Size), first!.params![7], n.toString(16).padStart(8, '0')]);
    }
    const told = a.notifications('mining.set_difficulty').map((m) => m.params![0] as number);
    const raised = told[told.length - 1]!;
    expect(raised).toBeGreaterThan(1e-9);
    // Reconnecting while the old connection is still open (its close not seen yet) keeps it too.
    const early = await RawClient.open(port);
    await early.call(1, 'mining.subscribe', ['x', sessionId]);
    await early.call(2, 'mining.authorize', ['resume-w', 'x']);
    expect((await early.waitFor('mining.set_difficulty'))[0]!.params).toEqual([raised]);
    early.close();
    a.close();
    await waitFor(() => proxy.snapshot().minersConnected === 0, 10_000, 'the first connections gone');
    const b = await RawClient.open(port);
    cleanup.push(() => b.close());
    const again = await b.call(1, 'mining.subscribe', ['x', sessionId]);
    expect((again.result as [[string, string][]])[0][0]![1]).toBe(sessionId);
    await b.call(2, 'mining.authorize', ['resume-w', 'x']);
    expect((await b.waitFor('mining.set_difficulty'))[0]!.params).toEqual([raised]);
    // A new session (no id) still starts at difficulty.initial.
    const c = await RawClient.open(port);
    cleanup.push(() => c.close());
    await c.call(1, 'mining.subscribe', ['x']);
    await c.call(2, 'mining.authorize', ['fresh-w', 'x']);
    expect((await c.waitFor('mining.set_difficulty'))[0]!.params).toEqual([1e-9]);
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
