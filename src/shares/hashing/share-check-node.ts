/**
 * The same batched share check through node:crypto (the share core's
 * sha256d): the baseline the fast paths are measured against. node:crypto
 * cannot resume from a midstate, so it rebuilds the whole coinbase from the
 * raw prefix blocks the job context keeps for this purpose.
 */
import { sha256d } from './sha256.js';
import { CTX, RESULT_FLAG_BLOCK, RESULT_STRIDE, SHARE_STRIDE, readU32 } from './layout.js';

const DIFF1 = 0xffff * 2 ** 208;

export function checkBatchNode(ctx: Uint8Array, shares: Uint8Array, count: number, out: Uint8Array): void {
  const en2Offset = readU32(ctx, CTX.en2Offset);
  const en2Len = readU32(ctx, CTX.en2Len);
  const tailBlocks = readU32(ctx, CTX.tailBlocks);
  const branchCount = readU32(ctx, CTX.branchCount);
  const prefixBlocks = readU32(ctx, CTX.prefixBlocks);
  const coinbaseLen = readU32(ctx, CTX.coinbaseLen);
  const tailAt = CTX.branches + 32 * branchCount;
  const prefixAt = tailAt + 64 * tailBlocks;
  const coinbase = Buffer.alloc(coinbaseLen);
  coinbase.set(ctx.subarray(prefixAt, prefixAt + 64 * prefixBlocks), 0);
  coinbase.set(ctx.subarray(tailAt, tailAt + coinbaseLen - 64 * prefixBlocks), 64 * prefixBlocks);
  const en2At = 64 * prefixBlocks + en2Offset;
  const pair = Buffer.alloc(64);
  const header = Buffer.from(ctx.subarray(CTX.header, CTX.header + 80));
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let n = 0; n < count; n++) {
    const rec = n * SHARE_STRIDE;
    coinbase.set(shares.subarray(rec + 16, rec + 16 + en2Len), en2At);
    let root = sha256d(coinbase);
    for (let k = 0; k < branchCount; k++) {
      pair.set(root, 0);
      pair.set(ctx.subarray(CTX.branches + 32 * k, CTX.branches + 32 * k + 32), 32);
      root = sha256d(pair);
    }
    header.set(shares.subarray(rec, rec + 4), 0);
    header.set(root, 36);
    header.set(shares.subarray(rec + 4, rec + 8), 68);
    header.set(shares.subarray(rec + 8, rec + 12), 76);
    const hash = sha256d(header);
    const off = n * RESULT_STRIDE;
    out.set(hash, off);
    let value = 0;
    let cmp = 0;
    for (let i = 7; i >= 0; i--) {
      const le = view.getUint32(off + 4 * i, true);
      const t = readU32(ctx, CTX.target + 4 * i);
      value = value * 4294967296 + le;
      if (cmp === 0 && le !== t) cmp = le < t ? -1 : 1;
    }
    view.setFloat64(off + 32, DIFF1 / value, true);
    view.setUint32(off + 40, cmp <= 0 ? RESULT_FLAG_BLOCK : 0, true);
    view.setUint32(off + 44, 0, true);
  }
}
