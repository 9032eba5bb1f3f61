import { afterEach, describe, expect, it } from 'vitest';
import { Proxy, SimPool, startPools, testConfig, waitFor } from './proxy-harness.js';
import { RawClient } from './proxy-raw-client.js';

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function miner(port: number, name: string): Promise<RawClient> {
  const c = await RawClient.open(port);
  cleanup.push(() => c.close());
  await c.call(1, 'mining.subscribe', []);
  await c.call(2, 'mining.authorize', [name, 'x']);
  return c;
}

describe('proxy: job fan-out over real sockets', () => {
  it('miners joining mid-job share one clean copy of the current job; the next job reaches all with the same bytes', async () => {
    const [pool] = (await startPools(1, {})) as [SimPool];
    cleanup.push(() => pool.stop());
    const proxy = new Proxy(testConfig([pool]));
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const first = await miner(port, 'fan-a');
    const firstId = (await first.waitFor('mining.notify'))[0]!.params![0];
    pool.newJob(false); // not clean: a miner joining now must still be told to drop whatever it had
    await waitFor(() => first.notifications('mining.notify').length === 2, 10_000, 'second job');
    const current = first.notifications('mining.notify')[1]!.params!;
    expect(current[8]).toBe(false);
    const late = [await miner(port, 'fan-b'), await miner(port, 'fan-c')];
    const got = await Promise.all(late.map(async (c) => (await c.waitFor('mining.notify'))[0]!.params!));
    // One clean alias of the current job for both, under a fresh id, same work.
    expect(got[0]![8]).toBe(true);
    expect(got[1]).toEqual(got[0]);
    expect(got[0]![0]).not.toBe(current[0]);
    expect(got[0]![0]).not.toBe(firstId);
    expect(got[0]!.slice(1, 8)).toEqual(current.slice(1, 8));
    // Shares on the shared alias are judged per miner: each may submit the same en2/nonce once.
    // (The duplicate book is per miner; accepted or low difficulty, never 22 on the first try.)
    for (const c of late) {
      const r = await c.call(9, 'mining.submit', [c === late[0] ? 'fan-b' : 'fan-c', got[0]![0], '00000000', got[0]![7], '00000000']);
      expect(r.error?.[0]).not.toBe(22);
      const again = await c.call(10, 'mining.submit', [c === late[0] ? 'fan-b' : 'fan-c', got[0]![0], '00000000', got[0]![7], '00000000']);
      expect(again.error?.[0]).toBe(22);
    }
    // The next upstream job: one line, byte-identical at every miner.
    const all = [first, ...late];
    const before = all.map((c) => c.notifications('mining.notify').length);
    pool.newJob(true);
    await waitFor(() => all.every((c, i) => c.notifications('mining.notify').length === before[i]! + 1), 10_000, 'fan-out');
    const lines = all.map((c) => JSON.stringify(c.notifications('mining.notify').at(-1)));
    expect(new Set(lines).size).toBe(1);
    expect(proxy.snapshot().jobFanout).toMatchObject({ lastMembers: 3 });
    expect(proxy.snapshot().jobFanout.lastEndAtMs).toBeGreaterThan(0);
  });

  it('a miner released within the grace period gets a fresh clean id, not the shared copy it already had', async () => {
    const [pool] = (await startPools(1, {})) as [SimPool];
    cleanup.push(() => pool.stop());
    const proxy = new Proxy(testConfig([pool]));
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const v = await miner(port, 'fan-v');
    await v.waitFor('mining.notify');
    pool.newJob(false); // the current job is not clean: joiners get the shared clean copy
    await v.waitFor('mining.notify', 2);
    const a = await miner(port, 'fan-w');
    const [first] = await a.waitFor('mining.notify');
    expect(first!.params![8]).toBe(true);
    proxy.lever.withhold('fan-w', 60);
    proxy.lever.release('fan-w');
    const all = await a.waitFor('mining.notify', 2);
    expect(all[1]!.params![8]).toBe(true);
    expect(all[1]!.params![0]).not.toBe(first!.params![0]);
    expect(all[1]!.params!.slice(1, 8)).toEqual(first!.params!.slice(1, 8));
    // A newcomer still gets the shared copy.
    const b = await miner(port, 'fan-x');
    expect((await b.waitFor('mining.notify'))[0]!.params![0]).toBe(first!.params![0]);
  });
});
