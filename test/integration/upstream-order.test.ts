/**
 * Issue 13 items 8 and 9 over loopback: mining.extranonce.subscribe goes to
 * the pool after authorize succeeds (ckpool drops one sent before it,
 * unanswered) and the gate never waits for its answer; a planned close
 * (shutdown) is logged without a warning, an unplanned one still warns.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { fakeTime, type FakeTime } from '../support/manual-time.js';
import { answerLikeCkpool, ScriptedPool, startTestManager, type PoolConn } from '../support/scripted-pool.js';
import { Proxy, SimPool, startMiners, testConfig } from './proxy-harness.js';
import { captureLog } from '../support/log-capture.js';

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

const capture = (): ReturnType<typeof captureLog> => captureLog('info');

describe('upstream handshake order', () => {
  it('extranonce.subscribe is sent after authorize succeeds (a ckpool-like pool drops it before)', async () => {
    const authorized = new WeakSet<PoolConn>();
    const droppedEarly: PoolConn[] = [];
    const pool = await ScriptedPool.start((req, conn) => {
      if (req.method === 'mining.extranonce.subscribe' && !authorized.has(conn)) return void droppedEarly.push(conn);
      if (req.method === 'mining.authorize') authorized.add(conn);
      answerLikeCkpool(req, conn);
    });
    cleanup.push(() => pool.stop());
    const m = startTestManager([{ url: pool.url, user: 'farm' }]);
    cleanup.push(() => m.close());
    await waitFor(() => m.status()[0]!.state === 'up', 5000, 'pool up');
    await waitFor(() => pool.requests('mining.extranonce.subscribe').length === 1, 5000, 'extranonce.subscribe sent');
    const methods = pool.conns[0]!.requests.map((r) => r.method);
    expect(methods.indexOf('mining.extranonce.subscribe')).toBeGreaterThan(methods.indexOf('mining.authorize'));
    expect(droppedEarly).toHaveLength(0);
  });

  it('a pool that never answers extranonce.subscribe: the gate passes, and it is not taken for a hung pool', async () => {
    const pool = await ScriptedPool.start((req, conn) => {
      if (req.method !== 'mining.extranonce.subscribe') answerLikeCkpool(req, conn);
    });
    cleanup.push(() => pool.stop());
    const m = startTestManager([{ url: pool.url, user: 'farm' }], { hungAfterS: 0.2, handshakeTimeoutS: 5 });
    cleanup.push(() => m.close());
    await waitFor(() => m.status()[0]!.state === 'up', 5000, 'pool up');
    await time.pass(600);
    const s = m.status()[0]!;
    expect(s).toMatchObject({ state: 'up', hungDetections: 0, disconnects: 0 });
  });
});

describe('shutdown logging', () => {
  it('a planned close logs "upstream connection closed" at info; a pool that drops us still warns', async () => {
    const pool = new SimPool({ clock: time.clock, difficulty: 1e-5 });
    await pool.start();
    cleanup.push(() => pool.stop());
    const { logger, lines } = capture();
    const proxy = new Proxy(testConfig([pool]), { clock: time.clock, logger });
    const { port } = await proxy.start();
    const miners = await startMiners(port, 1, { clock: time.clock });
    cleanup.push(() => miners.forEach((x) => x.stop()));
    await waitFor(() => proxy.snapshot().minersReady === 1, 10_000, 'miner ready');
    await proxy.close();
    const closed = lines.filter((l) => l.msg === 'upstream connection closed');
    expect(closed.length).toBeGreaterThanOrEqual(1);
    expect(closed.every((l) => l.level === 30)).toBe(true);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);

    // The same line for a pool that closes on us is a warning.
    const { logger: l2, lines: lines2 } = capture();
    const proxy2 = new Proxy(testConfig([pool]), { clock: time.clock, logger: l2 });
    cleanup.push(() => proxy2.close());
    await proxy2.start();
    await waitFor(() => proxy2.snapshot().pools[0]!.state === 'up', 10_000, 'pool up');
    await pool.stop();
    await waitFor(() => lines2.some((l) => l.msg === 'upstream connection closed'), 5000, 'close logged');
    expect(lines2.find((l) => l.msg === 'upstream connection closed')!.level).toBe(40);
  });
});
