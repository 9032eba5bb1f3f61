/**
 * Issue 11, item 10: when surplus tells a miner `client.reconnect` and closes
 * (its extranonce changed and it did not subscribe to extranonce changes),
 * the requests it had already sent are answered before the close: a submit
 * being hashed, and the lines queued behind it. Before, they were dropped.
 * The hash step is the real worker pool, held at a gate so the submit is
 * provably in flight when the reconnect happens.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHashPool } from '../../src/shares/hashing/hash-pool.js';
import type { HashRequest, HashResult, ShareHasher } from '../../src/shares/types.js';
import { Proxy, startPools, testConfig, waitFor } from './proxy-harness.js';
import { RawClient } from './proxy-raw-client.js';

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

/** The real hash pool, with results held until `open()`. */
class GatedHasher implements ShareHasher {
  private readonly inner = createHashPool({ threads: 1 });
  private held: Array<() => void> = [];
  private isOpen = false;
  waiting = 0;
  get queueDepth(): number {
    return this.inner.queueDepth;
  }
  async hash(req: HashRequest): Promise<HashResult> {
    const r = await this.inner.hash(req);
    if (!this.isOpen) {
      this.waiting++;
      await new Promise<void>((res) => this.held.push(res));
    }
    return r;
  }
  open(): void {
    this.isOpen = true;
    for (const f of this.held.splice(0)) f();
  }
  close(): Promise<void> {
    this.open();
    return this.inner.close();
  }
}

describe('planned close (issue 11 item 10)', () => {
  it('answers the submit being hashed and the requests queued behind it before closing after client.reconnect', async () => {
    const [pool] = await startPools(1);
    // The backup has 7 bytes of extranonce2 (8 on the first): a failover shortens the miners'
    // prefix, so a miner without extranonce.subscribe is sent client.reconnect and closed.
    const [backup] = await startPools(1, { extranonce2Size: 7 });
    cleanup.push(() => pool!.stop(), () => backup!.stop());
    const hasher = new GatedHasher();
    cleanup.push(() => hasher.close());
    const proxy = new Proxy(testConfig([pool!, backup!]), { hasher });
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const c = await RawClient.open(port);
    cleanup.push(() => c.close());
    await c.call(1, 'mining.subscribe', ['cgminer/4.11.1']);
    await c.call(2, 'mining.authorize', ['rig.1', 'x']);
    const [job] = await c.waitFor('mining.notify');
    const p = job!.params!;
    // One write: the submit (held at the hash gate) and three requests read with it, queued behind it.
    c.write(
      [
        JSON.stringify({ id: 10, method: 'mining.submit', params: ['rig.1', p[0], '00000000', p[7], '00000000'] }),
        JSON.stringify({ id: 11, method: 'mining.suggest_difficulty', params: [1] }),
        JSON.stringify({ id: { big: 123456789012345678901234567890 }, method: 'mining.get_transactions', params: [] }).replace('1.2345678901234568e+29', '123456789012345678901234567890'),
        JSON.stringify({ id: 13, method: 'mining.authorize', params: ['rig.2', 'x'] }),
      ].join('\n') + '\n',
    );
    await waitFor(() => hasher.waiting === 1, 10_000, 'the submit at the hash gate');
    await pool!.stop();
    await waitFor(() => c.notifications('client.reconnect').length === 1, 10_000, 'client.reconnect');
    expect(c.closed).toBe(false);
    hasher.open();
    await waitFor(() => c.closed, 10_000, 'the close');
    const answered = c.messages.filter((m) => m.method === undefined).map((m) => m.id);
    expect(answered).toEqual([1, 2, 10, 11, { big: 123456789012345678901234567890 }, 13]);
    // Nothing new was started on a connection told to go: no job after the reconnect.
    const after = c.messages.slice(c.messages.findIndex((m) => m.method === 'client.reconnect'));
    expect(after.filter((m) => m.method === 'mining.notify')).toEqual([]);
  });
});

describe('any JSON id, over loopback (issue 11 item 10)', () => {
  it('answers ids that are objects, arrays, booleans and big integers, echoing their text exactly', async () => {
    const [pool] = await startPools(1);
    cleanup.push(() => pool!.stop());
    const proxy = new Proxy(testConfig([pool!]));
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const sock = connect({ host: '127.0.0.1', port });
    cleanup.push(() => sock.destroy());
    await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
    let text = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (text += d));
    const ids = ['123456789012345678901234567890', '-1.50', '1e3', 'true', 'false', '{"a":[1,2]}', '[3,"x"]', '[]', '{}', '"s"', '0'];
    // Before any handshake, and with methods that answer and methods that refuse.
    sock.write(ids.map((id, i) => `{"id":${id},"method":"${i % 2 ? 'mining.subscribe' : 'mining.no_such'}","params":[]}`).join('\n') + '\n');
    await waitFor(() => text.split('\n').length > ids.length, 10_000, 'every answer');
    const got = text.trim().split('\n').map((l) => /^\{"id":(.*?),"result"/.exec(l)?.[1]);
    expect(got).toEqual(ids);
  });
});
