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
import { compressHeaderTail, compressPad64, compressPairFromIv, compressWords, sha256Words32 } from './sha256-unrolled.js';

export const SHA256_IV: readonly number[] = [
  0x6a09e667, 0xbb67ae85 | 0, 0x3c6ef372, 0xa54ff53a | 0, 0x510e527f, 0x9b05688c | 0, 0x1f83d9ab, 0x5be0cd19,
];

/** One compression of the block in w[0..16) (big-endian words). */
export function compress(h: Int32Array, w: Int32Array): void {
  compressWords(h, w, 0);
}

/**
 * Compress `count` 64-byte blocks of `bytes` starting at `offset` (big-endian
 * words). Callers hash a job context's coinbase prefix or a one-off message,
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

/** SHA-256 of any byte string (one-shot, allocates; for tests and one-off use). */
export function sha256(data: Uint8Array): Uint8Array {
  const full = Math.floor(data.length / 64);
  const h = Int32Array.from(SHA256_IV);
  compressBlocks(h, data, 0, full);
  const rest = data.length - 64 * full;
  const tail = new Uint8Array(rest + 9 > 64 ? 128 : 64);
  tail.set(data.subarray(64 * full));
  tail[rest] = 0x80;
  const bits = data.length * 8;
  const dv = new DataView(tail.buffer);
  dv.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
  dv.setUint32(tail.length - 4, bits >>> 0);
  compressBlocks(h, tail, 0, tail.length / 64);
  const out = new Uint8Array(32);
  wordsToBytes(h, out, 0);
  return out;
}

/** sha256d of a 64-byte input (a merkle pair), using the fixed padding schedule. */
export function sha256d64(data: Uint8Array): Uint8Array {
  if (data.length !== 64) throw new RangeError(`sha256d64 needs 64 bytes, got ${data.length}`);
  const st = Int32Array.from(SHA256_IV);
  compressBlocks(st, data, 0, 1);
  compressPad64(st);
  const out = new Int32Array(8);
  sha256Words32(st, out);
  const bytes = new Uint8Array(32);
  wordsToBytes(out, bytes, 0);
  return bytes;
}

/** sha256d of an 80-byte block header. */
export function sha256d80(header: Uint8Array): Uint8Array {
  if (header.length !== 80) throw new RangeError(`sha256d80 needs 80 bytes, got ${header.length}`);
  const st = Int32Array.from(SHA256_IV);
  compressBlocks(st, header, 0, 1);
  const word = (p: number): number => (header[p]! << 24) | (header[p + 1]! << 16) | (header[p + 2]! << 8) | header[p + 3]!;
  compressHeaderTail(st, word(64), word(68), word(72), word(76));
  const out = new Int32Array(8);
  sha256Words32(st, out);
  const bytes = new Uint8Array(32);
  wordsToBytes(out, bytes, 0);
  return bytes;
}
