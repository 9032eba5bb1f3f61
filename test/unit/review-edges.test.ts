/**
 * Defects found in the review of the session's miner-side, budget, device and
 * scheduler changes: each test failed before its fix.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ResolvedConfig } from '../../src/config/load.js';
import { InputError } from '../../src/errors.js';
import { parseTrace } from '../../src/power/trace-parse.js';
import type { MinerAction } from '../../src/miner/events.js';
import { WorkFeed } from '../../src/miner/work-feed.js';
import { JobBook } from '../../src/shares/job-book.js';
import { MinerShareState } from '../../src/shares/share-policy.js';
import type { StratumJob } from '../../src/wire/stratum-job.js';
import { parseVectorFile, type ShareVector } from '../../src/shares/vector-file.js';
import type { JobOrigin, MinerJob, Slot } from '../../src/upstream/channel.js';
import { prepareJob } from '../../src/shares/validator.js';

const vectors = parseVectorFile(readFileSync(new URL('../fixtures/share-vectors.json', import.meta.url), 'utf8')).filter(
  (v): v is ShareVector => v.form === 'share',
);
const BITAXE = vectors.find((v) => v.id === 'public-pool-testnet-bitaxe-versionrolling')!;

/** The parts of an upstream channel WorkFeed uses: the current job, clean copies and aliases under fresh ids, each keeping its origin. */
function fakeSlot(upstream: StratumJob): Slot {
  let next = 100;
  const base = { ...upstream };
  const channel = {
    difficulty: 1,
    current: undefined as unknown as MinerJob,
    alias(from: MinerJob, cleanJobs: boolean): MinerJob {
      return wrap({ ...from.job, jobId: String(next++), cleanJobs }, from.origin);
    },
    cleanCopy(from: MinerJob): MinerJob {
      return (cleanCopy ??= channel.alias(from, true));
    },
  };
  const origin = { upstreamJobId: upstream.jobId, poolDifficulty: 1, channel } as unknown as JobOrigin;
  const wrap = (job: StratumJob, o: JobOrigin): MinerJob => ({ job, line: Buffer.from(`${JSON.stringify({ id: null, method: 'mining.notify', params: [job.jobId] })}\n`), prepared: prepareJob(job), origin: o });
  let cleanCopy: MinerJob | undefined;
  channel.current = wrap(base, origin);
  return { channel, prefix: 0, prefixHex: '', extranonce1: BITAXE.extranonce1, extranonce2Size: BITAXE.extranonce2Size } as unknown as Slot;
}

/**
 * A WorkFeed ready on `slot` at a fixed time, its sends collected in `sent`: the calls the
 * session makes, with the actions' lines read back (the feed is pure since issue 14).
 */
function feedOn(config: ResolvedConfig, slot: Slot, share: MinerShareState, sent: string[]) {
  const feed = new WorkFeed(config);
  feed.slot = slot;
  feed.share = share;
  feed.ready = true;
  const now = 1_000;
  const run = (f: (out: MinerAction[]) => void): void => {
    const out: MinerAction[] = [];
    f(out);
    for (const a of out) if (a.type === 'send') sent.push(String(a.line));
  };
  return {
    book: feed.book,
    floors: feed.floors,
    begin: (planned: number | undefined) => feed.begin(planned, undefined, now),
    start: () => run((out) => feed.start(out, now)),
    deliver: (mj: MinerJob) => run((out) => feed.deliver(mj, out)),
    withhold: () => feed.withhold(),
    release: () => run((out) => feed.release(out, now)),
    retarget: () => run((out) => feed.retarget(out, now)),
    plan: (d: number) => run((out) => feed.plan(d, out, now)),
  };
}

function feedFor(upstream: StratumJob) {
  const slot = fakeSlot(upstream);
  const share = new MinerShareState({
    extranonce1: BITAXE.extranonce1,
    extranonce2Size: BITAXE.extranonce2Size,
    versionMask: BITAXE.configureMask,
    ntimeWindowS: 7000,
    duplicateWindow: 4096,
  });
  const sent: string[] = [];
  const config = {
    difficulty: { targetSharesPerMinute: 20, retargetS: 60, min: 1e-9, max: 1e12, initial: BITAXE.sessionDifficulty },
    shares: { jobHistory: 8 },
  } as unknown as ResolvedConfig;
  const feed = feedOn(config, slot, share, sent);
  /** Job ids the miner was sent, in order. */
  const jobIds = (): string[] => sent.filter((l) => l.includes('mining.notify')).map((l) => (JSON.parse(l) as { params: string[] }).params[0]!);
  return { feed, share, jobIds };
}

