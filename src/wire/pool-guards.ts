/**
 * Guards for what pools send the proxy: subscribe and configure results,
 * `mining.notify`, difficulty, extranonce and version-mask changes,
 * `client.reconnect` and `client.show_message`. Pure; each message names the
 * parameter (`mining.notify params[1] (prevhash) must be 64 hex characters`).
 */
import type { StratumJob } from '../wire/stratum-job.js';
import { arity, Bad, hexParam, intParam, isHex, positiveNumber, run, stringParam, type Guarded } from './guard-kit.js';

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
