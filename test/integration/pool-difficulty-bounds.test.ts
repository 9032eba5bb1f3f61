/**
 * Issue 11, item 5: whatever difficulty a pool sends (`mining.set_difficulty
 * [1e-300]`, a near-maximal `mining.set_target`, 1e300), miners are only ever
 * told difficulties within [difficulty.min, difficulty.max]; a share below the
 * pool's target is still never forwarded; the out-of-range value is counted.
 * Before, 1e-300 went straight to the miners (one then sent ~1,200 submits in 0.3 s).
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { resolveConfig } from '../../src/config/load.js';
import { Proxy } from '../../src/proxy.js';
import { answerLikeCkpool, notifyParams, ScriptedPool, type PoolConn, type PoolRequest } from '../support/scripted-pool.js';
import { RawClient } from './proxy-raw-client.js';
import { waitFor } from './proxy-harness.js';

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

const logChunks: string[] = [];
const logRecords = (): Array<Record<string, unknown>> => logChunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

async function setup(poolSends: (conn: PoolConn) => void, difficulty: Record<string, number>): Promise<{ pool: ScriptedPool; proxy: Proxy; miner: RawClient }> {
  logChunks.length = 0;
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => void (logChunks.push(String(c)), cb()) }) });
  const pool = await ScriptedPool.start((req: PoolRequest, conn: PoolConn) => {
    answerLikeCkpool(req, conn, { noJob: true });
    if (req.method === 'mining.authorize') {
      poolSends(conn);
      conn.send({ id: null, method: 'mining.notify', params: notifyParams('j1', true) });
    }
  });
  cleanup.push(() => pool.stop());
  const proxy = new Proxy(
    resolveConfig({
      listen: '127.0.0.1:0',
      pools: [{ url: pool.url, user: 'farm' }],
      difficulty: { initial: 1, targetSharesPerMinute: 600, retargetS: 1, ...difficulty },
      shares: { hashThreads: 1 },
      log: { level: 'silent' },
    }),
    { logger },
  );
  cleanup.push(() => proxy.close());
  const { port } = await proxy.start();
  const miner = await RawClient.open(port);
  cleanup.push(() => miner.close());
  expect((await miner.call(1, 'mining.subscribe', [])).error).toBeNull();
  expect((await miner.call(2, 'mining.authorize', ['rig', 'x'])).result).toBe(true);
  await miner.waitFor('mining.notify');
  return { pool, proxy, miner };
}

const told = (m: RawClient): number[] => m.notifications('mining.set_difficulty').map((n) => n.params![0] as number);

describe('pool difficulty outside [difficulty.min, difficulty.max] (issue 11 item 5)', () => {
  it.each([
    ['set_difficulty 1e-300', { method: 'mining.set_difficulty', params: [1e-300] }],
    ['set_difficulty "1e-300" as a string', { method: 'mining.set_difficulty', params: ['1e-300'] }],
    ['a near-maximal set_target', { method: 'mining.set_target', params: ['f'.repeat(64)] }],
  ])('%s never reaches the miner below difficulty.min', async (_what, msg) => {
    const { proxy, miner } = await setup((conn) => conn.send({ id: null, ...msg }), { min: 0.5, max: 1000 });
    await waitFor(() => told(miner).length >= 1, 10_000, 'a difficulty');
    expect(Math.min(...told(miner))).toBeGreaterThanOrEqual(0.5);
    const pools = proxy.snapshot().pools;
    expect(pools[0]!.difficultyOutOfRange).toBe(1);
    // Logged once, read back as NDJSON, with the value and the bounds.
    const warned = logRecords().filter((r) => r['cause'] === 'difficulty out of range');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, min: 0.5, max: 1000 });
  });

  it('a huge pool difficulty leaves miners at difficulty.max, and their shares below the pool target are answered but not forwarded', async () => {
    const { pool, proxy, miner } = await setup((conn) => conn.send({ id: null, method: 'mining.set_difficulty', params: [1e300] }), { min: 1e-12, max: 1e-10, initial: 1e-10 });
    await waitFor(() => told(miner).length >= 1, 10_000, 'a difficulty');
    expect(told(miner).every((d) => d >= 1e-12 && d <= 1e-10)).toBe(true);
    // At difficulty 1e-10 every hash meets the miner's target; none meets the pool's 1e300.
    const job = miner.notifications('mining.notify').at(-1)!.params!;
    const ntime = job[7] as string;
    for (let i = 0; i < 5; i++) {
      const r = await miner.call(10 + i, 'mining.submit', ['rig', job[0], `0000000${i}`, ntime, '0000abcd']);
      expect(r.error).toBeNull();
      expect(r.result).toBe(true);
    }
    expect(pool.requests('mining.submit')).toHaveLength(0);
    expect(proxy.snapshot().pools[0]!.difficultyOutOfRange).toBe(1);
  });

  it('a pool difficulty above difficulty.max that shares can reach is routine: miners stay at max, nothing counted or warned', async () => {
    const { proxy, miner } = await setup((conn) => conn.send({ id: null, method: 'mining.set_difficulty', params: [5000] }), { min: 0.5, max: 1000 });
    await waitFor(() => told(miner).length >= 1, 10_000, 'a difficulty');
    expect(told(miner).every((d) => d >= 0.5 && d <= 1000)).toBe(true);
    expect(proxy.snapshot().pools[0]!.difficultyOutOfRange).toBe(0);
    expect(logRecords().filter((r) => r['cause'] === 'difficulty out of range')).toHaveLength(0);
  });

  it('a pool repeating an out-of-range difficulty is counted every time and logged 5 times a minute', async () => {
    const { proxy, miner } = await setup((conn) => {
      for (let i = 0; i < 20; i++) conn.send({ id: null, method: 'mining.set_difficulty', params: [1e-300] });
    }, { min: 0.5, max: 1000 });
    await waitFor(() => proxy.snapshot().pools[0]!.difficultyOutOfRange === 20, 10_000, '20 counted');
    expect(logRecords().filter((r) => r['cause'] === 'difficulty out of range')).toHaveLength(5);
    expect(Math.min(...told(miner))).toBeGreaterThanOrEqual(0.5);
  });
});

