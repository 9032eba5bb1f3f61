/**
 * `surplus bench`: share-validation throughput through the real worker pool
 * on 1 and 2 threads (and the in-process validator as a baseline), on the
 * deterministic 13-branch job shared with native-bench/. Results are checked
 * against the in-process validator, so the number is for a working path.
 */
import { InputError } from '../errors.js';
import { parseArgs } from './args.js';
import { HASH_POOL_DEFAULTS } from '../shares/hashing/hash-pool.js';
import { benchWorkload, measureInProcess, measurePool, measurePoolRecords } from '../shares/bench-run.js';

const DEFAULT_SHARES = 30_000;

export async function run(args: string[]): Promise<number> {
  const { flags, positional } = parseArgs(args, {
    json: { type: 'boolean' },
    shares: { type: 'number' },
    batch: { type: 'number' },
    seconds: { type: 'number' },
  });
  if (positional.length > 0) throw new InputError(`bench takes no arguments, got "${positional[0]}"`);
  const shares = (flags.shares as number | undefined) ?? DEFAULT_SHARES;
  const batchSize = (flags.batch as number | undefined) ?? HASH_POOL_DEFAULTS.batchSize;
  if (!Number.isInteger(shares) || shares < 100) throw new InputError(`--shares must be an integer >= 100, got ${shares}`);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 65_535) {
    throw new InputError(`--batch must be an integer from 1 to 65535, got ${batchSize}`);
  }

  const seconds = (flags.seconds as number | undefined) ?? 2;
  if (!(seconds > 0 && seconds <= 600)) throw new InputError(`--seconds must be a number in (0, 600], got ${seconds}`);

  const work = benchWorkload(shares);
  const inProcess = measureInProcess(work.requests.slice(0, Math.min(shares, 20_000)));
  const pool = [];
  for (const threads of [1, 2]) pool.push(await measurePool(work.requests, { threads, batchSize }));
  // The binary path: pre-encoded share records, 4096 per task (the pool's hashing capacity).
  const records = [];
  for (const threads of [1, 2]) records.push(await measurePoolRecords({ threads, seconds }));

  const round = (n: number): number => Math.round(n);
  if (flags.json) {
    const out = {
      shares,
      batchSize,
      branches: work.branches,
      coinbaseBytes: work.coinbaseBytes,
      inProcess: { sharesPerSecond: round(inProcess.sharesPerSecond) },
      pool: pool.map((p) => ({
        ...p,
        sharesPerSecond: round(p.sharesPerSecond),
        sharesPerCpuSecond: round(p.shares / p.cpuSeconds),
        meanBatch: Number(p.meanBatch.toFixed(1)),
      })),
      records: records.map((r) => ({
        ...r,
        sharesPerSecond: round(r.sharesPerSecond),
        sharesPerCpuSecond: round(r.shares / r.cpuSeconds),
      })),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
    return 0;
  }
  const lines = [
    `surplus bench: ${shares} shares, ${work.branches} merkle branches, ${work.coinbaseBytes}-byte coinbase, batch size ${batchSize}`,
    `  in-process (main thread):  ${round(inProcess.sharesPerSecond).toLocaleString('en-US')} shares/s`,
    ...pool.map(
      (p) =>
        `  worker pool, ${p.threads} thread${p.threads > 1 ? 's' : ' '}:   ${round(p.sharesPerSecond).toLocaleString('en-US')} shares/s` +
        ` (${round(p.shares / p.cpuSeconds).toLocaleString('en-US')} per CPU-second)` +
        `  (${p.tasks} tasks, mean batch ${p.meanBatch.toFixed(1)}, ${p.verified} results verified in-process)`,
    ),
    ...records.map(
      (r) =>
        `  pool, share records, ${r.threads} thread${r.threads > 1 ? 's' : ' '}: ${round(r.sharesPerSecond).toLocaleString('en-US')} shares/s` +
        ` (${round(r.shares / r.cpuSeconds).toLocaleString('en-US')} per CPU-second)  (engine ${r.engine}, ${r.batch} per task, checksum ${r.checksum.slice(0, 16)}…)`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
