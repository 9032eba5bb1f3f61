/**
 * Targets and difficulties in bdiff units. Difficulty 1 is the target
 * 0xFFFF·2^208 (the "bdiff" convention pools and cgminer use); a hash meets
 * a target when its little-endian integer value is <= the target.
 */
import { InputError } from '../errors.js';

export const DIFF1_TARGET = 0xffffn << 208n;
export const MAX_TARGET = (1n << 256n) - 1n;
const DIFF1_NUMBER = Number(DIFF1_TARGET);

/**
 * floor(DIFF1 / d), exactly, for any positive finite double d (fractional
 * difficulties such as 0.0001 let CPU test miners find shares). A double is
 * exactly mant·2^exp, so the division is done on integers with no float
 * rounding; the result is clamped to 2^256 - 1.
 */
export function targetForDifficulty(difficulty: number): bigint {
  if (!(difficulty > 0) || !Number.isFinite(difficulty)) {
    throw new InputError(`difficulty must be a positive finite number, got ${difficulty}`);
  }
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, difficulty);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) exp = -1074; // subnormal
  else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  const target = exp < 0 ? (DIFF1_TARGET << BigInt(-exp)) / mant : DIFF1_TARGET / (mant << BigInt(exp));
  return target > MAX_TARGET ? MAX_TARGET : target;
}

/**
 * The network target from the compact `nbits` form (Bitcoin Core's
 * SetCompact). A negative or overflowing encoding is invalid on the network;
 * it yields target 0 so nothing is reported as a block candidate.
 */
export function compactToTarget(nbits: number): bigint {
  const exponent = nbits >>> 24;
  const mantissa = nbits & 0x007fffff;
  if (mantissa !== 0 && (nbits & 0x00800000) !== 0) return 0n;
  const target =
    exponent <= 3 ? BigInt(mantissa) >> BigInt(8 * (3 - exponent)) : BigInt(mantissa) << BigInt(8 * (exponent - 3));
  return target > MAX_TARGET ? 0n : target;
}

/** A target as 64 lowercase hex digits, comparable with a display-order hash as a string. */
export function targetHex(target: bigint): string {
  return target.toString(16).padStart(64, '0');
}

/** A target as 32 big-endian bytes, comparable with a display-order hash by Buffer.compare. */
export function targetBytes(target: bigint): Buffer {
  return Buffer.from(targetHex(target), 'hex');
}

/**
 * Share difficulty of a hash in internal (little-endian) byte order:
 * DIFF1 / int_le(hash). Read as eight u32 words into a double; the few
 * roundings are ~1e-15 relative, far inside what difficulty is used for.
 * Accept/reject decisions compare against targets, never this number.
 */
export function difficultyOfHash(hashLE: Uint8Array): number {
  const view = new DataView(hashLE.buffer, hashLE.byteOffset, 32);
  let value = 0;
  for (let i = 28; i >= 0; i -= 4) value = value * 4294967296 + view.getUint32(i, true);
  return value === 0 ? Infinity : DIFF1_NUMBER / value;
}

/** Network difficulty (bdiff) of a compact nbits, for messages and tests. */
export function difficultyOfTarget(target: bigint): number {
  return target === 0n ? Infinity : DIFF1_NUMBER / Number(target);
}
