/**
 * Issue 11, item 8: 20 KB of bad lines made 2.2 MB of warnings. Over real
 * loopback sockets, one address sends 20 KB of malformed lines over many
 * connections (each closed after limits.maxMalformedLines strikes); the log,
 * read back as NDJSON, is smaller than the input, and what was held back is
 * reported as a count once the window has passed.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { resolveConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { Proxy } from '../../src/proxy.js';
import { answerLikeCkpool, ScriptedPool } from '../support/scripted-pool.js';
import { RawClient } from './proxy-raw-client.js';
import { waitFor } from './proxy-harness.js';

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

const BAD = ['{"id":1,"method":"mining.subscribe","params":{"a":1}}', 'not json at all, just noise....', '[1,2,3,4,5,6,7,8,9,10,11,12,13]', '{"id":2}', `{"id":3,"method":"${'m'.repeat(200)}"`];

describe('log amplification (issue 11 item 8)', () => {
  it('20 KB of bad lines from one address make less log than input, and the held-back count is reported', async () => {
    const pool = await ScriptedPool.start((req, conn) => answerLikeCkpool(req, conn));
    cleanup.push(() => pool.stop());
    const chunks: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => void (chunks.push(String(c)), cb()) }) });
    const clock = new ManualClock(Date.now());
    const proxy = new Proxy(resolveConfig({ listen: '127.0.0.1:0', pools: [{ url: pool.url, user: 'farm' }], shares: { hashThreads: 1 } }), { logger, clock });
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const records = (): Array<Record<string, unknown>> => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const logBytes = (): number => chunks.reduce((n, c) => n + c.length, 0);
    const before = logBytes();
    let sent = 0;
    let i = 0;
    while (sent < 20_000) {
      const c = await RawClient.open(port);
      cleanup.push(() => c.close());
      // limits.maxMalformedLines (5) strikes, then the proxy closes the connection.
      const lines = Array.from({ length: 5 }, () => BAD[i++ % BAD.length]!).join('\n') + '\n';
      c.write(lines);
      sent += lines.length;
      await waitFor(() => c.closed, 10_000, 'close after the strikes');
    }
    const malformed = records().filter((r) => r['msg'] === 'malformed line from miner');
    expect(malformed.length).toBeGreaterThan(0);
    expect(logBytes() - before).toBeLessThan(sent);
    // The window passes: the next bad line from that address brings the count of what was held back.
    clock.advance(61_000);
    const last = await RawClient.open(port);
    cleanup.push(() => last.close());
    last.write(BAD[1] + '\n');
    await waitFor(() => records().some((r) => typeof r['suppressed'] === 'number'), 10_000, 'a suppressed count');
    const reported = records().reduce((n, r) => n + (typeof r['suppressed'] === 'number' ? (r['suppressed'] as number) : 0), 0);
    // Every bad line is either logged or counted: i lines in the loop, and the last one.
    const logged = records().filter((r) => r['msg'] === 'malformed line from miner').length;
    expect(logged + reported).toBe(i + 1);
  });
});
