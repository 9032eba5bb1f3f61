/**
 * Issue 13, item 5: Ctrl-C with a share in the hash pool printed
 * "ERROR: share hashing failed ... hash pool closed before the share was
 * hashed" after the demo's "done:". The shutdown order is now: stop reading
 * miner lines, let the submits being hashed be judged and answered, then close
 * the miners, the upstream and the hash pool.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { createHashPool } from '../../src/shares/hashing/hash-pool.js';
import type { HashRequest, HashResult, ShareHasher } from '../../src/shares/types.js';
import { Proxy, SimPool, startPools, testConfig, waitFor } from './proxy-harness.js';
import { RawClient } from './proxy-raw-client.js';

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

/** The real worker pool behind a gate: a share waits in hash() until the test opens it. */
class GatedHasher implements ShareHasher {
  readonly real = createHashPool({ threads: 1 });
  calls = 0;
  private open!: () => void;
  private readonly gate = new Promise<void>((r) => (this.open = r));
  get queueDepth(): number {
    return this.real.queueDepth;
  }
  async hash(req: HashRequest): Promise<HashResult> {
    this.calls++;
    await this.gate;
    return this.real.hash(req);
  }
  release(): void {
    this.open();
  }
  close(): Promise<void> {
    return this.real.close();
  }
}

describe('proxy shutdown', () => {
  it('answers a share that is being hashed when close() starts, reads no later line, and logs no error', async () => {
    const [pool] = (await startPools(1, { difficulty: 1 })) as [SimPool];
    cleanup.push(() => pool.stop());
    const logs = new PassThrough();
    const lines: Array<{ level: number; msg: string }> = [];
    logs.on('data', (b: Buffer) => {
      for (const l of b.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
    });
    const hasher = new GatedHasher();
    cleanup.push(() => hasher.close());
    const proxy = new Proxy(testConfig([pool], { difficulty: { initial: 1, min: 1, max: 1 } }), { hasher, logger: createLogger({ level: 'info', destination: logs }) });
    const { port } = await proxy.start();
    cleanup.push(() => proxy.close());

    const c = await RawClient.open(port);
    cleanup.push(() => c.close());
    const sub = await c.call(1, 'mining.subscribe', []);
    const en2 = '00'.repeat((sub.result as [unknown, string, number])[2]);
    await c.call(2, 'mining.authorize', ['rig-x', 'x']);
    const [notify] = await c.waitFor('mining.notify');
    c.send({ id: 3, method: 'mining.submit', params: ['rig-x', notify!.params![0], en2, notify!.params![7], '00000000'] });
    await waitFor(() => hasher.calls === 1, 10_000, 'the share to reach the hasher');

    const closing = proxy.close();
    // Sent after close() began: not read, so not answered (and not hashed).
    c.send({ id: 4, method: 'mining.submit', params: ['rig-x', notify!.params![0], en2, notify!.params![7], '00000001'] });
    hasher.release();
    await closing;
    await hasher.close();
    await waitFor(() => c.closed, 10_000, 'the miner to be closed');

    // Judged and answered before the connection closed: a real verdict (23 at difficulty 1), not "could not be checked".
    const answer = c.messages.find((m) => m.id === 3);
    expect(answer?.error?.[0]).toBe(23);
    expect(c.messages.find((m) => m.id === 4)).toBeUndefined();
    expect(hasher.calls).toBe(1);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });
});
