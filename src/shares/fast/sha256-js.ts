/**
 * Pure-JS SHA-256 (FIPS 180-4) tuned for share checks: the state and the
 * message schedule live in Int32Arrays, words are combined with `| 0` so V8
 * keeps them as small integers, and nothing is allocated per block. Midstates
 * are plain state arrays: hash a 64-byte-aligned prefix once, copy its state,
 * finish many suffixes. The specialised helpers below skip work whose input
 * is constant: the padding block of a 64-byte message has a fixed schedule
 * (precomputed together with K), and a 32-byte message fits one block whose
 * second half is fixed padding.
 */

export const SHA256_IV: readonly number[] = [
  0x6a09e667, 0xbb67ae85 | 0, 0x3c6ef372, 0xa54ff53a | 0, 0x510e527f, 0x9b05688c | 0, 0x1f83d9ab, 0x5be0cd19,
];

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** Expand w[0..16) into the full 64-word schedule, in place. */
function expand(w: Int32Array): void {
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15]!;
    const y = w[t - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
  }
}

/**
 * 64 rounds on state `h` with the expanded schedule `w`. Eight rounds per
 * iteration with the working variables renamed instead of shifted (round i
 * adds into the variable that plays h, then into d), so V8 keeps them all in
 * registers and moves nothing.
 */
function rounds(h: Int32Array, w: Int32Array): void {
  let a = h[0]!;
  let b = h[1]!;
  let c = h[2]!;
  let d = h[3]!;
  let e = h[4]!;
  let f = h[5]!;
  let g = h[6]!;
  let hh = h[7]!;
  for (let t = 0; t < 64; t += 8) {
    hh = (hh + ((((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + w[t + 0]! + K[t + 0]!)) | 0;
    d = (d + hh) | 0;
    hh = (hh + ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c)))) | 0;
    g = (g + ((((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + ((d & e) ^ (~d & f)) + w[t + 1]! + K[t + 1]!)) | 0;
    c = (c + g) | 0;
    g = (g + ((((hh >>> 2) | (hh << 30)) ^ ((hh >>> 13) | (hh << 19)) ^ ((hh >>> 22) | (hh << 10))) + ((hh & a) ^ (hh & b) ^ (a & b)))) | 0;
    f = (f + ((((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + ((c & d) ^ (~c & e)) + w[t + 2]! + K[t + 2]!)) | 0;
    b = (b + f) | 0;
    f = (f + ((((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & hh) ^ (g & a) ^ (hh & a)))) | 0;
    e = (e + ((((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) + ((b & c) ^ (~b & d)) + w[t + 3]! + K[t + 3]!)) | 0;
    a = (a + e) | 0;
    e = (e + ((((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) ^ (f & hh) ^ (g & hh)))) | 0;
    d = (d + ((((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + ((a & b) ^ (~a & c)) + w[t + 4]! + K[t + 4]!)) | 0;
    hh = (hh + d) | 0;
    d = (d + ((((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) ^ (e & g) ^ (f & g)))) | 0;
    c = (c + ((((hh >>> 6) | (hh << 26)) ^ ((hh >>> 11) | (hh << 21)) ^ ((hh >>> 25) | (hh << 7))) + ((hh & a) ^ (~hh & b)) + w[t + 5]! + K[t + 5]!)) | 0;
    g = (g + c) | 0;
    c = (c + ((((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) ^ (d & f) ^ (e & f)))) | 0;
    b = (b + ((((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + ((g & hh) ^ (~g & a)) + w[t + 6]! + K[t + 6]!)) | 0;
    f = (f + b) | 0;
    b = (b + ((((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) ^ (c & e) ^ (d & e)))) | 0;
    a = (a + ((((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + ((f & g) ^ (~f & hh)) + w[t + 7]! + K[t + 7]!)) | 0;
    e = (e + a) | 0;
    a = (a + ((((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) + ((b & c) ^ (b & d) ^ (c & d)))) | 0;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
  h[5] = (h[5]! + f) | 0;
  h[6] = (h[6]! + g) | 0;
  h[7] = (h[7]! + hh) | 0;
}

/** One compression: `w` is a 64-word scratch whose first 16 words hold the block (the rest is overwritten). */
export function compress(h: Int32Array, w: Int32Array): void {
  expand(w);
  rounds(h, w);
}

const scratch = new Int32Array(64);

/** Compress `count` 64-byte blocks of `bytes` starting at `offset` (big-endian words). */
export function compressBlocks(h: Int32Array, bytes: Uint8Array, offset: number, count: number): void {
  const w = scratch;
  for (let blk = 0; blk < count; blk++) {
    const base = offset + 64 * blk;
    for (let t = 0; t < 16; t++) {
      const p = base + 4 * t;
      w[t] = (bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!;
    }
    compress(h, w);
  }
}

/** The schedule of the padding block that follows a 64-byte message (0x80, zeros, length 512). */
const PAD64_W = (() => {
  const w = new Int32Array(64);
  w[0] = 0x80000000 | 0;
  w[15] = 512;
  expand(w);
  return w;
})();

export function resetToIv(h: Int32Array): void {
  for (let i = 0; i < 8; i++) h[i] = SHA256_IV[i]!;
}

/** out = SHA-256 of the 32-byte message whose big-endian words are msg[0..8). */
export function hash32Words(msg: Int32Array, out: Int32Array, w: Int32Array): void {
  for (let i = 0; i < 8; i++) w[i] = msg[i]!;
  w[8] = 0x80000000 | 0;
  w[9] = 0;
  w[10] = 0;
  w[11] = 0;
  w[12] = 0;
  w[13] = 0;
  w[14] = 0;
  w[15] = 256;
  resetToIv(out);
  compress(out, w);
}

/**
 * One merkle step on words: root = sha256d(root ‖ branch), where root is held
 * as digest words and the branch as its 8 big-endian words at `bo`.
 */
export function merkleStepWords(root: Int32Array, branch: Int32Array, bo: number, st: Int32Array, w: Int32Array): void {
  for (let i = 0; i < 8; i++) {
    w[i] = root[i]!;
    w[8 + i] = branch[bo + i]!;
  }
  resetToIv(st);
  compress(st, w);
  rounds(st, PAD64_W);
  hash32Words(st, root, w);
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
  const w = new Int32Array(64);
  compressBlocks(st, data, 0, 1);
  rounds(st, PAD64_W);
  const out = new Int32Array(8);
  hash32Words(st, out, w);
  const bytes = new Uint8Array(32);
  wordsToBytes(out, bytes, 0);
  return bytes;
}

/** sha256d of an 80-byte block header. */
export function sha256d80(header: Uint8Array): Uint8Array {
  if (header.length !== 80) throw new RangeError(`sha256d80 needs 80 bytes, got ${header.length}`);
  const st = Int32Array.from(SHA256_IV);
  const w = new Int32Array(64);
  compressBlocks(st, header, 0, 1);
  for (let t = 0; t < 4; t++) {
    const p = 64 + 4 * t;
    w[t] = (header[p]! << 24) | (header[p + 1]! << 16) | (header[p + 2]! << 8) | header[p + 3]!;
  }
  w[4] = 0x80000000 | 0;
  w.fill(0, 5, 15);
  w[15] = 640;
  compress(st, w);
  const out = new Int32Array(8);
  hash32Words(st, out, w);
  const bytes = new Uint8Array(32);
  wordsToBytes(out, bytes, 0);
  return bytes;
}
