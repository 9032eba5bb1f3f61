/**
 * The pure miner session (issue 14 item 1), with no sockets: events in,
 * the exact actions out. Shares are real (a recorded Bitaxe share, hashed
 * in-process by the validator); the upstream is a plain object with the
 * WorkSource shape.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import type { MinerAction, MinerEvent } from '../../src/miner/events.js';
import { MinerSession } from '../../src/miner/miner-session.js';
import type { MinerSlot, MinerWork, WorkSource } from '../../src/miner/work.js';
import { validateShare } from '../../src/shares/validator.js';
import { parseVectorFile, type ShareVector } from '../../src/shares/vector-file.js';
import type { HashRequest } from '../../src/shares/types.js';
import { encodeError, encodeNotification, encodeResult, type RpcMessage } from '../../src/wire/json-rpc.js';
import type { StratumJob } from '../../src/wire/stratum-job.js';
import { prepareJob } from '../../src/shares/validator.js';

const BITAXE = parseVectorFile(readFileSync(new URL('../fixtures/share-vectors.json', import.meta.url), 'utf8')).find(
  (v): v is ShareVector => v.form === 'share' && v.id === 'public-pool-testnet-bitaxe-versionrolling',
)!;
const WORKER = BITAXE.submit.worker;
const SUBMIT = [WORKER, BITAXE.submit.jobId, BITAXE.submit.extranonce2, BITAXE.submit.ntime, BITAXE.submit.nonce, BITAXE.submit.versionBits!];
const POOL_MASK = 0x1fffe000;
const T0 = 1_000_000;

function config(limits: Record<string, unknown> = {}) {
  return resolveConfig({
    pools: [{ url: 'stratum+tcp://127.0.0.1:3333', user: 'farm' }],
    // Pinned at the vector's session difficulty: no retarget moves it during a test.
    difficulty: { initial: BITAXE.sessionDifficulty, min: BITAXE.sessionDifficulty, max: BITAXE.sessionDifficulty },
    limits: { banInvalidShares: 3, ...limits },
  });
}

const line = (job: StratumJob): Buffer => Buffer.from(encodeNotification('mining.notify', [job.jobId]));

/** An upstream connection as the session sees it: the current job, clean copies and aliases under fresh ids. */
function upstream(poolDifficulty = 1): WorkSource & { current: MinerWork | undefined } {
  let next = 100;
  const origin = { poolDifficulty };
  const job = { ...BITAXE.job, cleanJobs: true };
  const source = {
    current: { job, line: line(job), prepared: prepareJob(job), origin } as MinerWork | undefined,
    difficulty: poolDifficulty,
    versionMask: POOL_MASK,
    alias(w: MinerWork, cleanJobs: boolean): MinerWork {
      const j = { ...w.job, jobId: String(next++), cleanJobs };
      return { job: j, line: line(j), prepared: w.prepared, origin: w.origin };
    },
    cleanCopy(w: MinerWork): MinerWork {
      return source.alias(w, true);
    },
  };
  return source;
}

type Admission = Partial<Omit<Extract<MinerEvent, { type: 'admission' }>, 'type' | 'id' | 'worker'>>;

/** mining.authorize: the session asks to look the worker up (`admit`); the answer is `facts`. */
function authorize(s: MinerSession, id: number, worker: string, facts: Admission = {}, at = T0): readonly MinerAction[] {
  expect(s.handle(req(id, 'mining.authorize', [worker, 'x']), at)).toEqual([{ type: 'admit', id, worker }]);
  return s.handle({ type: 'admission', id, worker, withheld: false, ...facts }, at);
}

const req = (id: number, method: string, params: unknown[]): { type: 'message'; message: RpcMessage } => ({ type: 'message', message: { kind: 'request', id, method, params } });

/** A session through configure (version rolling), subscribe and authorize, on `source`. */
function readySession(opts: { limits?: Record<string, unknown>; source?: ReturnType<typeof upstream> } = {}) {
  const source = opts.source ?? upstream();
  const s = new MinerSession(config(opts.limits), T0);
  const slot: MinerSlot = { channel: source, prefixHex: 'aa', extranonce1: BITAXE.extranonce1, extranonce2Size: BITAXE.extranonce2Size };
  s.handle({ ...req(1, 'mining.configure', [['version-rolling'], { 'version-rolling.mask': 'ffffffff' }]), poolMask: POOL_MASK }, T0);
  s.handle(req(2, 'mining.subscribe', ['bitaxe/2.0']), T0);
  s.handle({ type: 'slot', slot, sessionId: 'deadbeef' }, T0);
  authorize(s, 3, WORKER);
  return { s, source, slot };
}

