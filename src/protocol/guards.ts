/**
 * One guard per Stratum method: arity, types and hex lengths, with a message
 * that names the parameter (`mining.submit params[4] (nonce) must be 8 hex
 * characters`). Pure. Miner-side requests first, then what pools send.
 */
import type { StratumJob } from '../shares/types.js';

export type Guarded<T> = { ok: true; value: T } | { ok: false; message: string };

const HEX = /^[0-9a-fA-F]*$/;

export function isHex(s: unknown, chars?: number): s is string {
  return typeof s === 'string' && s.length % 2 === 0 && HEX.test(s) && (chars === undefined || s.length === chars);
}

class Bad extends Error {}

function fail<T>(msg: string): Guarded<T> {
  return { ok: false, message: msg };
}

function run<T>(fn: () => T): Guarded<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof Bad) return fail(e.message);
    throw e;
  }
}

function arity(method: string, params: unknown[], min: number, max: number): void {
  if (params.length < min || params.length > max) {
    const want = min === max ? `${min}` : `${min}..${max}`;
    throw new Bad(`${method} expects ${want} params, got ${params.length}`);
  }
}

function hexParam(method: string, params: unknown[], i: number, name: string, chars?: number): string {
  const v = params[i];
  if (chars !== undefined) {
    if (!isHex(v, chars)) throw new Bad(`${method} params[${i}] (${name}) must be ${chars} hex characters`);
  } else if (!isHex(v)) throw new Bad(`${method} params[${i}] (${name}) must be a hex string of whole bytes`);
  return v.toLowerCase();
}

function stringParam(method: string, params: unknown[], i: number, name: string, maxLen = 256): string {
  const v = params[i];
  if (typeof v !== 'string') throw new Bad(`${method} params[${i}] (${name}) must be a string`);
  if (v.length > maxLen) throw new Bad(`${method} params[${i}] (${name}) must be at most ${maxLen} characters`);
  return v;
}

function positiveNumber(method: string, params: unknown[], i: number, name: string): number {
  const v = params[i];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Bad(`${method} params[${i}] (${name}) must be a positive number`);
  return v;
}

function intParam(method: string, params: unknown[], i: number, name: string, min: number, max: number): number {
  const v = params[i];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new Bad(`${method} params[${i}] (${name}) must be an integer ${min}..${max}`);
  }
  return v;
}

// ---------------------------------------------------------------- miner -> proxy

export interface SubscribeParams {
  userAgent?: string;
  /** A session id we issued before (resume the extranonce prefix if free). */
  sessionId?: string;
}

/** `mining.subscribe [userAgent?, sessionId?, host?, port?]` (host/port: some firmwares, ignored). */
export function guardSubscribe(params: unknown[]): Guarded<SubscribeParams> {
  return run(() => {
    const m = 'mining.subscribe';
    arity(m, params, 0, 4);
    const out: SubscribeParams = {};
    if (params[0] !== undefined && params[0] !== null) out.userAgent = stringParam(m, params, 0, 'user agent');
    if (params[1] !== undefined && params[1] !== null && params[1] !== '') out.sessionId = hexParam(m, params, 1, 'session id');
    return out;
  });
}

export interface AuthorizeParams {
  worker: string;
  password: string;
}

export function guardAuthorize(params: unknown[]): Guarded<AuthorizeParams> {
  return run(() => {
    const m = 'mining.authorize';
    arity(m, params, 1, 2);
    const worker = stringParam(m, params, 0, 'worker', 128);
    if (worker === '') throw new Bad(`${m} params[0] (worker) must not be empty`);
    const password = params[1] === undefined || params[1] === null ? '' : stringParam(m, params, 1, 'password', 256);
    return { worker, password };
  });
}

export interface SubmitParams {
  worker: string;
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  /** BIP310 rolled bits (hex u32) when version rolling is on. */
  versionBits?: string;
}

