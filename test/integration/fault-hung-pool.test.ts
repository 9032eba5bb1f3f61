/**
 * A hung pool (issue 11 item 3): the pool's process is stopped (SIGSTOP; the
 * kernel keeps its TCP connections open and nothing is answered). surplus
 * must leave it within upstream.hungAfterS of the first unanswered share,
 * not at the 120 s silence timeout; every block candidate sent to it is
 * logged for submission by hand and counted; every share it owed is counted
 * lost and said so. Also: submit timeouts and refused connections are
 * logged with their cause, rate-limited, and shown per pool.
 *
 * The stopped pool is a SimPool from dist/ in a child process (npm test
 * builds first; the test is skipped without dist/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { fakeTime, type FakeTime } from '../support/manual-time.js';
import { proxyStatusView } from '../../src/site.js';
import { MINER_DIFF, Proxy, SimMiner, SimPool, startMiners, testConfig } from './proxy-harness.js';
import { expectBalanced } from './fault-accounting.js';
import { captureLog } from '../support/log-capture.js';

const SIM_POOL = fileURLToPath(new URL('../../dist/demo/sim-pool.js', import.meta.url));
/** Regtest's compact target: every share is a block candidate. */
const EASY_NBITS = '207fffff';

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

const capture = (): ReturnType<typeof captureLog> => captureLog('info');

/** A SimPool in its own process, so that the process can be stopped. */
async function childPool(): Promise<{ child: ChildProcess; url: string }> {
  const code = `import { SimPool } from ${JSON.stringify(pathToFileURL(SIM_POOL).href)};
const p = new SimPool({ difficulty: ${MINER_DIFF}, nbits: '${EASY_NBITS}' });
process.stdout.write((await p.start()) + '\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup.push(() => child.kill('SIGKILL')); // a stopped process only ends on SIGKILL
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (c) => reject(new Error(`pool child exited (${c})`)));
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return { child, url: `stratum+tcp://127.0.0.1:${port}` };
}

const sha256d = (b: Buffer): Buffer => createHash('sha256').update(createHash('sha256').update(b).digest()).digest();

describe.skipIf(!existsSync(SIM_POOL))('fault: a hung pool (process stopped)', () => {
  it('fails over within hungAfterS of the first unanswered share; no block candidate or share lost silently', async () => {
    const { child, url } = await childPool();
    const backup = new SimPool({ clock: time.clock, difficulty: MINER_DIFF, nbits: EASY_NBITS });
    await backup.start();
    cleanup.push(() => backup.stop());
    const { logger, lines } = capture();
    const hungAfterS = 2;
    const base = testConfig([backup], {
      // The silence watchdog is far off: only the hung-pool detector can explain a quick failover.
      upstream: { hungAfterS, requestTimeoutS: 10, silenceTimeoutS: 120, blockAckTimeoutS: 1, fallbackStableS: 600 },
    });
    const proxy = new Proxy({ ...base, pools: [{ ...base.pools[0]!, url, user: 'farm0' }, base.pools[0]!] }, { clock: time.clock, logger });
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const miners = await startMiners(port, 3, { clock: time.clock });
    cleanup.push(() => miners.forEach((m: SimMiner) => m.stop()));

    await waitFor(() => proxy.snapshot().shares.poolAccepted >= 3 && proxy.snapshot().blockCandidates.accepted >= 3, 15_000, 'block candidates accepted by the first pool');
    expect(proxy.snapshot().activePool).toBe(url);
    process.kill(child.pid!, 'SIGSTOP');
    const stoppedAt = Date.now();
    await waitFor(() => proxy.snapshot().activePool === backup.url, 15_000, 'failover away from the stopped pool');
    const failedOverAt = Date.now();
    // The first unanswered share was sent after the stop, so this bounds the wait from it.
    expect(failedOverAt - stoppedAt).toBeLessThan(15_000);
    const hung = lines.find((l) => l.msg.startsWith('pool hung'));
    expect(hung, 'hung pool logged').toBeDefined();
    expect(hung!.level).toBe(50);
    expect(hung!['waitedMs'] as number).toBeGreaterThanOrEqual(hungAfterS * 1000);
    // Checked every hungAfterS/10; the slack is for a loaded machine's late timers.
    expect(hung!['waitedMs'] as number).toBeLessThan(15_000);

    await waitFor(() => backup.stats.blocks >= 3, 15_000, 'block candidates on the backup');
    for (const m of miners) m.stop();
    await waitFor(() => {
      const s = proxy.snapshot();
      const b = s.blockCandidates;
      return s.minersConnected === 0 && s.shares.submitsAnswered === s.shares.submitsReceived && s.accounting.poolPending === 0 && b.submitted === b.accepted + b.rejected + b.unacknowledged;
    }, 15_000, 'every share and block candidate settled');

    const s = proxy.snapshot();
    const b = s.blockCandidates;
    // Block candidates: every one is accepted or logged for submission by hand; the stopped pool got some.
    expect(b.unacknowledged).toBeGreaterThanOrEqual(1);
    expect(b.submitted).toBe(b.accepted + b.rejected + b.unacknowledged);
    expect(s.shares.blocks).toBe(b.submitted);
    const byHand = lines.filter((l) => l.level === 50 && l.msg.includes('submit it by hand'));
    expect(byHand).toHaveLength(b.unacknowledged);
    for (const l of byHand) {
      expect(l['pool']).toBe(url);
      expect(Buffer.from(sha256d(Buffer.from(l['headerHex'] as string, 'hex'))).reverse().toString('hex')).toBe(l['hash']);
      expect(l['coinbaseHex'] as string).toContain((l['extranonce1'] as string) + (l['extranonce2'] as string));
      expect(Array.isArray(l['merkleBranches'])).toBe(true);
      expect((l['submitParams'] as unknown[])[1]).toBe(l['upstreamJobId']);
    }
    // Shares the stopped pool owed: counted lost, in the books, per pool, and in the log.
    const pool0 = s.pools[0]!;
    expect(s.shares.poolLost).toBeGreaterThanOrEqual(1);
    expect(pool0.sharesLost).toBe(s.shares.poolLost);
    // Every loss is logged: in flight at the close (with their number), or checked just after it (one line each, rate-limited).
    const lostLogs = lines.filter((l) => l.msg.includes('counted lost'));
    const lostLogged = lostLogs.reduce((n, l) => n + ((l['shares'] as number | undefined) ?? 1 + ((l['suppressed'] as number | undefined) ?? 0)), 0);
    expect(lostLogs.length).toBeGreaterThanOrEqual(1);
    expect(lostLogged).toBeLessThanOrEqual(s.shares.poolLost);
    expect(pool0.hungDetections).toBeGreaterThanOrEqual(1);
    expect(pool0.lastError).toMatch(/hung/);
    expect(pool0.lastErrorAtMs).toBeGreaterThanOrEqual(stoppedAt);
    // ... and the same per-pool fields reach /api/status.
    const view = proxyStatusView(proxy).overview();
    expect(view.pools[0]).toMatchObject({ hungDetections: pool0.hungDetections, sharesLost: pool0.sharesLost, lastError: pool0.lastError });
    expect(view.blockCandidates).toEqual(b);
    // (The stopped pool is in another process: its own counts are not cross-checked.)
    expectBalanced(s);
  }, 40_000);
});

