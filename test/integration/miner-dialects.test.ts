/**
 * Miner firmware dialects over a real loopback socket (raw JSON lines, as
 * the firmwares write them): cgminer / bmminer / Avalon handshakes, BIP310
 * configure variants, the odd methods old firmwares send, Whatsminer /
 * Braiins OS / LuxOS framing and submit quirks, the exact reply and
 * notification shapes, the order a cgminer expects after the handshake, and
 * what surplus itself sends (client.reconnect, set_extranonce,
 * set_version_mask, client.show_message).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hex32 } from '../../src/wire/guards.js';
import { hashHeader } from '../../src/shares/header.js';
import { targetForDifficulty, targetHex } from '../../src/wire/target.js';
import { buildShareHeader, prepareJob } from '../../src/shares/validator.js';
import { MINER_DIFF, Proxy, SimPool, sleep, startPools, testConfig, waitFor } from './proxy-harness.js';
import { RawClient, type Msg } from './proxy-raw-client.js';

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function setup(poolOpts = {}, overrides: Record<string, unknown> = {}, pools = 1): Promise<{ pools: SimPool[]; proxy: Proxy; port: number }> {
  const ps = await startPools(pools, poolOpts);
  cleanup.push(() => Promise.all(ps.map((p) => p.stop())));
  const proxy = new Proxy(testConfig(ps, overrides));
  cleanup.push(() => proxy.close());
  const { port } = await proxy.start();
  return { pools: ps, proxy, port };
}

async function raw(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  c.socket.setNoDelay(true);
  cleanup.push(() => c.close());
  return c;
}

type SubscribeResult = [[string, string][], string, number];

/** A reply is exactly {id, result, error}: error null on success, [code, message, null] on failure. */
function expectReplyShape(m: Msg): void {
  expect(Object.keys(m).sort()).toEqual(['error', 'id', 'result']);
  if (m.error === null) return;
  expect(m.result).toBeNull();
  expect(m.error).toHaveLength(3);
  expect(typeof m.error![0]).toBe('number');
  expect(typeof m.error![1]).toBe('string');
  expect(m.error![2]).toBeNull();
}

function expectOk(m: Msg, result: unknown = true): void {
  expectReplyShape(m);
  expect(m.error).toBeNull();
  expect(m.result).toEqual(result);
}

function expectErr(m: Msg, code: number, message: string | RegExp): void {
  expectReplyShape(m);
  expect(m.error![0]).toBe(code);
  expect(m.error![1]).toMatch(message);
}

/**
 * The first nonce whose share meets `difficulty` (a real double-SHA256 search, ~1/(2^32·difficulty)
 * tries apart), or with `below`, the first that misses it.
 */
function findNonce(notify: unknown[], extranonce1: string, extranonce2: string, difficulty: number, versionBits = 0, below = false): number {
  const [jobId, prevhash, coinb1, coinb2, merkleBranch, version, nbits, ntime] = notify as [string, string, string, string, string[], string, string, string];
  const job = prepareJob({ jobId, prevhash, coinb1, coinb2, merkleBranch, version, nbits, ntime, cleanJobs: true });
  // BIP310 over the BIP320 mask; the sim pool's version (20000000) has no bits there, so with
  // versionBits 0 this is the job's version whether or not rolling was negotiated.
  const v = ((job.version & ~0x1fffe000) | (versionBits & 0x1fffe000)) >>> 0;
  const { header } = buildShareHeader(job, Buffer.from(extranonce1, 'hex'), Buffer.from(extranonce2, 'hex'), job.ntime, 0, v);
  for (let n = 0; n < 5_000_000; n++) {
    header.writeUInt32LE(n, 76);
    if (hashHeader(header, job.networkTargetBE).difficulty >= difficulty !== below) return n;
  }
  throw new Error('no nonce found');
}

