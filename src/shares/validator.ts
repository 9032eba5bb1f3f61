/**
 * The pure share validator: from a `mining.notify` job, the miner's
 * extranonce1 and one submission, rebuild the coinbase, the merkle root and
 * the 80-byte header, and hash it. Values in, values out; the worker threads
 * and `surplus check-share` call exactly this code.
 *
 * Byte order (Stratum V1 as slush documented it, confirmed by the fixtures):
 * coinbase = coinb1‖extranonce1‖extranonce2‖coinb2; root = sha256d(coinbase),
 * then root = sha256d(root‖branch) per branch; notify's prevhash is the
 * header's prev-block field with each 4-byte word byte-reversed; version,
 * nbits, ntime and nonce are big-endian hex written little-endian.
 */
import type { HashRequest, HashResult } from './types.js';
import type { StratumJob } from '../wire/stratum-job.js';
import { InputError } from '../errors.js';
import { parseHex, parseU32 } from './hex.js';
import { sha256d } from './hashing/sha256.js';
import { merkleRoot } from './merkle.js';
import { buildHeader, hashHeader } from './header.js';
import { compactToTarget, targetBytes } from '../wire/target.js';

/** A job parsed once: every hex field as bytes or numbers. */
export interface PreparedJob {
  readonly jobId: string;
  /** Prev-block hash in header byte order (notify's words swapped back). */
  readonly prevHash: Buffer;
  readonly coinb1: Buffer;
  readonly coinb2: Buffer;
  readonly branches: readonly Buffer[];
  readonly version: number;
  readonly nbits: number;
  readonly ntime: number;
  readonly networkTarget: bigint;
  /** The network target as 32 big-endian bytes, for a cheap compare with the display hash. */
  readonly networkTargetBE: Buffer;
}

/** Everything the validator derives for one share; `check-share` and tests show the intermediate values. */
export interface ShareDetail extends HashResult {
  coinbase: Buffer;
  /** Internal byte order (as it sits in the header). */
  merkleRoot: Buffer;
  header: Buffer;
}

/** Undo Stratum's prevhash encoding: byte-reverse each 4-byte word. */
export function prevhashFromNotify(notifyPrevhash: Buffer): Buffer {
  const out = Buffer.allocUnsafe(32);
  for (let i = 0; i < 32; i += 4) {
    out[i] = notifyPrevhash[i + 3]!;
    out[i + 1] = notifyPrevhash[i + 2]!;
    out[i + 2] = notifyPrevhash[i + 1]!;
    out[i + 3] = notifyPrevhash[i]!;
  }
  return out;
}

/**
 * Parse a job's hex once. Throws InputError naming the field when the pool
 * sent something malformed (a job is not a share: a bad one is an input
 * error, not a verdict).
 */
export function prepareJob(job: StratumJob): PreparedJob {
  const networkTarget = compactToTarget(parseU32(job.nbits, 'job.nbits'));
  return {
    jobId: job.jobId,
    prevHash: prevhashFromNotify(parseHex(job.prevhash, 'job.prevhash', 32)),
    coinb1: parseHex(job.coinb1, 'job.coinb1'),
    coinb2: parseHex(job.coinb2, 'job.coinb2'),
    branches: job.merkleBranch.map((b, i) => parseHex(b, `job.merkleBranch[${i}]`, 32)),
    version: parseU32(job.version, 'job.version'),
    nbits: parseU32(job.nbits, 'job.nbits'),
    ntime: parseU32(job.ntime, 'job.ntime'),
    networkTarget,
    networkTargetBE: targetBytes(networkTarget),
  };
}

/** Coinbase, merkle root and header of one share on a prepared job (no final hash). */
export function buildShareHeader(
  job: PreparedJob,
  extranonce1: Buffer,
  extranonce2: Buffer,
  ntime: number,
  nonce: number,
  version: number,
): { coinbase: Buffer; merkleRoot: Buffer; header: Buffer } {
  const coinbase = Buffer.concat([job.coinb1, extranonce1, extranonce2, job.coinb2]);
  const root = merkleRoot(sha256d(coinbase), job.branches);
  const header = buildHeader({ version, prevHash: job.prevHash, merkleRoot: root, ntime, nbits: job.nbits, nonce });
  return { coinbase, merkleRoot: root, header };
}

/** Hash one share on a prepared job. Extranonces as bytes; ntime, nonce and the final version as numbers. */
export function explainPrepared(
  job: PreparedJob,
  extranonce1: Buffer,
  extranonce2: Buffer,
  ntime: number,
  nonce: number,
  version: number,
): ShareDetail {
  const built = buildShareHeader(job, extranonce1, extranonce2, ntime, nonce, version);
  const { hash, difficulty, block } = hashHeader(built.header, job.networkTargetBE);
  return { hash, difficulty, block, ...built };
}

/** Validate a full HashRequest in-process, with every intermediate value. */
export function explainShare(req: HashRequest): ShareDetail {
  checkVersion(req.version);
  return explainPrepared(
    prepareJob(req.job),
    parseHex(req.extranonce1, 'extranonce1'),
    parseHex(req.extranonce2, 'extranonce2'),
    parseU32(req.ntime, 'ntime'),
    parseU32(req.nonce, 'nonce'),
    req.version,
  );
}

/** The final header version must be a u32 (BIP310 rolling happens before, in the policy). */
export function checkVersion(version: number): void {
  if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) {
    throw new InputError(`version must be an integer in [0, 2^32), got ${version}`);
  }
}

/** Validate a full HashRequest in-process (the reference the worker pool must agree with). */
export function validateShare(req: HashRequest): HashResult {
  const { hash, difficulty, block } = explainShare(req);
  return { hash, difficulty, block };
}
