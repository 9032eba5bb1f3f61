/**
 * The hash pool's per-task floor and what batching buys (issue 2): the same
 * burst of shares through one worker thread at several batch sizes, and the
 * round-trip latency of a lone share at batch delays 0 and 1 ms.
 * Run from the repo root (the job is native-bench/job.json; piscina comes from ./node_modules):
 *   npx tsc -p tsconfig.json --outDir build/bench && node build/bench/bench/share-hash-pool.bench.js [--json]
 * SHARES=N sizes the burst (default 8000).
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchWorkload, measureInProcess, measurePool, type PoolRun } from '../src/shares/bench-run.js';
import { createHashPool } from '../src/shares/hashing/hash-pool.js';

const SHARES = Number(process.env['SHARES'] ?? 8000);
const json = process.argv.includes('--json');
const work = benchWorkload(SHARES, resolve('native-bench/job.json'));

const inProcess = measureInProcess(work.requests);
const runs: PoolRun[] = [];
for (const batchSize of [1, 4, 16, 64, 256]) runs.push(await measurePool(work.requests, { threads: 1, batchSize, samples: 50 }));

// Per-share cost = hash + task/B; two batch sizes give the task floor.
const perShare = (r: PoolRun): number => (r.cpuSeconds / r.shares) * 1e6;
const small = runs[0]!;
const large = runs[runs.length - 1]!;
const taskFloorUs = ((perShare(small) - perShare(large)) / (1 / small.batchSize - 1 / large.batchSize));

async function loneShareLatency(batchDelayMs: number): Promise<number> {
  const pool = createHashPool({ threads: 1, batchDelayMs });
  try {
    await pool.hash(work.requests[0]!);
    const rounds = 200;
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) await pool.hash(work.requests[i % work.requests.length]!);
    return ((performance.now() - t0) / rounds) * 1000;
  } finally {
    await pool.close();
  }
}
const latency = { delay0Us: await loneShareLatency(0), delay1Us: await loneShareLatency(1) };

if (json) {
  process.stdout.write(JSON.stringify({ shares: SHARES, inProcess: inProcess.sharesPerSecond, runs, taskFloorUs, latency }) + '\n');
} else {
  console.log(`share-hash-pool: ${SHARES} shares, ${work.branches} branches, 1 worker thread`);
  console.log(`  in-process: ${Math.round(inProcess.sharesPerSecond)} shares/s (${(1e6 / inProcess.sharesPerSecond).toFixed(1)} us/share)`);
  for (const r of runs) {
    console.log(
      `  batch ${String(r.batchSize).padStart(3)}: ${String(Math.round(r.sharesPerSecond)).padStart(6)} shares/s wall, ` +
        `${perShare(r).toFixed(1)} CPU-us/share (main + worker), ${r.tasks} tasks`,
    );
  }
  console.log(`  per-task floor (CPU, main + worker): ~${taskFloorUs.toFixed(0)} us`);
  console.log(`  lone-share round trip: ${latency.delay0Us.toFixed(0)} us at batchDelayMs 0, ${latency.delay1Us.toFixed(0)} us at 1`);
}