/** Submits, then hashes the request the session asked for, in-process. */
function submitAndHash(s: MinerSession, id: number, params: unknown[], at = T0): { asked: readonly MinerAction[]; answered: readonly MinerAction[] } {
  const asked = s.handle(req(id, 'mining.submit', params), at);
  const h = asked.find((a): a is { type: 'hash'; request: HashRequest } => a.type === 'hash');
  return { asked, answered: h ? s.handle({ type: 'hashed', result: validateShare(h.request) }, at) : [] };
}

describe('MinerSession: handshake', () => {
  it('subscribe asks for a slot, answers once it has one; authorize registers the worker, then difficulty and the current job', () => {
    const source = upstream();
    const s = new MinerSession(config(), T0);
    expect(s.handle(req(1, 'mining.subscribe', ['bitaxe/2.0', 'cafe01']), T0)).toEqual([{ type: 'acquire', sessionId: 'cafe01' }]);
    // A second subscribe while the first waits for its slot.
    expect(s.handle(req(2, 'mining.subscribe', []), T0)).toEqual([{ type: 'send', line: encodeError(2, 20, 'already subscribed') }]);
    const slot: MinerSlot = { channel: source, prefixHex: 'aa', extranonce1: BITAXE.extranonce1, extranonce2Size: 4 };
    expect(s.handle({ type: 'slot', slot, sessionId: 'deadbeef' }, T0)).toEqual([
      { type: 'send', line: encodeResult(1, [[['mining.set_difficulty', 'deadbeef'], ['mining.notify', 'deadbeef']], BITAXE.extranonce1, 4]) },
    ]);
    expect(s.ready).toBe(false);
    expect(authorize(s, 3, WORKER)).toEqual([
      { type: 'authorized', worker: WORKER },
      { type: 'send', line: encodeResult(3, true) },
      { type: 'send', line: encodeNotification('mining.set_difficulty', [512]) },
      { type: 'send', line: source.current!.line },
    ]);
    expect(s.ready).toBe(true);
  });

  it('a slot that comes after the miner left is given back, and nothing is sent', () => {
    const s = new MinerSession(config(), T0);
    s.handle(req(1, 'mining.subscribe', []), T0);
    expect(s.handle({ type: 'closed', reason: 'peer closed' }, T0)).toEqual([{ type: 'release' }]);
    const slot: MinerSlot = { channel: upstream(), prefixHex: 'aa', extranonce1: 'aa', extranonce2Size: 4 };
    expect(s.handle({ type: 'slot', slot, sessionId: 'x' }, T0)).toEqual([{ type: 'release' }]);
    expect(s.handle({ type: 'closed', reason: 'again' }, T0)).toEqual([]);
  });

  it('no slot in time: the subscribe is answered with the reason', () => {
    const s = new MinerSession(config(), T0);
    s.handle(req(7, 'mining.subscribe', []), T0);
    expect(s.handle({ type: 'slot-failed', message: 'no upstream available' }, T0)).toEqual([{ type: 'send', line: encodeError(7, 20, 'no upstream available') }]);
  });

  it('a withheld worker is refused (24) and closed; a banned one is told how long', () => {
    expect(authorize(new MinerSession(config(), T0), 1, WORKER, { withheld: true })).toEqual([
      { type: 'send', line: encodeError(1, 24, 'worker is curtailed by the power plan; try later') },
      { type: 'close', reason: 'withheld worker tried to connect' },
    ]);
    expect(authorize(new MinerSession(config(), T0), 1, WORKER, { bannedUntilMs: T0 + 90_500 })).toEqual([
      { type: 'send', line: encodeError(1, 24, 'worker is banned for invalid shares for 91 s more') },
      { type: 'close', reason: 'banned worker tried to connect' },
    ]);
  });

  it('an admission nobody asked for changes nothing', () => {
    const s = new MinerSession(config(), T0);
    expect(s.handle({ type: 'admission', id: 1, worker: WORKER, withheld: false }, T0)).toEqual([]);
    expect(s.workerNames()).toEqual([]);
  });

  it('a planned difficulty (expectHashrate) is where the first worker starts; a resumed session\'s where a resumed miner does', () => {
    const cfg = resolveConfig({ pools: [{ url: 'stratum+tcp://127.0.0.1:3333', user: 'farm' }], difficulty: { initial: 512, min: 1, max: 1e6 } });
    const planned = new MinerSession(cfg, T0);
    planned.handle(req(1, 'mining.subscribe', []), T0);
    planned.handle({ type: 'slot', slot: { channel: upstream(1e9), prefixHex: 'aa', extranonce1: 'aa', extranonce2Size: 4 }, sessionId: 's1' }, T0);
    expect(authorize(planned, 2, WORKER, { plannedDifficulty: 2048 })[2]).toEqual({ type: 'send', line: encodeNotification('mining.set_difficulty', [2048]) });
    const resumed = new MinerSession(cfg, T0);
    resumed.handle(req(1, 'mining.subscribe', [null, 'c0ffee01']), T0);
    resumed.handle({ type: 'slot', slot: { channel: upstream(1e9), prefixHex: 'aa', extranonce1: 'aa', extranonce2Size: 4 }, sessionId: 'c0ffee01', resumedDifficulty: 4096 }, T0);
    expect(authorize(resumed, 2, WORKER)[2]).toEqual({ type: 'send', line: encodeNotification('mining.set_difficulty', [4096]) });
    // A fresh session id (the old one was taken): the resumed difficulty does not apply.
    const fresh = new MinerSession(cfg, T0);
    fresh.handle(req(1, 'mining.subscribe', [null, 'c0ffee01']), T0);
    fresh.handle({ type: 'slot', slot: { channel: upstream(1e9), prefixHex: 'aa', extranonce1: 'aa', extranonce2Size: 4 }, sessionId: 'c0ffee02', resumedDifficulty: 4096 }, T0);
    expect(authorize(fresh, 2, WORKER)[2]).toEqual({ type: 'send', line: encodeNotification('mining.set_difficulty', [512]) });
  });

  it('no subscribe and authorize within the handshake timeout: closed on the tick after it', () => {
    const s = new MinerSession(config({ handshakeTimeoutS: 10 }), T0);
    expect(s.handle({ type: 'tick' }, T0 + 10_000)).toEqual([]);
    expect(s.handle({ type: 'tick' }, T0 + 10_001)).toEqual([{ type: 'close', reason: 'no subscribe/authorize within the handshake timeout' }]);
  });
});