describe('fault: pool errors are logged with their cause, rate-limited, and shown per pool', () => {
  it('a pool refusing connections: one warning with ECONNREFUSED per minute, every failure counted', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const deadPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const { logger, lines } = capture();
    const base = testConfig([], { pools: [{ url: `stratum+tcp://127.0.0.1:${deadPort}`, user: 'farm0' }], upstream: { backoffInitialMs: 20, backoffMaxMs: 50 } });
    const proxy = new Proxy(base, { clock: time.clock, logger });
    cleanup.push(() => proxy.close());
    await proxy.start();
    await waitFor(() => proxy.snapshot().pools[0]!.connectFailures >= 10, 10_000, 'ten refused attempts');
    const p = proxy.snapshot().pools[0]!;
    expect(p.lastError).toMatch(/ECONNREFUSED/);
    expect(p.lastErrorAtMs).not.toBeNull();
    const warned = lines.filter((l) => l.msg === 'upstream connection failed');
    expect(warned).toHaveLength(1);
    expect(warned[0]!['err']).toMatch(/ECONNREFUSED/);
    expect(proxyStatusView(proxy).overview().pools[0]).toMatchObject({ connectFailures: p.connectFailures, lastError: p.lastError });
  });

  it('a pool that stops answering shares: timeouts counted and shown per pool, warned once', async () => {
    const pool = new SimPool({ clock: time.clock, difficulty: MINER_DIFF });
    await pool.start();
    cleanup.push(() => pool.stop());
    const { logger, lines } = capture();
    // No hung-pool close here (hungAfterS far off): only the submit timeouts.
    const proxy = new Proxy(testConfig([pool], { upstream: { requestTimeoutS: 0.3, hungAfterS: 60 } }), { clock: time.clock, logger });
    cleanup.push(() => proxy.close());
    const { port } = await proxy.start();
    const miners = await startMiners(port, 2, { clock: time.clock });
    cleanup.push(() => miners.forEach((m) => m.stop()));
    await waitFor(() => pool.stats.accepted >= 1, 10_000, 'shares on the pool');
    pool.mute(true);
    await waitFor(() => proxy.snapshot().pools[0]!.submitTimeouts >= 3, 15_000, 'three submit timeouts');
    await time.pass(100);
    const p = proxy.snapshot().pools[0]!;
    expect(p.submitTimeouts).toBe(proxy.snapshot().shares.poolTimedOut);
    expect(p.lastError).toMatch(/did not answer mining\.submit within 300 ms/);
    expect(lines.filter((l) => l.msg.startsWith('pool did not answer a share'))).toHaveLength(1);
  });
});
