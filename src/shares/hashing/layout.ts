/**
 * Byte layouts shared by every fast share-check path (native addon, pure JS,
 * node:crypto). They mirror native/src/share_core.h; change both together.
 *
 * A job context is built once per (job, extranonce1, extranonce2 size): it
 * carries the SHA-256 midstate of the coinbase prefix coinb1‖extranonce1
 * (constant for a job and a miner session, so its full 64-byte blocks are
 * hashed once), the padded coinbase tail with a zeroed extranonce2 slot, the
 * merkle branches, prevhash and nbits. Shares travel as fixed 48-byte records
 * and results come back as fixed 48-byte records, so a batch is three flat
 * byte arrays that can be transferred to a worker without per-share objects.
 *
 * What cannot be reused across shares: the header's first 64-byte block is
 * version ‖ prevhash ‖ merkle root[0..28], and the root depends on
 * extranonce2, so it is constant only for repeated (extranonce2, version)
 * pairs, which real miners rarely submit twice; ntime and nonce sit in the
 * second block. Every share therefore pays for its coinbase tail, the merkle
 * path and the header.
 */
import { InputError } from '../../errors.js';
import { compactToTarget } from '../../wire/target.js';
import { SHA256_IV, compressBlocks } from './sha256-js.js';

export const CTX_MAGIC = 0x31435053; // "SPC1"
export const CTX_HEADER_BYTES = 192;
export const MAX_EXTRANONCE2 = 32;
export const MAX_BRANCHES = 32;
export const MAX_TAIL_BLOCKS = 256;
export const MAX_PREFIX_BLOCKS = 1024;
export const SHARE_STRIDE = 48;
export const RESULT_STRIDE = 48;
export const RESULT_FLAG_BLOCK = 1;

/** Offsets inside a job context. */
export const CTX = {
  magic: 0,
  en2Offset: 4,
  en2Len: 8,
  tailBlocks: 12,
  branchCount: 16,
  prefixBlocks: 20,
  midstate: 24,
  coinbaseLen: 56,
  header: 64,
  target: 144,
  branches: CTX_HEADER_BYTES,
} as const;

/** What a job context is built from; 32-byte fields in header (internal) byte order. */
export interface JobContextInput {
  coinb1: Uint8Array;
  extranonce1: Uint8Array;
  extranonce2Size: number;
  coinb2: Uint8Array;
  branches: readonly Uint8Array[];
  /** Prev-block hash as it sits in the header (notify's words already swapped back). */
  prevHash: Uint8Array;
  nbits: number;
}

function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}

export function readU32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

/** Build a job context (see the module comment). Throws InputError naming the field that is out of range. */
export function buildJobContext(input: JobContextInput): Uint8Array {
  const { coinb1, extranonce1, coinb2, branches, prevHash, nbits } = input;
  const en2Len = input.extranonce2Size;
  if (!Number.isInteger(en2Len) || en2Len < 1 || en2Len > MAX_EXTRANONCE2) {
    throw new InputError(`extranonce2Size must be an integer 1..${MAX_EXTRANONCE2}, got ${en2Len}`);
  }
  if (branches.length > MAX_BRANCHES) {
    throw new InputError(`merkleBranch must have at most ${MAX_BRANCHES} entries, got ${branches.length}`);
  }
  if (prevHash.length !== 32) throw new InputError(`prevHash must be 32 bytes, got ${prevHash.length}`);
  const prefixLen = coinb1.length + extranonce1.length;
  const total = prefixLen + en2Len + coinb2.length;
  const full = Math.floor(prefixLen / 64);
  const rest = total - full * 64;
  const tailBlocks = Math.ceil((rest + 9) / 64);
  if (tailBlocks > MAX_TAIL_BLOCKS || full > MAX_PREFIX_BLOCKS) {
    throw new InputError(`coinbase of ${total} bytes is too large for the fast hash path`);
  }
  const ctx = new Uint8Array(CTX_HEADER_BYTES + 32 * branches.length + 64 * tailBlocks + 64 * full);
  const prefix = new Uint8Array(prefixLen);
  prefix.set(coinb1, 0);
  prefix.set(extranonce1, coinb1.length);
  const state = Int32Array.from(SHA256_IV);
  compressBlocks(state, prefix, 0, full);
  writeU32(ctx, CTX.magic, CTX_MAGIC);
  writeU32(ctx, CTX.en2Offset, prefixLen - full * 64);
  writeU32(ctx, CTX.en2Len, en2Len);
  writeU32(ctx, CTX.tailBlocks, tailBlocks);
  writeU32(ctx, CTX.branchCount, branches.length);
  writeU32(ctx, CTX.prefixBlocks, full);
  for (let i = 0; i < 8; i++) writeU32(ctx, CTX.midstate + 4 * i, state[i]!);
  writeU32(ctx, CTX.coinbaseLen, total);
  ctx.set(prevHash, CTX.header + 4);
  writeU32(ctx, CTX.header + 72, nbits >>> 0);
  // Network target as a little-endian 256-bit integer, as the hash is compared.
  let target = compactToTarget(nbits >>> 0);
  for (let i = 0; i < 32; i++) {
    ctx[CTX.target + i] = Number(target & 0xffn);
    target >>= 8n;
  }
  branches.forEach((b, i) => {
    if (b.length !== 32) throw new InputError(`merkleBranch[${i}] must be 32 bytes, got ${b.length}`);
    ctx.set(b, CTX.branches + 32 * i);
  });
  const tailAt = CTX.branches + 32 * branches.length;
  const r = prefixLen - full * 64;
  ctx.set(prefix.subarray(full * 64), tailAt);
  ctx.set(coinb2, tailAt + r + en2Len);
  ctx[tailAt + rest] = 0x80;
  // SHA-256 length field: bits, big-endian u64 (fits easily in a double).
  const bits = total * 8;
  const lenAt = tailAt + 64 * tailBlocks - 8;
  writeU32(ctx, lenAt, 0);
  ctx[lenAt + 4] = (bits / 2 ** 24) & 0xff;
  ctx[lenAt + 5] = (bits >>> 16) & 0xff;
  ctx[lenAt + 6] = (bits >>> 8) & 0xff;
  ctx[lenAt + 7] = bits & 0xff;
  ctx.set(prefix.subarray(0, full * 64), tailAt + 64 * tailBlocks);
  return ctx;
}

