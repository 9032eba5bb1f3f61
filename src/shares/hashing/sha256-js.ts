/**
 * Pure-JS SHA-256 (FIPS 180-4) tuned for share checks. States are Int32Arrays
 * of 8 words, messages big-endian words, and nothing is allocated per block.
 * Midstates are plain state arrays: hash a 64-byte-aligned prefix once, copy
 * its state, finish many suffixes. The compressions themselves are generated
 * fully unrolled into sha256-unrolled.ts (schedule in locals, which V8 keeps
 * in registers; about 30% faster than a loop over a typed-array schedule),
 * with constant words folded in: the padding block after a 64-byte message
 * has a wholly constant schedule, a 32-byte message fits one block whose
 * second half is padding, and so does the header's second block after its
 * four varying words.
 */
import { compressPad64, compressPairFromIv, compressWords, sha256Words32 } from './sha256-unrolled.js';

export const SHA256_IV: readonly number[] = [
  0x6a09e667, 0xbb67ae85 | 0, 0x3c6ef372, 0xa54ff53a | 0, 0x510e527f, 0x9b05688c | 0, 0x1f83d9ab, 0x5be0cd19,
];

/** One compression of the block in w[0..16) (big-endian words). */
export function compress(h: Int32Array, w: Int32Array): void {
  compressWords(h, w, 0);
}

/**
 * Compress `count` 64-byte blocks of `bytes` starting at `offset` (big-endian
 * words). The product calls it for a job context's coinbase prefix (tests for one-off messages),
 * never once per share, so the 16-word schedule is allocated per call.
 */
export function compressBlocks(h: Int32Array, bytes: Uint8Array, offset: number, count: number): void {
  const w = new Int32Array(16);
  for (let blk = 0; blk < count; blk++) {
    const base = offset + 64 * blk;
    for (let t = 0; t < 16; t++) {
      const p = base + 4 * t;
      w[t] = (bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!;
    }
    compressWords(h, w, 0);
  }
}

export function resetToIv(h: Int32Array): void {
  for (let i = 0; i < 8; i++) h[i] = SHA256_IV[i]!;
}

/**
 * One merkle step on words: root = sha256d(root ‖ branch), where root is held
 * as digest words and the branch as its 8 big-endian words at `bo`.
 */
export function merkleStepWords(root: Int32Array, branch: Int32Array, bo: number, st: Int32Array): void {
  compressPairFromIv(root, branch, bo, st);
  compressPad64(st);
  sha256Words32(st, root);
}

/** Digest words -> 32 bytes (big-endian per word, i.e. the hash's internal byte order). */
export function wordsToBytes(h: Int32Array, out: Uint8Array, offset: number): void {
  for (let i = 0; i < 8; i++) {
    const v = h[i]!;
    out[offset + 4 * i] = v >>> 24;
    out[offset + 4 * i + 1] = (v >>> 16) & 0xff;
    out[offset + 4 * i + 2] = (v >>> 8) & 0xff;
    out[offset + 4 * i + 3] = v & 0xff;
  }
}
