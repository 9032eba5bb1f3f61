/**
 * What real Stratum V1 pools send, read leniently where pools disagree and
 * strictly where a wrong value would cost shares (pure: values in, values
 * out). ckpool, Braiins, ViaBTC, F2Pool, AntPool, NiceHash, public-pool,
 * DATUM gateways and yiimp/NOMP-style pools differ in small ways: the first
 * element of the subscribe result, clean_jobs as 0/1 or "true", extra
 * trailing notify params, difficulty as a string, `mining.set_target`
 * instead of `mining.set_difficulty`, reply ids echoed as strings. Each
 * function returns the canonical value or a message naming the field.
 *
 * One parser per pool message: the proxy's upstream side and the simulated
 * miner (`demo/sim-miner.ts`, which reads what surplus sends it) both use
 * these. The miner-facing guards in `wire/guards.ts` stay strict: what surplus
 * itself sends is always canonical.
 */
import { isHex, type Guarded } from './guard-kit.js';
import { describePeerValue as shown } from './peer-value.js';
import type { RpcErrorValue, RpcId } from './json-rpc.js';
import { difficultyOfTarget, targetForDifficulty } from './target.js';
import type { StratumJob } from '../wire/stratum-job.js';

const ok = <T>(value: T): Guarded<T> => ({ ok: true, value });
const bad = <T>(message: string): Guarded<T> => ({ ok: false, message });

/** Extranonce1 longer than this is not a pool we understand (pools use 2..16 bytes). */
const MAX_EXTRANONCE1_BYTES = 32;

function extranonce1(v: unknown, where: string): Guarded<string> {
  if (typeof v !== 'string' || v === '' || v.length % 2 !== 0 || !isHex(v) || v.length > 2 * MAX_EXTRANONCE1_BYTES) {
    return bad(`${where} (extranonce1) must be a non-empty hex string of whole bytes (at most ${MAX_EXTRANONCE1_BYTES}), got ${shown(v)}`);
  }
  return ok(v.toLowerCase());
}

/** An integer, also when sent as a decimal string ("4"). */
function integer(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\s*\d{1,6}\s*$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

/**
 * extranonce2_size 2..16: 0 or 1 byte cannot be shared out to miners; more
 * than 16 is not a pool we have seen. (How it is carved is the channel's business.)
 */
function extranonce2Size(v: unknown, where: string): Guarded<number> {
  const n = integer(v);
  if (n === undefined || n < 2 || n > 16) return bad(`${where} (extranonce2_size) must be an integer 2..16, got ${shown(v)}`);
  return ok(n);
}

export interface SubscribeAnswer {
  extranonce1: string;
  extranonce2Size: number;
}

/**
 * `mining.subscribe` result: `[subscriptions, extranonce1, extranonce2_size, ...]`.
 * The subscriptions element comes as `[["mining.set_difficulty", id], ["mining.notify", id]]`
 * (slush, ckpool), `["mining.notify", id]` (older pools), `null` or `[]`; surplus
 * never resumes an upstream subscription, so it is not read at all. Trailing
 * elements some pools add are ignored.
 */
export function parseSubscribeResult(result: unknown): Guarded<SubscribeAnswer> {
  const m = 'mining.subscribe result';
  if (!Array.isArray(result) || result.length < 3) return bad(`${m} must be an array [subscriptions, extranonce1, extranonce2_size], got ${shown(result)}`);
  const en1 = extranonce1(result[1], `${m}[1]`);
  if (!en1.ok) return en1;
  const size = extranonce2Size(result[2], `${m}[2]`);
  if (!size.ok) return size;
  return ok({ extranonce1: en1.value, extranonce2Size: size.value });
}

/** `mining.set_extranonce [extranonce1, extranonce2_size]` (NiceHash's extension). */
export function parseSetExtranonce(params: unknown[]): Guarded<SubscribeAnswer> {
  const m = 'mining.set_extranonce';
  if (params.length < 2) return bad(`${m} expects [extranonce1, extranonce2_size], got ${shown(params)}`);
  const en1 = extranonce1(params[0], `${m} params[0]`);
  if (!en1.ok) return en1;
  const size = extranonce2Size(params[1], `${m} params[1]`);
  if (!size.ok) return size;
  return ok({ extranonce1: en1.value, extranonce2Size: size.value });
}

/**
 * clean_jobs: a boolean, or 0/1, "0"/"1", "true"/"false" (seen from yiimp- and
 * NOMP-style pools). The Stratum docs define a boolean; cgminer/bfgminer
 * (`json_is_true`) and ESP-Miner (`cJSON_IsTrue`) keep every job and take
 * anything but `true` as not clean. Reading 1 or "true" as clean costs a miner
 * at most a restart of its work; missing a real clean job costs stale shares.
 */
export function cleanJobsFlag(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0' || s === '') return false;
  }
  return undefined;
}

