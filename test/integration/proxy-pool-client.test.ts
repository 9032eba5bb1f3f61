import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { silentLogger } from '../../src/observability/logger.js';
import { PeerError, TimeoutError } from '../../src/errors.js';
import { PoolClient, type PoolClientEvents } from '../../src/upstream/pool-client.js';
import { SimPool } from '../../src/demo/sim-pool.js';
import { SIM_PAYOUT_SCRIPT } from '../../src/demo/sim-jobs.js';

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

type Handler = (req: { id: number; method: string; params: unknown[] }, reply: (obj: unknown) => void, sock: Socket) => void;

/** A pool that answers by script, to drive the client into corners. */
async function scriptedPool(handler: Handler): Promise<string> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        handler(JSON.parse(line), (obj) => sock.write(JSON.stringify(obj) + '\n'), sock);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return `stratum+tcp://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Waits for a condition on real time; the deadline only bounds a hang (a loaded CI machine can stall for a second). */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const NOTIFY = ['j1', 'a'.repeat(64), '01000000', 'ffffffff', [], '20000000', '1d00ffff', '5f5e1000', true];

function client(url: string, extra: Partial<ConstructorParameters<typeof PoolClient>[0]> = {}): PoolClient {
  const c = new PoolClient({
    url, user: 'farm', password: 'x', versionRollingMask: 0x1fffe000,
    // Generous: on a loaded machine a loopback answer can take a second. Tests of the timeouts set their own.
    handshakeTimeoutMs: 10_000, requestTimeoutMs: 10_000, silenceTimeoutMs: 30_000,
    maxLineBytes: 16384, maxWriteBufferBytes: 1 << 20, clock: systemClock, logger: silentLogger(), ...extra,
  });
  cleanup.push(() => c.close('test over'));
  return c;
}

function events(): PoolClientEvents & { jobs: string[]; closes: string[] } {
  const jobs: string[] = [];
  const closes: string[] = [];
  return { jobs, closes, onJob: (j) => void jobs.push(j.jobId), onDifficulty: () => undefined, onExtranonce: () => undefined, onVersionMask: () => undefined, onClose: (r) => void closes.push(r) };
}

const standard: Handler = (req, reply) => {
  if (req.method === 'mining.configure') reply({ id: req.id, result: { 'version-rolling': true, 'version-rolling.mask': '00ffe000' }, error: null });
  else if (req.method === 'mining.subscribe') reply({ id: req.id, result: [[], 'cafe0001', 8], error: null });
  else if (req.method === 'mining.authorize') {
    // A job before the authorize answer: held back by the gate, kept as the session's job.
    reply({ id: null, method: 'mining.notify', params: NOTIFY });
    reply({ id: req.id, result: true, error: null });
  } else if (req.method === 'mining.submit') {
    if ((req.params[4] as string) === 'deadbeef') reply({ id: req.id, result: null, error: [23, 'Low difficulty share', null] });
    else if ((req.params[4] as string) === '00000001') reply({ id: req.id, result: true, error: null });
    // any other nonce: never answered
  } else reply({ id: req.id, result: true, error: null });
};

describe('PoolClient', () => {
  it('passes the handshake gate, then submits with answers, errors and timeouts', async () => {
    const c = client(await scriptedPool(standard), { requestTimeoutMs: 300 });
    const ev = events();
    const s = await c.open(ev);
    expect(s).toMatchObject({ extranonce1: 'cafe0001', extranonce2Size: 8, versionMask: 0x00ffe000 });
    expect(s.job?.jobId).toBe('j1');
    expect(ev.jobs).toEqual([]); // the early job was not emitted before the gate
    // The request timeout runs on fake time: the answered submits cannot time out however slow the
    // machine is, and the unanswered one times out exactly when 300 ms have passed, not before.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      expect(await c.submit(['farm', 'j1', '00'.repeat(8), '5f5e1000', '00000001'])).toEqual({ accepted: true, error: null });
      expect(await c.submit(['farm', 'j1', '00'.repeat(8), '5f5e1000', 'deadbeef'])).toEqual({ accepted: false, error: { code: 23, message: 'Low difficulty share' } });
      const never = c.submit(['farm', 'j1', '00'.repeat(8), '5f5e1000', '00000002']);
      const outcome = never.then(() => 'answered', (e: unknown) => e);
      await vi.advanceTimersByTimeAsync(299);
      expect(c.pendingCount).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(await outcome).toBeInstanceOf(TimeoutError);
    } finally {
      vi.useRealTimers();
    }
    expect(c.pendingCount).toBe(0);
  });

  it('rejects the open when the pool refuses authorize, naming the user', async () => {
    const url = await scriptedPool((req, reply) => {
      if (req.method === 'mining.authorize') reply({ id: req.id, result: false, error: [24, 'unknown user', null] });
      else standard(req, reply, undefined as unknown as Socket);
    });
    await expect(client(url).open(events())).rejects.toThrow(/refused mining.authorize for farm: unknown user/);
  });

  it('times out a handshake the pool never answers', async () => {
    const url = await scriptedPool(() => undefined);
    await expect(client(url, { handshakeTimeoutMs: 200 }).open(events())).rejects.toThrow(/did not finish the handshake within 200 ms/);
  });

  it('fails pending requests when the pool closes', async () => {
    let victim: Socket | undefined;
    const url = await scriptedPool((req, reply, sock) => {
      if (req.method === 'mining.submit') victim = sock;
      else standard(req, reply, sock);
    });
    const c = client(url);
    const ev = events();
    await c.open(ev);
    const p = c.submit(['farm', 'j1', '00'.repeat(8), '5f5e1000', '00000009']);
    await until(() => victim !== undefined, 'the submit at the pool');
    victim!.destroy();
    await expect(p).rejects.toBeInstanceOf(PeerError);
    await until(() => ev.closes.length > 0, 'the close event');
    await new Promise((r) => setTimeout(r, 20)); // a second close event would show up now
    expect(ev.closes.length).toBe(1);
  });

  it('drops a pool whose coinbase does not pay the expected script (payout guard)', async () => {
    const pool = new SimPool({ payoutScript: '0014' + '11'.repeat(20) });
    await pool.start();
    cleanup.push(() => pool.stop());
    const c = client(pool.url, { expectedPayoutScript: SIM_PAYOUT_SCRIPT });
    // The first job arrives right after authorize: the guard closes the connection during or just after the gate.
    const ev = events();
    const outcome = await c.open(ev).then(
      async () => {
        // Opened: the guard must still close it when it sees the job (waited for, not assumed within 100 ms).
        await until(() => ev.closes.length > 0, 'the payout guard to close the connection', 5000).catch(() => undefined);
        return ev.closes[0] ?? 'still open';
      },
      (e: Error) => e.message,
    );
    expect(outcome).toMatch(/payout guard|closed during the handshake|closed before answering/);
    expect(c.isReady).toBe(false);
    const ok = client(pool.url, { expectedPayoutScript: '0014' + '11'.repeat(20) });
    await ok.open(events());
    await new Promise((r) => setTimeout(r, 100));
    expect(ok.isReady).toBe(true);
  });
});
