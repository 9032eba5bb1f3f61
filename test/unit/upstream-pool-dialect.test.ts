import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ManualClock } from '../../src/clock.js';
import { poolSchema } from '../../src/config/schema.js';
import { DIFF1_TARGET, targetForDifficulty } from '../../src/wire/target.js';
import {
  authorizeVerdict,
  cleanJobsFlag,
  parseNotify,
  parseReconnect,
  parseSetDifficulty,
  parseSetTarget,
  pendingKey,
  readConfigureResult,
} from '../../src/wire/pool-dialect.js';
import { reconnectTarget } from '../../src/upstream/pool-endpoint.js';
import { CONFIGURE_RETRY_MS, PoolList } from '../../src/upstream/pool-list.js';
import '../support/fast-check-seed.js';

describe('pool dialect readers', () => {
  it.each([
    [true, true], [false, false], [1, true], [0, false], ['true', true], ['FALSE', false], ['1', true], ['0', false], ['', false],
    [2, undefined], ['yes', undefined], [null, undefined], [undefined, undefined], [[], undefined],
  ])('clean_jobs %j -> %j', (v, want) => expect(cleanJobsFlag(v)).toBe(want));

  it.each([
    [[1024], 1024], [['1024'], 1024], [[0.5], 0.5], [['0.001'], 0.001], [['1e3'], 1000], [[' 16 '], 16],
  ])('set_difficulty %j -> %d', (params, want) => expect(parseSetDifficulty(params)).toEqual({ ok: true, value: want }));

  it.each([[[0]], [[-1]], [['abc']], [[]], [[null]], [['0x10']], [[Infinity]]])('set_difficulty %j is refused, naming the field', (params) => {
    expect(parseSetDifficulty(params)).toMatchObject({ ok: false, message: /params\[0\] \(difficulty\) must be a positive number/ });
  });

  it('set_target: the difficulty never makes a forwarded share easier than the pool target', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: (1n << 256n) - 1n }), (target) => {
        const hex = target.toString(16).padStart(64, '0');
        const r = parseSetTarget([hex]);
        if (!r.ok) return false;
        return targetForDifficulty(r.value) <= target && r.value > 0;
      }),
      { numRuns: 300 },
    );
    expect(parseSetTarget([DIFF1_TARGET.toString(16).padStart(64, '0')])).toEqual({ ok: true, value: 1 });
    expect(parseSetTarget(['0'.repeat(64)])).toMatchObject({ ok: false, message: /must not be zero/ });
    expect(parseSetTarget(['zz'])).toMatchObject({ ok: false, message: /up to 64 hex digits/ });
  });

  it('notify: a numeric job id becomes its decimal string (sent back as such in mining.submit); short params are refused', () => {
    const p = [17, 'a'.repeat(64), '01', '02', [], '20000000', '1d00ffff', '5f5e1000', true];
    expect(parseNotify(p)).toMatchObject({ ok: true, value: { jobId: '17' } });
    expect(parseNotify(p.slice(0, 8))).toMatchObject({ ok: false, message: 'mining.notify expects 9 params, got 8' });
    expect(parseNotify(['', ...p.slice(1)])).toMatchObject({ ok: false, message: /params\[0\] \(job id\)/ });
  });

  it('reply ids: numbers, and numbers echoed as strings, map to our request ids', () => {
    expect([pendingKey(7), pendingKey('7'), pendingKey(' 12 '), pendingKey('abc'), pendingKey(null), pendingKey(1.5)]).toEqual([7, 7, 12, undefined, undefined, undefined]);
  });

  it('authorize verdicts', () => {
    expect(authorizeVerdict(true, null)).toEqual({ ok: true, nullResult: false });
    expect(authorizeVerdict(null, null)).toEqual({ ok: true, nullResult: true });
    expect(authorizeVerdict(false, null)).toEqual({ ok: false, reason: 'result false, no reason given' });
    expect(authorizeVerdict(true, { code: 24, message: 'bad worker' })).toEqual({ ok: false, reason: 'bad worker (code 24)' });
    expect(authorizeVerdict('ok', null)).toEqual({ ok: false, reason: 'unexpected result "ok"' });
  });

  it('configure answers other than a granted mask mean no version rolling, with a note', () => {
    expect(readConfigureResult({ 'version-rolling': true, 'version-rolling.mask': '1FFFE000' }, null)).toEqual({ mask: 0x1fffe000 });
    for (const [r, e] of [[{ 'version-rolling': false }, null], [{ 'version-rolling': true }, null], [null, { code: 20, message: 'x' }], [[], null], ['yes', null]] as const) {
      expect(readConfigureResult(r, e)).toMatchObject({ mask: 0, note: expect.any(String) });
    }
  });

  it('client.reconnect params', () => {
    expect(parseReconnect([])).toEqual({ ok: true, value: {} });
    expect(parseReconnect(['', null])).toEqual({ ok: true, value: {} });
    expect(parseReconnect(['Pool.Example.com', '3334'])).toEqual({ ok: true, value: { host: 'pool.example.com', port: 3334 } });
    expect(parseReconnect(['10.0.0.1', 3333, '5'])).toEqual({ ok: true, value: { host: '10.0.0.1', port: 3333, waitS: 5 } });
    expect(parseReconnect(['[::1]', 3333])).toEqual({ ok: true, value: { host: '::1', port: 3333 } });
    expect(parseReconnect(['bad host!', 1])).toMatchObject({ ok: false, message: /params\[0\] \(host\)/ });
    expect(parseReconnect(['h', 70000])).toMatchObject({ ok: false, message: /params\[1\] \(port\) must be an integer 1..65535/ });
    expect(parseReconnect(['h', 1, -1])).toMatchObject({ ok: false, message: /params\[2\] \(wait seconds\)/ });
  });
});

