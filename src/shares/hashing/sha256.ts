import { hash } from 'node:crypto';

/**
 * Double SHA-256, the only hash primitive the share core calls (validator,
 * merkle, worker). Kept behind this one function so a faster path (native
 * SHA-NI, or a tuned pure-JS compressor with a reusable midstate) can replace
 * it in one place. `crypto.hash` (one-shot, Node >= 20.12) skips the Hash
 * object of `createHash`: ~1.6x faster for the 64- and 80-byte inputs that
 * dominate a share check.
 */
export function sha256d(data: Uint8Array): Buffer {
  return hash('sha256', hash('sha256', data, 'buffer'), 'buffer');
}
