import { describe, expect, it } from 'vitest';
import {
  guardAuthorize,
  guardConfigure,
  guardExtranonceSubscribe,
  guardSubmit,
  guardSuggestDifficulty,
  guardSubscribe,
  hex32,
} from '../../src/wire/guards.js';
import {
  parseNotify,
  parseReconnect,
  parseSetDifficulty,
  parseSetExtranonce,
  parseSetVersionMask,
  parseSubscribeResult,
  readConfigureResult,
  readShowMessage,
} from '../../src/wire/pool-dialect.js';
import { notifyParams } from '../../src/wire/stratum-job.js';

type Row = [string, unknown[], unknown];

function check(rows: Row[], guard: (p: unknown[]) => { ok: boolean; message?: string; value?: unknown }): void {
  for (const [name, params, expected] of rows) {
    const r = guard(params) as { ok: true; value: unknown } | { ok: false; message: string };
    if (typeof expected === 'string' || expected instanceof RegExp) {
      expect(r.ok, name).toBe(false);
      if (!r.ok) expect(r.message, name).toMatch(expected);
    } else {
      expect(r, name).toEqual({ ok: true, value: expected });
    }
  }
}

const SUBMIT_OK = ['w1', 'j1', '00000001', '5f5e1000', 'DEADBEEF'];

