/**
 * The pool side against what real Stratum V1 pools send (ckpool, Braiins,
 * ViaBTC, F2Pool, AntPool, NiceHash, public-pool, DATUM gateways, yiimp/NOMP):
 * every case runs over a real loopback socket against a scripted raw-TCP pool.
 * The pool clients and managers run on a ManualClock moved by waitFor
 * (test/support/manual-time.ts); the scripted pools answer in real time.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { fakeTime, settleOn, type FakeTime } from '../support/manual-time.js';
import { createLogger, silentLogger, type Logger } from '../../src/observability/logger.js';
import { resolveConfig } from '../../src/config/load.js';
import { Proxy } from '../../src/proxy.js';
import { targetForDifficulty } from '../../src/wire/target.js';
import { SIM_PAYOUT_SCRIPT, simCoinbase } from '../../src/demo/sim-jobs.js';
import { Channel } from '../../src/upstream/channel.js';
import { PoolClient, type PoolClientEvents } from '../../src/upstream/pool-client.js';
import { UpstreamManager } from '../../src/upstream/upstream-manager.js';
import { answerLikeCkpool, startTestManager, notifyParams, prevhash, ScriptedPool, type PoolConn, type PoolRequest, type Script } from '../support/scripted-pool.js';
import { RawClient } from './proxy-raw-client.js';

let time: FakeTime;
const waitFor = (cond: () => boolean, limitMs?: number, what?: string): Promise<void> => time.waitFor(cond, limitMs, what);
beforeEach(() => {
  time = fakeTime(new ManualClock(Date.now()));
});
let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function pool(script: Script): Promise<ScriptedPool> {
  const p = await ScriptedPool.start(script);
  cleanup.push(() => p.stop());
  return p;
}

/** A pool that answers like ckpool, with per-method overrides of the result. */
const ckpool = (over: Record<string, unknown> = {}): Script => (req, conn) => answerLikeCkpool(req, conn, over);

function client(url: string, extra: Partial<ConstructorParameters<typeof PoolClient>[0]> = {}): PoolClient {
  const c = new PoolClient({
    url, user: 'farm.rig', password: 'sekret-pw', versionRollingMask: 0x1fffe000,
    handshakeTimeoutMs: 2000, requestTimeoutMs: 500, silenceTimeoutMs: 30_000,
    maxLineBytes: 16384, maxWriteBufferBytes: 1 << 20, clock: time.clock, logger: silentLogger(), ...extra,
  });
  cleanup.push(() => c.close('test over'));
  return c;
}

interface Seen extends PoolClientEvents {
  jobs: { jobId: string; prevhash: string; cleanJobs: boolean; version: string }[];
  difficulties: number[];
  extranonces: [string, number][];
  masks: number[];
  closes: string[];
}

function events(): Seen {
  const s: Seen = {
    jobs: [], difficulties: [], extranonces: [], masks: [], closes: [],
    onJob: (j) => void s.jobs.push({ jobId: j.jobId, prevhash: j.prevhash, cleanJobs: j.cleanJobs, version: j.version }),
    onDifficulty: (d) => void s.difficulties.push(d),
    onExtranonce: (e, n) => void s.extranonces.push([e, n]),
    onVersionMask: (m) => void s.masks.push(m),
    onClose: (r) => void s.closes.push(r),
  };
  return s;
}

