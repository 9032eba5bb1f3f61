/**
 * Single-thread share checks per engine (node:crypto, pure JS, native addon)
 * on the shared workload of native-bench/job.json, batches of 1024 shares.
 * Issue 6 target: pure JS >= 60k shares/s on one core.
 * Run: npx tsc -p tsconfig.json --outDir /tmp/surplus-bench && node /tmp/surplus-bench/bench/hash-engines.bench.js [--json]
 * SECONDS=2 sets the measuring time per engine. Alongside wall-clock rates it
 * prints shares per CPU-second, which stays meaningful on a busy machine.
 */
import { loadBenchJob, resultsChecksum } from '../src/shares/hashing/bench-job.js';
import { RESULT_STRIDE, createShareChecker, type HashPath } from '../src/shares/hashing/index.js';
import { loadNativeAddon } from '../src/shares/hashing/native.js';

const SECONDS = Number(process.env['SECONDS_PER_ENGINE'] ?? process.env['SECONDS'] ?? 2);
const BATCH = 1024;
const json = process.argv.includes('--json');

const bj = loadBenchJob();
const shares = bj.shares(0, BATCH);
const out = new Uint8Array(BATCH * RESULT_STRIDE);
const paths: HashPath[] = ['node', 'js', ...('addon' in loadNativeAddon() ? (['native'] as const) : [])];
const results: Array<{ path: HashPath; sharesPerSec: number; sharesPerCpuSec: number; checksum: string }> = [];

for (const path of paths) {
  const checker = createShareChecker({ path });
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) checker.checkBatch(bj.ctx, shares, BATCH, out);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let done = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    checker.checkBatch(bj.ctx, shares, BATCH, out);
    done += BATCH;
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  results.push({
    path,
    sharesPerSec: Math.round(done / wall),
    sharesPerCpuSec: Math.round(done / ((cpu.user + cpu.system) / 1e6)),
    checksum: resultsChecksum(out, BATCH),
  });
}

if (json) {
  console.log(JSON.stringify({ job: bj.source, batch: BATCH, seconds: SECONDS, results }));
} else {
  console.log(`share checks on one thread, job ${bj.source}, batches of ${BATCH}`);
  for (const r of results) {
    console.log(`${r.path.padEnd(7)} ${String(r.sharesPerSec).padStart(9)} shares/s  ${String(r.sharesPerCpuSec).padStart(9)} per CPU-s`);
  }
  if (new Set(results.map((r) => r.checksum)).size !== 1) console.log('WARNING: engines disagree on the checksum');
}