/** `mining.submit [worker, jobId, extranonce2, ntime, nonce, versionBits?]`. */
export function guardSubmit(params: unknown[], extranonce2Size: number): Guarded<SubmitParams> {
  return run(() => {
    const m = 'mining.submit';
    arity(m, params, 5, 6);
    const worker = stringParam(m, params, 0, 'worker', 128);
    const jobId = stringParam(m, params, 1, 'job id', 64);
    if (jobId === '') throw new Bad(`${m} params[1] (job id) must not be empty`);
    const out: SubmitParams = {
      worker,
      jobId,
      extranonce2: hexParam(m, params, 2, 'extranonce2', extranonce2Size * 2),
      ntime: hexParam(m, params, 3, 'ntime', 8),
      nonce: hexParam(m, params, 4, 'nonce', 8),
    };
    if (params[5] !== undefined) out.versionBits = hexParam(m, params, 5, 'version bits', 8);
    return out;
  });
}

export interface ConfigureParams {
  extensions: string[];
  /** Extension parameters keyed `"version-rolling.mask"` etc. (BIP310). */
  options: Record<string, unknown>;
}

/** BIP310 `mining.configure [[extensions...], {params}]`. */
export function guardConfigure(params: unknown[]): Guarded<ConfigureParams> {
  return run(() => {
    const m = 'mining.configure';
    arity(m, params, 1, 2);
    const ext = params[0];
    if (!Array.isArray(ext) || ext.length > 16 || !ext.every((e) => typeof e === 'string' && e.length <= 64)) {
      throw new Bad(`${m} params[0] (extensions) must be an array of at most 16 extension names`);
    }
    const opts = params[1] ?? {};
    if (typeof opts !== 'object' || Array.isArray(opts)) throw new Bad(`${m} params[1] (extension parameters) must be an object`);
    const o = opts as Record<string, unknown>;
    if ('version-rolling.mask' in o && !isHex(o['version-rolling.mask'], 8)) {
      throw new Bad(`${m} params[1]["version-rolling.mask"] must be 8 hex characters`);
    }
    const mbc = o['version-rolling.min-bit-count'];
    if (mbc !== undefined && (typeof mbc !== 'number' || !Number.isInteger(mbc) || mbc < 0 || mbc > 32)) {
      throw new Bad(`${m} params[1]["version-rolling.min-bit-count"] must be an integer 0..32`);
    }
    const md = o['minimum-difficulty.value'];
    if (md !== undefined && (typeof md !== 'number' || !Number.isFinite(md) || md < 0)) {
      throw new Bad(`${m} params[1]["minimum-difficulty.value"] must be a non-negative number`);
    }
    return { extensions: ext as string[], options: o };
  });
}

export function guardSuggestDifficulty(params: unknown[]): Guarded<number> {
  return run(() => {
    arity('mining.suggest_difficulty', params, 1, 1);
    return positiveNumber('mining.suggest_difficulty', params, 0, 'difficulty');
  });
}

export function guardExtranonceSubscribe(params: unknown[]): Guarded<true> {
  return run(() => {
    arity('mining.extranonce.subscribe', params, 0, 0);
    return true as const;
  });
}

// ---------------------------------------------------------------- pool -> proxy

export interface SubscribeResult {
  extranonce1: string;
  extranonce2Size: number;
}

/** Result of `mining.subscribe`: `[[subscriptions...], extranonce1, extranonce2_size]`. */
export function guardSubscribeResult(result: unknown): Guarded<SubscribeResult> {
  return run(() => {
    const m = 'mining.subscribe result';
    if (!Array.isArray(result)) throw new Bad(`${m} must be an array`);
    arity(m, result, 3, 3);
    return {
      extranonce1: hexParam(m, result, 1, 'extranonce1'),
      extranonce2Size: intParam(m, result, 2, 'extranonce2_size', 0, 16),
    };
  });
}

