import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseVectorFile, type ShareVector } from '../../src/shares/vector-file.js';
import { explainShare, prepareJob, validateShare } from '../../src/shares/validator.js';
import { hashHeader, headerFromDisplayFields } from '../../src/shares/header.js';
import {
  DIFF1_TARGET,
  MAX_TARGET,
  compactToTarget,
  difficultyOfHash,
  targetBytes,
  targetForDifficulty,
} from '../../src/wire/target.js';
import type { HashRequest } from '../../src/shares/types.js';

const FIXTURE = new URL('../fixtures/share-vectors.json', import.meta.url);
const text = readFileSync(FIXTURE, 'utf8');
const raw = (JSON.parse(text) as { vectors: Array<Record<string, unknown>> }).vectors;
const vectors = parseVectorFile(text);
const shareVectors = vectors.filter((v): v is ShareVector => v.form === 'share');

/** The HashRequest the policy would build (BIP310 version from the mask). */
function requestOf(v: ShareVector): HashRequest {
  const jobVersion = Number.parseInt(v.job.version, 16);
  const bits = v.submit.versionBits === undefined ? 0 : Number.parseInt(v.submit.versionBits, 16);
  const version = ((jobVersion & ~v.configureMask) | (bits & v.configureMask)) >>> 0;
  return { job: v.job, extranonce1: v.extranonce1, extranonce2: v.submit.extranonce2, ntime: v.submit.ntime, nonce: v.submit.nonce, version };
}

function expectedOf(id: string): Record<string, unknown> {
  const r = raw.find((x) => x.id === id);
  if (!r) throw new Error(`no raw vector ${id}`);
  return r;
}

describe('validator against third-party vectors', () => {
  it('covers every share vector of the fixture file', () => {
    expect(shareVectors.map((v) => v.id)).toEqual([
      'slush-testnet3-bf',
      'public-pool-testnet-bitaxe-versionrolling',
      'esp-miner-mainnet-13-branches',
    ]);
  });

  it.each(shareVectors.map((v) => [v.id, v] as const))('%s: merkle root, header, hash and difficulty', (id, v) => {
    const want = expectedOf(id);
    const d = explainShare(requestOf(v));
    expect(d.merkleRoot.toString('hex')).toBe(want.merkle_root_internal);
    if (want.header_hex !== undefined) expect(d.header.toString('hex')).toBe(want.header_hex);
    if (want.nversion_used !== undefined) expect(d.header.readUInt32LE(0).toString(16).padStart(8, '0')).toBe(want.nversion_used);
    expect(d.hash).toBe(want.share_hash ?? want.block_hash);
    const diff = want.share_diff_bdiff as number;
    expect(Math.abs(d.difficulty - diff) / diff).toBeLessThan(1e-9);
    expect(validateShare(requestOf(v))).toEqual({ hash: d.hash, difficulty: d.difficulty, block: d.block });
  });

  it('esp-miner: 13 branches and the coinbase equals the published full coinbase', () => {
    const v = shareVectors.find((x) => x.id === 'esp-miner-mainnet-13-branches')!;
    expect(v.job.merkleBranch).toHaveLength(13);
    expect(explainShare(requestOf(v)).coinbase.toString('hex')).toBe(expectedOf(v.id).coinbase_full);
  });

  it('flags the slush testnet share as a block candidate and the others not', () => {
    const blocks = Object.fromEntries(shareVectors.map((v) => [v.id, validateShare(requestOf(v)).block]));
    expect(blocks).toEqual({
      'slush-testnet3-bf': true,
      'public-pool-testnet-bitaxe-versionrolling': false,
      'esp-miner-mainnet-13-branches': false,
    });
  });

  it('block 125552: the header-only path reproduces the block hash', () => {
    const v = vectors.find((x) => x.id === 'block-125552-header');
    if (v?.form !== 'header') throw new Error('expected a header vector');
    const header = headerFromDisplayFields(v);
    const r = hashHeader(header, targetBytes(compactToTarget(v.bits)));
    expect(r.hash).toBe(expectedOf(v.id).block_hash);
    expect(r.block).toBe(true);
  });

  it('a malformed job is an InputError naming the field', () => {
    const v = shareVectors[0]!;
    expect(() => prepareJob({ ...v.job, prevhash: 'zz' })).toThrow(/job.prevhash must be 64 hex characters/);
    expect(() => prepareJob({ ...v.job, merkleBranch: ['00'] })).toThrow(/job.merkleBranch\[0\]/);
    expect(() => prepareJob({ ...v.job, coinb1: 'abc' })).toThrow(/job.coinb1 must have an even number/);
  });
});

describe('targets', () => {
  it('difficulty 1 is 0xFFFF·2^208 and nbits 1d00ffff decodes to it', () => {
    expect(targetForDifficulty(1)).toBe(DIFF1_TARGET);
    expect(compactToTarget(0x1d00ffff)).toBe(DIFF1_TARGET);
    expect(compactToTarget(0x1a44b9f2)).toBe(0x44b9f2n << (8n * 23n));
    expect(compactToTarget(0x04923456)).toBe(0n); // sign bit set: a negative target, never a block
    expect(compactToTarget(0x04123456)).toBe(0x12345600n);
    expect(compactToTarget(0x01003456)).toBe(0n);
    expect(compactToTarget(0xff123456)).toBe(0n); // overflows 256 bits
    expect(compactToTarget(0x207fffff)).toBe(0x7fffffn << (8n * 29n)); // regtest
  });

  it('exact for fractional and odd difficulties, clamped at 2^256-1', () => {
    expect(targetForDifficulty(0.5)).toBe(DIFF1_TARGET * 2n);
    expect(targetForDifficulty(3)).toBe(DIFF1_TARGET / 3n);
    expect(targetForDifficulty(1.5)).toBe((DIFF1_TARGET * 2n) / 3n);
    expect(targetForDifficulty(2 ** -40)).toBe(MAX_TARGET);
    expect(() => targetForDifficulty(0)).toThrow(/positive/);
    expect(() => targetForDifficulty(Number.NaN)).toThrow(/positive/);
  });

  it('floor(DIFF1 / d) holds exactly for any positive double (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1e15, noNaN: true }), (d) => {
        const t = targetForDifficulty(d);
        if (t === MAX_TARGET) return;
        // d = n / 2^k exactly; check t <= DIFF1/d < t + 1 on integers.
        let k = 0n;
        let x = d;
        while (!Number.isInteger(x)) {
          x *= 2;
          k++;
        }
        const n = BigInt(x);
        const lhs = DIFF1_TARGET << k;
        expect(t * n <= lhs).toBe(true);
        expect((t + 1n) * n > lhs).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('difficultyOfHash is DIFF1 / int_le(hash)', () => {
    const h = Buffer.alloc(32);
    h[28] = 0xff; // int_le = 0xff·2^224
    expect(difficultyOfHash(h)).toBeCloseTo(0xffff / 0xff / 2 ** 16, 12);
    expect(difficultyOfHash(Buffer.alloc(32))).toBe(Infinity);
  });
});
