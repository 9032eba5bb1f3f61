/**
 * Hostile and broken clients over real loopback sockets (issue 7): the
 * per-IP connection cap, the handshake timeout (slowloris), the submit rate
 * cap, the write-buffer cap for a miner that stops reading, the ban after
 * repeated invalid shares (never on the first), and no process-wide effect:
 * an honest miner keeps mining through all of it and the books balance.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { fakeTime, type FakeTime } from '../support/manual-time.js';
import { Proxy, SimPool, startMiners, startPools, testConfig } from './proxy-harness.js';
import { RawClient } from './proxy-raw-client.js';
import { expectBalanced } from './fault-accounting.js';
import { classifyLine, expectsAnswer, fuzzLine, xorshift } from '../../bench/fuzz-corpus.js';

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

async function setup(limits: Record<string, unknown>): Promise<{ pool: SimPool; proxy: Proxy; port: number }> {
  const [pool] = (await startPools(1, { clock: time.clock })) as [SimPool];
  cleanup.push(() => pool.stop());
  const proxy = new Proxy(testConfig([pool], { limits }), { clock: time.clock });
  cleanup.push(() => proxy.close());
  const { port } = await proxy.start();
  return { pool, proxy, port };
}

async function raw(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  cleanup.push(() => c.close());
  return c;
}

async function handshaken(port: number, worker: string): Promise<RawClient> {
  const c = await raw(port);
  expect((await c.call(1, 'mining.subscribe', ['hostile/1'])).error).toBeNull();
  expect((await c.call(2, 'mining.authorize', [worker, 'x'])).result).toBe(true);
  await c.waitFor('mining.notify');
  return c;
}

async function honestMiner(port: number): Promise<{ accepted: () => number; stop: () => void }> {
  const [m] = await startMiners(port, 1, { clock: time.clock, worker: 'honest' });
  cleanup.push(() => m!.stop());
  await waitFor(() => m!.stats.accepted >= 1, 10_000, 'honest miner share');
  return { accepted: () => m!.stats.accepted, stop: () => m!.stop() };
}

describe('hostile clients', () => {
  it('caps connections per IP, counts refusals, and frees the slot when one closes', async () => {
    const { proxy, port } = await setup({ maxConnectionsPerIp: 3 });
    const held = await Promise.all([raw(port), raw(port), raw(port)]);
    await waitFor(() => proxy.snapshot().minersConnected === 3, 10_000, '3 sessions');
    const extra = await raw(port);
    await waitFor(() => extra.closed, 10_000, 'refusal of the 4th');
    expect(proxy.snapshot().refusedConnections).toBe(1);
    held[0]!.close();
    await waitFor(() => proxy.snapshot().minersConnected === 2, 10_000, 'slot freed');
    const again = await raw(port);
    expect((await again.call(1, 'mining.subscribe', [])).error).toBeNull();
    expect(again.closed).toBe(false);
  });

  it('drops connections that never finish the handshake (slowloris), keeps the ones that did', async () => {
    // 2 s, not less: the patient client's own handshake has to finish inside it, and on a loaded
    // machine three loopback round trips can take most of a second.
    const { proxy, port } = await setup({ handshakeTimeoutS: 2 });
    const ok = await handshaken(port, 'patient');
    const silent = await raw(port);
    const slow = await raw(port);
    const subscribedOnly = await raw(port);
    await subscribedOnly.call(1, 'mining.subscribe', []);
    // A byte every 200 ms, never a newline.
    const drip = setInterval(() => slow.write('{'), 200);
    cleanup.push(() => clearInterval(drip));
    await waitFor(() => silent.closed && slow.closed && subscribedOnly.closed, 10_000, 'handshake timeouts');
    expect(ok.closed).toBe(false);
    expect(proxy.snapshot().minersReady).toBe(1);
  });

  it('answers over-rate submits with an error, counts them, and keeps the miner', async () => {
    const { proxy, port } = await setup({ maxSubmitsPerSecond: 5 });
    const c = await handshaken(port, 'flood');
    const n = 40;
    for (let i = 0; i < n; i++) c.send({ id: 100 + i, method: 'mining.submit', params: ['flood', 'nojob', '00000000', '00000000', '00000000'] });
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => c.reply(100 + i)));
    const limited = replies.filter((r) => r.error?.[1] === 'too many submits per second').length;
    expect(limited).toBeGreaterThanOrEqual(n - 10);
    expect(replies.every((r) => r.error !== null)).toBe(true);
    const s = proxy.snapshot();
    expect(s.shares.rejected['rate-limited']).toBe(limited);
    expect(c.closed).toBe(false);
    expectBalanced(s);
  });

  it('drops a miner that stops reading instead of buffering its output', async () => {
    const { proxy, port } = await setup({ maxWriteBufferBytes: 4096, maxMalformedLines: 1e9 });
    const honest = await honestMiner(port);
    const c = await handshaken(port, 'deaf');
    c.socket.pause(); // stop reading: the kernel buffers fill, then ours
    const line = '{"id":1,"method":"mining.extranonce.subscribe","params":[]}\n';
    const burst = line.repeat(2000);
    let dropped = false;
    for (let i = 0; i < 200 && !dropped; i++) {
      if (!c.socket.destroyed) c.socket.write(burst);
      await time.pass(5);
      dropped = proxy.snapshot().minersConnected === 1;
    }
    await waitFor(() => proxy.snapshot().minersConnected === 1, 10_000, 'deaf miner dropped');
    const before = honest.accepted();
    await waitFor(() => honest.accepted() > before, 10_000, 'honest miner still served');
    // The process stayed small: the deaf miner's output was not kept.
    expect(process.memoryUsage().rss).toBeLessThan(1024 * 2 ** 20);
  });

  it('bans a miner after banInvalidShares invalid shares in the window, never on the first', async () => {
    const { proxy, port } = await setup({ banInvalidShares: 3, banWindowS: 60 });
    const honest = await honestMiner(port);
    const c = await handshaken(port, 'bad');
    const bad = (id: number): unknown => c.call(id, 'mining.submit', ['bad', 'nojob', '00000000', '00000000', 'zz']);
    await bad(10);
    expect(c.closed).toBe(false);
    await bad(11);
    expect(c.closed).toBe(false);
    await bad(12);
    await waitFor(() => c.closed, 10_000, 'ban after the third invalid share');
    expect(proxy.snapshot().shares.rejected['bad-params']).toBe(3);
    // The ban holds (limits.banS): the worker is refused at authorize and closed. It is keyed by
    // address and name, so another worker from the same address (one NAT for a whole site) and the
    // same name from another address (sites that give every miner one worker name) still get in.
    const back = await raw(port);
    await back.call(1, 'mining.subscribe', ['hostile/1']);
    const refused = await back.call(2, 'mining.authorize', ['bad', 'x']);
    expect(refused.error?.[0]).toBe(24);
    expect(String(refused.error?.[1])).toMatch(/banned for invalid shares for \d+ s more/);
    await waitFor(() => back.closed, 10_000, 'banned worker closed');
    const neighbour = await handshaken(port, 'neighbour');
    neighbour.close();
    const sameName = await RawClient.open(port, '127.0.0.2');
    cleanup.push(() => sameName.close());
    await sameName.call(1, 'mining.subscribe', ['hostile/1']);
    expect((await sameName.call(2, 'mining.authorize', ['bad', 'x'])).result).toBe(true);
    sameName.close();
    const before = honest.accepted();
    await waitFor(() => honest.accepted() > before, 10_000, 'honest miner unaffected');
    honest.stop();
    await waitFor(() => proxy.snapshot().minersConnected === 0, 10_000, 'honest miner gone');
    // A share still being hashed when the miner left is answered (and maybe forwarded) a moment later.
    await waitFor(() => {
      const s = proxy.snapshot();
      return s.shares.submitsAnswered === s.shares.submitsReceived && s.accounting.poolPending === 0;
    }, 10_000, 'every submit answered, pool answers');
    expectBalanced(proxy.snapshot());
  });

  it('answers every fuzz line that carries an id exactly once, and keeps the connection (session-level fuzz)', async () => {
    const { proxy, port } = await setup({ maxMalformedLines: 1e9, banInvalidShares: 100_000, maxSubmitsPerSecond: 1e9 });
    const c = await handshaken(port, 'fuzz');
    const before = c.messages.filter((m) => m.method === undefined).length;
    const r = xorshift(7);
    let owed = 0;
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const line = fuzzLine(r);
      const seen = Buffer.from(line, 'utf8').toString('utf8').replace(/\r$/, '');
      if (seen.trim() !== '' && expectsAnswer(classifyLine(seen))) owed++;
      lines.push(line);
    }
    c.write(lines.join('\n') + '\n');
    const answers = (): number => c.messages.filter((m) => m.method === undefined).length - before;
    await waitFor(() => answers() >= owed || c.closed, 10_000, `${owed} answers`);
    await time.pass(200); // a double answer would show up now
    expect(answers()).toBe(owed);
    expect(c.closed).toBe(false);
    expectBalanced(proxy.snapshot());
  });

  it('survives hostile lines: deep nesting, huge ids, __proto__, unicode, NUL, lone CR', async () => {
    const { proxy, port } = await setup({ maxMalformedLines: 1e9, maxLineBytes: 16 * 1024 });
    const c = await handshaken(port, 'weird');
    c.write('['.repeat(8000) + ']'.repeat(8000) + '\n');
    c.write('{"id":"' + 'i'.repeat(4000) + '","method":"mining.nope","params":[]}\n');
    c.write('{"id":5,"__proto__":{"method":"mining.submit"},"method":"mining.suggest_difficulty","params":[1e308]}\n');
    c.write('{"id":6,"method":"mining.authorize","params":["💥\\u0000\\ud800","x"]}\r\n');
    c.write('\0\0\0\r\n\r\n{"id":7,"method":"mining.extranonce.subscribe","params":[]}\n');
    expect((await c.reply('i'.repeat(4000))).error?.[0]).toBe(20);
    expect((await c.reply(5)).error).toBeNull();
    expect((await c.reply(6)).result).toBe(true);
    expect((await c.reply(7)).result).toBe(true);
    expect(c.closed).toBe(false);
    expect(({} as Record<string, unknown>)['method']).toBeUndefined();
    expect(proxy.snapshot().malformedLines).toBeGreaterThanOrEqual(2);
  });
});