/** `mining.notify [jobId, prevhash, coinb1, coinb2, merkle_branch, version, nbits, ntime, clean_jobs]`. */
export function guardNotify(params: unknown[]): Guarded<StratumJob> {
  return run(() => {
    const m = 'mining.notify';
    arity(m, params, 9, 9);
    const jobId = stringParam(m, params, 0, 'job id', 64);
    const branch = params[4];
    if (!Array.isArray(branch) || branch.length > 32) throw new Bad(`${m} params[4] (merkle branch) must be an array of at most 32 hashes`);
    branch.forEach((b, i) => {
      if (!isHex(b, 64)) throw new Bad(`${m} params[4][${i}] (merkle branch) must be 64 hex characters`);
    });
    if (typeof params[8] !== 'boolean') throw new Bad(`${m} params[8] (clean_jobs) must be a boolean`);
    return {
      jobId,
      prevhash: hexParam(m, params, 1, 'prevhash', 64),
      coinb1: hexParam(m, params, 2, 'coinb1'),
      coinb2: hexParam(m, params, 3, 'coinb2'),
      merkleBranch: (branch as string[]).map((b) => b.toLowerCase()),
      version: hexParam(m, params, 5, 'version', 8),
      nbits: hexParam(m, params, 6, 'nbits', 8),
      ntime: hexParam(m, params, 7, 'ntime', 8),
      cleanJobs: params[8],
    };
  });
}

export function guardSetDifficulty(params: unknown[]): Guarded<number> {
  return run(() => {
    arity('mining.set_difficulty', params, 1, 1);
    return positiveNumber('mining.set_difficulty', params, 0, 'difficulty');
  });
}

export function guardSetExtranonce(params: unknown[]): Guarded<SubscribeResult> {
  return run(() => {
    const m = 'mining.set_extranonce';
    arity(m, params, 2, 2);
    return { extranonce1: hexParam(m, params, 0, 'extranonce1'), extranonce2Size: intParam(m, params, 1, 'extranonce2_size', 0, 16) };
  });
}

export function guardSetVersionMask(params: unknown[]): Guarded<number> {
  return run(() => {
    arity('mining.set_version_mask', params, 1, 1);
    return parseInt(hexParam('mining.set_version_mask', params, 0, 'mask', 8), 16) >>> 0;
  });
}

export interface ConfigureResult {
  versionRolling: boolean;
  mask: number;
}

/** BIP310 configure result: `{"version-rolling": true, "version-rolling.mask": "1fffe000"}`. */
export function guardConfigureResult(result: unknown): Guarded<ConfigureResult> {
  return run(() => {
    if (result === null || typeof result !== 'object' || Array.isArray(result)) throw new Bad('mining.configure result must be an object');
    const o = result as Record<string, unknown>;
    if (o['version-rolling'] !== true) return { versionRolling: false, mask: 0 };
    const mask = o['version-rolling.mask'];
    if (!isHex(mask, 8)) throw new Bad('mining.configure result["version-rolling.mask"] must be 8 hex characters');
    return { versionRolling: true, mask: parseInt(mask, 16) >>> 0 };
  });
}

export interface ReconnectParams {
  host?: string;
  port?: number;
  waitS?: number;
}

export function guardReconnect(params: unknown[]): Guarded<ReconnectParams> {
  return run(() => {
    const m = 'client.reconnect';
    arity(m, params, 0, 3);
    const out: ReconnectParams = {};
    if (params[0] !== undefined && params[0] !== null && params[0] !== '') out.host = stringParam(m, params, 0, 'host', 255);
    if (params[1] !== undefined && params[1] !== null) {
      const p = typeof params[1] === 'string' ? Number(params[1]) : params[1];
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) throw new Bad(`${m} params[1] (port) must be an integer 1..65535`);
      out.port = p;
    }
    if (params[2] !== undefined && params[2] !== null) out.waitS = intParam(m, params, 2, 'wait', 0, 3600);
    return out;
  });
}

export function guardShowMessage(params: unknown[]): Guarded<string> {
  return run(() => {
    arity('client.show_message', params, 1, 1);
    return stringParam('client.show_message', params, 0, 'message', 1024);
  });
}

/** Wire order for `mining.notify` params. */
export function notifyParams(job: StratumJob): unknown[] {
  return [job.jobId, job.prevhash, job.coinb1, job.coinb2, job.merkleBranch, job.version, job.nbits, job.ntime, job.cleanJobs];
}

/** Hex u32, zero-padded (version, masks). */
export function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
