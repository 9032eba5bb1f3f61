/**
 * The wire format between the hash pool and its workers, and the worker's
 * pure batch loop. One task carries many shares; each distinct job travels
 * once per task (keyed by a pool-assigned number, so two upstreams reusing a
 * job id cannot collide) and the worker keeps the parsed form of recent jobs,
 * so a job's hex is parsed once per worker, not once per share or per batch.
 * Results come back as typed arrays: cheap to clone, no per-share objects.
 */
import type { HashEngineInfo, HashRequest, HashResult } from '../types.js';
import type { StratumJob } from '../../wire/stratum-job.js';
import { parseHex, parseU32 } from '../hex.js';
import { sha256d } from './sha256.js';
import { buildShareHeader, prepareJob, type PreparedJob } from '../validator.js';
import { difficultyOfHash } from '../../wire/target.js';
import { RESULT_STRIDE, SHARE_STRIDE, createShareChecker, jobContextFor, type ShareChecker } from './index.js';
import { writeShareRecordHex } from './hex-record.js';

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

/**
 * A task of pre-encoded share records (src/shares/hashing/layout.ts) on one job
 * context: the pool's binary path, with no per-share strings or objects.
 * With `out` backed by a SharedArrayBuffer the worker writes the results in
 * place and returns nothing, so neither side copies or allocates per task.
 */
export interface RecordsTask {
  ctx: Uint8Array;
  shares: Uint8Array;
  count: number;
  out?: Uint8Array;
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

/** The share core's own path (node:crypto), for shares the fast path cannot take. */
function hashSlow(job: PreparedJob, task: HashBatchTask, i: number, out: Uint8Array): { difficulty: number; block: boolean } {
  const { header } = buildShareHeader(
    job,
    parseHex(task.hex[4 * i], 'extranonce1'),
    parseHex(task.hex[4 * i + 1], 'extranonce2'),
    parseU32(task.hex[4 * i + 2], 'ntime'),
    parseU32(task.hex[4 * i + 3], 'nonce'),
    task.version[i]!,
  );
  const hashLE = sha256d(header);
  for (let b = 0; b < 32; b++) out[b] = hashLE[31 - b]!;
  return { difficulty: difficultyOfHash(hashLE), block: Buffer.compare(out, job.networkTargetBE) <= 0 };
}

const JOB_CACHE = 64;
const CTX_CACHE = 256;

/**
 * One hash worker's state and its batch loops: the share checker (engine
 * chosen once, from SURPLUS_HASH), the parsed form of recent jobs (so a job's
 * hex is parsed once per worker, not once per share or batch) and the job
 * contexts of the fast path (one per job, miner extranonce1 and extranonce2
 * size, holding the coinbase prefix midstate, so shares of the same job and
 * session skip the prefix's full blocks). The worker entry (hash-worker.cts)
 * creates one per thread; tests and `surplus bench` create their own.
 */
export class HashBatcher {
  readonly #jobs = new Map<number, PreparedJob>();
  readonly #contexts = new Map<string, Uint8Array | null>();

  constructor(readonly checker: ShareChecker = createShareChecker()) {}

  /** Which hashing engine this worker uses and why (the proxy's start-up log line). */
  engineInfo(): HashEngineInfo {
    return { path: this.checker.path, reason: this.checker.reason };
  }

  /** Worker side of the binary path: 48-byte result records for `count` shares. */
  checkRecords(task: RecordsTask): Uint8Array | null {
    const shared = task.out !== undefined && task.out.buffer instanceof SharedArrayBuffer;
    const out = shared ? task.out! : new Uint8Array(task.count * RESULT_STRIDE);
    this.checker.checkBatch(task.ctx, task.shares, task.count, out);
    return shared ? null : out;
  }

  private jobFor(entry: { key: number; job: StratumJob }): PreparedJob {
    const cache = this.#jobs;
    let p = cache.get(entry.key);
    if (!p) {
      p = prepareJob(entry.job);
      if (cache.size >= JOB_CACHE) cache.delete(cache.keys().next().value as number);
      cache.set(entry.key, p);
    }
    return p;
  }

