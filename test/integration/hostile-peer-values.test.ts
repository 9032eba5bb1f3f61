/**
 * Issue 11, item 1: one well-formed JSON line of about 16 KiB (under the
 * line cap) whose values nest thousands deep used to end the process: the
 * error paths turned the peer's value into text (JSON.stringify, String(),
 * template strings all recurse and throw RangeError). Over real loopback
 * sockets, from a miner before any handshake and from a pool, every such
 * line is refused with a bounded message and the process carries on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { Proxy } from '../../src/proxy.js';
import { answerLikeCkpool, notifyParams, ScriptedPool } from '../support/scripted-pool.js';
import { RawClient } from './proxy-raw-client.js';
import { waitFor } from './proxy-harness.js';

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

/** `[[[[…]]]]` (or `{"a":{"a":…}}`) nested `depth` deep: 2 bytes a level, so 8,000 levels fit the 16 KiB line cap. */
const deepArray = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const deepObject = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const D = 7000;

/** Every place a miner's line can carry a value, nested deep. */
const MINER_LINES: Array<[string, string, number | null]> = [
  ['error of a response', `{"id":1,"result":null,"error":[1,${deepArray(D)}]}`, null],
  ['error object of a response', `{"id":2,"result":true,"error":{"code":${deepArray(D)}}}`, null],
  ['error as a nested array', `{"id":3,"error":${deepArray(D)}}`, null],
  ['subscribe params', `{"id":4,"method":"mining.subscribe","params":[${deepArray(D)}]}`, 4],
  ['authorize params', `{"id":5,"method":"mining.authorize","params":${deepArray(D)}}`, 5],
  ['configure options', `{"id":6,"method":"mining.configure","params":[[],{"version-rolling.mask":${deepObject(2000)}}]}`, 6],
  ['submit params', `{"id":7,"method":"mining.submit","params":["w","j",${deepArray(D)},"00","00"]}`, 7],
  ['suggest_difficulty', `{"id":8,"method":"mining.suggest_difficulty","params":[${deepObject(2000)}]}`, 8],
  ['unknown method params', `{"id":9,"method":"x.y","params":[${deepArray(D)}]}`, 9],
  ['params as object', `{"id":10,"method":"mining.subscribe","params":${deepObject(2000)}}`, 10],
  ['id', `{"id":${deepArray(D)},"method":"mining.subscribe","params":[]}`, null],
  ['method', `{"id":12,"method":${deepArray(D)},"params":[]}`, 12],
  ['a bare array', deepArray(D), null],
];

function config(poolUrl: string, extra: Record<string, unknown> = {}): ReturnType<typeof resolveConfig> {
  return resolveConfig({
    listen: '127.0.0.1:0',
    pools: [{ url: poolUrl, user: 'farm' }],
    shares: { hashThreads: 1 },
    limits: { maxMalformedLines: 1000 },
    log: { level: 'silent' },
    ...extra,
  });
}

async function start(script = (req: Parameters<typeof answerLikeCkpool>[0], conn: Parameters<typeof answerLikeCkpool>[1]) => answerLikeCkpool(req, conn)): Promise<{ pool: ScriptedPool; port: number; proxy: Proxy }> {
  const pool = await ScriptedPool.start(script);
  cleanup.push(() => pool.stop());
  const proxy = new Proxy(config(pool.url));
  cleanup.push(() => proxy.close());
  const { port } = await proxy.start();
  return { pool, port, proxy };
}

async function raw(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  cleanup.push(() => c.close());
  return c;
}

