import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseVectorFile, type ShareVector } from '../../src/shares/vector-file.js';
import { JobBook } from '../../src/shares/job-book.js';
import { MinerShareState, type PrecheckPass, type ShareVerdict } from '../../src/shares/share-policy.js';
import { validateShare } from '../../src/shares/validator.js';
import type { StratumJob } from '../../src/wire/stratum-job.js';
import { guardSubmit, type SubmitParams } from '../../src/wire/guards.js';

const vectors = parseVectorFile(readFileSync(new URL('../fixtures/share-vectors.json', import.meta.url), 'utf8')).filter(
  (v): v is ShareVector => v.form === 'share',
);
const byId = (id: string): ShareVector => vectors.find((v) => v.id === id)!;
const SLUSH = byId('slush-testnet3-bf');
const BITAXE = byId('public-pool-testnet-bitaxe-versionrolling'); // share difficulty 669.87, mask 1fffe000
const ESP = byId('esp-miner-mainnet-13-branches');

function setup(v: ShareVector, opts: { difficulty?: number; duplicateWindow?: number; history?: number } = {}) {
  const book = new JobBook({ history: opts.history ?? 4 });
  book.add(v.job);
  const miner = new MinerShareState({
    extranonce1: v.extranonce1,
    extranonce2Size: v.extranonce2Size,
    versionMask: v.configureMask,
    ntimeWindowS: 7000,
    duplicateWindow: opts.duplicateWindow ?? 4096,
  });
  miner.noteJobSent(v.job.jobId, opts.difficulty ?? v.sessionDifficulty);
  return { book, miner };
}

/** precheck, hash in-process, judge: what the proxy does per share. */
function submitAndJudge(miner: MinerShareState, book: JobBook, s: SubmitParams, poolDifficulty = 1): ShareVerdict {
  const pre = miner.precheck(s, book);
  if (!pre.ok) return pre;
  return miner.judge(pre, validateShare(pre.request), poolDifficulty);
}

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
const flipBit = (h: string, bit: number): string => hex8(Number.parseInt(h, 16) ^ (1 << bit));
const plusSeconds = (h: string, s: number): string => hex8(Number.parseInt(h, 16) + s);
const otherJob = (v: ShareVector, jobId: string, cleanJobs: boolean): StratumJob => ({ ...v.job, jobId, cleanJobs });

