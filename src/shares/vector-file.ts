/**
 * The share-vector file format (`test/fixtures/share-vectors.json`), read by
 * `surplus check-share` and the tests: one vector object, or
 * `{ "vectors": [...] }`. Every field is checked up front and a bad one is
 * reported by its path (`vectors[2].submit[4] (nonce) must be 8 hex
 * characters`), so nothing is half-printed.
 *
 * Two forms:
 * - share: `notify` (mining.notify params), `extranonce1`, `extranonce2_size`,
 *   `submit` (mining.submit params), optional `configure_mask`,
 *   `session_difficulty` (default 1) and `upstream_difficulty`;
 * - header: `version`, `prev_block_display`, `merkle_root_display`, `time`,
 *   `bits`, `nonce` (a bare block header, hashes in display order).
 */
import { InputError } from '../errors.js';
import type { StratumJob } from '../wire/stratum-job.js';
import type { SubmitParams } from '../wire/guards.js';
import { isHex } from './hex.js';

export interface ShareVector {
  form: 'share';
  id: string;
  job: StratumJob;
  extranonce1: string;
  extranonce2Size: number;
  submit: SubmitParams;
  configureMask: number;
  sessionDifficulty: number;
  upstreamDifficulty: number;
}

export interface HeaderVector {
  form: 'header';
  id: string;
  version: number;
  prevBlockDisplay: string;
  merkleRootDisplay: string;
  time: number;
  bits: number;
  nonce: number;
  sessionDifficulty: number;
}

export type Vector = ShareVector | HeaderVector;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hex(v: unknown, where: string, chars?: number): string {
  if (typeof v !== 'string') throw new InputError(`${where} must be a hex string, got ${describe(v)}`);
  if (chars !== undefined && v.length !== chars) throw new InputError(`${where} must be ${chars} hex characters, got ${v.length}`);
  if (!isHex(v)) {
    throw new InputError(/^[0-9a-fA-F]*$/.test(v) ? `${where} must have an even number of hex characters` : `${where} must contain only hex digits`);
  }
  return v;
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new InputError(`${where} must be a string, got ${describe(v)}`);
  return v;
}

/** A u32 given either as an integer or as 8 big-endian hex characters. */
function u32(v: unknown, where: string): number {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new InputError(`${where} must be an integer in [0, 2^32), got ${v}`);
    return v;
  }
  if (typeof v === 'string') return Number.parseInt(hex(v, where, 8), 16);
  throw new InputError(`${where} must be an integer or 8 hex characters, got ${describe(v)}`);
}

function difficulty(v: unknown, where: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new InputError(`${where} must be a positive number, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function parseJob(v: unknown, at: string): StratumJob {
  if (!Array.isArray(v) || v.length !== 9) {
    throw new InputError(`${at} must be the 9 mining.notify params [job_id, prevhash, coinb1, coinb2, merkle_branch, version, nbits, ntime, clean_jobs]`);
  }
  const branches = v[4];
  if (!Array.isArray(branches)) throw new InputError(`${at}[4] (merkle_branch) must be an array of 64-hex-character hashes`);
  if (typeof v[8] !== 'boolean') throw new InputError(`${at}[8] (clean_jobs) must be true or false, got ${describe(v[8])}`);
  return {
    jobId: str(v[0], `${at}[0] (job_id)`),
    prevhash: hex(v[1], `${at}[1] (prevhash)`, 64),
    coinb1: hex(v[2], `${at}[2] (coinb1)`),
    coinb2: hex(v[3], `${at}[3] (coinb2)`),
    merkleBranch: branches.map((b, i) => hex(b, `${at}[4][${i}] (merkle_branch)`, 64)),
    version: hex(v[5], `${at}[5] (version)`, 8),
    nbits: hex(v[6], `${at}[6] (nbits)`, 8),
    ntime: hex(v[7], `${at}[7] (ntime)`, 8),
    cleanJobs: v[8],
  };
}

function parseSubmit(v: unknown, at: string): SubmitParams {
  if (!Array.isArray(v) || (v.length !== 5 && v.length !== 6)) {
    throw new InputError(`${at} must be the 5 or 6 mining.submit params [worker, job_id, extranonce2, ntime, nonce, version_bits?]`);
  }
  const submit: SubmitParams = {
    worker: str(v[0], `${at}[0] (worker)`),
    jobId: str(v[1], `${at}[1] (job_id)`),
    extranonce2: hex(v[2], `${at}[2] (extranonce2)`),
    ntime: hex(v[3], `${at}[3] (ntime)`, 8),
    nonce: hex(v[4], `${at}[4] (nonce)`, 8),
  };
  if (v.length === 6) submit.versionBits = hex(v[5], `${at}[5] (version_bits)`, 8);
  return submit;
}

function parseVector(v: unknown, at: string, index: number): Vector {
  const name = (key: string): string => (at ? `${at}.${key}` : key);
  if (!isObj(v)) throw new InputError(`${at || 'the file'} must be a vector object`);
  const id = v.id === undefined ? at || `vector ${index}` : str(v.id, name('id'));
  const sessionDifficulty = difficulty(v.session_difficulty, name('session_difficulty'), 1);
  if (v.notify !== undefined) {
    const job = parseJob(v.notify, name('notify'));
    const extranonce1 = hex(v.extranonce1, name('extranonce1'));
    const extranonce2Size = v.extranonce2_size;
    if (typeof extranonce2Size !== 'number' || !Number.isInteger(extranonce2Size) || extranonce2Size < 0 || extranonce2Size > 32) {
      throw new InputError(`${name('extranonce2_size')} must be an integer from 0 to 32, got ${describe(extranonce2Size)}`);
    }
    return {
      form: 'share',
      id,
      job,
      extranonce1,
      extranonce2Size,
      submit: parseSubmit(v.submit, name('submit')),
      configureMask: v.configure_mask === undefined ? 0 : u32(v.configure_mask, name('configure_mask')),
      sessionDifficulty,
      upstreamDifficulty: difficulty(v.upstream_difficulty, name('upstream_difficulty'), sessionDifficulty),
    };
  }
  if (v.prev_block_display !== undefined) {
    return {
      form: 'header',
      id,
      version: u32(v.version, name('version')),
      prevBlockDisplay: hex(v.prev_block_display, name('prev_block_display'), 64),
      merkleRootDisplay: hex(v.merkle_root_display, name('merkle_root_display'), 64),
      time: u32(v.time, name('time')),
      bits: u32(v.bits, name('bits')),
      nonce: u32(v.nonce, name('nonce')),
      sessionDifficulty,
    };
  }
  throw new InputError(
    `${at || 'the vector'} needs either notify (with extranonce1, extranonce2_size, submit) or a bare header (version, prev_block_display, merkle_root_display, time, bits, nonce)`,
  );
}

/** Parse a vector file's text; throws InputError naming the first bad field. */
export function parseVectorFile(text: string): Vector[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError(`the file is not valid JSON: ${(err as Error).message}`);
  }
  if (isObj(doc) && doc.vectors !== undefined) {
    if (!Array.isArray(doc.vectors)) throw new InputError('vectors must be an array of vector objects');
    if (doc.vectors.length === 0) throw new InputError('vectors is empty');
    return doc.vectors.map((v, i) => parseVector(v, `vectors[${i}]`, i));
  }
  return [parseVector(doc, '', 0)];
}
