/**
 * The fixed share-check workload of native-bench/job.json, shared by the C
 * reference (native-bench/share_bench), `surplus bench` (shares/bench-run.ts)
 * and the TypeScript benchmarks, so all hash exactly the same shares. Share i: extranonce2 = extranonce2Start + i
 * (a big-endian counter of extranonce2Size bytes), nonce = nonceStart + i,
 * the job's ntime and version. Share 0 is the esp-miner 13-branch vector.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../../errors.js';
import { parseHex, parseU32 } from '../hex.js';
import { prepareJob } from '../validator.js';
import type { StratumJob } from '../../wire/stratum-job.js';
import { jobContextFor } from './index.js';
import { RESULT_STRIDE, SHARE_STRIDE, writeShareRecord } from './layout.js';
import { repoFile } from './native.js';

export const DEFAULT_BENCH_JOB = repoFile('native-bench/job.json');

export interface BenchJob {
  source: string;
  job: StratumJob;
  extranonce1: string;
  extranonce2Size: number;
  /** Job context for the fast paths. */
  ctx: Uint8Array;
  expectShare0: { hash: string; difficulty: number };
  /** Shares whose XOR of internal-order hashes is the run's checksum (as share_bench prints it). */
  checksumShares: number;
  /** Share records [start, start + count) of the workload. */
  shares(start: number, count: number): Uint8Array;
  /** The same share as wire hex, for paths that take HashRequests. */
  shareHex(i: number): { extranonce2: string; nonce: string };
}

/** job.json: the job's wire fields as in mining.notify, plus how to number the shares. */
interface JobFile extends Omit<StratumJob, 'cleanJobs'> {
  source: string;
  extranonce1: string;
  extranonce2Size: number;
  extranonce2Start: string;
  nonceStart: string;
  expectShare0: { hash: string; difficulty: number };
  checksumShares: number;
}

export function loadBenchJob(path: string = DEFAULT_BENCH_JOB): BenchJob {
  const f = JSON.parse(readFileSync(path, 'utf8')) as JobFile;
  const en2Start = parseHex(f.extranonce2Start, 'extranonce2Start', f.extranonce2Size);
  const nonceStart = parseU32(f.nonceStart, 'nonceStart');
  if (!Array.isArray(f.merkleBranch)) throw new InputError(`${path}: merkleBranch must be an array`);
  const job: StratumJob = {
    jobId: f.jobId,
    prevhash: f.prevhash,
    coinb1: f.coinb1,
    coinb2: f.coinb2,
    merkleBranch: f.merkleBranch,
    version: f.version,
    nbits: f.nbits,
    ntime: f.ntime,
    cleanJobs: true,
  };
  // The same prepared form and context the hash workers build, so the bench measures their path.
  const ctx = jobContextFor(prepareJob(job), parseHex(f.extranonce1, 'extranonce1'), f.extranonce2Size);
  const version = parseU32(f.version, 'version');
  const ntime = parseU32(f.ntime, 'ntime');
  const en2 = (i: number): Uint8Array => {
    const out = new Uint8Array(en2Start);
    let carry = i;
    for (let k = out.length - 1; k >= 0; k--) {
      const v = out[k]! + (carry % 256);
      out[k] = v & 0xff;
      carry = Math.floor(carry / 256) + (v >> 8);
    }
    return out;
  };
  return {
    source: f.source,
    job,
    extranonce1: f.extranonce1,
    extranonce2Size: f.extranonce2Size,
    ctx,
    expectShare0: f.expectShare0,
    checksumShares: f.checksumShares,
    shares(start, count) {
      const recs = new Uint8Array(count * SHARE_STRIDE);
      for (let i = 0; i < count; i++) writeShareRecord(recs, i, en2(start + i), ntime, (nonceStart + start + i) >>> 0, version);
      return recs;
    },
    shareHex(i) {
      return {
        extranonce2: Buffer.from(en2(i)).toString('hex'),
        nonce: ((nonceStart + i) >>> 0).toString(16).padStart(8, '0'),
      };
    },
  };
}

/** XOR of the internal-order hashes of `count` results, display-order hex (share_bench's checksum). */
export function resultsChecksum(out: Uint8Array, count: number): string {
  const x = new Uint8Array(32);
  for (let i = 0; i < count; i++) for (let b = 0; b < 32; b++) x[b]! ^= out[i * RESULT_STRIDE + b]!;
  return Buffer.from(x).reverse().toString('hex');
}