describe('miner-side guards', () => {
  it('mining.subscribe', () => {
    check(
      [
        ['no params', [], {}],
        ['agent', ['bmminer/2.0'], { userAgent: 'bmminer/2.0' }],
        ['agent + session', ['cgminer', 'ABCD0001'], { userAgent: 'cgminer', sessionId: 'abcd0001' }],
        ['agent + null session + host/port', ['cgminer', null, 'pool', 3333], { userAgent: 'cgminer' }],
        ['too many', ['a', 'b', 'c', 'd', 'e'], 'mining.subscribe expects 0..4 params, got 5'],
        ['agent not string', [5], 'mining.subscribe params[0] (user agent) must be a string'],
        // Not an id we could have issued (another pool's, a rental service's "host:port"): a fresh session, not a failed subscribe.
        ['session not hex', ['a', 'zz'], { userAgent: 'a' }],
        ['NiceHash-style host:port', ['NiceHash/1.0.0', 'stratum.example.com:3333'], { userAgent: 'NiceHash/1.0.0' }],
      ],
      guardSubscribe,
    );
  });

  it('mining.authorize', () => {
    check(
      [
        ['user + pass', ['rig1.a', 'x'], { worker: 'rig1.a', password: 'x' }],
        ['user only', ['rig1'], { worker: 'rig1', password: '' }],
        ['none', [], 'mining.authorize expects 1..2 params, got 0'],
        ['empty user', [''], 'params[0] (worker) must not be empty'],
        ['user number', [1, 'x'], 'params[0] (worker) must be a string'],
        ['password number', ['w', 1], 'params[1] (password) must be a string'],
        ['user too long', ['u'.repeat(200)], 'at most 128 characters'],
      ],
      guardAuthorize,
    );
  });

  it('mining.submit (extranonce2 size 4)', () => {
    check(
      [
        ['ok', SUBMIT_OK, { worker: 'w1', jobId: 'j1', extranonce2: '00000001', ntime: '5f5e1000', nonce: 'deadbeef' }],
        ['with version bits', [...SUBMIT_OK, '1fffe000'], { worker: 'w1', jobId: 'j1', extranonce2: '00000001', ntime: '5f5e1000', nonce: 'deadbeef', versionBits: '1fffe000' }],
        ['4 params', SUBMIT_OK.slice(0, 4), 'mining.submit expects 5..6 params, got 4'],
        ['7 params', [...SUBMIT_OK, '00000000', 'x'], 'mining.submit expects 5..6 params, got 7'],
        ['worker number', [1, ...SUBMIT_OK.slice(1)], 'mining.submit params[0] (worker) must be a string'],
        ['job id empty', ['w', '', ...SUBMIT_OK.slice(2)], 'params[1] (job id) must not be empty'],
        ['en2 short', ['w', 'j', '000001', '5f5e1000', 'deadbeef'], 'mining.submit params[2] (extranonce2) must be 8 hex characters'],
        ['en2 not hex', ['w', 'j', '0000000g', '5f5e1000', 'deadbeef'], 'params[2] (extranonce2) must be 8 hex characters'],
        ['ntime long', ['w', 'j', '00000001', '5f5e10000', 'deadbeef'], 'mining.submit params[3] (ntime) must be 8 hex characters'],
        ['nonce short', ['w', 'j', '00000001', '5f5e1000', 'deadbee'], 'mining.submit params[4] (nonce) must be 8 hex characters'],
        ['nonce number', ['w', 'j', '00000001', '5f5e1000', 12], 'mining.submit params[4] (nonce) must be 8 hex characters'],
        // version_bits is a u32: fewer digits are padded (ckpool reads it with %x); too many or a 0x prefix are refused.
        ['version bits short', [...SUBMIT_OK, '1fffe'], { worker: 'w1', jobId: 'j1', extranonce2: '00000001', ntime: '5f5e1000', nonce: 'deadbeef', versionBits: '0001fffe' }],
        ['version bits long', [...SUBMIT_OK, '1fffe0000'], 'mining.submit params[5] (version bits) must be 1..8 hex characters'],
        ['version bits 0x', [...SUBMIT_OK, '0x1fffe000'], 'mining.submit params[5] (version bits) must be 1..8 hex characters without a 0x prefix'],
        ['nonce 0x', ['w', 'j', '00000001', '5f5e1000', '0xdeadbe'], 'mining.submit params[4] (nonce) must be 8 hex characters without a 0x prefix'],
      ],
      (p) => guardSubmit(p, 4),
    );
  });

  it('mining.submit checks extranonce2 against the session size', () => {
    expect(guardSubmit(['w', 'j', '000001', '5f5e1000', 'deadbeef'], 3).ok).toBe(true);
    const r = guardSubmit(['w', 'j', '00000001', '5f5e1000', 'deadbeef'], 3);
    expect(r.ok ? '' : r.message).toBe('mining.submit params[2] (extranonce2) must be 6 hex characters');
  });

  it('mining.configure (BIP310)', () => {
    check(
      [
        ['version rolling', [['version-rolling'], { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': 2 }], { extensions: ['version-rolling'], options: { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': 2 } }],
        ['no options', [['subscribe-extranonce']], { extensions: ['subscribe-extranonce'], options: {} }],
        ['none', [], 'mining.configure expects 1..2 params, got 0'],
        ['extensions not array', ['version-rolling', {}], 'params[0] (extensions) must be an array'],
        ['options array', [[], []], 'params[1] (extension parameters) must be an object'],
        ['bad mask', [['version-rolling'], { 'version-rolling.mask': 'xyz' }], '"version-rolling.mask"] must be 8 hex characters'],
        ['bad min bits', [['version-rolling'], { 'version-rolling.min-bit-count': 40 }], 'min-bit-count"] must be an integer 0..32'],
        ['bad minimum diff', [['minimum-difficulty'], { 'minimum-difficulty.value': -1 }], 'minimum-difficulty.value"] must be a non-negative number'],
      ],
      guardConfigure,
    );
  });

  it('mining.suggest_difficulty and mining.extranonce.subscribe', () => {
    check(
      [
        ['ok', [512], 512],
        ['zero', [0], 'params[0] (difficulty) must be a positive number'],
        ['string', ['512'], 'params[0] (difficulty) must be a positive number'],
        ['none', [], 'expects 1 params, got 0'],
      ],
      guardSuggestDifficulty,
    );
    check(
      [
        ['ok', [], true],
        ['extra', [1], 'mining.extranonce.subscribe expects 0 params, got 1'],
      ],
      guardExtranonceSubscribe,
    );
  });
});

const NOTIFY_OK = ['j9', 'a'.repeat(64), '01000000', 'ffffffff', ['b'.repeat(64)], '20000000', '1d00ffff', '5f5e1000', true];

