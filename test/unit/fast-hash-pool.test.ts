import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHashPool, type HashPool } from '../../src/shares/hashing/hash-pool.js';
import { loadBenchJob } from '../../src/shares/hashing/bench-job.js';
import { RESULT_STRIDE, createShareChecker, resultHashHex } from '../../src/shares/hashing/index.js';
import { OverloadError } from '../../src/errors.js';
import { encodeBatch, HashBatcher, resultAt } from '../../src/shares/hashing/hash-batch.js';
import { validateShare } from '../../src/shares/validator.js';
import type { HashRequest } from '../../src/shares/types.js';

// Real worker threads (loaded from dist/, see src/worker-path.ts).
describe('hash pool binary path (checkRecords)', () => {
  const bj = loadBenchJob();
  let pool: HashPool;
  beforeAll(() => {
    pool = createHashPool({ threads: 1, maxQueue: 600 });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('returns the same result records as the in-process pure-JS checker', async () => {
    const n = 300;
    const shares = bj.shares(1000, n);
    const got = await pool.checkRecords(bj.ctx, shares, n);
    const want = new Uint8Array(n * RESULT_STRIDE);
    createShareChecker({ path: 'js' }).checkBatch(bj.ctx, shares, n, want);
    expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
    const first = await pool.checkRecords(bj.ctx, bj.shares(0, 1), 1);
    expect(resultHashHex(first, 0)).toBe(bj.expectShare0.hash);
  });

  it('writes into a caller buffer: in place through shared memory, copied otherwise', async () => {
    const n = 10;
    const want = await pool.checkRecords(bj.ctx, bj.shares(0, n), n);
    const sharedShares = new Uint8Array(new SharedArrayBuffer(n * 48));
    sharedShares.set(bj.shares(0, n));
    const sharedOut = new Uint8Array(new SharedArrayBuffer(n * RESULT_STRIDE));
    expect(await pool.checkRecords(bj.ctx, sharedShares, n, sharedOut)).toBe(sharedOut);
    expect(Buffer.from(sharedOut).equals(Buffer.from(want))).toBe(true);
    const plainOut = new Uint8Array(n * RESULT_STRIDE);
    expect(await pool.checkRecords(bj.ctx, bj.shares(0, n), n, plainOut)).toBe(plainOut);
    expect(Buffer.from(plainOut).equals(Buffer.from(want))).toBe(true);
    await expect(pool.checkRecords(bj.ctx, bj.shares(0, n), n, new Uint8Array(47))).rejects.toThrow(/out must hold 10/);
  });

  it('is bounded by maxQueue and rejects a malformed context without killing the worker', async () => {
    await expect(pool.checkRecords(bj.ctx, bj.shares(0, 601), 601)).rejects.toBeInstanceOf(OverloadError);
    await expect(pool.checkRecords(bj.ctx.subarray(0, 100), bj.shares(0, 1), 1)).rejects.toThrow(/192-byte header/);
    const ok = await pool.checkRecords(bj.ctx, bj.shares(0, 2), 2);
    expect(resultHashHex(ok, 0)).toBe(bj.expectShare0.hash);
    expect(pool.queueDepth).toBe(0);
  });
});

describe('hash pool engine selection', () => {
  it('refuses to start with a bad SURPLUS_HASH, naming the variable', () => {
    const before = process.env['SURPLUS_HASH'];
    process.env['SURPLUS_HASH'] = 'gpu';
    try {
      expect(() => createHashPool({ threads: 1 })).toThrow(/SURPLUS_HASH must be one of/);
    } finally {
      if (before === undefined) delete process.env['SURPLUS_HASH'];
      else process.env['SURPLUS_HASH'] = before;
    }
  });
});

describe('hashBatch on the fast path', () => {
  it('mixes fast records, slow-path shares and per-share errors in one task, each matching the validator', () => {
    const bj = loadBenchJob();
    const version = Number.parseInt(bj.job.version, 16);
    const req = (i: number, over: Partial<HashRequest> = {}): HashRequest => ({
      job: bj.job,
      extranonce1: bj.extranonce1,
      ntime: bj.job.ntime,
      version,
      ...bj.shareHex(i),
      ...over,
    });
    const reqs = [
      req(0),
      req(1, { extranonce2: 'zz00000000000000' }), // not hex: an error for this share only
      req(2, { extranonce2: 'ab'.repeat(40) }), // 40 bytes: beyond the fast path, hashed the slow way
      req(3, { extranonce1: '0badbeef' }), // another session: another job context
      req(4, { nonce: '123' }),
      req(5),
    ];
    const res = new HashBatcher().hashBatch(encodeBatch(reqs, () => 7));
    expect(res.errors?.[1]).toMatch(/extranonce2 must contain only hex digits/);
    expect(res.errors?.[4]).toMatch(/nonce must be 8 hex characters/);
    for (const i of [0, 2, 3, 5]) {
      expect(res.errors?.[i] ?? null).toBeNull();
      expect(resultAt(res, i)).toEqual(validateShare(reqs[i]!));
    }
    expect(resultAt(res, 0).hash).toBe(bj.expectShare0.hash);
  });
});
