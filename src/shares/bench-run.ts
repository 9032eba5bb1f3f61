/**
 * The share-validation throughput measurement behind `surplus bench` and
 * bench/share-hash-pool.bench.ts. The workload is the one in
 * native-bench/job.json (13 merkle branches, the esp-miner mainnet job,
 * share i = extranonce2 counter + i, nonce counter + i), so the native
 * reference and this bench hash exactly the same shares. Every run checks
 * share 0 against its known hash and a sample of pool results against the
 * in-process validator, so a broken fast path cannot post a number.
 */
import { performance } from 'node:perf_hooks';
import { PeerError } from '../errors.js';
import { loadBenchJob, resultsChecksum } from './hashing/bench-job.js';
import { resultDifficulty, resultHashHex, resultIsBlock } from './hashing/index.js';
import { createHashPool } from './hashing/hash-pool.js';
import { validateShare } from './validator.js';
import type { HashRequest, HashResult } from './types.js';

export interface BenchWorkload {
  requests: HashRequest[];
  branches: number;
  coinbaseBytes: number;
}

/** `count` deterministic HashRequests of the shared bench job (`jobFile` defaults to native-bench/job.json of this checkout). */
export function benchWorkload(count: number, jobFile?: string): BenchWorkload {
  const bj = loadBenchJob(jobFile);
  const version = Number.parseInt(bj.job.version, 16);
  const requests = Array.from({ length: count }, (_, i): HashRequest => {
    const { extranonce2, nonce } = bj.shareHex(i);
    return { job: bj.job, extranonce1: bj.extranonce1, extranonce2, ntime: bj.job.ntime, nonce, version };
  });
  const first = requests[0] && validateShare(requests[0]);
  if (first && first.hash !== bj.expectShare0.hash) {
    throw new PeerError(`bench job self-check failed: share 0 hashed to ${first.hash}, expected ${bj.expectShare0.hash}`);
  }
  return {
    requests,
    branches: bj.job.merkleBranch.length,
    coinbaseBytes: (bj.job.coinb1.length + bj.job.coinb2.length) / 2 + bj.extranonce1.length / 2 + bj.extranonce2Size,
  };
}

export interface PoolRun {
  threads: number;
  batchSize: number;
  shares: number;
  seconds: number;
  sharesPerSecond: number;
  /** Process CPU time (main thread + workers) during the burst; shares per CPU-second stays meaningful on a busy machine. */
  cpuSeconds: number;
  /** Tasks sent to workers and the mean shares per task (batching at work). */
  tasks: number;
  meanBatch: number;
  /** Pool results compared with the in-process validator. */
  verified: number;
}

function sameResult(a: HashResult, b: HashResult): boolean {
  return a.hash === b.hash && a.difficulty === b.difficulty && a.block === b.block;
}

/** Shares per second of the in-process validator on the main thread. */
export function measureInProcess(requests: readonly HashRequest[]): { shares: number; seconds: number; sharesPerSecond: number } {
  const t0 = performance.now();
  for (const r of requests) validateShare(r);
  const seconds = (performance.now() - t0) / 1000;
  return { shares: requests.length, seconds, sharesPerSecond: requests.length / seconds };
}

/**
 * Submit every request at once (a burst, as after a clean_jobs when a whole
 * fleet answers) through a fresh pool and time until the last result. The
 * pool is warmed first so thread start-up is not counted.
 */
export async function measurePool(
  requests: readonly HashRequest[],
  opts: { threads: number; batchSize: number; batchDelayMs?: number; samples?: number },
): Promise<PoolRun> {
  const pool = createHashPool({
    threads: opts.threads,
    batchSize: opts.batchSize,
    maxQueue: Math.max(requests.length, 1),
    ...(opts.batchDelayMs === undefined ? {} : { batchDelayMs: opts.batchDelayMs }),
  });
  try {
    const warm = requests.slice(0, Math.min(requests.length, opts.batchSize * opts.threads * 4));
    await Promise.all(warm.map((r) => pool.hash(r)));
    const before = pool.stats;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const results = await Promise.all(requests.map((r) => pool.hash(r)));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const after = pool.stats;
    const step = Math.max(1, Math.floor(requests.length / (opts.samples ?? 200)));
    let verified = 0;
    for (let i = 0; i < requests.length; i += step) {
      const want = validateShare(requests[i]!);
      if (!sameResult(results[i]!, want)) {
        throw new PeerError(`hash pool result ${i} differs from the in-process validator: ${results[i]!.hash} vs ${want.hash}`);
      }
      verified++;
    }
    const tasks = after.tasks - before.tasks;
    return {
      threads: opts.threads,
      batchSize: opts.batchSize,
      shares: requests.length,
      seconds,
      sharesPerSecond: requests.length / seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      tasks,
      meanBatch: (after.shares - before.shares) / Math.max(tasks, 1),
      verified,
    };
  } finally {
    await pool.close();
  }
}

