import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHashPool, type HashPool } from '../../src/shares/hash-pool.js';
import { loadBenchJob } from '../../src/shares/fast/bench-job.js';
import { RESULT_STRIDE, createShareChecker, resultHashHex } from '../../src/shares/fast/index.js';
import { OverloadError } from '../../src/errors.js';

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

  it('is bounded by maxQueue and rejects a malformed context without killing the worker', async () => {
    await expect(pool.checkRecords(bj.ctx, bj.shares(0, 601), 601)).rejects.toBeInstanceOf(OverloadError);
    await expect(pool.checkRecords(bj.ctx.subarray(0, 100), bj.shares(0, 1), 1)).rejects.toThrow(/192-byte header/);
    const ok = await pool.checkRecords(bj.ctx, bj.shares(0, 2), 2);
    expect(resultHashHex(ok, 0)).toBe(bj.expectShare0.hash);
    expect(pool.queueDepth).toBe(0);
  });
});
