import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { compiledSibling } from '../../src/worker-path.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createHashPool, type HashPool } from '../../src/shares/hashing/hash-pool.js';
import { createShareChecker } from '../../src/shares/hashing/index.js';
import { parseVectorFile, type ShareVector } from '../../src/shares/vector-file.js';
import { validateShare } from '../../src/shares/validator.js';
import { OverloadError, InputError } from '../../src/errors.js';
import type { HashRequest, HashResult } from '../../src/shares/types.js';
import { mulberry32 as rng } from '../support/prng.js';

// Workers load dist/shares/hashing/hash-worker.cjs: `npm test` builds first (or run `npx tsc -p tsconfig.build.json`).
const vectors = parseVectorFile(readFileSync(new URL('../fixtures/share-vectors.json', import.meta.url), 'utf8')).filter(
  (v): v is ShareVector => v.form === 'share',
);

function requestOf(v: ShareVector): HashRequest {
  const bits = v.submit.versionBits === undefined ? 0 : Number.parseInt(v.submit.versionBits, 16);
  const version = ((Number.parseInt(v.job.version, 16) & ~v.configureMask) | (bits & v.configureMask)) >>> 0;
  return { job: v.job, extranonce1: v.extranonce1, extranonce2: v.submit.extranonce2, ntime: v.submit.ntime, nonce: v.submit.nonce, version };
}

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

function randomShares(count: number, seed: number): HashRequest[] {
  const next = rng(seed);
  const u32 = (): number => Math.floor(next() * 4294967296);
  return Array.from({ length: count }, () => {
    const v = vectors[Math.floor(next() * vectors.length)]!;
    const base = requestOf(v);
    const extranonce2 = Array.from({ length: v.extranonce2Size }, () => hex8(u32()).slice(0, 2)).join('');
    return { ...base, extranonce2, ntime: hex8(Number.parseInt(v.job.ntime, 16) + Math.floor(next() * 7000)), nonce: hex8(u32()), version: u32() };
  });
}

let pool: HashPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('hash pool (real worker threads)', () => {
  it('reproduces the in-process validator on every fixture', async () => {
    pool = createHashPool({ threads: 1 });
    for (const v of vectors) {
      const req = requestOf(v);
      expect(await pool.hash(req)).toEqual(validateShare(req));
    }
  });

  it('agrees with the in-process validator on a few hundred random shares, batched across 2 threads', async () => {
    pool = createHashPool({ threads: 2, batchSize: 16 });
    const reqs = randomShares(300, 42);
    const results = await Promise.all(reqs.map((r) => pool!.hash(r)));
    results.forEach((r, i) => expect(r).toEqual(validateShare(reqs[i]!)));
    // 300 shares submitted at once went out as full batches, not 300 tasks.
    expect(pool.stats).toEqual({ tasks: Math.ceil(300 / 16), shares: 300 });
    expect(pool.queueDepth).toBe(0);
  });

  it('a lone share is sent after the batch delay, without waiting for a full batch', async () => {
    pool = createHashPool({ threads: 1, batchSize: 64, batchDelayMs: 1 });
    const req = requestOf(vectors[0]!);
    expect(await pool.hash(req)).toEqual(validateShare(req));
    expect(pool.stats).toEqual({ tasks: 1, shares: 1 });
  });

  it('a full queue rejects with OverloadError at once, before any queued share is answered', async () => {
    pool = createHashPool({ threads: 1, batchSize: 4, maxQueue: 8 });
    const order: string[] = [];
    const reqs = randomShares(12, 7);
    const all = reqs.map((r, i) =>
      pool!.hash(r).then(
        (res: HashResult) => {
          order.push(`ok${i}`);
          return res;
        },
        (err: unknown) => {
          order.push(`err${i}`);
          throw err;
        },
      ),
    );
    expect(pool.queueDepth).toBe(8);
    const settled = await Promise.allSettled(all);
    expect(settled.slice(0, 8).every((s) => s.status === 'fulfilled')).toBe(true);
    for (const s of settled.slice(8)) {
      expect(s.status).toBe('rejected');
      expect((s as PromiseRejectedResult).reason).toBeInstanceOf(OverloadError);
    }
    expect(order.slice(0, 4).every((o) => o.startsWith('err'))).toBe(true);
    // Room again once the queue drained.
    expect(await pool.hash(reqs[0]!)).toEqual(validateShare(reqs[0]!));
  });

  it('a malformed share fails alone; its batch-mates are hashed', async () => {
    pool = createHashPool({ threads: 1, batchSize: 3 });
    const [a, b] = randomShares(2, 9);
    const results = await Promise.allSettled([pool.hash(a!), pool.hash({ ...b!, nonce: 'zzzzzzzz' }), pool.hash(b!)]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: validateShare(a!) });
    expect(results[1]!.status).toBe('rejected');
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(InputError);
    expect(String((results[1] as PromiseRejectedResult).reason.message)).toMatch(/nonce/);
    expect(results[2]).toEqual({ status: 'fulfilled', value: validateShare(b!) });
    await expect(pool.hash({ ...a!, version: -1 })).rejects.toBeInstanceOf(InputError);
  });

  it('close() ends the workers and later shares are refused', async () => {
    const p = createHashPool({ threads: 2 });
    expect(p.workers).toBe(2);
    const req = requestOf(vectors[1]!);
    await p.hash(req);
    await p.close();
    expect(p.workers).toBe(0);
    await expect(p.hash(req)).rejects.toMatchObject({ code: 'SURPLUS_ERR_CLOSED' });
  });

  it('reports the engine its workers hash with (the one this process would pick), and refuses once closed', async () => {
    const p = createHashPool({ threads: 1 });
    const here = createShareChecker();
    expect(await p.engine()).toEqual({ path: here.path, reason: here.reason });
    await p.close();
    await expect(p.engine()).rejects.toMatchObject({ code: 'SURPLUS_ERR_CLOSED' });
  });

  it('resolves the compiled worker from src/ (vitest) and from dist/ alike', () => {
    const worker = fileURLToPath(new URL('../../dist/shares/hashing/hash-worker.cjs', import.meta.url));
    expect(compiledSibling('./hash-worker.cts', new URL('../../src/shares/hashing/hash-pool.ts', import.meta.url).href)).toBe(worker);
    expect(compiledSibling('./hash-worker.cts', new URL('../../dist/shares/hashing/hash-pool.js', import.meta.url).href)).toBe(worker);
    expect(compiledSibling('./x.ts', new URL('../../src/a/b.ts', import.meta.url).href)).toMatch(/[\\/]dist[\\/]a[\\/]x\.js$/);
    expect(existsSync(worker)).toBe(true);
  });

  it('has a CommonJS worker entry, so piscina never require()s an ES module in a worker', async () => {
    const worker = fileURLToPath(new URL('../../dist/shares/hashing/hash-worker.cjs', import.meta.url));
    const entry = createRequire(import.meta.url)(worker) as ((t: unknown) => Promise<unknown>) & { checkRecords?: unknown };
    expect(typeof entry).toBe('function');
    expect(typeof entry.checkRecords).toBe('function');
    // The entry loads the ES-module core itself; a bad task reaches it and fails there, as a rejection.
    await expect(entry({})).rejects.toBeInstanceOf(Error);
  });

  it('rejects bad options by name', () => {
    expect(() => createHashPool({ threads: -1 })).toThrow(/threads must be an integer >= 0/);
    expect(() => createHashPool({ batchSize: 1.5 })).toThrow(/batchSize/);
    expect(() => createHashPool({ batchDelayMs: -1 })).toThrow(/batchDelayMs/);
  });
});