function hexField(params: unknown[], i: number, name: string, chars?: number): string {
  const v = params[i];
  if (chars !== undefined ? !isHex(v, chars) : !isHex(v)) {
    throw new Error(`mining.notify params[${i}] (${name}) must be ${chars !== undefined ? `${chars} hex characters` : 'a hex string of whole bytes'}, got ${shown(v, 40)}`);
  }
  return (v as string).toLowerCase();
}

/**
 * `mining.notify [jobId, prevhash, coinb1, coinb2, merkle_branch, version, nbits, ntime, clean_jobs, ...]`.
 * Hex is lowercased (some pools send uppercase); the job id is kept exactly
 * as sent (it goes back in `mining.submit`), a numeric id becomes its decimal string.
 */
export function parseNotify(params: unknown[]): Guarded<StratumJob> {
  const m = 'mining.notify';
  if (params.length < 9) return bad(`${m} expects 9 params, got ${params.length}`);
  const id = params[0];
  const jobId = typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? String(id) : id;
  if (typeof jobId !== 'string' || jobId === '' || jobId.length > 64) return bad(`${m} params[0] (job id) must be a non-empty string of at most 64 characters, got ${shown(id)}`);
  const branch = params[4];
  if (!Array.isArray(branch) || branch.length > 32) return bad(`${m} params[4] (merkle branch) must be an array of at most 32 hashes, got ${shown(branch)}`);
  const bi = branch.findIndex((b) => !isHex(b, 64));
  if (bi >= 0) return bad(`${m} params[4][${bi}] (merkle branch) must be 64 hex characters, got ${shown(branch[bi], 40)}`);
  const cleanJobs = cleanJobsFlag(params[8]);
  if (cleanJobs === undefined) return bad(`${m} params[8] (clean_jobs) must be a boolean (or 0/1, "true"/"false"), got ${shown(params[8])}`);
  try {
    return ok({
      jobId,
      prevhash: hexField(params, 1, 'prevhash', 64),
      coinb1: hexField(params, 2, 'coinb1'),
      coinb2: hexField(params, 3, 'coinb2'),
      merkleBranch: (branch as string[]).map((b) => b.toLowerCase()),
      version: hexField(params, 5, 'version', 8),
      nbits: hexField(params, 6, 'nbits', 8),
      ntime: hexField(params, 7, 'ntime', 8),
      cleanJobs,
    });
  } catch (e) {
    return bad((e as Error).message);
  }
}

