/**
 * The pieces every Stratum param guard is built from (pure): a verdict type,
 * and checks for arity, hex, strings and numbers whose messages name the
 * method, the parameter index and its meaning
 * (`mining.submit params[4] (nonce) must be 8 hex characters`).
 */

/**
 * The verdict of every reader of peer data on the wire, miner side (`guards.ts`)
 * and pool side (`pool-dialect.ts`): the canonical value, or a message naming
 * the field and what is allowed.
 */
export type Guarded<T> = { ok: true; value: T } | { ok: false; message: string };

const HEX = /^[0-9a-fA-F]*$/;

export function isHex(s: unknown, chars?: number): s is string {
  return typeof s === 'string' && s.length % 2 === 0 && HEX.test(s) && (chars === undefined || s.length === chars);
}

/** Thrown inside a guard body; `run` turns it into a `{ ok: false }` verdict. */
export class Bad extends Error {}

export function run<T>(fn: () => T): Guarded<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, message: e.message };
    throw e;
  }
}

export function arity(method: string, params: unknown[], min: number, max: number): void {
  if (params.length < min || params.length > max) {
    const want = min === max ? `${min}` : `${min}..${max}`;
    throw new Bad(`${method} expects ${want} params, got ${params.length}`);
  }
}

/** Some firmwares print numbers as `0x…`; Stratum's hex fields never carry the prefix, so the message says so. */
function prefixHint(v: unknown): string {
  return typeof v === 'string' && /^0[xX]/.test(v) ? ' without a 0x prefix' : '';
}

/** A hex field, lowercased (miners may send uppercase; the wire value we build on is lowercase). */
export function hexParam(method: string, params: unknown[], i: number, name: string, chars?: number): string {
  const v = params[i];
  if (chars !== undefined) {
    if (!isHex(v, chars)) throw new Bad(`${method} params[${i}] (${name}) must be ${chars} hex characters${prefixHint(v)}`);
  } else if (!isHex(v)) throw new Bad(`${method} params[${i}] (${name}) must be a hex string of whole bytes${prefixHint(v)}`);
  return v.toLowerCase();
}

/**
 * A big-endian hex number of 1..`maxChars` digits, left-padded to `maxChars`
 * (lowercase). For fields some firmwares print without leading zeros.
 */
export function paddedHexParam(method: string, params: unknown[], i: number, name: string, maxChars: number): string {
  const v = params[i];
  if (typeof v !== 'string' || v.length === 0 || v.length > maxChars || !HEX.test(v)) {
    throw new Bad(`${method} params[${i}] (${name}) must be 1..${maxChars} hex characters${prefixHint(v)}`);
  }
  return v.toLowerCase().padStart(maxChars, '0');
}

export function stringParam(method: string, params: unknown[], i: number, name: string, maxLen = 256): string {
  const v = params[i];
  if (typeof v !== 'string') throw new Bad(`${method} params[${i}] (${name}) must be a string`);
  if (v.length > maxLen) throw new Bad(`${method} params[${i}] (${name}) must be at most ${maxLen} characters`);
  return v;
}

export function positiveNumber(method: string, params: unknown[], i: number, name: string): number {
  const v = params[i];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Bad(`${method} params[${i}] (${name}) must be a positive number`);
  return v;
}

/** Hex u32, zero-padded (version, masks). */
export function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