describe('a share is credited once per work, also across a restart of the miner (withhold, then release)', () => {
  it('an upstream clean job re-sent under its own id after a release keeps its shares as duplicates (22)', () => {
    const { feed, share, jobIds } = feedFor({ ...BITAXE.job, cleanJobs: true });
    feed.begin(undefined);
    feed.start();
    const first = jobIds().at(-1)!;
    expect(share.precheck({ ...BITAXE.submit, jobId: first }, feed.book).ok).toBe(true);
    feed.withhold();
    feed.release();
    const again = jobIds().at(-1)!;
    expect(again).toBe(first);
    // Same id, same work, same header: a second credit was possible before (the supersede cleared the keys).
    expect(share.precheck({ ...BITAXE.submit, jobId: again }, feed.book)).toMatchObject({ ok: false, code: 22 });
  });

  it('a non-clean upstream job re-issued clean under a fresh id after a release keeps its shares as duplicates (22)', () => {
    const { feed, share, jobIds } = feedFor({ ...BITAXE.job, cleanJobs: false });
    feed.begin(undefined);
    feed.start();
    const first = jobIds().at(-1)!;
    expect(share.precheck({ ...BITAXE.submit, jobId: first }, feed.book).ok).toBe(true);
    feed.withhold();
    feed.release();
    const again = jobIds().at(-1)!;
    expect(again).not.toBe(first);
    expect(share.precheck({ ...BITAXE.submit, jobId: again }, feed.book)).toMatchObject({ ok: false, code: 22 });
    // Other work under the new id is still new, and the old id is stale (the miner was told to restart).
    expect(share.precheck({ ...BITAXE.submit, jobId: again, nonce: '00000001' }, feed.book).ok).toBe(true);
    expect(share.precheck({ ...BITAXE.submit, jobId: first }, feed.book)).toMatchObject({ ok: false, code: 21 });
  });

  it('JobBook: work re-added as superseding (clean) keeps the keys of its live ids; other work and invalidated work start afresh', () => {
    const book = new JobBook({ history: 8 });
    const work = {};
    book.add({ ...BITAXE.job, jobId: 'a', cleanJobs: true }, true, work);
    expect(book.recordShare('a', 'k1', 100)).toBe('new');
    book.add({ ...BITAXE.job, jobId: 'a', cleanJobs: true }, true, work);
    expect(book.recordShare('a', 'k1', 100)).toBe('duplicate');
    book.add({ ...BITAXE.job, jobId: 'b', cleanJobs: true }, true, work);
    expect(book.recordShare('b', 'k1', 100)).toBe('duplicate');
    expect(book.lookup('a')?.stale).toBe(true);
    book.add({ ...BITAXE.job, jobId: 'c', cleanJobs: true }, true, {});
    expect(book.recordShare('c', 'k1', 100)).toBe('new');
    book.invalidateAll();
    book.add({ ...BITAXE.job, jobId: 'd', cleanJobs: true }, true, work);
    expect(book.recordShare('d', 'k1', 100)).toBe('new');
  });
});