const DECIMAL = /^\s*(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/** `mining.set_difficulty [difficulty]`: a positive number, also fractional or as a decimal string ("1024", "0.5"). */
export function parseSetDifficulty(params: unknown[]): Guarded<number> {
  const v = params[0];
  const n = typeof v === 'string' && DECIMAL.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return bad(`mining.set_difficulty params[0] (difficulty) must be a positive number, got ${shown(v)}`);
  return ok(n);
}

/**
 * `mining.set_target [target]` (NiceHash, several altcoin pools): the share
 * target as big-endian hex, up to 64 digits. Turned into a difficulty no
 * lower than the target allows, so every share surplus forwards meets the
 * pool's target exactly (the float division can round either way; step up
 * until `targetForDifficulty(d) <= target`).
 */
export function parseSetTarget(params: unknown[]): Guarded<number> {
  const v = params[0];
  if (typeof v !== 'string' || !/^(0x)?[0-9a-fA-F]{1,64}$/.test(v)) return bad(`mining.set_target params[0] (target) must be up to 64 hex digits, got ${shown(v)}`);
  const target = BigInt(v.startsWith('0x') ? v : `0x${v}`);
  if (target === 0n) return bad('mining.set_target params[0] (target) must not be zero');
  let d = difficultyOfTarget(target);
  for (let i = 0; i < 8 && targetForDifficulty(d) > target; i++) d *= 1 + 4 * Number.EPSILON;
  return ok(d);
}

/** `mining.set_version_mask [mask]` (BIP310): 8 hex digits. */
export function parseSetVersionMask(params: unknown[]): Guarded<number> {
  const v = params[0];
  if (!isHex(v, 8)) return bad(`mining.set_version_mask params[0] (mask) must be 8 hex characters, got ${shown(v)}`);
  return ok(parseInt(v, 16) >>> 0);
}

export interface ConfigureAnswer {
  /** Mask granted (0: no version rolling). */
  mask: number;
  /** Why the pool's answer means no version rolling (for the log); absent when granted. */
  note?: string;
}

/**
 * BIP310 configure result. `"version-rolling": false`, a missing key, or
 * `true` without a usable mask all mean: mine without version rolling.
 * Never a failure: the handshake goes on either way.
 */
export function readConfigureResult(result: unknown, error: RpcErrorValue | null): ConfigureAnswer {
  if (error) return { mask: 0, note: `pool refused mining.configure (${error.code}: ${error.message})` };
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return { mask: 0, note: `mining.configure result is not an object: ${shown(result)}` };
  const o = result as Record<string, unknown>;
  const vr = o['version-rolling'];
  if (vr !== true) return { mask: 0, note: typeof vr === 'string' ? `pool answered version-rolling: ${shown(vr)}` : 'pool did not grant version-rolling' };
  const mask = o['version-rolling.mask'];
  if (!isHex(mask, 8)) return { mask: 0, note: `pool granted version-rolling without a usable mask (${shown(mask)})` };
  return { mask: parseInt(mask, 16) >>> 0 };
}

/**
 * `"error": ""`, `[]` or `{}` next to `"result": true` is a pool's way of
 * writing "no error" (JSON-RPC wants null); the decoder has already turned
 * it into a code-20 error with that text.
 */
function emptyError(e: RpcErrorValue): boolean {
  return e.code === 20 && ['', '[]', '{}'].includes(e.message.trim());
}

/**
 * The pool's answer to `mining.authorize`. An error, or `false`, is a
 * refusal. `true` is the norm (ckpool, Braiins, public-pool). `null` with no
 * error is taken as accepted: in JSON-RPC a null error means success, a few
 * NOMP-era pools answer that way, and a pool that really refused the worker
 * refuses its shares with code 24 soon after (counted and visible); refusing
 * the pool outright would leave it unusable. Anything else is a refusal that
 * shows what the pool sent.
 */
export function authorizeVerdict(result: unknown, error: RpcErrorValue | null): { ok: true; nullResult: boolean } | { ok: false; reason: string } {
  if (error && !(result === true && emptyError(error))) return { ok: false, reason: `${error.message} (code ${error.code})` };
  if (result === true) return { ok: true, nullResult: false };
  if (result === null) return { ok: true, nullResult: true };
  if (result === false) return { ok: false, reason: 'result false, no reason given' };
  return { ok: false, reason: `unexpected result ${shown(result)}` };
}

/** A share counts as accepted only on `result: true` with no error; `false`/`null` without an error is a reject without reason. */
export function submitVerdict(result: unknown, error: RpcErrorValue | null): { accepted: boolean; error: RpcErrorValue | null } {
  if (error && !(result === true && emptyError(error))) return { accepted: false, error };
  if (result === true) return { accepted: true, error: null };
  return { accepted: false, error: { code: 20, message: `pool answered ${shown(result)} without a reason` } };
}

/** We send numeric ids; some pools echo them as strings ("7"). Both map to the same request. */
export function pendingKey(id: RpcId | null): number | undefined {
  if (typeof id === 'number') return Number.isSafeInteger(id) ? id : undefined;
  if (typeof id === 'string' && /^\d{1,15}$/.test(id.trim())) return Number(id.trim());
  return undefined;
}

/** Longest `client.show_message` text kept (it only goes to the log or the simulated miner's stats). */
const MAX_SHOW_MESSAGE_CHARS = 500;

/**
 * `client.show_message [text]`: the text, cut to 500 characters; anything
 * else the pool put there is described (bounded), never thrown on: the
 * message is for a human, and a bad one is not worth a warning.
 */
export function readShowMessage(params: unknown[]): string {
  const text = typeof params[0] === 'string' ? params[0] : shown(params, MAX_SHOW_MESSAGE_CHARS);
  return text.slice(0, MAX_SHOW_MESSAGE_CHARS);
}

export interface ReconnectAsk {
  host?: string;
  port?: number;
  waitS?: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$|^\[?[0-9a-fA-F:]+\]?$/;

/**
 * `client.reconnect [host?, port?, waitSeconds?]` (slush's Stratum docs).
 * Empty host / null port mean "the same"; port and wait may come as strings.
 */
export function parseReconnect(params: unknown[]): Guarded<ReconnectAsk> {
  const m = 'client.reconnect';
  const out: ReconnectAsk = {};
  const [host, port, wait] = params;
  if (host !== undefined && host !== null && host !== '') {
    if (typeof host !== 'string' || !HOSTNAME.test(host)) return bad(`${m} params[0] (host) must be a host name or address, got ${shown(host)}`);
    out.host = host.replace(/^\[|\]$/g, '').toLowerCase();
  }
  if (port !== undefined && port !== null && port !== '') {
    const p = integer(port);
    if (p === undefined || p < 1 || p > 65535) return bad(`${m} params[1] (port) must be an integer 1..65535, got ${shown(port)}`);
    out.port = p;
  }
  if (wait !== undefined && wait !== null && wait !== '') {
    const w = integer(wait);
    if (w === undefined || w < 0) return bad(`${m} params[2] (wait seconds) must be a non-negative integer, got ${shown(wait)}`);
    out.waitS = w;
  }
  return ok(out);
}
