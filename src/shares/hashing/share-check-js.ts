/**
 * Batched share checks in pure JS on the layouts of layout.ts: the fallback
 * when the native addon is missing or the CPU lacks SHA-NI, and the reference
 * the addon is tested against. Per share it costs the coinbase tail blocks
 * after the midstate, one more block for the coinbase's second hash, three
 * blocks per merkle branch and three for the header; nothing is allocated
 * inside the loop.
 */
import { CTX, RESULT_FLAG_BLOCK, RESULT_STRIDE, SHARE_STRIDE, readU32 } from './layout.js';
import { merkleStepWords, resetToIv, wordsToBytes } from './sha256-js.js';
import { compressHeaderTail, compressWords, sha256Words32 } from './sha256-unrolled.js';

interface JsJob {
  en2Offset: number;
  en2Len: number;
  tailBlocks: number;
  branchCount: number;
  midstate: Int32Array;
  /** The padded coinbase tail as big-endian words; extranonce2 is patched in per share. */
  tailWords: Int32Array;
  branchWords: Int32Array;
  prevWords: Int32Array;
  nbitsWord: number;
  /** Network target, little-endian 32-bit words (index 7 is the most significant). */
  target: Uint32Array;
}

function beWord(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

function jsJob(jobs: WeakMap<Uint8Array, JsJob>, ctx: Uint8Array): JsJob {
  let j = jobs.get(ctx);
  if (j) return j;
  const tailBlocks = readU32(ctx, CTX.tailBlocks);
  const branchCount = readU32(ctx, CTX.branchCount);
  const midstate = new Int32Array(8);
  const prevWords = new Int32Array(8);
  const target = new Uint32Array(8);
  for (let i = 0; i < 8; i++) {
    midstate[i] = readU32(ctx, CTX.midstate + 4 * i) | 0;
    prevWords[i] = beWord(ctx, CTX.header + 4 + 4 * i);
    target[i] = readU32(ctx, CTX.target + 4 * i);
  }
  const branchWords = new Int32Array(8 * branchCount);
  for (let i = 0; i < 8 * branchCount; i++) branchWords[i] = beWord(ctx, CTX.branches + 4 * i);
  const tailAt = CTX.branches + 32 * branchCount;
  const tailWords = new Int32Array(16 * tailBlocks);
  for (let i = 0; i < 16 * tailBlocks; i++) tailWords[i] = beWord(ctx, tailAt + 4 * i);
  j = {
    en2Offset: readU32(ctx, CTX.en2Offset),
    en2Len: readU32(ctx, CTX.en2Len),
    tailBlocks,
    branchCount,
    midstate,
    tailWords,
    branchWords,
    prevWords,
    nbitsWord: beWord(ctx, CTX.header + 72),
    target,
  };
  jobs.set(ctx, j);
  return j;
}

/** Checks `count` shares of one job context, results to `out` (48 bytes each). */
export type BatchCheck = (ctx: Uint8Array, shares: Uint8Array, count: number, out: Uint8Array) => void;

/**
 * A JS batch check with its own state: the parsed form of each job context
 * it has seen (weakly held, so it goes with the context) and the scratch
 * words of the loop, so nothing is allocated per share and nothing is shared
 * between checkers. The caller validates sizes (see index.ts); the context
 * must come from buildJobContext.
 */
export function createJsBatchCheck(): BatchCheck {
  const jobs = new WeakMap<Uint8Array, JsJob>();
  const st = new Int32Array(8);
  const root = new Int32Array(8);
  const w = new Int32Array(16);
  return function checkBatchJs(ctx, shares, count, out) {
    const j = jsJob(jobs, ctx);
    const tw = j.tailWords;
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let n = 0; n < count; n++) {
      const rec = n * SHARE_STRIDE;
      for (let k = 0; k < j.en2Len; k++) {
        const pos = j.en2Offset + k;
        const shift = 24 - 8 * (pos & 3);
        const wi = pos >>> 2;
        tw[wi] = (tw[wi]! & ~(0xff << shift)) | (shares[rec + 16 + k]! << shift);
      }
      st.set(j.midstate);
      for (let blk = 0; blk < j.tailBlocks; blk++) compressWords(st, tw, 16 * blk);
      sha256Words32(st, root);
      for (let k = 0; k < j.branchCount; k++) merkleStepWords(root, j.branchWords, 8 * k, st);
      // Header block 1: version, prevhash, merkle root words 0..6 (fields are little-endian u32s).
      // The record stores u32s little-endian, exactly the header bytes; read them as message words.
      w[0] = beWord(shares, rec);
      for (let i = 0; i < 8; i++) w[1 + i] = j.prevWords[i]!;
      for (let i = 0; i < 7; i++) w[9 + i] = root[i]!;
      resetToIv(st);
      compressWords(st, w, 0);
      // Block 2: root word 7, ntime, nbits, nonce, then padding for an 80-byte message.
      compressHeaderTail(st, root[7]!, beWord(shares, rec + 4), j.nbitsWord, beWord(shares, rec + 8));
      sha256Words32(st, root);
      writeResult(root, j.target, out, view, n * RESULT_STRIDE);
    }
  };
}

/** Hash bytes, difficulty and flags of one result; the same arithmetic as share_core.c. */
function writeResult(h: Int32Array, target: Uint32Array, out: Uint8Array, view: DataView, off: number): void {
  wordsToBytes(h, out, off);
  let value = 0;
  let cmp = 0;
  for (let i = 7; i >= 0; i--) {
    const le = view.getUint32(off + 4 * i, true);
    value = value * 4294967296 + le;
    if (cmp === 0 && le !== target[i]!) cmp = le < target[i]! ? -1 : 1;
  }
  view.setFloat64(off + 32, DIFF1 / value, true);
  view.setUint32(off + 40, cmp <= 0 ? RESULT_FLAG_BLOCK : 0, true);
  view.setUint32(off + 44, 0, true);
}

const DIFF1 = 0xffff * 2 ** 208;