describe('cgminer / bmminer / Avalon handshakes', () => {
  let port = 0;
  let shared: { proxy: Proxy };
  const sharedCleanup: Array<() => unknown> = [];
  beforeAll(async () => {
    const ps = await startPools(1);
    // Difficulty free to move between 1e-6 and 1e-3 (the pool's 1e-5 caps it) so floors show.
    const proxy = new Proxy(testConfig(ps, { difficulty: { initial: 2e-6, min: 1e-6, max: 1e-3 } }));
    ({ port } = await proxy.start());
    shared = { proxy };
    sharedCleanup.push(() => proxy.close(), () => ps[0]!.stop());
  });
  afterAll(async () => {
    for (const f of sharedCleanup) await f();
  });

  it.each([
    ['no params (Avalon, Bitaxe)', []],
    ['user agent (cgminer)', ['cgminer/4.11.1']],
    ['user agent + a session id we never issued (bmminer)', ['bmminer/2.0.0', 'sessionid']],
    ['user agent + host:port (NiceHash style)', ['NiceHash/1.0.0', 'stratum.example.com:3333']],
    ['user agent + null + host + port (cgminer reconnect hints)', ['cgminer/4.10.0', null, 'pool.example.com', '3333']],
    ['another pool\'s hex session id', ['bmminer/2.0.0', 'a0b1c2d3e4']],
  ])('mining.subscribe with %s gets subscriptions, extranonce1 and size', async (_name, params) => {
    const c = await raw(port);
    const r = await c.call(1, 'mining.subscribe', params);
    expectReplyShape(r);
    expect(r.error).toBeNull();
    const [subs, en1, size] = r.result as SubscribeResult;
    expect(subs.map((s) => s[0])).toEqual(['mining.set_difficulty', 'mining.notify']);
    expect(subs[0]![1]).toMatch(/^[0-9a-f]{8}$/);
    expect(en1).toMatch(/^([0-9a-f]{2})+$/);
    expect(size).toBe(4);
  });

  it('mining.authorize: empty or missing password and dotted / + / @ names pass; an over-long name is a clear error that keeps the connection', async () => {
    const c = await raw(port);
    const [, en1] = (await c.call(1, 'mining.subscribe', ['cgminer/4.11.1'])).result as SubscribeResult;
    expectOk(await c.call(2, 'mining.authorize', ['farm.rig01', '']));
    expectOk(await c.call(3, 'mining.authorize', ['bc1qexample.rig02']));
    expectOk(await c.call(4, 'mining.authorize', ['farm+rig03', 'x']));
    expectOk(await c.call(5, 'mining.authorize', ['ops@example.com.rig04', null]));
    expectOk(await c.call(6, 'mining.authorize', ['w'.repeat(128), 'x']));
    expectErr(await c.call(7, 'mining.authorize', ['w'.repeat(129), 'x']), 20, 'mining.authorize params[0] (worker) must be at most 128 characters');
    expectErr(await c.call(8, 'mining.authorize', ['', 'x']), 20, 'mining.authorize params[0] (worker) must not be empty');
    const [notify] = await c.waitFor('mining.notify');
    // Each name is authorized on this connection: its submit is judged (a nonce below the minimum difficulty: 23), not refused (24).
    const p = notify!.params!;
    let id = 20;
    for (const w of ['farm.rig01', 'bc1qexample.rig02', 'farm+rig03', 'ops@example.com.rig04']) {
      const low = findNonce(p, en1, hex32(id), 1e-6, 0, true);
      expectErr(await c.call(id, 'mining.submit', [w, p[0], hex32(id), p[7], hex32(low)]), 23, /low difficulty/);
      id++;
    }
    expectErr(await c.call(id, 'mining.submit', ['stranger', p[0], hex32(id), p[7], '00000000']), 24, /not authorized/);
    expect(c.closed).toBe(false);
  });

  it('mining.configure variants (BIP310): version rolling, minimum-difficulty, subscribe-extranonce, unknown extensions answered false', async () => {
    const c = await raw(port);
    const vr = await c.call(1, 'mining.configure', [['version-rolling'], { 'version-rolling.mask': 'ffffffff', 'version-rolling.min-bit-count': 16 }]);
    expectOk(vr, { 'version-rolling': true, 'version-rolling.mask': '1fffe000' });
    // Uppercase mask, no min-bit-count.
    expectOk(await c.call(2, 'mining.configure', [['version-rolling'], { 'version-rolling.mask': '1FFFE000' }]), { 'version-rolling': true, 'version-rolling.mask': '1fffe000' });
    // More bits asked than the pool allows: refused, not an error.
    expectOk(await c.call(3, 'mining.configure', [['version-rolling'], { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': 17 }]), {
      'version-rolling': false,
      'version-rolling.mask': '00000000',
    });
    expectOk(await c.call(4, 'mining.configure', [['minimum-difficulty'], { 'minimum-difficulty.value': 4e-6 }]), { 'minimum-difficulty': true });
    expectOk(await c.call(5, 'mining.configure', [['subscribe-extranonce'], {}]), { 'subscribe-extranonce': true });
    // Several at once, with extensions we do not know (Braiins' "info", a made-up one) answered false.
    const all = await c.call(6, 'mining.configure', [
      ['version-rolling', 'info', 'x-vendor-thing', 'subscribe-extranonce'],
      { 'version-rolling.mask': '00ffe000', 'version-rolling.min-bit-count': 2, 'info.connection-url': 'x', 'x-vendor-thing.level': 3 },
    ]);
    expectOk(all, { 'version-rolling': true, 'version-rolling.mask': '00ffe000', info: false, 'x-vendor-thing': false, 'subscribe-extranonce': true });
    // No params object at all.
    expectOk(await c.call(7, 'mining.configure', [['subscribe-extranonce']]), { 'subscribe-extranonce': true });
    // A malformed configure is an error reply, not a disconnect.
    expectErr(await c.call(8, 'mining.configure', [['version-rolling'], { 'version-rolling.mask': 'zz' }]), 20, '"version-rolling.mask"] must be 8 hex characters');
    expectOk(await c.call(9, 'mining.subscribe', ['bmminer/2.0.0']), expect.anything());
    expectOk(await c.call(10, 'mining.authorize', ['conf.rig', 'x']));
    // minimum-difficulty 4e-6 is a floor: the first set_difficulty honours it.
    const [sd] = await c.waitFor('mining.set_difficulty');
    expect(sd!.params![0]).toBe(4e-6);
    expect(c.closed).toBe(false);
  });

  it('a refused version-rolling (BIP310 false) means no rolling: rolled bits are refused afterwards', async () => {
    const c = await raw(port);
    expectOk(await c.call(1, 'mining.configure', [['version-rolling'], { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': 20 }]), {
      'version-rolling': false,
      'version-rolling.mask': '00000000',
    });
    await c.call(2, 'mining.subscribe', ['bmminer/2.0.0']);
    await c.call(3, 'mining.authorize', ['refused.1', 'x']);
    const [notify] = await c.waitFor('mining.notify');
    const p = notify!.params!;
    expectErr(await c.call(4, 'mining.submit', ['refused.1', p[0], '00000001', p[7], '00000000', '00002000']), 20, 'version bits outside the negotiated mask');
    expect(c.notifications('mining.set_version_mask')).toEqual([]);
  });

  it('mining.extranonce.subscribe is answered true before or after subscribe', async () => {
    const before = await raw(port);
    expectOk(await before.call(1, 'mining.extranonce.subscribe', []));
    expectOk(await before.call(2, 'mining.subscribe', ['cgminer/4.11.1']), expect.anything());
    const after = await raw(port);
    expectOk(await after.call(1, 'mining.subscribe', ['cgminer/4.11.1']), expect.anything());
    expectOk(await after.call(2, 'mining.extranonce.subscribe', []));
    // With a stray argument it is a clear error, and the connection stays.
    expectErr(await after.call(3, 'mining.extranonce.subscribe', [true]), 20, 'mining.extranonce.subscribe expects 0 params, got 1');
    expect(after.closed || before.closed).toBe(false);
  });

  it('old-firmware methods: multi_version and get_transactions get error 20 without a disconnect, capabilities is acknowledged', async () => {
    const c = await raw(port);
    expectErr(await c.call(1, 'mining.multi_version', [1]), 20, 'mining.multi_version is not supported; negotiate version rolling with mining.configure (BIP310)');
    expectOk(await c.call(2, 'mining.subscribe', ['bmminer/1.0.0']), expect.anything());
    expectOk(await c.call(3, 'mining.authorize', ['old.s9', '123']));
    const [notify] = await c.waitFor('mining.notify');
    expectErr(await c.call(4, 'mining.get_transactions', [notify!.params![0]]), 20, /get_transactions is not supported/);
    expectOk(await c.call(5, 'mining.capabilities', [{ notify: [], set_difficulty: {}, version_rolling: {} }]), true);
    expectErr(await c.call(6, 'mining.frobnicate', []), 20, 'unknown method mining.frobnicate');
    expect(c.closed).toBe(false);
    expect(shared.proxy.snapshot().malformedLines).toBe(0);
  });

  it('mining.suggest_difficulty before subscribe is a floor for the first set_difficulty', async () => {
    const c = await raw(port);
    expectOk(await c.call(1, 'mining.suggest_difficulty', [5e-6]));
    await c.call(2, 'mining.subscribe', []);
    await c.call(3, 'mining.authorize', ['bitaxe.1', 'x']);
    const [sd] = await c.waitFor('mining.set_difficulty');
    expect(sd!.params![0]).toBe(5e-6);
    expectErr(await c.call(4, 'mining.suggest_difficulty', [-1]), 20, 'mining.suggest_difficulty params[0] (difficulty) must be a positive number');
  });

  it('mining.suggest_target (64 hex digits) becomes the difficulty it stands for; a bad target is a clear error', async () => {
    const c = await raw(port);
    expectErr(await c.call(1, 'mining.suggest_target', ['0x' + 'f'.repeat(62)]), 20, 'mining.suggest_target params[0] (target) must be 1..64 hex characters without a 0x prefix');
    expectErr(await c.call(2, 'mining.suggest_target', ['0'.repeat(64)]), 20, 'mining.suggest_target params[0] (target) must not be zero');
    expectOk(await c.call(3, 'mining.suggest_target', [targetHex(targetForDifficulty(6e-6)).toUpperCase()]));
    await c.call(4, 'mining.subscribe', ['cpuminer/2.5.1']);
    await c.call(5, 'mining.authorize', ['cpu.1', 'x']);
    const [sd] = await c.waitFor('mining.set_difficulty');
    expect(sd!.params![0] as number).toBeCloseTo(6e-6, 12);
  });

  it('a hint sent as a notification ("id": null) applies without an answer', async () => {
    const c = await raw(port);
    c.send({ id: null, method: 'mining.suggest_difficulty', params: [7e-6] });
    c.send({ method: 'mining.extranonce.subscribe', params: [] });
    await c.call(1, 'mining.subscribe', []);
    await c.call(2, 'mining.authorize', ['notif.1', 'x']);
    const [sd] = await c.waitFor('mining.set_difficulty');
    expect(sd!.params![0]).toBe(7e-6);
    // Only the two requests were answered.
    expect(c.messages.filter((m) => m.method === undefined).map((m) => m.id)).toEqual([1, 2]);
  });
});

describe('Whatsminer / Braiins OS / LuxOS quirks', () => {
  it('string ids, id 0, "params": null and missing params are answered with the id as sent', async () => {
    const { port } = await setup();
    const c = await raw(port);
    c.write('{"id":"sub-1","method":"mining.subscribe","params":null}\n');
    const sub = await c.reply('sub-1');
    expectReplyShape(sub);
    expect(sub.error).toBeNull();
    c.write('{"id":0,"method":"mining.extranonce.subscribe"}\n');
    expectOk(await c.reply(0));
    c.write('{"id":"auth","method":"mining.authorize","params":["lux.1","x"]}\n');
    expectOk(await c.reply('auth'));
    c.write('{"id":"9","method":"mining.suggest_difficulty","params":[0.000002]}\n');
    expectOk(await c.reply('9'));
    // "9" the string and 9 the number are different ids.
    c.write('{"id":9,"method":"mining.nope","params":null}\n');
    expectErr(await c.reply(9), 20, 'unknown method mining.nope');
    expect(c.messages.find((m) => m.id === '9' && m.method === undefined)!.result).toBe(true);
  });

  it('submits: uppercase hex, 5 or 6 params, version bits "00000000" or unpadded; 0x prefixes are refused by name', async () => {
    const { pools, proxy, port } = await setup({ difficulty: 4e-6 });
    const c = await raw(port);
    // Whatsminer-style: rolling negotiated, and a 6th param on every submit.
    expectOk(await c.call(1, 'mining.configure', [['version-rolling'], { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': 2 }]), expect.anything());
    const [, en1, size] = (await c.call(2, 'mining.subscribe', ['btminer/3.1'])).result as SubscribeResult;
    expectOk(await c.call(3, 'mining.authorize', ['wm.1', 'x']));
    const [notify] = await c.waitFor('mining.notify');
    const p = notify!.params!;
    const jobId = p[0] as string;
    const ntime = p[7] as string;
    const en2 = (n: number): string => n.toString(16).padStart(size * 2, '0');
    const share = (e2: string, bits = 0): string => hex32(findNonce(p, en1, e2, MINER_DIFF * 1.01, bits));

    // Uppercase everywhere, 5 params.
    const n1 = share(en2(1));
    expectOk(await c.call(10, 'mining.submit', ['wm.1', jobId, en2(1).toUpperCase(), ntime.toUpperCase(), n1.toUpperCase()]));
    // 6 params with "00000000" (no bits rolled).
    const n2 = share(en2(2));
    expectOk(await c.call(11, 'mining.submit', ['wm.1', jobId, en2(2), ntime, n2, '00000000']));
    // Rolled bits sent without leading zeros ("2000" is 0x00002000 = bit 13).
    const n3 = share(en2(3), 0x2000);
    expectOk(await c.call(12, 'mining.submit', ['wm.1', jobId, en2(3), ntime, n3, '2000']));
    // The same share again, bits now zero-padded: the same share, a duplicate.
    expectErr(await c.call(13, 'mining.submit', ['wm.1', jobId, en2(3), ntime, n3, '00002000']), 22, /duplicate/);
    // 0x prefixes: error 20 naming the field and the prefix.
    expectErr(await c.call(14, 'mining.submit', ['wm.1', jobId, en2(4), '0x' + ntime.slice(2), '00000000']), 20, 'mining.submit params[3] (ntime) must be 8 hex characters without a 0x prefix');
    expectErr(await c.call(15, 'mining.submit', ['wm.1', jobId, en2(4), ntime, '0x00000000']), 20, 'mining.submit params[4] (nonce) must be 8 hex characters without a 0x prefix');
    expectErr(await c.call(16, 'mining.submit', ['wm.1', jobId, en2(4), ntime, '00000000', '0x2000']), 20, 'mining.submit params[5] (version bits) must be 1..8 hex characters without a 0x prefix');
    expect(c.closed).toBe(false);
    const s = proxy.snapshot().shares;
    expect(s.accepted).toBe(3);
    expect(s.rejected).toEqual({ duplicate: 1, 'bad-params': 3 });
    // What met the pool's target went up and was accepted there (uppercase lowercased, bits padded).
    const pool = pools[0]!;
    await waitFor(() => proxy.snapshot().shares.forwarded === pool.stats.accepted + Object.values(pool.stats.rejected).reduce((a, b) => a + b, 0), 10_000, 'pool answers');
    expect(pool.stats.rejected).toEqual({});
  });

  it('mining.configure after subscribe and authorize applies to the next submit', async () => {
    const { port } = await setup();
    const c = await raw(port);
    const [, en1] = (await c.call(1, 'mining.subscribe', ['bosminer/1.0'])).result as SubscribeResult;
    expectOk(await c.call(2, 'mining.authorize', ['late.1', 'x']));
    const [notify] = await c.waitFor('mining.notify');
    const p = notify!.params!;
    const en2 = '00000005';
    const nonce = hex32(findNonce(p, en1, en2, MINER_DIFF * 1.01, 0x4000));
    const submit = ['late.1', p[0], en2, p[7], nonce, '4000'];
    // Not negotiated yet: any rolled bit is outside the (empty) mask.
    expectErr(await c.call(3, 'mining.submit', submit), 20, 'version bits outside the negotiated mask');
    expectOk(await c.call(4, 'mining.configure', [['version-rolling'], { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': 2 }]), {
      'version-rolling': true,
      'version-rolling.mask': '1fffe000',
    });
    expectOk(await c.call(5, 'mining.submit', submit));
  });

  it('framing: \\r\\n line ends, several requests in one segment, a request split byte by byte', async () => {
    const { port } = await setup();
    const c = await raw(port);
    c.write('{"id":1,"method":"mining.subscribe","params":["bosminer/1.0"]}\r\n{"id":2,"method":"mining.extranonce.subscribe","params":[]}\r\n{"id":3,"method":"mining.authorize","params":["bos.1","x"]}\r\n');
    expectOk(await c.reply(1), expect.anything());
    expectOk(await c.reply(2));
    expectOk(await c.reply(3));
    const line = '{"id":4,"method":"mining.suggest_difficulty","params":[0.000002]}\r\n';
    for (const ch of line) {
      c.write(ch);
      await sleep(1);
    }
    expectOk(await c.reply(4));
    // Blank lines and a bare \r\n between requests are not malformed.
    c.write('\r\n\n{"id":5,"method":"mining.capabilities","params":[]}\n');
    expectOk(await c.reply(5));
    expect(c.closed).toBe(false);
  });
});

describe('what surplus sends', () => {
  it('reply and notification shapes; after configure + subscribe + authorize: set_difficulty before the first (clean) notify', async () => {
    const { port } = await setup();
    const c = await raw(port);
    c.send({ id: 1, method: 'mining.configure', params: [['version-rolling'], { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': 2 }] });
    c.send({ id: 2, method: 'mining.subscribe', params: ['cgminer/4.11.1'] });
    c.send({ id: 3, method: 'mining.extranonce.subscribe', params: [] });
    c.send({ id: 4, method: 'mining.authorize', params: ['order.1', 'x'] });
    c.send({ id: 5, method: 'mining.nope', params: [] });
    await c.waitFor('mining.notify');
    await c.reply(5);
    const seq = c.messages.map((m) => (m.method ? m.method : `reply ${String(m.id)}`));
    expect(seq.slice(0, 6)).toEqual(['reply 1', 'reply 2', 'reply 3', 'reply 4', 'mining.set_difficulty', 'mining.notify']);
    for (const m of c.messages) {
      if (m.method) {
        expect(Object.keys(m).sort()).toEqual(['id', 'method', 'params']);
        expect(m.id).toBeNull();
      } else expectReplyShape(m);
    }
    const notify = c.notifications('mining.notify')[0]!;
    expect(notify.params).toHaveLength(9);
    expect(notify.params![8]).toBe(true);
    // No set_version_mask: the agreed mask is what configure answered.
    expect(c.notifications('mining.set_version_mask')).toEqual([]);
  });

  it('authorize before subscribe (and a "jsonrpc" member) still gives set_difficulty before the first notify; a second subscribe is an error, not a disconnect', async () => {
    const { port } = await setup();
    const c = await raw(port);
    c.write('{"jsonrpc":"2.0","id":1,"method":"mining.authorize","params":["early.1","x"]}\n');
    expectOk(await c.reply(1));
    expect(c.notifications('mining.notify')).toEqual([]);
    c.write('{"jsonrpc":"2.0","id":2,"method":"mining.subscribe","params":["luxminer/2024.1"]}\n');
    expectOk(await c.reply(2), expect.anything());
    await c.waitFor('mining.notify');
    const seq = c.messages.map((m) => m.method ?? `reply ${String(m.id)}`);
    expect(seq.slice(0, 4)).toEqual(['reply 1', 'reply 2', 'mining.set_difficulty', 'mining.notify']);
    expectErr(await c.call(3, 'mining.subscribe', []), 20, 'already subscribed');
    expect(c.closed).toBe(false);
  });

  it("the pool's set_extranonce: every miner keeps its extranonce1 and connection (the pool's part travels in coinb1); set_difficulty, then a clean job", async () => {
    const { pools, port } = await setup();
    const plain = await raw(port);
    await plain.call(1, 'mining.subscribe', ['cgminer/4.11.1']);
    await plain.call(2, 'mining.authorize', ['plain.1', 'x']);
    const viaConfigure = await raw(port);
    await viaConfigure.call(1, 'mining.configure', [['subscribe-extranonce'], {}]);
    await viaConfigure.call(2, 'mining.subscribe', ['bosminer/1.0']);
    await viaConfigure.call(3, 'mining.authorize', ['sub.1', 'x']);
    await plain.waitFor('mining.notify');
    await viaConfigure.waitFor('mining.notify');
    const [notifiesBefore, plainBefore] = [viaConfigure.notifications('mining.notify').length, plain.notifications('mining.notify').length];
    const mark = viaConfigure.messages.length;
    pools[0]!.rotateExtranonce();
    await viaConfigure.waitFor('mining.notify', notifiesBefore + 1);
    await plain.waitFor('mining.notify', plainBefore + 1);
    expect(plain.notifications('client.reconnect')).toEqual([]);
    expect(viaConfigure.notifications('mining.set_extranonce')).toEqual([]);
    // The work starts over: set_difficulty, then a clean job.
    const after = viaConfigure.messages.slice(mark);
    const kinds = after.map((m) => m.method);
    expect(kinds.indexOf('mining.set_difficulty')).toBeLessThan(kinds.indexOf('mining.notify'));
    expect(after.find((m) => m.method === 'mining.notify')!.params![8]).toBe(true);
    expect(viaConfigure.closed || plain.closed).toBe(false);
  });

  it('failover to a pool with another version mask and extranonce space: set_extranonce and set_version_mask, then set_difficulty before the clean job; client.reconnect [] to the others', async () => {
    const [a] = await startPools(1, { versionMask: 0x1fffe000 });
    // 7 bytes of extranonce2 (8 on the first pool): a 3-byte prefix, so the miners' extranonce1 must change.
    const [b] = await startPools(1, { versionMask: 0x00ffe000, extranonce2Size: 7 });
    cleanup.push(() => a!.stop(), () => b!.stop());
    const proxy = new Proxy(testConfig([a!, b!]));
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    await waitFor(() => a!.connectionCount === 1, 10_000, 'upstream');
    const c = await raw(port);
    expectOk(await c.call(1, 'mining.configure', [['version-rolling', 'subscribe-extranonce'], { 'version-rolling.mask': 'ffffffff', 'version-rolling.min-bit-count': 2 }]), {
      'version-rolling': true,
      'version-rolling.mask': '1fffe000',
      'subscribe-extranonce': true,
    });
    await c.call(2, 'mining.subscribe', ['bmminer/2.0.0']);
    await c.call(3, 'mining.authorize', ['fo.1', 'x']);
    await c.waitFor('mining.notify');
    const plain = await raw(port);
    await plain.call(1, 'mining.subscribe', ['cgminer/4.11.1']);
    await plain.call(2, 'mining.authorize', ['fo.2', 'x']);
    await plain.waitFor('mining.notify');
    const mark = c.messages.length;
    await a!.stop();
    // The miner that cannot take set_extranonce is asked back to the same endpoint, then comes back to work.
    await waitFor(() => plain.closed, 10_000, 'client.reconnect to the plain miner');
    expect(plain.notifications('client.reconnect')).toEqual([{ id: null, method: 'client.reconnect', params: [] }]);
    const again = await raw(port);
    expectOk(await again.call(1, 'mining.subscribe', ['cgminer/4.11.1']), expect.anything());
    expectOk(await again.call(2, 'mining.authorize', ['fo.2', 'x']));
    await again.waitFor('mining.notify');
    await c.waitFor('mining.set_version_mask', 1, 8000);
    await c.waitFor('mining.set_extranonce', 1, 8000);
    await waitFor(() => c.messages.slice(mark).some((m) => m.method === 'mining.notify'), 10_000, 'a job from the second pool');
    const after = c.messages.slice(mark);
    const kinds = after.map((m) => m.method);
    expect(c.notifications('mining.set_version_mask')[0]!.params).toEqual(['00ffe000']);
    const notifyAt = kinds.indexOf('mining.notify');
    expect(kinds.indexOf('mining.set_extranonce')).toBeLessThan(notifyAt);
    expect(kinds.indexOf('mining.set_version_mask')).toBeLessThan(notifyAt);
    expect(kinds.lastIndexOf('mining.set_difficulty', notifyAt)).toBeGreaterThanOrEqual(0);
    expect(after[notifyAt]!.params![8]).toBe(true);
    expect(c.closed).toBe(false);
  });
});