describe('MinerSession: submits', () => {
  it('a valid share: counted, hashed, answered true, credited at the job difficulty and forwarded with the slot prefix', () => {
    const { s } = readySession();
    const { asked, answered } = submitAndHash(s, 4, SUBMIT);
    expect(asked).toEqual([{ type: 'received', worker: WORKER }, { type: 'hash', request: expect.objectContaining({ extranonce1: BITAXE.extranonce1, nonce: BITAXE.submit.nonce, version: 0x20002000 }) }]);
    expect(s.hashing).toBe(false);
    expect(answered).toEqual([
      { type: 'send', line: encodeResult(4, true) },
      { type: 'accepted', worker: WORKER, difficulty: 512, block: false },
      { type: 'forward', share: { worker: WORKER, origin: { poolDifficulty: 1 }, prefixHex: 'aa', submit: { ...BITAXE.submit } } },
    ]);
  });

  it('below the pool target: accepted, not forwarded', () => {
    const { s } = readySession({ source: upstream(1000) });
    expect(submitAndHash(s, 4, SUBMIT).answered).toEqual([
      { type: 'send', line: encodeResult(4, true) },
      { type: 'accepted', worker: WORKER, difficulty: 512, block: false },
    ]);
  });

  it('each refusal kind has its code, is counted by kind, and only the miner\'s faults count toward the ban', () => {
    // Not subscribed (25), counted under the connection's name.
    const fresh = new MinerSession(config(), T0);
    expect(fresh.handle(req(1, 'mining.submit', SUBMIT), T0)).toEqual([
      { type: 'received', worker: '(unauthorized)' },
      { type: 'rejected', worker: '(unauthorized)', kind: 'not-subscribed' },
      { type: 'send', line: encodeError(1, 25, 'not subscribed') },
    ]);
    const { s } = readySession();
    // Another worker name (24).
    expect(s.handle(req(2, 'mining.submit', ['someone.else', ...SUBMIT.slice(1)]), T0)).toEqual([
      { type: 'received', worker: WORKER },
      { type: 'rejected', worker: WORKER, kind: 'unauthorized' },
      { type: 'send', line: encodeError(2, 24, 'worker someone.else is not authorized on this connection') },
    ]);
    // Unknown job (21), then the share is judged too weak once hashed (23).
    expect(s.handle(req(3, 'mining.submit', [WORKER, 'nope', ...SUBMIT.slice(2)]), T0)).toEqual([
      { type: 'received', worker: WORKER },
      { type: 'rejected', worker: WORKER, kind: 'unknown-job' },
      { type: 'send', line: encodeError(3, 21, 'job not found') },
    ]);
    const weak = submitAndHash(s, 4, [...SUBMIT.slice(0, 4), 'ed460d90', SUBMIT[5]]).answered;
    expect(weak).toEqual([
      { type: 'rejected', worker: WORKER, kind: 'low-difficulty' },
      { type: 'send', line: expect.stringMatching(/^\{"id":4,"result":null,"error":\[23,"low difficulty share \(\d/) },
    ]);
    // Bad params (20), parsed once by the guard: the third invalid share bans and closes (banInvalidShares 3).
    expect(s.handle(req(5, 'mining.submit', [...SUBMIT.slice(0, 4), '123']), T0)).toEqual([
      { type: 'received', worker: WORKER },
      { type: 'rejected', worker: WORKER, kind: 'bad-params' },
      { type: 'send', line: encodeError(5, 20, 'mining.submit params[4] (nonce) must be 8 hex characters') },
      { type: 'ban', workers: [WORKER] },
      { type: 'close', reason: '3 invalid shares within 600 s; banned for 600 s' },
    ]);
  });

  it('a resubmitted share is a duplicate (22), also while the first is still hashing; not the miner\'s ban', () => {
    const { s } = readySession({ limits: { banInvalidShares: 2 } });
    const first = s.handle(req(4, 'mining.submit', SUBMIT), T0);
    expect(first.map((a) => a.type)).toEqual(['received', 'hash']);
    // (A connection holds its next line while hashing; the session would refuse it all the same.)
    const again = submitAndHash(s, 5, SUBMIT);
    expect(again.asked).toEqual([
      { type: 'received', worker: WORKER },
      { type: 'rejected', worker: WORKER, kind: 'duplicate' },
      { type: 'send', line: encodeError(5, 22, 'duplicate share') },
    ]);
  });

  it('stale: a clean job while the share was hashing (21, no ban); a share on the superseded job (21)', () => {
    const { s, source } = readySession({ limits: { banInvalidShares: 2 } });
    const asked = s.handle(req(4, 'mining.submit', SUBMIT), T0);
    const next = { ...BITAXE.job, jobId: '2', cleanJobs: true };
    const work: MinerWork = { job: next, line: line(next), prepared: prepareJob(next), origin: { poolDifficulty: 1 } };
    source.current = work;
    expect(s.handle({ type: 'job', work }, T0)).toEqual([{ type: 'send', line: work.line }]);
    const h = asked[1] as { type: 'hash'; request: HashRequest };
    expect(s.handle({ type: 'hashed', result: validateShare(h.request) }, T0)).toEqual([
      { type: 'rejected', worker: WORKER, kind: 'stale-job' },
      { type: 'send', line: encodeError(4, 21, 'stale job') },
    ]);
    expect(s.handle(req(5, 'mining.submit', [...SUBMIT.slice(0, 4), '00000001', SUBMIT[5]]), T0)).toEqual([
      { type: 'received', worker: WORKER },
      { type: 'rejected', worker: WORKER, kind: 'stale-job' },
      { type: 'send', line: encodeError(5, 21, 'stale job') },
    ]);
  });

  it('the hash queue full: refused (20, overloaded) and the same share may be sent again', () => {
    const { s } = readySession();
    s.handle(req(4, 'mining.submit', SUBMIT), T0);
    expect(s.handle({ type: 'hash-failed', overloaded: true, message: 'queue full' }, T0)).toEqual([
      { type: 'rejected', worker: WORKER, kind: 'overloaded' },
      { type: 'send', line: encodeError(4, 20, 'proxy overloaded; share not checked, send again') },
    ]);
    expect(submitAndHash(s, 5, SUBMIT).answered[0]).toEqual({ type: 'send', line: encodeResult(5, true) });
  });

  it('a withheld worker gets no jobs until released, then the current job again, clean', () => {
    const { s, source } = readySession();
    expect(s.handle({ type: 'withhold' }, T0)).toEqual([]);
    const next = { ...BITAXE.job, jobId: '2', cleanJobs: true };
    const work: MinerWork = { job: next, line: line(next), prepared: prepareJob(next), origin: { poolDifficulty: 1 } };
    source.current = work;
    expect(s.handle({ type: 'job', work }, T0)).toEqual([]);
    expect(s.handle({ type: 'release' }, T0)).toEqual([
      { type: 'send', line: encodeNotification('mining.set_difficulty', [512]) },
      { type: 'send', line: work.line },
    ]);
  });
});

describe('MinerSession: hints, configure, malformed lines, upstream moves', () => {
  it('hints are answered and applied; a notification is never answered; an unknown method is error 20', () => {
    const { s } = readySession();
    expect(s.handle(req(9, 'mining.extranonce.subscribe', []), T0)).toEqual([{ type: 'send', line: encodeResult(9, true) }]);
    expect(s.handle(req(10, 'mining.suggest_difficulty', [1024]), T0)).toEqual([{ type: 'send', line: encodeResult(10, true) }]);
    expect(s.handle(req(11, 'mining.capabilities', [{}]), T0)).toEqual([{ type: 'send', line: encodeResult(11, true) }]);
    expect(s.handle(req(12, 'mining.get_transactions', []), T0)).toEqual([
      { type: 'send', line: encodeError(12, 20, 'mining.get_transactions is not supported: the proxy does not hold the block transactions') },
    ]);
    expect(s.handle(req(13, 'mining.nope', []), T0)).toEqual([{ type: 'send', line: encodeError(13, 20, 'unknown method mining.nope') }]);
    expect(s.handle({ type: 'message', message: { kind: 'notification', method: 'mining.nope', params: [] } }, T0)).toEqual([
      { type: 'log', level: 'debug', msg: 'ignored notification from miner', fields: { method: 'mining.nope' } },
    ]);
  });

  it('configure: version rolling is miner mask ∧ pool mask (the pool the miner will land on before it has a slot)', () => {
    const s = new MinerSession(config(), T0);
    const configure = req(1, 'mining.configure', [['version-rolling', 'minimum-difficulty', 'x'], { 'version-rolling.mask': '1fffe000', 'minimum-difficulty.value': 64 }]);
    expect(s.handle({ ...configure, poolMask: 0x00ffe000 }, T0)).toEqual([
      { type: 'send', line: encodeResult(1, { 'version-rolling': true, 'version-rolling.mask': '00ffe000', 'minimum-difficulty': true, x: false }) },
    ]);
  });

  it('malformed lines: counted and answered when they carry an id; the last one allowed (limits.maxMalformedLines) closes', () => {
    const s = new MinerSession(config({ maxMalformedLines: 2 }), T0);
    expect(s.handle({ type: 'malformed', reason: 'not JSON', line: '{x', id: 7 }, T0)).toEqual([
      { type: 'malformed', reason: 'not JSON', line: '{x', strikes: 1 },
      { type: 'send', line: encodeError(7, 20, 'not JSON') },
    ]);
    expect(s.handle({ type: 'malformed', reason: 'not JSON', line: '{y' }, T0)).toEqual([
      { type: 'malformed', reason: 'not JSON', line: '{y', strikes: 2 },
      { type: 'close', reason: '2 malformed lines' },
    ]);
  });

  it('a new extranonce: set_extranonce to a miner that subscribed to it, client.reconnect (then leave) to one that did not', () => {
    const a = readySession();
    const moved: MinerSlot = { ...a.slot, extranonce1: 'bb', prefixHex: 'bb' };
    expect(a.s.handle({ type: 'moved', slot: moved }, T0)).toEqual([
      { type: 'send', line: encodeNotification('client.reconnect', []) },
      { type: 'leave', reason: 'extranonce changed; miner asked to reconnect' },
    ]);
    // Leaving: no more jobs go to it.
    expect(a.s.ready).toBe(false);
    const next = { ...BITAXE.job, jobId: '2', cleanJobs: true };
    expect(a.s.handle({ type: 'job', work: { job: next, line: line(next), prepared: prepareJob(next), origin: { poolDifficulty: 1 } } }, T0)).toEqual([]);
    const b = readySession();
    b.s.handle(req(9, 'mining.extranonce.subscribe', []), T0);
    expect(b.s.handle({ type: 'moved', slot: moved }, T0)).toEqual([
      { type: 'send', line: encodeNotification('mining.set_extranonce', ['bb', 4]) },
      { type: 'send', line: encodeNotification('mining.set_difficulty', [512]) },
      { type: 'send', line: b.source.current!.line },
    ]);
  });
});