// What pools send (and what surplus sends its miners) is read by the one pool-side parser, pool-dialect.ts.
describe('pool-side parsers', () => {
  it('mining.notify', () => {
    const r = parseNotify(NOTIFY_OK);
    expect(r.ok).toBe(true);
    if (r.ok) expect(notifyParams(r.value)).toEqual(NOTIFY_OK);
    const bad = (i: number, v: unknown): unknown[] => NOTIFY_OK.map((x, j) => (j === i ? v : x));
    check(
      [
        ['8 params', NOTIFY_OK.slice(0, 8), 'mining.notify expects 9 params, got 8'],
        ['prevhash short', bad(1, 'aa'), 'params[1] (prevhash) must be 64 hex characters'],
        ['coinb1 odd', bad(2, 'abc'), 'params[2] (coinb1) must be a hex string of whole bytes'],
        ['branch not array', bad(4, 'x'), 'params[4] (merkle branch) must be an array'],
        ['branch item', bad(4, ['00']), 'params[4][0] (merkle branch) must be 64 hex characters'],
        ['version', bad(5, '2000000'), 'params[5] (version) must be 8 hex characters'],
        ['nbits', bad(6, 7), 'params[6] (nbits) must be 8 hex characters'],
        ['ntime', bad(7, ''), 'params[7] (ntime) must be 8 hex characters'],
        ['clean', bad(8, 'maybe'), 'params[8] (clean_jobs) must be a boolean'],
      ],
      parseNotify,
    );
    // The dialects real pools speak: clean_jobs as "true" or 1 is a clean job (pool-dialect.ts, cleanJobsFlag).
    expect(parseNotify(bad(8, 'true'))).toMatchObject({ ok: true, value: { cleanJobs: true } });
    expect(parseNotify(bad(8, 0))).toMatchObject({ ok: true, value: { cleanJobs: false } });
  });

  it('subscribe result, set_difficulty, set_extranonce, set_version_mask, configure result, reconnect, show_message', () => {
    expect(parseSubscribeResult([[['mining.notify', 'ab']], 'F000000A', 8])).toEqual({ ok: true, value: { extranonce1: 'f000000a', extranonce2Size: 8 } });
    expect(parseSubscribeResult([[], 'f0', 'x'])).toMatchObject({ ok: false, message: /\[2\] \(extranonce2_size\) must be an integer 2..16/ });
    expect(parseSubscribeResult({})).toMatchObject({ ok: false, message: /^mining.subscribe result must be an array/ });
    expect(parseSetDifficulty([0.001])).toEqual({ ok: true, value: 0.001 });
    expect(parseSetDifficulty([-1]).ok).toBe(false);
    expect(parseSetExtranonce(['abcd', 4])).toEqual({ ok: true, value: { extranonce1: 'abcd', extranonce2Size: 4 } });
    expect(parseSetExtranonce(['abc', 4])).toMatchObject({ ok: false, message: /params\[0\] \(extranonce1\)/ });
    expect(parseSetVersionMask(['1fffe000'])).toEqual({ ok: true, value: 0x1fffe000 });
    expect(readConfigureResult({ 'version-rolling': true, 'version-rolling.mask': '1fffe000' }, null)).toEqual({ mask: 0x1fffe000 });
    expect(readConfigureResult({ 'version-rolling': false }, null)).toMatchObject({ mask: 0 });
    expect(readConfigureResult({ 'version-rolling': true }, null)).toMatchObject({ mask: 0, note: /without a usable mask/ });
    expect(parseReconnect(['pool.example', 3333, 0])).toEqual({ ok: true, value: { host: 'pool.example', port: 3333, waitS: 0 } });
    expect(parseReconnect([])).toEqual({ ok: true, value: {} });
    expect(parseReconnect(['h', 70000])).toMatchObject({ ok: false, message: /params\[1\] \(port\)/ });
    expect(readShowMessage(['hello'])).toBe('hello');
    expect(readShowMessage(['x'.repeat(2000)])).toHaveLength(500);
    expect(readShowMessage([[[[['deep']]]]])).toMatch(/^\[/);
    expect(hex32(0x1fffe000)).toBe('1fffe000');
    expect(hex32(0)).toBe('00000000');
  });
});
