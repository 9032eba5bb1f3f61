/**
 * One-shot hashes built from the word-level SHA-256 of the JS share checker
 * (src/shares/hashing/sha256-js.ts, sha256-unrolled.ts), so tests can check
 * those primitives against node:crypto and a real block header. The product
 * hashes only through the batch checkers; these allocate and are for tests.
 */
import { SHA256_IV, compressBlocks, wordsToBytes } from '../../src/shares/hashing/sha256-js.js';
import { compressHeaderTail, compressPad64, sha256Words32 } from '../../src/shares/hashing/sha256-unrolled.js';

/** SHA-256 of any byte string. */
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