/** A logger writing NDJSON into memory, for what the operator would read. */
function capturedLogger(): { logger: Logger; text: () => string; records: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const out = new Writable({ write: (c, _e, cb) => void (chunks.push(String(c)), cb()) });
  const logger = createLogger({ level: 'debug', destination: out });
  const text = (): string => chunks.join('');
  return { logger, text, records: () => text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function manager(pools: Array<Record<string, unknown>>, upstream: Record<string, unknown> = {}, logger: Logger = silentLogger()): UpstreamManager {
  const m = startTestManager(pools, upstream, logger, time.clock);
  cleanup.push(() => m.close());
  return m;
}

const reply = (conn: PoolConn, req: PoolRequest, result: unknown, error: unknown = null): void => conn.send({ id: req.id, result, error });

describe('mining.subscribe result forms', () => {
  it.each([
    ['slush/ckpool pairs', [[['mining.set_difficulty', 'id1'], ['mining.notify', 'id2']], 'ab12cd34', 4]],
    ['a single pair', [['mining.notify', 'id'], 'ab12cd34', 4]],
    ['null subscriptions', [null, 'ab12cd34', 4]],
    ['empty subscriptions', [[], 'AB12CD34', 4]],
    ['trailing elements', [[], 'ab12cd34', 4, 'session-x']],
    ['size as a string', [[], 'ab12cd34', '4']],
  ])('%s', async (_name, result) => {
    const p = await pool(ckpool({ 'mining.subscribe': result }));
    const s = await client(p.url).open(events());
    expect(s).toMatchObject({ extranonce1: 'ab12cd34', extranonce2Size: 4 });
  });

  it('every extranonce2_size 2..16 gives a usable carve (2: one miner per connection; 13..16: longer prefix)', async () => {
    const layouts: Record<number, unknown> = {};
    for (let size = 2; size <= 16; size++) {
      const p = await pool(ckpool({ 'mining.subscribe': [null, '01020304', size] }));
      const ch = new Channel(size, 0, client(p.url), { minerExtranonce2Size: 4, maxMinersPerConnection: 50 }, { nextJobId: () => 'x', closed: () => undefined, displaced: () => undefined });
      await ch.open();
      const l = ch.layout!;
      expect(l.prefixBytes + l.minerExtranonce2Size).toBe(size);
      const slot = ch.take({ moveTo: () => undefined, orphan: () => undefined, deliverJob: () => undefined, upstreamChanged: () => undefined })!;
      // With a prefix, the miner's extranonce1 is the prefix (the pool's goes into coinb1); without, the pool's.
      expect(slot.extranonce1).toBe(l.prefixBytes === 0 ? '01020304' : slot.prefixHex);
      expect(slot.prefixHex).toHaveLength(2 * l.prefixBytes);
      layouts[size] = [l.prefixBytes, l.minerExtranonce2Size, l.capacity];
      ch.close('next');
    }
    expect(layouts[2]).toEqual([0, 2, 1]);
    expect(layouts[8]).toEqual([4, 4, 50]);
    expect(layouts[16]).toEqual([8, 8, 50]);
  });

  it.each([
    ['odd extranonce1', [[], 'abc', 4], /result\[1\] \(extranonce1\) must be a non-empty hex string of whole bytes.*"abc"/],
    ['empty extranonce1', [[], '', 4], /result\[1\] \(extranonce1\) must be a non-empty hex string.*""/],
    ['extranonce1 not hex', [[], 'zz00', 4], /extranonce1.*"zz00"/],
    ['extranonce2_size 1', [[], 'ab', 1], /result\[2\] \(extranonce2_size\) must be an integer 2\.\.16, got 1/],
    ['extranonce2_size 17', [[], 'ab', 17], /extranonce2_size\) must be an integer 2\.\.16, got 17/],
    ['two elements', [[], 'ab'], /must be an array \[subscriptions, extranonce1, extranonce2_size\]/],
  ])('refuses %s with a message naming the field', async (_name, result, msg) => {
    const p = await pool(ckpool({ 'mining.subscribe': result }));
    await expect(client(p.url).open(events())).rejects.toThrow(msg);
  });
});

describe('errors and verdicts in every shape', () => {
  it('reads [code, msg, traceback], {code, message}, a bare string, and result false/null without a reason', async () => {
    const answers: unknown[][] = [
      [null, [23, 'Low difficulty share', null]],
      [null, { code: 21, message: 'Job not found' }],
      [false, 'Duplicate share'],
      [false, null],
      [null, null],
      [true, null],
      [true, []], // "no error" written as an empty array or string
      [true, ''],
    ];
    const p = await pool((req, conn) => {
      if (req.method !== 'mining.submit') return answerLikeCkpool(req, conn);
      const [result, error] = answers.shift()!;
      reply(conn, req, result, error);
    });
    const c = client(p.url);
    await c.open(events());
    const got = [];
    for (let i = 0; i < 8; i++) got.push(await c.submit(['farm.rig', 'j1', '00'.repeat(8), '5f5e1000', '00000001']));
    expect(got).toEqual([
      { accepted: false, error: { code: 23, message: 'Low difficulty share' } },
      { accepted: false, error: { code: 21, message: 'Job not found' } },
      { accepted: false, error: { code: 20, message: 'Duplicate share' } },
      { accepted: false, error: { code: 20, message: 'pool answered false without a reason' } },
      { accepted: false, error: { code: 20, message: 'pool answered null without a reason' } },
      { accepted: true, error: null },
      { accepted: true, error: null },
      { accepted: true, error: null },
    ]);
    expect(c.pendingCount).toBe(0);
  });

  it('takes authorize result null with no error as authorized (logged), and false with no error as a refusal', async () => {
    const log = capturedLogger();
    const p = await pool(ckpool({ 'mining.authorize': null }));
    const c = client(p.url, { logger: log.logger });
    await c.open(events());
    expect(c.isReady).toBe(true);
    expect(log.text()).toMatch(/answered mining.authorize with null and no error; taken as authorized/);
    const q = await pool(ckpool({ 'mining.authorize': false }));
    await expect(client(q.url).open(events())).rejects.toThrow(/refused mining.authorize for farm.rig: result false, no reason given/);
  });
});

describe('what pools send before the gate opens', () => {
  /** set_difficulty and notify right after subscribe, before its answer and before authorize's. */
  const early: Script = (req, conn) => {
    if (req.method === 'mining.subscribe') {
      conn.send({ id: null, method: 'mining.set_difficulty', params: [2048] });
      conn.send({ id: null, method: 'mining.notify', params: notifyParams('early', false) });
    }
    if (req.method === 'mining.authorize') return void setTimeout(() => reply(conn, req, true), 300);
    answerLikeCkpool(req, conn, { noJob: true });
  };

  it('keeps them for the session, emits nothing before the gate', async () => {
    const p = await pool(early);
    const ev = events();
    const s = await client(p.url).open(ev);
    expect(s.job).toMatchObject({ jobId: 'early', prevhash: prevhash('early') });
    expect(s.difficulty).toBe(2048);
    expect(ev.jobs).toEqual([]);
  });

  it('checks the payout of a job sent before the subscribe answer once the extranonce size is known', async () => {
    const payingPool = (script: string): Script => (req, conn) => {
      if (req.method === 'mining.subscribe') {
        const { coinb1, coinb2 } = simCoinbase(100, 4 + 8, script);
        const job = notifyParams('early');
        job[2] = coinb1;
        job[3] = coinb2;
        conn.send({ id: null, method: 'mining.notify', params: job });
      }
      answerLikeCkpool(req, conn, { noJob: true });
    };
    const good = await pool(payingPool(SIM_PAYOUT_SCRIPT));
    const s = await client(good.url, { expectedPayoutScript: SIM_PAYOUT_SCRIPT }).open(events());
    expect(s.job?.jobId).toBe('early');
    const mismatches: string[] = [];
    const bad = await pool(payingPool('0014' + '11'.repeat(20)));
    await expect(client(bad.url, { expectedPayoutScript: SIM_PAYOUT_SCRIPT, onPayoutMismatch: (r) => void mismatches.push(r) }).open(events())).rejects.toThrow(/payout guard/);
    expect(mismatches.length).toBe(1);
  });

  it('the first job reaches a miner that was waiting for the gate, and one that comes later', async () => {
    const p = await pool(early);
    const config = resolveConfig({
      listen: '127.0.0.1:0',
      pools: [{ url: p.url, user: 'farm' }],
      difficulty: { initial: 1, min: 1, max: 1 },
      upstream: { handshakeTimeoutS: 3, backoffInitialMs: 100, backoffMaxMs: 500 },
      shares: { hashThreads: 1 },
      log: { level: 'silent' },
    });
    const proxy = new Proxy(config);
    const { port } = await proxy.start();
    cleanup.push(() => proxy.close());
    const first = await RawClient.open(port);
    cleanup.push(() => first.close());
    first.send({ id: 1, method: 'mining.subscribe', params: ['test/1'] });
    first.send({ id: 2, method: 'mining.authorize', params: ['rig1', 'x'] });
    const [job] = await first.waitFor('mining.notify', 1, 4000);
    expect(job!.params![1]).toBe(prevhash('early'));
    expect(job!.params![8]).toBe(true); // a miner's first job is always clean
    const later = await RawClient.open(port);
    cleanup.push(() => later.close());
    await later.call(1, 'mining.subscribe', []);
    await later.call(2, 'mining.authorize', ['rig2', 'x']);
    const [job2] = await later.waitFor('mining.notify', 1, 4000);
    expect(job2!.params![1]).toBe(prevhash('early'));
  });
});

describe('mining.notify dialects', () => {
  it('reads clean_jobs as 0/1/"true"/"false", extra trailing params and uppercase hex; a malformed job is counted and the connection kept', async () => {
    const p = await pool(ckpool({ noJob: true }));
    const ev = events();
    const log = capturedLogger();
    const c = client(p.url, { logger: log.logger });
    await c.open(ev);
    const conn = p.conns[0]!;
    const up = notifyParams('u1', 1);
    up[1] = (up[1] as string).toUpperCase();
    up[5] = '2000000A';
    conn.send({ id: null, method: 'mining.notify', params: up });
    conn.send({ id: null, method: 'mining.notify', params: notifyParams('u2', 0) });
    conn.send({ id: null, method: 'mining.notify', params: notifyParams('u3', 'true') });
    conn.send({ id: null, method: 'mining.notify', params: [...notifyParams('u4', 'false'), 'extra', 42] });
    conn.send({ id: null, method: 'mining.notify', params: notifyParams('bad1', 'maybe') });
    conn.send({ id: null, method: 'mining.notify', params: ['bad2', 'nothex', '00', '00', [], '20000000', '1d00ffff', '5f5e1000', true] });
    conn.send({ id: null, method: 'mining.notify', params: ['bad3'] });
    conn.send({ id: null, method: 'mining.notify', params: notifyParams('u5', true) });
    await waitFor(() => ev.jobs.length === 5, 10_000, 'jobs');
    expect(ev.jobs.map((j) => [j.jobId, j.cleanJobs])).toEqual([['u1', true], ['u2', false], ['u3', true], ['u4', false], ['u5', true]]);
    expect(ev.jobs[0]).toMatchObject({ prevhash: prevhash('u1'), version: '2000000a' });
    expect(c.counters.badMessages).toBe(3);
    expect(c.isReady).toBe(true);
    expect(log.text()).toMatch(/params\[8\] \(clean_jobs\) must be a boolean.*maybe/);
    expect(log.text()).toMatch(/params\[1\] \(prevhash\) must be 64 hex characters/);
  });
});

describe('difficulty, target, masks, extranonce', () => {
  it('set_difficulty as a string or fraction, set_target (NiceHash) as a difficulty no easier than the target, set_version_mask, set_extranonce', async () => {
    const p = await pool(ckpool({ noJob: true }));
    const ev = events();
    const c = client(p.url);
    await c.open(ev);
    const conn = p.conns[0]!;
    const target = '00000000' + '1fffe' + '0'.repeat(51); // difficulty 8
    conn.send({ id: null, method: 'mining.set_difficulty', params: ['1024'] });
    conn.send({ id: null, method: 'mining.set_difficulty', params: [0.5] });
    conn.send({ id: null, method: 'mining.set_difficulty', params: ['lots'] });
    conn.send({ id: null, method: 'mining.set_target', params: [target] });
    conn.send({ id: null, method: 'mining.set_version_mask', params: ['00FFE000'] });
    conn.send({ id: null, method: 'mining.set_extranonce', params: ['C0FFEE01', 6] });
    await waitFor(() => ev.extranonces.length === 1, 10_000, 'set_extranonce');
    expect(ev.difficulties.slice(0, 2)).toEqual([1024, 0.5]);
    expect(ev.difficulties[2]).toBeCloseTo(8, 9);
    expect(targetForDifficulty(ev.difficulties[2]!) <= BigInt('0x' + target)).toBe(true);
    expect(ev.masks).toEqual([0x00ffe000 & 0x1fffe000]);
    expect(ev.extranonces).toEqual([['c0ffee01', 6]]);
    expect(c.session).toMatchObject({ extranonce1: 'c0ffee01', extranonce2Size: 6, difficulty: ev.difficulties[2] });
    expect(c.counters.badMessages).toBe(1);
  });
});

describe('pool requests and unknown messages', () => {
  it('answers client.get_version and mining.ping, errors unknown requests, ignores unknown notifications, logs client.show_message', async () => {
    const log = capturedLogger();
    const p = await pool(ckpool({ noJob: true }));
    const c = client(p.url, { userAgent: 'surplus/9.9', logger: log.logger });
    await c.open(events());
    const conn = p.conns[0]!;
    const answers = conn.answers;
    conn.send({ id: 'v1', method: 'client.get_version', params: [] });
    conn.send({ id: 77, method: 'mining.ping', params: [] });
    conn.send({ id: 78, method: 'client.do_something', params: [1] });
    conn.send({ id: null, method: 'mining.something_new', params: [] });
    conn.send({ id: 79, method: 'client.show_message', params: ['maintenance at 02:00 UTC'] });
    await waitFor(() => answers.length === 4, 10_000, 'answers');
    expect(answers).toEqual([
      { id: 'v1', result: 'surplus/9.9', error: null },
      { id: 77, result: 'pong', error: null },
      { id: 78, result: null, error: [20, 'unsupported method client.do_something', null] },
      { id: 79, result: true, error: null },
    ]);
    expect(c.isReady).toBe(true);
    const recs = log.records();
    expect(recs.some((r) => r['msg'] === 'message from pool' && r['message'] === 'maintenance at 02:00 UTC')).toBe(true);
    expect(recs.some((r) => r['msg'] === 'ignored message from pool' && r['method'] === 'mining.something_new')).toBe(true);
  });
});

describe('the wire: ids, framing, limits', () => {
  it('matches replies whose ids come back as strings, counts replies to unknown ids', async () => {
    const p = await pool((req, conn) => {
      conn.stringIds = true;
      if (req.method === 'mining.submit') {
        conn.send({ id: 999, result: true, error: null }); // never asked
        conn.send({ id: 'nope', result: true, error: null });
      }
      answerLikeCkpool(req, conn);
    });
    const c = client(p.url);
    await c.open(events());
    expect(p.conns[0]!.requests.map((r) => typeof r.id)).toContain('number');
    expect(await c.submit(['farm.rig', 'j1', '00'.repeat(8), '5f5e1000', '00000001'])).toEqual({ accepted: true, error: null });
    await waitFor(() => c.counters.unknownReplies >= 2, 10_000, 'unknown replies counted');
    expect(c.counters.unknownReplies).toBe(2);
  });

  it('CRLF, everything in one TCP segment, one message split across many, an over-long line', async () => {
    const NL = '\r\n';
    const p = await pool((req, conn) => {
      if (req.method === 'mining.configure') return; // answered together with the rest below
      if (req.method === 'mining.subscribe') {
        const cfg = conn.requests.find((r) => r.method === 'mining.configure')!;
        // configure answer + subscribe answer + difficulty in one write, CRLF-terminated
        conn.raw(
          JSON.stringify({ id: cfg.id, result: { 'version-rolling': true, 'version-rolling.mask': '1fffe000' }, error: null }) + NL +
          JSON.stringify({ id: req.id, result: [null, 'aa00bb11', 8], error: null }) + NL +
          JSON.stringify({ id: null, method: 'mining.set_difficulty', params: [64] }) + NL,
        );
        return;
      }
      if (req.method === 'mining.authorize') {
        void conn.trickle(JSON.stringify({ id: req.id, result: true, error: null }) + NL, 5);
        return;
      }
      // extranonce.subscribe (sent after authorize) stays unanswered: an answer written while the
      // test trickles a notify below would cut into that line.
      if (req.method !== 'mining.extranonce.subscribe') conn.send({ id: req.id, result: true, error: null }, NL);
    });
    const ev = events();
    const c = client(p.url, { maxLineBytes: 2048 });
    const s = await c.open(ev);
    expect(s).toMatchObject({ extranonce1: 'aa00bb11', extranonce2Size: 8, difficulty: 64, versionMask: 0x1fffe000 });
    const conn = p.conns[0]!;
    conn.raw(`{"id":null,"method":"mining.notify","params":["${'x'.repeat(4000)}"]}${NL}`);
    await conn.trickle(JSON.stringify({ id: null, method: 'mining.notify', params: notifyParams('after-long') }) + NL, 7);
    await waitFor(() => ev.jobs.length === 1, 10_000, 'job after the long line');
    expect(ev.jobs[0]!.jobId).toBe('after-long');
    expect(c.counters.malformedLines).toBe(1);
    expect(c.isReady).toBe(true);
  });
});

describe('large coinbases (Ocean TIDES, DATUM gateways pay many outputs from the coinbase)', () => {
  it('a 100 KB mining.notify line reaches the miners through the manager, although limits.maxLineBytes is 16 KiB', async () => {
    const p = await pool(ckpool());
    const m = manager([{ url: p.url, user: 'farm' }]);
    const jobs: string[] = [];
    const member = { moveTo: () => undefined, orphan: () => undefined, deliverJob: (j: { job: { coinb2: string } }) => void jobs.push(j.job.coinb2), upstreamChanged: () => undefined };
    await m.acquire(member);
    const big = notifyParams('big');
    big[3] = 'ab'.repeat(50_000);
    p.conns[0]!.send({ id: null, method: 'mining.notify', params: big });
    // (The pool's first job, sent after the authorize answer, may arrive after the slot.)
    await waitFor(() => jobs.some((c) => c.length === 100_000), 10_000, 'the big job');
    expect(m.status()[0]!.malformedLines).toBe(0);
  });
});

describe('BIP310 mining.configure answers', () => {
  it.each([
    ['version-rolling: false', (req: PoolRequest, conn: PoolConn) => reply(conn, req, { 'version-rolling': false })],
    ['true without a mask', (req: PoolRequest, conn: PoolConn) => reply(conn, req, { 'version-rolling': true })],
    ['error 20', (req: PoolRequest, conn: PoolConn) => reply(conn, req, null, [20, 'Unknown method', null])],
    ['method not found (JSON-RPC object)', (req: PoolRequest, conn: PoolConn) => reply(conn, req, null, { code: -32601, message: 'Method not found' })],
    ['an unrelated result', (req: PoolRequest, conn: PoolConn) => reply(conn, req, true)],
  ])('%s: the gate opens without version rolling', async (_name, answer) => {
    const p = await pool((req, conn) => (req.method === 'mining.configure' ? answer(req, conn) : answerLikeCkpool(req, conn)));
    const s = await client(p.url).open(events());
    expect(s.versionMask).toBe(0);
    // The pool's first job follows the authorize answer; the gate does not wait for it.
    await waitFor(() => s.job !== undefined, 5000, 'the first job');
    expect(s.job?.jobId).toBe('j1');
  });

  it('never answered: the gate waits only the configure timeout, then mines without version rolling', async () => {
    const p = await pool((req, conn) => (req.method === 'mining.configure' ? undefined : answerLikeCkpool(req, conn)));
    const c = client(p.url, { handshakeTimeoutMs: 10_000, configureTimeoutMs: 200 });
    const t0 = time.clock.now();
    // Site time moves only for the timers due within a second: the configure timeout, not the handshake's.
    const s = await settleOn(time.clock, c.open(events()), { withinMs: 1000 });
    expect(time.clock.now() - t0).toBeLessThan(5000); // far from the 10 s handshake timeout, with room for a loaded machine
    expect(s.versionMask).toBe(0);
    expect(c.configureOutcome).toBe('timeout');
    expect(c.pendingCount).toBe(0);
  });

  it('the manager stops asking a pool that never answered configure (next connection skips it)', async () => {
    const p = await pool((req, conn) => {
      if (req.method === 'mining.configure') return;
      answerLikeCkpool(req, conn);
      // Once authorized on the first connection, ask for a reconnect: the second one must not send configure.
      // After the gate (which waits out the 500 ms configure timeout), ask for a reconnect.
      if (req.method === 'mining.authorize' && conn.index === 0) time.clock.setTimeout(() => conn.send({ id: null, method: 'client.reconnect', params: [] }), 800);
    });
    const m = manager([{ url: p.url, user: 'farm' }], { handshakeTimeoutS: 1.5 });
    await waitFor(() => p.conns.length === 2 && p.conns[1]!.has('mining.authorize'), 10_000, 'second connection');
    expect(p.conns[0]!.has('mining.configure')).toBe(true);
    expect(p.conns[1]!.has('mining.configure')).toBe(false);
    await waitFor(() => m.channelsOpen() === 1, 10_000, 'channel up');
  });

  it('a pool that hangs up on configure: after three such handshakes, connect without it', async () => {
    const p = await pool((req, conn) => {
      if (req.method === 'mining.configure') return void conn.socket.destroy();
      if (!conn.socket.destroyed) answerLikeCkpool(req, conn);
    });
    const m = manager([{ url: p.url, user: 'farm' }], { backoffInitialMs: 50, backoffMaxMs: 400 });
    await waitFor(() => m.channelsOpen() === 1, 10_000, 'channel up without configure');
    expect(p.conns.map((c) => c.has('mining.configure'))).toEqual([true, true, true, false]);
    expect(m.versionMask()).toBe(0);
  });
});

describe('client.reconnect', () => {
  it('[] reconnects to the same pool without failing over', async () => {
    const a = await pool((req, conn) => {
      answerLikeCkpool(req, conn);
      if (req.method === 'mining.authorize' && conn.index === 0) setTimeout(() => conn.send({ id: null, method: 'client.reconnect', params: [] }), 50);
    });
    const b = await pool(ckpool());
    const m = manager([{ url: a.url, user: 'farm' }, { url: b.url, user: 'farm' }]);
    await waitFor(() => a.conns.length === 2 && m.channelsOpen() === 1, 10_000, 'reconnected to the same pool');
    expect(m.activeIndex).toBe(0);
    expect(b.conns.length).toBe(0);
    const st = m.status()[0]!;
    expect(st).toMatchObject({ reconnectRequests: 1, failovers: 0, disconnects: 0, connectFailures: 0, redirectedTo: null });
  });

  it('miners stay connected through it and get the job of the new connection', async () => {
    const p = await pool((req, conn) => {
      if (conn.index === 0 || req.method !== 'mining.authorize') answerLikeCkpool(req, conn);
      else {
        reply(conn, req, true);
        conn.send({ id: null, method: 'mining.notify', params: notifyParams('second') });
      }
    });
    const proxy = new Proxy(resolveConfig({
      listen: '127.0.0.1:0',
      pools: [{ url: p.url, user: 'farm' }],
      difficulty: { initial: 1, min: 1, max: 1 },
      upstream: { handshakeTimeoutS: 3, backoffInitialMs: 100, backoffMaxMs: 500 },
      shares: { hashThreads: 1 },
      log: { level: 'silent' },
    }));
    const { port } = await proxy.start();
    cleanup.push(() => proxy.close());
    const miner = await RawClient.open(port);
    cleanup.push(() => miner.close());
    await miner.call(1, 'mining.subscribe', ['test/1']);
    await miner.call(2, 'mining.extranonce.subscribe', []);
    await miner.call(3, 'mining.authorize', ['rig1', 'x']);
    await miner.waitFor('mining.notify', 1, 4000);
    p.conns[0]!.send({ id: null, method: 'client.reconnect', params: [] });
    const jobs = await miner.waitFor('mining.notify', 2, 4000);
    expect(jobs.at(-1)!.params![1]).toBe(prevhash('second'));
    expect(miner.closed).toBe(false);
    expect(p.conns.length).toBe(2);
    expect(proxy.snapshot().pools[0]).toMatchObject({ reconnectRequests: 1, failovers: 0, state: 'up' });
  });

  it('[host, port] on the same host is followed (a new port)', async () => {
    const target = await pool(ckpool());
    const a = await pool((req, conn) => {
      answerLikeCkpool(req, conn);
      if (req.method === 'mining.authorize') setTimeout(() => conn.send({ id: null, method: 'client.reconnect', params: ['127.0.0.1', String(target.port)] }), 50);
    });
    const m = manager([{ url: a.url, user: 'farm' }]);
    await waitFor(() => target.conns.length === 1 && m.channelsOpen() === 1, 10_000, 'connected at the new port');
    expect(a.conns.length).toBe(1);
    expect(m.status()[0]).toMatchObject({ redirectedTo: target.url, failovers: 0 });
  });

  it('another host is not followed unless pools[].allowRedirect (then it is); the operator is told', async () => {
    const target = await pool(ckpool());
    const ask = (conn: PoolConn): void => conn.send({ id: null, method: 'client.reconnect', params: ['127.0.0.1', target.port, 0] });
    // Configured as "localhost": 127.0.0.1 is another host name as far as the redirect rule goes.
    const a = await pool((req, conn) => {
      answerLikeCkpool(req, conn);
      if (req.method === 'mining.authorize' && conn.index === 0) setTimeout(() => ask(conn), 50);
    });
    const log = capturedLogger();
    const m1 = manager([{ url: `stratum+tcp://localhost:${a.port}`, user: 'farm' }], {}, log.logger);
    await waitFor(() => a.conns.length === 2 && m1.channelsOpen() === 1, 10_000, 'back on the configured url');
    expect(target.conns.length).toBe(0);
    expect(log.text()).toMatch(/pool asked to reconnect to another host; not followed \(pools\[0\]\.allowRedirect is off\)/);
    await m1.close();

    const b = await pool((req, conn) => {
      answerLikeCkpool(req, conn);
      if (req.method === 'mining.authorize' && conn.index === 0) setTimeout(() => ask(conn), 50);
    });
    const m2 = manager([{ url: `stratum+tcp://localhost:${b.port}`, user: 'farm', allowRedirect: true }]);
    await waitFor(() => target.conns.length === 1 && m2.channelsOpen() === 1, 10_000, 'followed the redirect');
    expect(b.conns.length).toBe(1);
  });

  it('[host, port, wait] waits before reconnecting; a redirect target that fails sends us back to the configured url', async () => {
    let closedAt = 0;
    const a = await pool((req, conn) => {
      answerLikeCkpool(req, conn);
      if (req.method === 'mining.authorize' && conn.index === 0) {
        setTimeout(() => {
          closedAt = time.clock.now();
          // Same host, so followed; nothing listens on port 1.
          conn.send({ id: null, method: 'client.reconnect', params: ['127.0.0.1', 1, 1] });
        }, 50);
      }
    });
    let reconnectedAt = 0;
    a.onConnect = (c) => void (c.index === 1 && (reconnectedAt = time.clock.now()));
    const m = manager([{ url: a.url, user: 'farm' }], { backoffInitialMs: 100, backoffMaxMs: 5000 });
    await waitFor(() => a.conns.length === 2 && m.channelsOpen() === 1, 10_000, 'back on the configured url');
    expect(reconnectedAt - closedAt).toBeGreaterThanOrEqual(900); // the 1 s wait, then the dead redirect, then home
    const st = m.status()[0]!;
    expect(st).toMatchObject({ reconnectRequests: 1, redirectedTo: null, failovers: 0 });
    expect(st.lastError).toMatch(/cannot connect to stratum\+tcp:\/\/127\.0\.0\.1:1/);
  });
});

describe('a pool that refuses the worker', () => {
  it('closes right after an authorize reject: counted, backed off, failed over, and the log says why without the password', async () => {
    const log = capturedLogger();
    const bad = await pool((req, conn) => {
      if (req.method === 'mining.authorize') {
        reply(conn, req, false, [24, 'Unauthorized worker', null]);
        conn.close();
        return;
      }
      answerLikeCkpool(req, conn);
    });
    const good = await pool(ckpool());
    const m = manager([{ url: bad.url, user: 'farm.bad', password: 'sekret-pw' }, { url: good.url, user: 'farm', password: 'sekret-pw' }], {}, log.logger);
    await waitFor(() => m.activeIndex === 1 && m.channelsOpen() === 1, 10_000, 'failed over');
    const st = m.status()[0]!;
    expect(st).toMatchObject({ failovers: 1 });
    expect(st.connectFailures).toBeGreaterThanOrEqual(1); // the fallback probe keeps trying it, backed off
    expect(st.lastError).toMatch(/refused mining.authorize for farm.bad: Unauthorized worker \(code 24\)/);
    const warn = log.records().find((r) => r['msg'] === 'upstream connection failed');
    expect(warn).toMatchObject({ pool: bad.url });
    expect(String(warn!['err'])).toMatch(/Unauthorized worker/);
    expect(log.text()).not.toContain('sekret-pw');
  });

  it('the only pool refusing the worker is retried with a growing backoff, not in a tight loop', async () => {
    const at: number[] = [];
    const bad = await pool((req, conn) => {
      if (req.method === 'mining.authorize') return void (at.push(time.clock.now()), reply(conn, req, false, [24, 'Unauthorized worker', null]), conn.close());
      answerLikeCkpool(req, conn);
    });
    // random 0.5: delays 75, 150, 300 ms ... (equal jitter: each between half and all of 100 ms doubling).
    const m = manager([{ url: bad.url, user: 'farm.bad' }], { backoffInitialMs: 100, backoffMaxMs: 5000 });
    await waitFor(() => at.length >= 4 && m.status()[0]!.connectFailures >= 4, 10_000, 'four refused attempts');
    // A tight loop would make four attempts in a few ms; the backoff needs at least 50 + 100 + 200 ms.
    expect(at[3]! - at[0]!).toBeGreaterThanOrEqual(350);
    for (let i = 1; i < 4; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(45);
    expect(Math.abs(bad.conns.length - m.status()[0]!.connectAttempts)).toBeLessThanOrEqual(1); // one may be in flight
  });

});