  private contextFor(jobKey: number, job: PreparedJob, extranonce1: string, en2Size: number): Uint8Array | null {
    const cache = this.#contexts;
    const key = `${jobKey}/${extranonce1}/${en2Size}`;
    let ctx = cache.get(key);
    if (ctx === undefined) {
      try {
        ctx = jobContextFor(job, parseHex(extranonce1, 'extranonce1'), en2Size);
      } catch {
        ctx = null; // outside the fast path's bounds (e.g. extranonce2 > 32 bytes): hash this one the slow way
      }
      if (cache.size >= CTX_CACHE) cache.delete(cache.keys().next().value as string);
      cache.set(key, ctx);
    }
    return ctx;
  }

  /**
   * Hash every share of a task (runs inside a worker thread; pure apart from
   * the caches). Runs of consecutive shares on the same job context go to the
   * fast checker as one batch of fixed-size records.
   */
  hashBatch(task: HashBatchTask): HashBatchResult {
    const n = task.version.length;
    const hashes = Buffer.alloc(32 * n);
    const difficulty = new Float64Array(n);
    const block = new Uint8Array(n);
    let errors: Array<string | null> | null = null;
    const fail = (i: number, err: unknown): void => {
      errors ??= new Array<string | null>(n).fill(null);
      errors[i] = (err as Error).message;
    };
    const prepared: Array<PreparedJob | string> = task.jobs.map((j) => {
      try {
        return this.jobFor(j);
      } catch (err) {
        return (err as Error).message;
      }
    });
    const checker = this.checker;
    const records = new Uint8Array(n * SHARE_STRIDE);
    const results = new Uint8Array(n * RESULT_STRIDE);
    const slotShare = new Int32Array(n);
    let slots = 0;
    let runStart = 0;
    let runCtx: Uint8Array | null = null;
    const flush = (): void => {
      if (runCtx !== null && slots > runStart) {
        checker.checkBatch(
          runCtx,
          records.subarray(runStart * SHARE_STRIDE, slots * SHARE_STRIDE),
          slots - runStart,
          results.subarray(runStart * RESULT_STRIDE, slots * RESULT_STRIDE),
        );
      }
      runStart = slots;
    };
    // The context of the previous share, reused while job and extranonce1 repeat (the common case).
    let lastJob = -1;
    let lastEn1: string | undefined;
    let lastEn2Len = -1;
    let lastCtx: Uint8Array | null = null;
    for (let i = 0; i < n; i++) {
      try {
        const jobIdx = task.jobIndex[i]!;
        const job = prepared[jobIdx];
        if (job === undefined) throw new Error(`share ${i} refers to a missing job`);
        if (typeof job === 'string') throw new Error(job);
        const en1 = task.hex[4 * i];
        const en2Len = writeShareRecordHex(records, slots, task.hex[4 * i + 1], task.hex[4 * i + 2], task.hex[4 * i + 3], task.version[i]!);
        let ctx: Uint8Array | null = null;
        if (en2Len > 0 && en1 !== undefined) {
          if (jobIdx !== lastJob || en1 !== lastEn1 || en2Len !== lastEn2Len) {
            lastCtx = this.contextFor(task.jobs[jobIdx]!.key, job, en1, en2Len);
            lastJob = jobIdx;
            lastEn1 = en1;
            lastEn2Len = en2Len;
          }
          ctx = lastCtx;
        }
        if (ctx === null) {
          // Malformed hex (parseHex names the field) or outside the fast path's bounds.
          const r = hashSlow(job, task, i, hashes.subarray(32 * i, 32 * i + 32));
          difficulty[i] = r.difficulty;
          block[i] = r.block ? 1 : 0;
          continue;
        }
        if (ctx !== runCtx) {
          flush();
          runCtx = ctx;
        }
        slotShare[slots++] = i;
      } catch (err) {
        fail(i, err);
      }
    }
    flush();
    const view = new DataView(results.buffer, results.byteOffset, results.byteLength);
    for (let s = 0; s < slots; s++) {
      const i = slotShare[s]!;
      const r = s * RESULT_STRIDE;
      // Results hold the hash in internal byte order; the contract is display order.
      for (let b = 0; b < 32; b++) hashes[32 * i + b] = results[r + 31 - b]!;
      difficulty[i] = view.getFloat64(r + 32, true);
      block[i] = results[r + 40]! & 1;
    }
    return { hashes, difficulty, block, errors };
  }
}
