/**
 * The wire format between the hash pool and its workers, and the worker's
 * pure batch loop. One task carries many shares; each distinct job travels
 * once per task (keyed by a pool-assigned number, so two upstreams reusing a
 * job id cannot collide) and the worker keeps the parsed form of recent jobs,
 * so a job's hex is parsed once per worker, not once per share or per batch.
 * Results come back as typed arrays: cheap to clone, no per-share objects.
 */
import type { HashRequest, HashResult, StratumJob } from './types.js';
import { parseHex, parseU32 } from './hex.js';
import { sha256d } from './sha256.js';
import { buildShareHeader, prepareJob, type PreparedJob } from './validator.js';
import { difficultyOfHash } from './target.js';

export interface HashBatchTask {
  jobs: Array<{ key: number; job: StratumJob }>;
  /** Per share: index into `jobs`. */
  jobIndex: Uint16Array;
  /** Per share, stride 4: extranonce1, extranonce2, ntime, nonce (wire hex). */
  hex: string[];
  /** Per share: final header version. */
  version: Uint32Array;
}

export interface HashBatchResult {
  /** 32 bytes per share: the hash in display order. */
  hashes: Uint8Array;
  difficulty: Float64Array;
  /** 1 = block candidate. */
  block: Uint8Array;
  /** Per-share error message for input the worker could not hash (null when all hashed). */
  errors: Array<string | null> | null;
}

/** Pack requests into one task; `keyOf` gives each job object its stable key. */
export function encodeBatch(reqs: readonly HashRequest[], keyOf: (job: StratumJob) => number): HashBatchTask {
  const jobs: HashBatchTask['jobs'] = [];
  const indexOf = new Map<StratumJob, number>();
  const jobIndex = new Uint16Array(reqs.length);
  const version = new Uint32Array(reqs.length);
  const hex: string[] = new Array<string>(reqs.length * 4);
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i]!;
    let idx = indexOf.get(r.job);
    if (idx === undefined) {
      idx = jobs.length;
      jobs.push({ key: keyOf(r.job), job: r.job });
      indexOf.set(r.job, idx);
    }
    jobIndex[i] = idx;
    version[i] = r.version;
    hex[4 * i] = r.extranonce1;
    hex[4 * i + 1] = r.extranonce2;
    hex[4 * i + 2] = r.ntime;
    hex[4 * i + 3] = r.nonce;
  }
  return { jobs, jobIndex, hex, version };
}

/** Unpack share `i` of a batch result. */
export function resultAt(res: HashBatchResult, i: number): HashResult {
  return {
    hash: Buffer.from(res.hashes.buffer, res.hashes.byteOffset + 32 * i, 32).toString('hex'),
    difficulty: res.difficulty[i]!,
    block: res.block[i] === 1,
  };
}

const JOB_CACHE = 64;
const jobCache = new Map<number, PreparedJob>();

function jobFor(entry: { key: number; job: StratumJob }): PreparedJob {
  let p = jobCache.get(entry.key);
  if (!p) {
    p = prepareJob(entry.job);
    if (jobCache.size >= JOB_CACHE) jobCache.delete(jobCache.keys().next().value as number);
    jobCache.set(entry.key, p);
  }
  return p;
}

/** Hash every share of a task (runs inside a worker thread; pure apart from the job cache). */
export function hashBatch(task: HashBatchTask): HashBatchResult {
  const n = task.version.length;
  const hashes = Buffer.alloc(32 * n);
  const difficulty = new Float64Array(n);
  const block = new Uint8Array(n);
  let errors: Array<string | null> | null = null;
  const prepared: Array<PreparedJob | string> = task.jobs.map((j) => {
    try {
      return jobFor(j);
    } catch (err) {
      return (err as Error).message;
    }
  });
  for (let i = 0; i < n; i++) {
    try {
      const job = prepared[task.jobIndex[i]!];
      if (job === undefined) throw new Error(`share ${i} refers to a missing job`);
      if (typeof job === 'string') throw new Error(job);
      const { header } = buildShareHeader(
        job,
        parseHex(task.hex[4 * i], 'extranonce1'),
        parseHex(task.hex[4 * i + 1], 'extranonce2'),
        parseU32(task.hex[4 * i + 2], 'ntime'),
        parseU32(task.hex[4 * i + 3], 'nonce'),
        task.version[i]!,
      );
      const hashLE = sha256d(header);
      const out = hashes.subarray(32 * i, 32 * i + 32);
      for (let b = 0; b < 32; b++) out[b] = hashLE[31 - b]!;
      difficulty[i] = difficultyOfHash(hashLE);
      block[i] = Buffer.compare(out, job.networkTargetBE) <= 0 ? 1 : 0;
    } catch (err) {
      errors ??= new Array<string | null>(n).fill(null);
      errors[i] = (err as Error).message;
    }
  }
  return { hashes, difficulty, block, errors };
}
