/**
 * Block candidates (issue 11 item 3) on fake timers: one the pool does not
 * acknowledge within the ack timeout is logged at error level with what it
 * takes to submit it by hand, and counted; none is dropped silently.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/observability/logger.js';
import { explainShare } from '../../src/shares/validator.js';
import type { HashRequest } from '../../src/shares/types.js';
import { SimJobFactory } from '../../src/demo/sim-jobs.js';
import { BlockWatch, blockRecord } from '../../src/upstream/block-watch.js';
import type { SubmitAnswer } from '../../src/upstream/pool-client.js';

function capture(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

/** Lets settled promises run their callbacks (no time passes). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
const sha256d = (b: Buffer): Buffer => createHash('sha256').update(createHash('sha256').update(b).digest()).digest();

function candidate(): { req: HashRequest; hash: string; params: unknown[] } {
  const job = new SimJobFactory({ extranonceBytes: 12, nbits: '207fffff', branches: 3 }).next(1_700_000_000_000, true);
  const req: HashRequest = { job, extranonce1: 'cafe0001' + '0007', extranonce2: '0000002a', ntime: job.ntime, nonce: '1234abcd', version: 0x20000000 };
  const hash = explainShare(req).hash;
  return { req, hash, params: ['farm', 'up-7', '0007' + '0000002a', job.ntime, '1234abcd'] };
}

function deferred(): { promise: Promise<SubmitAnswer>; resolve(a: SubmitAnswer): void; reject(e: Error): void } {
  let resolve!: (a: SubmitAnswer) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<SubmitAnswer>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('BlockWatch', () => {
  it('the record rebuilds the block: header hashes to the candidate, coinbase holds both extranonces', () => {
    const { req, hash, params } = candidate();
    const r = blockRecord({ request: req, hash, worker: 'rig1' }, 'stratum+tcp://pool:3333', 'cafe0001', params);
    expect(r.headerHex).toHaveLength(160);
    expect(Buffer.from(sha256d(Buffer.from(r.headerHex, 'hex'))).reverse().toString('hex')).toBe(hash);
    expect(r.coinbaseHex).toBe(req.job.coinb1 + 'cafe0001' + '0007' + '0000002a' + req.job.coinb2);
    expect(r).toMatchObject({ extranonce1: 'cafe0001', extranonce2: '00070000002a', upstreamJobId: 'up-7', nonce: '1234abcd', version: '20000000', merkleBranches: req.job.merkleBranch, submitParams: params });
  });

  it('no answer within the ack timeout: logged at error level with everything, counted; a late accept is still counted', async () => {
    const clock = new ManualClock(0);
    const { logger, lines } = capture();
    const w = new BlockWatch({ ackTimeoutMs: 3000, logger, clock });
    const { req, hash, params } = candidate();
    const d = deferred();
    w.watch(blockRecord({ request: req, hash, worker: 'rig1' }, 'stratum+tcp://pool:3333', 'cafe0001', params), d.promise);
    clock.advance(2999);
    expect(w.counters).toEqual({ submitted: 1, accepted: 0, rejected: 0, unacknowledged: 0 });
    clock.advance(1);
    expect(w.counters.unacknowledged).toBe(1);
    const err = lines.find((l) => l['level'] === 50)!;
    expect(err['msg']).toMatch(/not acknowledged.*submit it by hand/);
    for (const k of ['headerHex', 'coinbaseHex', 'merkleBranches', 'extranonce1', 'extranonce2', 'ntime', 'nonce', 'version', 'upstreamJobId', 'submitParams', 'hash']) expect(err, k).toHaveProperty(k);
    d.resolve({ accepted: true, error: null });
    await settle();
    expect(w.counters).toEqual({ submitted: 1, accepted: 1, rejected: 0, unacknowledged: 1 });
  });

  it('a connection that closes first: logged and counted at once, once', async () => {
    const clock = new ManualClock(0);
    const { logger, lines } = capture();
    const w = new BlockWatch({ ackTimeoutMs: 3000, logger, clock });
    const { req, hash, params } = candidate();
    const d = deferred();
    w.watch(blockRecord({ request: req, hash, worker: 'rig1' }, 'p', 'cafe0001', params), d.promise);
    d.reject(new Error('pool p closed before answering mining.submit: pool hung'));
    await settle();
    clock.advance(10_000);
    expect(w.counters.unacknowledged).toBe(1);
    expect(lines.filter((l) => l['level'] === 50)).toHaveLength(1);
    expect(lines.find((l) => l['level'] === 50)!['why']).toMatch(/pool hung/);
  });

  it('an answer in time: accepted or rejected, no hand-submit line', async () => {
    const clock = new ManualClock(0);
    const { logger, lines } = capture();
    const w = new BlockWatch({ ackTimeoutMs: 3000, logger, clock });
    const { req, hash, params } = candidate();
    const rec = blockRecord({ request: req, hash, worker: 'rig1' }, 'p', 'cafe0001', params);
    w.watch(rec, Promise.resolve({ accepted: true, error: null }));
    w.watch(rec, Promise.resolve({ accepted: false, error: { code: 21, message: 'Stale' } }));
    await settle();
    clock.advance(10_000);
    expect(w.counters).toEqual({ submitted: 2, accepted: 1, rejected: 1, unacknowledged: 0 });
    expect(lines.filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes('by hand'))).toHaveLength(0);
  });
});
