/**
 * One guard per Stratum method: arity, types and hex lengths, with a message
 * that names the parameter (`mining.submit params[4] (nonce) must be 8 hex
 * characters`). Pure. This file holds what miners send; what pools send is
 * read by pool-dialect.ts (the one parser per pool message), and the building
 * blocks live in guard-kit.ts.
 */
import { difficultyOfTarget } from './target.js';
import { arity, Bad, hexParam, isHex, paddedHexParam, positiveNumber, run, stringParam, type Guarded } from './guard-kit.js';

export { hex32, isHex, type Guarded } from './guard-kit.js';

export interface SubscribeParams {
  userAgent?: string;
  /** A session id we issued before (resume the extranonce prefix if free). */
  sessionId?: string;
}

/** Longest params[1] we take for a session id of ours (we issue 8 hex digits). */
const MAX_SESSION_ID_CHARS = 32;

/**
 * `mining.subscribe [userAgent?, sessionId?, host?, port?]`. Firmwares fill
 * params[1] with many things: a session id we issued (resume the extranonce
 * prefix), the id a previous pool gave them, `null`, or the "host:port" a
 * rental service pointed them at (NiceHash style). Anything that is not a hex
 * id we could have issued starts a fresh session instead of failing the
 * subscribe: a miner that cannot subscribe cannot mine at all. host and port
 * (params[2..3], cgminer's reconnect hints) are ignored.
 */
export function guardSubscribe(params: unknown[]): Guarded<SubscribeParams> {
  return run(() => {
    const m = 'mining.subscribe';
    arity(m, params, 0, 4);
    const out: SubscribeParams = {};
    if (params[0] !== undefined && params[0] !== null) out.userAgent = stringParam(m, params, 0, 'user agent');
    const sid = params[1];
    if (isHex(sid) && sid.length > 0 && sid.length <= MAX_SESSION_ID_CHARS) out.sessionId = sid.toLowerCase();
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

/**
 * `mining.submit [worker, jobId, extranonce2, ntime, nonce, versionBits?]`.
 * Hex may be uppercase (lowercased here); a `0x` prefix is refused with a
 * message that says so (Stratum hex never carries one, and guessing would
 * hide a firmware bug behind shares that hash to something else).
 */
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
    // BIP310 version_bits is a u32 in hex; ckpool-style pools read it with %x, and some firmwares
    // print it without leading zeros, so 1..8 digits are taken and padded.
    if (params[5] !== undefined) out.versionBits = paddedHexParam(m, params, 5, 'version bits', 8);
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

/**
 * `mining.suggest_target [target]` (Stratum docs): the share target the
 * miner would like, big-endian hex of up to 64 digits. The value is the
 * difficulty it stands for (DIFF1 / target), used like suggest_difficulty.
 */
export function guardSuggestTarget(params: unknown[]): Guarded<number> {
  return run(() => {
    const m = 'mining.suggest_target';
    arity(m, params, 1, 1);
    const target = BigInt(`0x${paddedHexParam(m, params, 0, 'target', 64)}`);
    if (target === 0n) throw new Bad(`${m} params[0] (target) must not be zero`);
    return difficultyOfTarget(target);
  });
}

export function guardExtranonceSubscribe(params: unknown[]): Guarded<true> {
  return run(() => {
    arity('mining.extranonce.subscribe', params, 0, 0);
    return true as const;
  });
}