describe('budget files: a unit that contradicts the value key is refused wherever it is written', () => {
  it('a JSON schedule whose top-level unit contradicts a key naming its unit is an InputError (it was read in the key\'s unit, silently)', () => {
    expect(() => parseTrace('{"unit":"MW","points":[{"t":0,"kw":5}]}', 'f.json')).toThrow(InputError);
    expect(() => parseTrace('{"unit":"MW","points":[{"t":0,"kw":5}]}', 'f.json')).toThrow(/f\.json points\[0\]: the key kw \(kW\) contradicts the file's "unit": "MW"/);
    expect(() => parseTrace('{"unit":"kW","points":[{"t":0,"power_w":5}]}', 'f.json')).toThrow(/contradicts the file's "unit": "kW"/);
    // Agreeing, or generic value keys and pairs, are read as before.
    expect(parseTrace('{"unit":"MW","points":[{"t":0,"mw":5}]}', 'f.json').points).toEqual([{ tMs: 0, kw: 5000 }]);
    expect(parseTrace('{"unit":"MW","points":[{"t":0,"value":5},[1,2]]}', 'f.json').points).toEqual([{ tMs: 0, kw: 5000 }, { tMs: 60_000, kw: 2000 }]);
  });
});

describe('a job is judged at the difficulty the miner was last told', () => {
  /** A feed whose channel has no job yet (the pool has not sent its first notify); `notify` delivers one. */
  function waitingFeed() {
    const upstream = { ...BITAXE.job, cleanJobs: true };
    const slot = fakeSlot(upstream);
    const channel = slot.channel as unknown as { current: MinerJob | undefined; difficulty: number };
    const firstJob = channel.current!;
    channel.current = undefined;
    channel.difficulty = 1e6; // the pool's: above every difficulty here, so it caps nothing
    const share = new MinerShareState({
      extranonce1: BITAXE.extranonce1,
      extranonce2Size: BITAXE.extranonce2Size,
      versionMask: BITAXE.configureMask,
      ntimeWindowS: 7000,
      duplicateWindow: 4096,
    });
    const sent: string[] = [];
    const config = {
      difficulty: { targetSharesPerMinute: 20, retargetS: 60, min: 1e-9, max: 1e12, initial: 100 },
      shares: { jobHistory: 8 },
    } as unknown as ResolvedConfig;
    const feed = feedOn(config, slot, share, sent);
    const told = (): number | undefined => {
      const last = sent.filter((l) => l.includes('mining.set_difficulty')).at(-1);
      return last === undefined ? undefined : (JSON.parse(last) as { params: number[] }).params[0];
    };
    const notify = (): string => {
      channel.current = firstJob;
      feed.deliver(firstJob);
      return firstJob.job.jobId;
    };
    return { feed, share, told, notify, sent };
  }

  it('a floor (suggest_difficulty) raised before the first job is sent with it, not only noted for judging', () => {
    const { feed, share, told, notify } = waitingFeed();
    feed.begin(undefined);
    feed.start();
    expect(told()).toBe(100);
    feed.floors.suggested = 400; // what mining.suggest_difficulty does, then retarget
    feed.retarget();
    const id = notify();
    const pre = share.precheck({ ...BITAXE.submit, jobId: id }, feed.book);
    expect(pre.ok).toBe(true);
    // Judged at 400 while the miner was told 100: its honest shares were low-difficulty (23), counted toward a ban.
    expect(pre.ok && pre.difficulty).toBe(told());
  });

  it('a planned difficulty (expectHashrate) set before the first job is sent with it', () => {
    const { feed, share, told, notify } = waitingFeed();
    feed.begin(undefined);
    feed.start();
    feed.plan(1000);
    const id = notify();
    const pre = share.precheck({ ...BITAXE.submit, jobId: id }, feed.book);
    expect(pre.ok && pre.difficulty).toBe(1000);
    expect(told()).toBe(1000);
  });

  it('nothing extra is sent when the difficulty did not move', () => {
    const { feed, notify, sent } = waitingFeed();
    feed.begin(undefined);
    feed.start();
    notify();
    expect(sent.filter((l) => l.includes('mining.set_difficulty'))).toHaveLength(1);
  });
});

describe('budget.timezone never shifts a time column whose name says UTC', () => {
  const tz = { timeZone: 'Europe/Berlin' };
  const H10 = Date.UTC(2026, 5, 1, 10);
  it('CSV: "Timestamp (UTC)", timestamp_utc, datetime_utc, date_utc beside a time of day are UTC; other columns take the zone', () => {
    expect(parseTrace('Timestamp (UTC);Power [kW]\n2026-06-01 10:00;3\n', 'f.csv', tz).points).toEqual([{ tMs: H10, kw: 3 }]);
    expect(parseTrace('timestamp_utc,kw\n2026-06-01T10:00,3\n', 'f.csv', tz).points).toEqual([{ tMs: H10, kw: 3 }]);
    expect(parseTrace('datetime_utc,kw\n2026-06-01 10:00,3\n', 'f.csv', tz).points).toEqual([{ tMs: H10, kw: 3 }]);
    expect(parseTrace('date_utc;time;kw\n2026-06-01;10:00;3\n', 'f.csv', tz).points).toEqual([{ tMs: H10, kw: 3 }]);
    // Without UTC in the name the zone applies (Berlin summer time: UTC+2).
    expect(parseTrace('timestamp,kw\n2026-06-01 10:00,3\n', 'f.csv', tz).points).toEqual([{ tMs: H10 - 2 * 3_600_000, kw: 3 }]);
    expect(parseTrace('date;time;kw\n2026-06-01;10:00;3\n', 'f.csv', tz).points).toEqual([{ tMs: H10 - 2 * 3_600_000, kw: 3 }]);
  });
  it('JSON: a timestamp_utc key is UTC under budget.timezone', () => {
    expect(parseTrace('[{"timestamp_utc":"2026-06-01 10:00","kw":3}]', 'f.json', tz).points).toEqual([{ tMs: H10, kw: 3 }]);
    expect(parseTrace('[{"timestamp":"2026-06-01 10:00","kw":3}]', 'f.json', tz).points).toEqual([{ tMs: H10 - 2 * 3_600_000, kw: 3 }]);
  });
});
