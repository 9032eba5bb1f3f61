import { createHash } from 'node:crypto';

/**
 * Double SHA-256, the only hash primitive the share core calls (validator,
 * merkle, worker). Kept behind this one function so a faster path (native
 * SHA-NI, or a tuned pure-JS compressor with a reusable midstate) can replace
 * it in one place.
 */
export function sha256d(data: Uint8Array): Buffer {
  const first = createHash('sha256').update(data).digest();
  return createHash('sha256').update(first).digest();
}
