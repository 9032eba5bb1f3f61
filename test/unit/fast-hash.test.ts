import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseVectorFile, type ShareVector } from '../../src/shares/vector-file.js';
import { prepareJob, validateShare } from '../../src/shares/validator.js';
import { headerFromDisplayFields } from '../../src/shares/header.js';
import type { HashRequest } from '../../src/shares/types.js';
import type { StratumJob } from '../../src/wire/stratum-job.js';
import { ConfigError, InputError } from '../../src/errors.js';
import {
  RESULT_STRIDE,
  SHARE_STRIDE,
  createShareChecker,
  hashPathFromEnv,
  jobContextFor,
  resultDifficulty,
  resultHashHex,
  resultIsBlock,
  writeShareRecord,
  type ShareChecker,
} from '../../src/shares/hashing/index.js';
import { DEFAULT_ADDON_PATH, loadNativeAddon } from '../../src/shares/hashing/native.js';
import { sha256, sha256d64, sha256d80 } from '../support/sha256-words.js';
import { loadBenchJob, resultsChecksum } from '../../src/shares/hashing/bench-job.js';
import { mulberry32 as prng } from '../support/prng.js';

const text = readFileSync(new URL('../fixtures/share-vectors.json', import.meta.url), 'utf8');
const vectors = parseVectorFile(text);
const shareVectors = vectors.filter((v): v is ShareVector => v.form === 'share');
const raw = (JSON.parse(text) as { vectors: Array<Record<string, unknown>> }).vectors;

const native = loadNativeAddon();
const hasAddon = 'addon' in native;
const checkers: ShareChecker[] = [
  createShareChecker({ path: 'js' }),
  createShareChecker({ path: 'node' }),
  ...(hasAddon ? [createShareChecker({ path: 'native' })] : []),
];
/** The addon's portable C, forced even on a SHA-NI CPU. */
const portable: ShareChecker | null =
  'addon' in native
    ? { path: 'native', reason: 'portable C', checkBatch: (c, s, n, o) => native.addon.checkBatch(c, s, n, o, 1) }
    : null;

function sha256dNode(b: Uint8Array): Buffer {
  return createHash('sha256').update(createHash('sha256').update(b).digest()).digest();
}

/** The final header version the policy would compute (BIP310). */
function versionOf(v: ShareVector): number {
  const jobVersion = Number.parseInt(v.job.version, 16);
  const bits = v.submit.versionBits === undefined ? 0 : Number.parseInt(v.submit.versionBits, 16);
  return ((jobVersion & ~v.configureMask) | (bits & v.configureMask)) >>> 0;
}


describe('fast hash paths on the third-party vectors', () => {
  // npm install builds the addon when a compiler is present; when its file
  // exists it must load, or every native comparison below would vanish.
  it.skipIf(!existsSync(DEFAULT_ADDON_PATH))('loads the addon that npm install built', () => {
    expect(native).toHaveProperty('addon');
  });

  for (const v of shareVectors) {
    it(`${v.id}: every path gives the published hash and difficulty`, () => {
      const want = raw.find((r) => r.id === v.id)!;
      const job = prepareJob(v.job);
      const en1 = Buffer.from(v.extranonce1, 'hex');
      const en2 = Buffer.from(v.submit.extranonce2, 'hex');
      const ctx = jobContextFor(job, en1, en2.length);
      const shares = new Uint8Array(SHARE_STRIDE);
      const version = versionOf(v);
      writeShareRecord(shares, 0, en2, Number.parseInt(v.submit.ntime, 16), Number.parseInt(v.submit.nonce, 16), version);
      const req: HashRequest = { job: v.job, extranonce1: v.extranonce1, extranonce2: v.submit.extranonce2, ntime: v.submit.ntime, nonce: v.submit.nonce, version };
      const reference = validateShare(req);
      for (const c of [...checkers, ...(portable ? [portable] : [])]) {
        const out = new Uint8Array(RESULT_STRIDE);
        c.checkBatch(ctx, shares, 1, out);
        expect(resultHashHex(out, 0), c.reason).toBe(want.share_hash ?? want.block_hash);
        expect(resultDifficulty(out, 0), c.reason).toBe(reference.difficulty);
        expect(resultIsBlock(out, 0), c.reason).toBe(reference.block);
      }
    });
  }

  it('the benchmark job reproduces the esp-miner vector as share 0 on every path', () => {
    const bj = loadBenchJob();
    const n = 64;
    const shares = bj.shares(0, n);
    const sums = checkers.map((c) => {
      const out = new Uint8Array(n * RESULT_STRIDE);
      c.checkBatch(bj.ctx, shares, n, out);
      expect(resultHashHex(out, 0)).toBe(bj.expectShare0.hash);
      expect(resultDifficulty(out, 0)).toBe(bj.expectShare0.difficulty);
      return resultsChecksum(out, n);
    });
    expect(new Set(sums).size).toBe(1);
  });

  it('JS primitives: sha256d80 hashes block 125552, sha256/sha256d64 match node:crypto', () => {
    const hv = vectors.find((v) => v.form === 'header');
    expect(hv).toBeDefined();
    const r = raw.find((x) => x.id === 'block-125552-header')!;
    const header = headerFromDisplayFields({
      version: r.version as number,
      prevBlockDisplay: r.prev_block_display as string,
      merkleRootDisplay: r.merkle_root_display as string,
      time: r.time as number,
      bits: Number.parseInt(r.bits as string, 16),
      nonce: r.nonce as number,
    });
    expect(Buffer.from(sha256d80(header)).reverse().toString('hex')).toBe(r.block_hash);
    const rnd = prng(7);
    for (let len = 0; len < 200; len++) {
      const data = Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256));
      expect(Buffer.from(sha256(data)).toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    }
    const pair = randomBytes(64);
    expect(Buffer.from(sha256d64(pair))).toEqual(sha256dNode(pair));
  });
});