describe('deeply nested peer values (issue 11 item 1)', () => {
  it.each(MINER_LINES)('a miner line with a deep %s, before any handshake, is refused and the process lives', async (_what, line, id) => {
    expect(Buffer.byteLength(line)).toBeLessThan(16 * 1024);
    const { port } = await start();
    const c = await raw(port);
    c.write(line + '\n');
    c.write('{"id":"after","method":"mining.subscribe","params":[]}\n');
    const after = await c.reply('after');
    expect(after.error).toBeNull();
    if (id !== null) {
      const r = await c.reply(id);
      expect(r.error?.[0]).toBe(20);
      expect(r.error![1].length).toBeLessThan(300);
    }
    // A fresh connection still works: the process is alive.
    const d = await raw(port);
    expect((await d.call(1, 'mining.subscribe', [])).error).toBeNull();
  });

  it('a pool line with deep values in any message is ignored and the miners keep their work', async () => {
    const bad = [
      `{"id":null,"method":"mining.set_difficulty","params":[${deepArray(D)}]}`,
      `{"id":null,"method":"mining.set_target","params":[${deepArray(D)}]}`,
      `{"id":null,"method":"mining.notify","params":[${deepArray(D)},"","","",[],"","","",true]}`,
      `{"id":null,"method":"mining.notify","params":["j9","","","",[${deepArray(D)}],"","","",true]}`,
      `{"id":null,"method":"mining.notify","params":["j9","","","",[],"","","",${deepArray(D)}]}`,
      `{"id":null,"method":"mining.set_extranonce","params":[${deepArray(D)},4]}`,
      `{"id":null,"method":"mining.set_version_mask","params":[${deepObject(2000)}]}`,
      `{"id":null,"method":"client.show_message","params":[${deepArray(D)}]}`,
      `{"id":77,"method":"client.reconnect","params":["",${deepArray(D)}]}`,
      `{"id":78,"method":"x.unknown","params":[${deepArray(D)}]}`,
      `{"id":null,"method":${deepArray(D)},"params":[]}`,
      `{"id":4242,"result":${deepArray(D)},"error":${deepArray(D)}}`,
      deepArray(D),
    ];
    let sent = false;
    const { pool, port } = await start((req, conn) => {
      answerLikeCkpool(req, conn);
      if (req.method === 'mining.authorize' && !sent) {
        sent = true;
        for (const l of bad) conn.raw(l + '\n');
        conn.send({ id: null, method: 'mining.notify', params: notifyParams('after-deep', true) });
      }
    });
    const c = await raw(port);
    expect((await c.call(1, 'mining.subscribe', [])).error).toBeNull();
    expect((await c.call(2, 'mining.authorize', ['rig', 'x'])).result).toBe(true);
    await waitFor(() => c.notifications('mining.notify').some((n) => n.params?.[0] !== undefined && pool.conns.length > 0 && sent), 10_000, 'a job after the deep lines');
    await waitFor(() => c.notifications('mining.notify').length >= 1, 10_000, 'job');
    // The pool's last (good) job reached the miner after the deep lines; the pool link is the same one.
    await waitFor(() => pool.conns[0]!.answers.some((a) => a['id'] === 78), 10_000, 'answer to the unknown pool request');
    expect(pool.conns.length).toBe(1);
    expect(pool.conns[0]!.closed).toBe(false);
  });

  it('a pool that sends its notifications as requests (with ids) gets one answer each, ok or refused', async () => {
    let sent = false;
    const { pool, port } = await start((req, conn) => {
      answerLikeCkpool(req, conn);
      if (req.method === 'mining.authorize' && !sent) {
        sent = true;
        conn.raw('{"id":90,"method":"mining.set_difficulty","params":[2]}\n{"id":91,"method":"mining.notify","params":["bad"]}\n{"id":[92],"method":"mining.set_version_mask","params":["zz"]}\n');
      }
    });
    const c = await raw(port);
    await c.call(1, 'mining.subscribe', []);
    await waitFor(() => pool.conns[0]?.answers.length === 3, 10_000, 'three answers');
    const a = pool.conns[0]!.answers;
    expect(a[0]).toEqual({ id: 90, result: true, error: null });
    expect(a[1]).toMatchObject({ id: 91, result: null, error: [20, expect.stringMatching(/^mining.notify expects 9 params/), null] });
    expect(a[2]).toMatchObject({ id: [92], result: null, error: [20, expect.stringMatching(/mask/), null] });
  });
});
