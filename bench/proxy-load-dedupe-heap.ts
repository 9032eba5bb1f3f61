/**
 * Heap held by duplicate-share tracking (issue 6): N miners, each with its
 * own JobBook + MinerShareState as a session has, submit S distinct shares
 * through precheck (no hashing: the keys are what is measured), spread over
 * jobs of `--per-job` shares each, with a clean job every `--clean-every`
 * jobs. Prints heap used per miner after a full GC, and share keys still held.
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/surplus-rel-bench && ln -sfn $PWD/node_modules /tmp/surplus-rel-bench/node_modules
 *   node --expose-gc /tmp/surplus-rel-bench/bench/proxy-load-dedupe-heap.js [--miners 2000] [--shares 500] [--per-job 500] [--clean-every 0] [--history 16] [--window 4096]
 *
 * --per-job 500: every share on one live job (only the key size differs between designs);
 * --per-job 10 --clean-every 20: a steady state, new job every 10 shares, clean_jobs every 20 jobs.
 */
import { JobBook } from '../src/shares/job-book.js';
import { MinerShareState } from '../src/shares/share-policy.js';
import type { StratumJob } from '../src/wire/stratum-job.js';
import { arg, hex8, syntheticJob } from './bench-util.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const miners = arg('miners', 2000);
const shares = arg('shares', 500);
const perJob = arg('per-job', 500);
const cleanEvery = arg('clean-every', 0);
const history = arg('history', 16);
const window = arg('window', 4096);

const NTIME = 0x6553f100;
// One job object per job id, shared by every miner's book, as the channel hands it out.
const jobs: StratumJob[] = [];
const jobAt = (j: number): StratumJob => (jobs[j] ??= syntheticJob(j, NTIME, cleanEvery > 0 && j % cleanEvery === 0));

const jobCount = Math.ceil(shares / perJob);
for (let j = 0; j < jobCount; j++) jobAt(j);

const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const before = heap();
const held: { book: JobBook; miner: MinerShareState }[] = [];
let accepted = 0;
for (let m = 0; m < miners; m++) {
  const book = new JobBook({ history });
  const miner = new MinerShareState({ extranonce1: hex8(m), extranonce2Size: 4, versionMask: 0x1fffe000, ntimeWindowS: 7000, duplicateWindow: window });
  for (let s = 0; s < shares; s++) {
    if (s % perJob === 0) {
      const job = jobAt(s / perJob);
      book.add(job);
      miner.noteJobSent(job.jobId, 1);
    }
    // Distinct shares as a rolling ASIC makes them: extranonce2 steps, nonce and version bits vary.
    const pre = miner.precheck(
      { worker: 'w', jobId: jobAt(Math.floor(s / perJob)).jobId, extranonce2: hex8(s >>> 4), ntime: hex8(NTIME + (s % 7)), nonce: hex8(s * 2654435761), versionBits: hex8((s & 15) << 13) },
      book,
    );
    if (pre.ok) accepted++;
  }
  held.push({ book, miner });
}
const after = heap();
let keys = 0;
for (const { book } of held) for (let j = 0; j < jobCount; j++) keys += (book as { sharesOn?: (id: string) => number }).sharesOn?.(jobAt(j).jobId) ?? 0;
console.log(
  JSON.stringify({
    miners,
    sharesPerMiner: shares,
    perJob,
    cleanEvery,
    history,
    accepted,
    heapMiB: +((after - before) / 2 ** 20).toFixed(1),
    heapPerMinerKiB: +((after - before) / miners / 1024).toFixed(2),
    keysHeldPerMiner: keys > 0 ? +(keys / miners).toFixed(1) : '(not reported by this JobBook)',
    held: held.length,
  }),
);
