import { InputError } from '../errors.js';

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** True when `value` is an even-length string of hex digits (empty allowed). */
export function isHex(value: unknown): value is string {
  return typeof value === 'string' && HEX.test(value);
}

/**
 * Parse wire hex into bytes. `Buffer.from(x, 'hex')` silently stops at the
 * first bad digit, so every untrusted field goes through this check instead;
 * the error names the field and what is allowed.
 */
export function parseHex(value: unknown, field: string, bytes?: number): Buffer {
  if (typeof value !== 'string') throw new InputError(`${field} must be a hex string, got ${typeof value}`);
  if (bytes !== undefined && value.length !== bytes * 2) {
    throw new InputError(`${field} must be ${bytes * 2} hex characters, got ${value.length}`);
  }
  if (!HEX.test(value)) {
    throw new InputError(
      value.length % 2 === 1 ? `${field} must have an even number of hex characters` : `${field} must contain only hex digits`,
    );
  }
  return Buffer.from(value, 'hex');
}

/** A big-endian u32 as Stratum sends version, nbits, ntime and nonce (8 hex characters). */
export function parseU32(value: unknown, field: string): number {
  return parseHex(value, field, 4).readUInt32BE(0);
}