describe('MinerShareState + JobBook', () => {
  it.each([SLUSH, BITAXE, ESP].map((v) => [v.id, v] as const))('%s is accepted at its session difficulty', (_id, v) => {
    const { book, miner } = setup(v);
    const verdict = submitAndJudge(miner, book, v.submit, v.sessionDifficulty);
    expect(verdict).toMatchObject({ ok: true, meetsPool: true, minerDifficulty: v.sessionDifficulty });
  });

  it('flags pool target and block separately', () => {
    const { book, miner } = setup(BITAXE);
    expect(submitAndJudge(miner, book, BITAXE.submit, 1000)).toMatchObject({ ok: true, meetsPool: false, block: false });
    const s = setup(SLUSH);
    expect(submitAndJudge(s.miner, s.book, SLUSH.submit, 1)).toMatchObject({ ok: true, meetsPool: true, block: true });
  });

  it('one nonce bit flipped: low difficulty (23)', () => {
    for (const v of [BITAXE, ESP]) {
      const { book, miner } = setup(v);
      const verdict = submitAndJudge(miner, book, { ...v.submit, nonce: flipBit(v.submit.nonce, 0) });
      expect(verdict).toMatchObject({ ok: false, code: 23, kind: 'low-difficulty' });
      if (!verdict.ok) expect(verdict.difficulty).toBeLessThan(v.sessionDifficulty);
    }
  });

  it('version bits outside the mask (20); rolling without a negotiated mask (20)', () => {
    const { book, miner } = setup(BITAXE);
    expect(miner.precheck({ ...BITAXE.submit, versionBits: '00000001' }, book)).toMatchObject({ ok: false, code: 20, kind: 'bad-version-bits' });
    expect(miner.precheck({ ...BITAXE.submit, versionBits: '20000000' }, book)).toMatchObject({ ok: false, code: 20 });
    miner.setVersionMask(0);
    expect(miner.precheck(BITAXE.submit, book)).toMatchObject({ ok: false, code: 20, kind: 'bad-version-bits' });
  });

  it('builds the BIP310 version from the job version and the mask', () => {
    const { book, miner } = setup(BITAXE);
    const pre = miner.precheck(BITAXE.submit, book) as PrecheckPass;
    expect(pre.ok).toBe(true);
    expect(pre.request.version).toBe(0x20002000);
  });

  it('unknown job (21) and stale job after clean_jobs (21) are told apart', () => {
    const { book, miner } = setup(BITAXE);
    expect(miner.precheck({ ...BITAXE.submit, jobId: 'nope' }, book)).toMatchObject({ ok: false, code: 21, kind: 'unknown-job', reason: 'job not found' });
    book.add(otherJob(BITAXE, '2', false));
    expect(miner.precheck(BITAXE.submit, book).ok).toBe(true); // not clean: job 1 still valid
    book.add(otherJob(BITAXE, '3', true));
    expect(miner.precheck({ ...BITAXE.submit, nonce: '00000000' }, book)).toMatchObject({ ok: false, code: 21, kind: 'stale-job', reason: 'stale job' });
    expect(book.current()?.jobId).toBe('3');
  });

  it('jobs older than the history are unknown', () => {
    const { book, miner } = setup(BITAXE, { history: 2 });
    book.add(otherJob(BITAXE, '2', false));
    book.add(otherJob(BITAXE, '3', false));
    expect(book.size).toBe(2);
    expect(miner.precheck(BITAXE.submit, book)).toMatchObject({ ok: false, code: 21, kind: 'unknown-job' });
  });

  it('ntime before the job or beyond the window (20); the window edge is allowed', () => {
    const { book, miner } = setup(BITAXE);
    const t = BITAXE.job.ntime;
    expect(miner.precheck({ ...BITAXE.submit, ntime: plusSeconds(t, -1) }, book)).toMatchObject({ ok: false, code: 20, kind: 'bad-ntime' });
    expect(miner.precheck({ ...BITAXE.submit, ntime: plusSeconds(t, 7001) }, book)).toMatchObject({ ok: false, code: 20, kind: 'bad-ntime' });
    expect(miner.precheck({ ...BITAXE.submit, ntime: plusSeconds(t, 7000) }, book).ok).toBe(true);
  });

  it('malformed fields and a wrong extranonce2 length (20): refused by the one parse of the params (guardSubmit), before any precheck', () => {
    // issue 14 item 3: precheck no longer re-validates what the guard parsed; the session runs the guard first.
    const params = (s: SubmitParams): unknown[] => [s.worker, s.jobId, s.extranonce2, s.ntime, s.nonce];
    const bad = (s: SubmitParams, what: RegExp): void => {
      const g = guardSubmit(params(s), ESP.extranonce2Size);
      expect(g.ok).toBe(false);
      if (!g.ok) expect(g.message).toMatch(what);
    };
    bad({ ...ESP.submit, extranonce2: '0000001c' }, /extranonce2/);
    bad({ ...ESP.submit, extranonce2: '0000001cfd70382z' }, /extranonce2/);
    bad({ ...ESP.submit, nonce: '123' }, /nonce/);
    bad({ ...ESP.submit, ntime: 'xyzxyzxy' }, /ntime/);
    expect(guardSubmit(params(ESP.submit), ESP.extranonce2Size).ok).toBe(true);
  });

  it('duplicate resubmission (22), even while the first is still hashing; other version bits are not a duplicate', () => {
    const { book, miner } = setup(BITAXE);
    const first = miner.precheck(BITAXE.submit, book);
    expect(first.ok).toBe(true);
    expect(miner.precheck(BITAXE.submit, book)).toMatchObject({ ok: false, code: 22, kind: 'duplicate' });
    expect(miner.precheck({ ...BITAXE.submit, nonce: BITAXE.submit.nonce.toUpperCase() }, book)).toMatchObject({ code: 22 });
    expect(miner.precheck({ ...BITAXE.submit, versionBits: '00004000' }, book).ok).toBe(true);
    // forget(): a share that could not be hashed may be sent again.
    miner.forget(first as PrecheckPass, book);
    expect(miner.precheck(BITAXE.submit, book).ok).toBe(true);
  });

  it('the same nonce with other version bits, another ntime or another extranonce2 is not a duplicate', () => {
    const { book, miner } = setup(BITAXE);
    const s = BITAXE.submit;
    expect(miner.precheck(s, book).ok).toBe(true);
    expect(miner.precheck({ ...s, versionBits: '00004000' }, book).ok).toBe(true);
    expect(miner.precheck({ ...s, versionBits: '00006000' }, book).ok).toBe(true);
    expect(miner.precheck({ ...s, ntime: plusSeconds(s.ntime, 1) }, book).ok).toBe(true);
    expect(miner.precheck({ ...s, extranonce2: flipBit(s.extranonce2, 0) }, book).ok).toBe(true);
    // Each of them, sent again (any hex case), is.
    expect(miner.precheck({ ...s, versionBits: '00004000' }, book)).toMatchObject({ code: 22 });
    expect(miner.precheck({ ...s, extranonce2: flipBit(s.extranonce2, 0).toUpperCase() }, book)).toMatchObject({ code: 22 });
    expect(book.sharesOn(BITAXE.job.jobId)).toBe(5);
  });

  it('duplicates are per job: the same share on another live job is not a duplicate', () => {
    const { book, miner } = setup(BITAXE);
    book.add(otherJob(BITAXE, '2', false));
    miner.noteJobSent('2', BITAXE.sessionDifficulty);
    expect(miner.precheck(BITAXE.submit, book).ok).toBe(true);
    expect(miner.precheck({ ...BITAXE.submit, jobId: '2' }, book).ok).toBe(true);
    expect(miner.precheck({ ...BITAXE.submit, jobId: '2' }, book)).toMatchObject({ code: 22 });
  });

  it('ids of one work share their keys: a share sent again under a re-issued id is a duplicate (22), not a second credit', () => {
    const { book, miner } = setup(BITAXE);
    const work = {};
    book.add(BITAXE.job, true, work);
    expect(miner.precheck(BITAXE.submit, book).ok).toBe(true);
    // The same upstream job re-issued under id 2 at another difficulty (supersedes=false).
    book.add(otherJob(BITAXE, '2', true), false, work);
    miner.noteJobSent('2', BITAXE.sessionDifficulty);
    expect(miner.precheck({ ...BITAXE.submit, jobId: '2' }, book)).toMatchObject({ code: 22 });
    expect(miner.precheck({ ...BITAXE.submit, jobId: '2', nonce: flipBit(BITAXE.submit.nonce, 3) }, book).ok).toBe(true);
    expect(miner.precheck({ ...BITAXE.submit, nonce: flipBit(BITAXE.submit.nonce, 3) }, book)).toMatchObject({ code: 22 });
    expect(book.sharesOn('1')).toBe(2);
    // Other work (another object) keeps its own keys.
    book.add(otherJob(BITAXE, '3', false), false, {});
    miner.noteJobSent('3', BITAXE.sessionDifficulty);
    expect(miner.precheck({ ...BITAXE.submit, jobId: '3' }, book).ok).toBe(true);
    // A clean job makes them stale; the same work re-issued clean (a restart after a withhold) keeps its keys:
    // the same header again is a duplicate, not a second credit (test/unit/review-edges.test.ts).
    book.add(otherJob(BITAXE, '4', true), true, work);
    expect(book.sharesOn('4')).toBe(2);
    expect(book.lookup('2')?.stale).toBe(true);
  });

  it('share keys are dropped with their job: out of the history, stale after clean_jobs, or all invalidated', () => {
    const { book, miner } = setup(BITAXE, { history: 3 });
    expect(miner.precheck(BITAXE.submit, book).ok).toBe(true);
    expect(book.sharesOn('1')).toBe(1);
    book.add(otherJob(BITAXE, '2', false));
    expect(miner.precheck({ ...BITAXE.submit, jobId: '2' }, book).ok).toBe(true);
    book.add(otherJob(BITAXE, '3', false));
    book.add(otherJob(BITAXE, '5', false)); // job 1 leaves the book (2, 3, 5 left), and its keys with it
    expect(book.sharesOn('1')).toBe(0);
    expect(miner.precheck(BITAXE.submit, book)).toMatchObject({ code: 21, kind: 'unknown-job' });
    expect(book.sharesOn('2')).toBe(1);
    book.add(otherJob(BITAXE, '3', true)); // re-sent with clean_jobs: job 2 is stale, its keys are gone
    expect(book.sharesOn('2')).toBe(0);
    expect(miner.precheck({ ...BITAXE.submit, jobId: '2' }, book)).toMatchObject({ code: 21, kind: 'stale-job' });
    expect(miner.precheck({ ...BITAXE.submit, jobId: '3' }, book).ok).toBe(true);
    book.invalidateAll();
    expect(book.sharesOn('3')).toBe(0);
    // A re-sent job id is the same work: its keys stay.
    const again = setup(BITAXE);
    expect(again.miner.precheck(BITAXE.submit, again.book).ok).toBe(true);
    again.book.add(BITAXE.job);
    expect(again.miner.precheck(BITAXE.submit, again.book)).toMatchObject({ code: 22 });
  });

  it('shares per job are capped (20, job-share-cap, older keys kept) and the cap is per job', () => {
    const { book, miner } = setup(BITAXE, { duplicateWindow: 16 });
    const nonces = Array.from({ length: 17 }, (_, i) => hex8(i));
    const passes = nonces.slice(0, 16).map((nonce) => miner.precheck({ ...BITAXE.submit, nonce }, book));
    expect(passes.every((p) => p.ok)).toBe(true);
    expect(miner.precheck({ ...BITAXE.submit, nonce: nonces[16]! }, book)).toMatchObject({ ok: false, code: 20, kind: 'job-share-cap' });
    // Nothing was evicted to make room: an early share sent again is still a duplicate.
    expect(miner.precheck({ ...BITAXE.submit, nonce: nonces[0]! }, book)).toMatchObject({ code: 22 });
    expect(book.sharesOn('1')).toBe(16);
    // forget() frees a place; a new job has its own cap.
    miner.forget(passes[5] as PrecheckPass, book);
    expect(miner.precheck({ ...BITAXE.submit, nonce: nonces[16]! }, book).ok).toBe(true);
    expect(miner.precheck({ ...BITAXE.submit, nonce: nonces[5]! }, book)).toMatchObject({ kind: 'job-share-cap' });
    book.add(otherJob(BITAXE, '2', false));
    expect(miner.precheck({ ...BITAXE.submit, jobId: '2', nonce: nonces[16]! }, book).ok).toBe(true);
  });

  it('a job added with supersedes=false (a difficulty change) leaves older jobs live', () => {
    const { book, miner } = setup(BITAXE);
    book.add(otherJob(BITAXE, '2', true), false);
    expect(miner.precheck(BITAXE.submit, book).ok).toBe(true);
    expect(book.lookup('1')?.stale).toBe(false);
    book.add(otherJob(BITAXE, '3', true));
    expect(book.lookup('1')?.stale).toBe(true);
    expect(book.lookup('2')?.stale).toBe(true);
  });

  it('forget frees the key on its job only', () => {
    const { book, miner } = setup(BITAXE);
    const pre = miner.precheck(BITAXE.submit, book) as PrecheckPass;
    expect(book.sharesOn('1')).toBe(1);
    miner.forget(pre, book);
    expect(book.sharesOn('1')).toBe(0);
    miner.forget(pre, book); // twice is harmless
    expect(miner.precheck(BITAXE.submit, book).ok).toBe(true);
  });

  it('old-difficulty grace: a share on an older job is judged at the difficulty that job was sent with', () => {
    const { book, miner } = setup(BITAXE, { difficulty: 512 });
    book.add(otherJob(BITAXE, '2', false));
    miner.noteJobSent('2', 1024); // retarget: job 2 carries the new difficulty
    expect(miner.difficulty).toBe(1024);
    expect(submitAndJudge(miner, book, BITAXE.submit, 512)).toMatchObject({ ok: true, minerDifficulty: 512 });
    // The same share on a job sent at 1024 is too weak.
    const strict = setup(BITAXE, { difficulty: 1024 });
    expect(submitAndJudge(strict.miner, strict.book, BITAXE.submit)).toMatchObject({ ok: false, code: 23 });
    // Re-sending job 1 at 1024 keeps the lower difficulty for it.
    miner.noteJobSent('1', 1024);
    const pre = miner.precheck({ ...BITAXE.submit, versionBits: '00004000' }, book);
    expect(pre).toMatchObject({ ok: true, difficulty: 512 });
  });

  it('fractional difficulty: a CPU miner share at 0.0001', () => {
    const { book, miner } = setup(SLUSH, { difficulty: 0.0001 });
    expect(submitAndJudge(miner, book, SLUSH.submit)).toMatchObject({ ok: true, minerDifficulty: 0.0001 });
  });

  it('rejections are values, never exceptions, for hostile field types', () => {
    // issue 14 item 3: the one parse (guardSubmit) refuses them as a value; precheck never sees them, and does not throw either.
    const { book, miner } = setup(SLUSH);
    const s = SLUSH.submit;
    expect(guardSubmit([s.worker, s.jobId, s.extranonce2, s.ntime, 5], SLUSH.extranonce2Size)).toMatchObject({ ok: false });
    expect(() => miner.precheck({ ...s, nonce: 5 as unknown as string }, book)).not.toThrow();
  });
});