/**
 * Write share `i` into a records array. `extranonce2` must have exactly the
 * context's size; ntime, nonce and the final (BIP310-rolled) version are numbers.
 */
export function writeShareRecord(
  shares: Uint8Array,
  i: number,
  extranonce2: Uint8Array,
  ntime: number,
  nonce: number,
  version: number,
): void {
  const off = i * SHARE_STRIDE;
  writeU32(shares, off, version >>> 0);
  writeU32(shares, off + 4, ntime >>> 0);
  writeU32(shares, off + 8, nonce >>> 0);
  shares.set(extranonce2, off + 16);
}

/** The display-order hex hash (as explorers show it) of result `i`. */
export function resultHashHex(out: Uint8Array, i: number): string {
  const off = i * RESULT_STRIDE;
  let s = '';
  for (let b = 31; b >= 0; b--) s += HEX_BYTE[out[off + b]!]!;
  return s;
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Share difficulty of result `i` (bdiff). */
export function resultDifficulty(out: Uint8Array, i: number): number {
  return new DataView(out.buffer, out.byteOffset + i * RESULT_STRIDE + 32, 8).getFloat64(0, true);
}

/** True when result `i` is at or under the network target. */
export function resultIsBlock(out: Uint8Array, i: number): boolean {
  return (out[i * RESULT_STRIDE + 40]! & RESULT_FLAG_BLOCK) !== 0;
}

/**
 * Bounds-check a job context and a batch before a JS path reads them (the
 * addon runs the same checks in C). Returns an error message or null.
 */
export function checkBatchArgs(ctx: Uint8Array, shares: Uint8Array, count: number, out: Uint8Array): string | null {
  if (!Number.isInteger(count) || count < 0) return 'count must be a non-negative integer';
  if (count * SHARE_STRIDE > shares.length || count * RESULT_STRIDE > out.length) {
    return 'count exceeds shares.length / 48 or out.length / 48';
  }
  if (ctx.length < CTX_HEADER_BYTES) return 'job context is shorter than its 192-byte header';
  if (readU32(ctx, CTX.magic) !== CTX_MAGIC) return 'job context has a wrong magic number';
  const en2Len = readU32(ctx, CTX.en2Len);
  const tailBlocks = readU32(ctx, CTX.tailBlocks);
  const branchCount = readU32(ctx, CTX.branchCount);
  const prefixBlocks = readU32(ctx, CTX.prefixBlocks);
  if (en2Len < 1 || en2Len > MAX_EXTRANONCE2) return 'job context en2_len must be 1..32';
  if (branchCount > MAX_BRANCHES) return 'job context branch_count must be 0..32';
  if (tailBlocks < 1 || tailBlocks > MAX_TAIL_BLOCKS) return 'job context tail_blocks must be 1..256';
  if (prefixBlocks > MAX_PREFIX_BLOCKS) return 'job context prefix_blocks must be 0..1024';
  if (readU32(ctx, CTX.en2Offset) + en2Len > 64 * tailBlocks) {
    return 'job context extranonce2 slot lies outside the coinbase tail';
  }
  if (ctx.length !== CTX_HEADER_BYTES + 32 * branchCount + 64 * tailBlocks + 64 * prefixBlocks) {
    return 'job context length does not match its counts';
  }
  return null;
}