describe('fast hash paths agree on 10,000 random shares', () => {
  it('js, node:crypto, native (SHA-NI) and native portable C give identical result records; a sample matches the validator', () => {
    const rnd = prng(0x5eed);
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
    const hex = (n: number): string => bytes(n).toString('hex');
    const u32 = (): number => Math.floor(rnd() * 4294967296) >>> 0;
    const h8 = (x: number): string => x.toString(16).padStart(8, '0');
    let total = 0;
    for (let j = 0; j < 100; j++) {
      // Coinbase sizes cross every block boundary of prefix and tail; regtest
      // nbits (0x207fffff) makes about half the shares block candidates.
      const en2Size = 1 + Math.floor(rnd() * 16);
      const job: StratumJob = {
        jobId: `j${j}`,
        prevhash: hex(32),
        coinb1: hex(Math.floor(rnd() * 300)),
        coinb2: hex(Math.floor(rnd() * 400)),
        merkleBranch: Array.from({ length: Math.floor(rnd() * 17) }, () => hex(32)),
        version: h8(u32()),
        nbits: j % 2 === 0 ? '207fffff' : h8(0x17000000 + (u32() & 0xffffff)),
        ntime: h8(u32()),
        cleanJobs: false,
      };
      const en1 = bytes(Math.floor(rnd() * 9));
      const ctx = jobContextFor(prepareJob(job), en1, en2Size);
      const n = 100;
      const shares = new Uint8Array(n * SHARE_STRIDE);
      const reqs: HashRequest[] = [];
      for (let i = 0; i < n; i++) {
        const en2 = bytes(en2Size);
        const [ntime, nonce, version] = [u32(), u32(), u32()];
        writeShareRecord(shares, i, en2, ntime, nonce, version);
        reqs.push({ job, extranonce1: en1.toString('hex'), extranonce2: en2.toString('hex'), ntime: h8(ntime), nonce: h8(nonce), version });
      }
      const outs = [...checkers, ...(portable ? [portable] : [])].map((c) => {
        const out = new Uint8Array(n * RESULT_STRIDE);
        c.checkBatch(ctx, shares, n, out);
        return Buffer.from(out);
      });
      for (const o of outs.slice(1)) expect(o.equals(outs[0]!)).toBe(true);
      // The validator (an independent implementation) on two shares per job.
      for (const i of [0, n - 1]) {
        const ref = validateShare(reqs[i]!);
        expect(resultHashHex(outs[0]!, i)).toBe(ref.hash);
        expect(resultDifficulty(outs[0]!, i)).toBe(ref.difficulty);
        expect(resultIsBlock(outs[0]!, i)).toBe(ref.block);
      }
      total += n;
    }
    expect(total).toBe(10_000);
  });
});

describe('choosing a path and rejecting bad input', () => {
  it('falls back to pure JS when the addon cannot be loaded, and refuses a forced native', () => {
    const c = createShareChecker({ path: 'auto', addonPath: '/nonexistent/surplus_hash.node' });
    expect(c.path).toBe('js');
    expect(c.reason).toMatch(/native addon unavailable/);
    expect(() => createShareChecker({ path: 'native', addonPath: '/nonexistent/surplus_hash.node' })).toThrow(ConfigError);
  });

  it('auto picks native exactly when the addon loads and the CPU has SHA-NI', () => {
    const c = createShareChecker({ path: 'auto' });
    expect(c.path).toBe('addon' in native && native.addon.shaNi ? 'native' : 'js');
  });

  it('reads SURPLUS_HASH and names it when the value is wrong', () => {
    expect(hashPathFromEnv({})).toBe('auto');
    expect(hashPathFromEnv({ SURPLUS_HASH: 'node' })).toBe('node');
    expect(() => hashPathFromEnv({ SURPLUS_HASH: 'gpu' })).toThrow(/SURPLUS_HASH must be one of auto, native, js, node/);
  });

  it('every path rejects a malformed context or an oversized count with InputError', () => {
    const bj = loadBenchJob();
    const shares = bj.shares(0, 2);
    const out = new Uint8Array(2 * RESULT_STRIDE);
    const badMagic = Uint8Array.from(bj.ctx);
    badMagic[0] = 0;
    for (const c of checkers) {
      expect(() => c.checkBatch(badMagic, shares, 2, out), c.path).toThrow(InputError);
      expect(() => c.checkBatch(bj.ctx.subarray(0, bj.ctx.length - 1), shares, 2, out), c.path).toThrow(/length does not match/);
      expect(() => c.checkBatch(bj.ctx, shares, 3, out), c.path).toThrow(/count exceeds/);
      expect(() => c.checkBatch(bj.ctx, shares, -1, out), c.path).toThrow(InputError);
    }
  });
});