export interface RecordsRun {
  threads: number;
  /** Shares per task. */
  batch: number;
  shares: number;
  seconds: number;
  sharesPerSecond: number;
  cpuSeconds: number;
  /** The hashing engine the workers use (SURPLUS_HASH, else native when it loads with SHA-NI, else js). */
  engine: string;
  /** XOR of the first batch's hashes; share_bench prints the same number for the same shares. */
  checksum: string;
  verified: number;
}

/**
 * The pool's binary path (HashPool.checkRecords): batches of pre-encoded
 * share records of the bench job kept in flight on every worker for
 * `seconds`. This is the hashing capacity of the pool, the number compared
 * with the native reference; `measurePool` is the per-share API on top.
 */
export async function measurePoolRecords(opts: { threads: number; batch?: number; seconds?: number; jobFile?: string }): Promise<RecordsRun> {
  const bj = loadBenchJob(opts.jobFile);
  const batch = opts.batch ?? 4096;
  const seconds = opts.seconds ?? 2;
  const lanes = opts.threads * 2;
  // Records and results in shared memory: the workers read and write them in place.
  const shared = (bytes: Uint8Array): Uint8Array => {
    const view = new Uint8Array(new SharedArrayBuffer(bytes.length));
    view.set(bytes);
    return view;
  };
  const batches = Array.from({ length: lanes * 2 }, (_, k) => shared(bj.shares(k * batch, batch)));
  const outs = Array.from({ length: lanes }, () => new Uint8Array(new SharedArrayBuffer(batch * 48)));
  const pool = createHashPool({ threads: opts.threads, maxQueue: batch * lanes });
  try {
    const first = await pool.checkRecords(bj.ctx, batches[0]!, batch);
    if (resultHashHex(first, 0) !== bj.expectShare0.hash) {
      throw new PeerError(`bench self-check failed: share 0 hashed to ${resultHashHex(first, 0)}, expected ${bj.expectShare0.hash}`);
    }
    const version = Number.parseInt(bj.job.version, 16);
    let verified = 0;
    for (let i = 0; i < batch; i += Math.max(1, Math.floor(batch / 50))) {
      const { extranonce2, nonce } = bj.shareHex(i);
      const want = validateShare({ job: bj.job, extranonce1: bj.extranonce1, extranonce2, ntime: bj.job.ntime, nonce, version });
      const got = { hash: resultHashHex(first, i), difficulty: resultDifficulty(first, i), block: resultIsBlock(first, i) };
      if (!sameResult(got, want)) throw new PeerError(`hash pool record ${i} differs from the in-process validator: ${got.hash} vs ${want.hash}`);
      verified++;
    }
    const burst = async (ms: number): Promise<number> => {
      const end = performance.now() + ms;
      let done = 0;
      await Promise.all(
        Array.from({ length: lanes }, async (_, lane) => {
          for (let k = lane; performance.now() < end; k += lanes) {
            await pool.checkRecords(bj.ctx, batches[k % batches.length]!, batch, outs[lane]);
            done += batch;
          }
        }),
      );
      return done;
    };
    await burst(300); // warm-up: JIT, worker caches
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const done = await burst(seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
      threads: opts.threads,
      batch,
      shares: done,
      seconds: elapsed,
      sharesPerSecond: done / elapsed,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      engine: (await pool.engine()).path,
      checksum: resultsChecksum(first, Math.min(batch, bj.checksumShares)),
      verified,
    };
  } finally {
    await pool.close();
  }
}
