/**
 * The simulated miner reads what it is sent with the proxy's own pool-side
 * parser (wire/pool-dialect.ts), so the two never disagree about a job.
 * They did on clean_jobs (issue 14 item 3): the miner's separate strict
 * guard dropped a whole `mining.notify` whose clean_jobs was 1 or "true" (as
 * yiimp- and NOMP-style pools send it), while the proxy took it as a clean job.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimMiner } from '../../src/demo/sim-miner.js';
import { answerLikeCkpool, notifyParams, ScriptedPool } from '../support/scripted-pool.js';
import { waitFor } from './proxy-harness.js';

let pool: ScriptedPool | undefined;
let miner: SimMiner | undefined;
afterEach(async () => {
  miner?.stop();
  await pool?.stop();
  pool = miner = undefined;
});

describe('simulated miner reads pool dialects like the proxy', () => {
  it('clean_jobs as 1, "0", "true" and true: every job is taken, the clean ones counted clean', async () => {
    pool = await ScriptedPool.start((req, conn) => {
      answerLikeCkpool(req, conn, { noJob: true });
      if (req.method !== 'mining.authorize') return;
      conn.send({ id: null, method: 'mining.set_difficulty', params: ['0.5'] }); // difficulty as a string (also a dialect)
      conn.send({ id: null, method: 'mining.notify', params: notifyParams('a', 1) });
      conn.send({ id: null, method: 'mining.notify', params: notifyParams('b', '0') });
      conn.send({ id: null, method: 'mining.notify', params: notifyParams('c', 'true') });
      conn.send({ id: null, method: 'mining.notify', params: notifyParams('d', true) });
    });
    miner = new SimMiner({ host: '127.0.0.1', port: pool.port, worker: 'w', external: true, extranonceSubscribe: false });
    await miner.start();
    await waitFor(() => miner!.stats.lastJobId === 'd', 5000, "job 'd'");
    expect(miner.stats.messages).toEqual([]);
    expect(miner.stats.jobs).toBe(4);
    expect(miner.stats.cleanJobs).toBe(3);
    expect(miner.stats.difficulty).toBe(0.5);
  });
});