describe('where client.reconnect may send us', () => {
  const home = { host: 'pool.example', port: 3333 };
  it.each([
    ['[] stays where we are', undefined, {}, false, { target: undefined }],
    ['[] after a redirect stays there', { host: 'pool.example', port: 4444 }, {}, false, { target: { host: 'pool.example', port: 4444 } }],
    ['a new port on the same host', undefined, { host: 'POOL.example', port: 4444 }, false, { target: { host: 'POOL.example', port: 4444 } }],
    ['a port alone', undefined, { port: 4444 }, false, { target: { host: 'pool.example', port: 4444 } }],
    ['back to the configured endpoint', { host: 'pool.example', port: 4444 }, { port: 3333 }, false, { target: undefined }],
    ['another host, not allowed', undefined, { host: 'evil.example', port: 3333 }, false, { target: undefined, refused: { host: 'evil.example', port: 3333 } }],
    ['another host, allowed', undefined, { host: 'eu.pool.example', port: 3333 }, true, { target: { host: 'eu.pool.example', port: 3333 } }],
  ])('%s', (_n, current, ask, allow, want) => expect(reconnectTarget(home, current, ask, allow)).toEqual(want));
});

describe('PoolList: reconnect requests', () => {
  const pools = [poolSchema.parse({ url: 'stratum+tcp://pool.example:3333', user: 'u' })];

  it('honours the wait, follows a redirect in its url, and backs off a pool that asks in a loop', () => {
    const clock = new ManualClock(1_000_000);
    const list = new PoolList(pools, { initialMs: 500, maxMs: 30_000 }, clock, () => 0.5);
    expect(list.reconnectAsked(0, { host: 'pool.example', port: 4444 }, 2000)).toBe(2000);
    expect(list.url(0)).toBe('stratum+tcp://pool.example:4444');
    expect(list.ready(0)).toBe(false);
    clock.advance(2000);
    expect(list.ready(0)).toBe(true);
    expect(list.reconnectAsked(0, undefined, 0)).toBe(0); // second within a minute: still at once
    expect(list.url(0)).toBe('stratum+tcp://pool.example:3333');
    const delays = [1, 2, 3, 4].map(() => list.reconnectAsked(0, undefined, 0));
    expect(delays).toEqual([375, 750, 1500, 3000]); // jittered exponential from the third
    clock.advance(60_000);
    expect(list.reconnectAsked(0, undefined, 0)).toBe(0); // a quiet minute forgives
    expect(list.status(() => 0)[0]).toMatchObject({ reconnectRequests: 0, redirectedTo: null }); // requests are counted by the client
  });
});

describe('PoolList: BIP310 configure memory', () => {
  const pools = [poolSchema.parse({ url: 'stratum+tcp://pool.example:3333', user: 'u' })];

  it('a timeout stops asking for a while; hang-ups only after three in a row before subscribe; an answer resets the count', () => {
    const clock = new ManualClock(0);
    const list = new PoolList(pools, { initialMs: 500, maxMs: 30_000 }, clock);
    expect(list.asksConfigure(0)).toBe(true);
    expect(list.configureEnded(0, 'closed', false)).toBe(false);
    expect(list.configureEnded(0, 'closed', false)).toBe(false);
    expect(list.configureEnded(0, 'granted', true)).toBe(false); // it answered after all: start over
    expect(list.configureEnded(0, 'closed', true)).toBe(false); // closed after subscribe: not about configure
    expect(list.configureEnded(0, 'closed', false)).toBe(false);
    expect(list.configureEnded(0, undefined, false)).toBe(false); // refused connection: no configure sent
    expect(list.configureEnded(0, 'closed', false)).toBe(false);
    expect(list.configureEnded(0, 'closed', false)).toBe(true);
    expect(list.asksConfigure(0)).toBe(false);
    clock.advance(CONFIGURE_RETRY_MS);
    expect(list.asksConfigure(0)).toBe(true);
    expect(list.configureEnded(0, 'timeout', true)).toBe(true);
    expect(list.asksConfigure(0)).toBe(false);
  });
});
