/**
 * A pool that drops the connection every few seconds (issue 11 item 10):
 * before, every miner without extranonce.subscribe was sent client.reconnect
 * at each drop (the new upstream connection has a new extranonce1). The
 * pool's extranonce1 now sits in the miners' coinb1 and a moved miner keeps
 * its prefix, so its extranonce1 does not change: it gets a clean job on the
 * same connection, with and without extranonce.subscribe.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { fakeTime, type FakeTime } from '../support/manual-time.js';
import { MINER_DIFF, Proxy, SimPool, startMiners, testConfig } from './proxy-harness.js';
import { expectBalanced } from './fault-accounting.js';

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

describe('a flapping pool', () => {
  it('drops every connection 5 times: no miner is asked to reconnect or sent a new extranonce, all keep mining', async () => {
    const pool = new SimPool({ clock: time.clock, difficulty: MINER_DIFF });
    await pool.start();
    cleanup.push(() => pool.stop());
    const proxy = new Proxy(testConfig([pool], { upstream: { backoffInitialMs: 50, backoffMaxMs: 200 } }), { clock: time.clock });
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const plain = await startMiners(port, 2, { clock: time.clock, extranonceSubscribe: false, worker: 'plain' });
    const [subscribed] = await startMiners(port, 1, { clock: time.clock, worker: 'xsub' });
    const miners = [...plain, subscribed!];
    cleanup.push(() => miners.forEach((m) => m.stop()));
    await waitFor(() => pool.stats.accepted >= 3, 15_000, 'shares before the drops');
    const en1 = miners.map((m) => m.extranonce.extranonce1);
    const cleanBefore = miners.map((m) => m.stats.cleanJobs);
    for (let i = 0; i < 5; i++) {
      const connections = pool.stats.connectionsTotal;
      const accepted = pool.stats.accepted;
      pool.dropConnections();
      await waitFor(() => pool.stats.connectionsTotal > connections && proxy.snapshot().pools[0]!.state === 'up', 10_000, `reconnected after drop ${i + 1}`);
      await waitFor(() => pool.stats.accepted > accepted, 15_000, `shares after drop ${i + 1}`);
    }
    miners.forEach((m, i) => {
      expect(m.connected).toBe(true);
      expect(m.stats.reconnectsAsked).toBe(0);
      expect(m.stats.extranonceChanges).toBe(0);
      expect(m.extranonce.extranonce1).toBe(en1[i]);
      expect(m.stats.cleanJobs).toBeGreaterThan(cleanBefore[i]!); // old work was void: each got a clean job
    });
    expect(proxy.snapshot().pools[0]!.disconnects).toBeGreaterThanOrEqual(5);
    // Nothing the pool judged after the drops was refused: the coinbase the miners build is the new connection's.
    expect(pool.stats.rejected['low-difficulty'] ?? 0).toBe(0);
    for (const m of miners) m.stop();
    await waitFor(() => {
      const s = proxy.snapshot();
      return s.minersConnected === 0 && s.shares.submitsAnswered === s.shares.submitsReceived && s.accounting.poolPending === 0;
    }, 15_000, 'settled');
    expectBalanced(proxy.snapshot(), { pools: [pool] });
  }, 60_000);
});
