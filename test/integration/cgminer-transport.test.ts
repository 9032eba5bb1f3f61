import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { schedulerSchema } from '../../src/config/schema.js';
import { PeerError, TimeoutError } from '../../src/errors.js';
import { AvalonDriver } from '../../src/fleet/avalon-driver.js';
import { CgminerClient, DeviceAccessDeniedError, DeviceRefusedError } from '../../src/fleet/cgminer-client.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { createLogger } from '../../src/observability/logger.js';
import { HttpBudgetSource } from '../../src/power/http-budget-source.js';
import { createFleetState } from '../../src/scheduler/fleet-state.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';

/**
 * The cgminer transport against a scripted device on 127.0.0.1:0: each
 * connection reads one JSON request, then plays a script of writes, pauses,
 * FIN, RST or silence. Replies are the real captures (test/fixtures/avalon)
 * or variants of them.
 */

const FIX = join(import.meta.dirname, '../fixtures/avalon');
const fixture = (p: string): string => readFileSync(join(FIX, p), 'utf8');
const minified = (p: string): string => JSON.stringify(JSON.parse(fixture(p)));

type Step = { write: string | Buffer } | { wait: number } | { end: true } | { reset: true } | { hang: true };
interface Req {
  command: string;
  parameter?: string;
}
type Script = (req: Req, n: number) => Step[];

interface Device {
  port: number;
  requests: Req[];
  /** Device-side connections still open. */
  open(): number;
  /** Resolves once the device side has no open connection. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function scripted(script: Script): Promise<Device> {
  const sockets = new Set<Socket>();
  const requests: Req[] = [];
  let waiters: Array<() => void> = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) {
        const w = waiters;
        waiters = [];
        for (const f of w) f();
      }
    });
    let buf = '';
    let started = false;
    socket.on('data', (chunk) => {
      if (started) return;
      buf += chunk.toString('utf8');
      let req: Req;
      try {
        req = JSON.parse(buf) as Req;
      } catch {
        return; // the request is not whole yet
      }
      started = true;
      requests.push(req);
      void play(socket, script(req, requests.length - 1));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    requests,
    open: () => sockets.size,
    idle: () => (sockets.size === 0 ? Promise.resolve() : new Promise((r) => waiters.push(r))),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function play(socket: Socket, steps: Step[]): Promise<void> {
  for (const step of steps) {
    if (socket.destroyed) return;
    if ('write' in step) {
      socket.write(step.write);
      // Let each write leave as its own segment.
      await sleep(1);
    } else if ('wait' in step) await sleep(step.wait);
    else if ('end' in step) socket.end();
    else if ('reset' in step) socket.resetAndDestroy();
    else return; // hang: keep the connection open, say nothing
  }
}

/** `text` cut into pieces of `size` characters, one write each. */
const pieces = (text: string | Buffer, size: number): Step[] => {
  const b = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const out: Step[] = [];
  for (let i = 0; i < b.length; i += size) out.push({ write: b.subarray(i, i + size) });
  return out;
};

const devices: Device[] = [];
const clients: Array<{ close(): void }> = [];
async function setup(script: Script, opts: Partial<ConstructorParameters<typeof CgminerClient>[0]> = {}): Promise<{ dev: Device; client: CgminerClient; driver: AvalonDriver }> {
  const dev = await scripted(script);
  devices.push(dev);
  const o = { host: '127.0.0.1', port: dev.port, replyTimeoutMs: 1000, connectTimeoutMs: 1000, settleMs: 50, readRetries: 0, retryBaseMs: 5, retryMaxMs: 10, ...opts };
  const client = new CgminerClient(o);
  const driver = new AvalonDriver(o);
  clients.push(client, driver);
  return { dev, client, driver };
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const d of devices.splice(0)) await d.close();
});

const SOFTOFF = fixture('avalon-q-25052801/ascset_softoff.json');
const ESTATS = fixture('a1566-24102401/estats.json');

describe('framing over TCP', () => {
  it('a reply split at every third point into two segments reads the same', async () => {
    const text = `${minified('avalon-q-25052801/ascset_softoff.json')}\0`;
    const STEP = 3;
    const { client } = await setup((_req, n) => [{ write: text.slice(0, n * STEP) }, { wait: 2 }, { write: text.slice(n * STEP) }]);
    const want = JSON.parse(SOFTOFF) as unknown;
    for (let cut = 0; cut < text.length; cut += STEP) {
      const a = await client.request('ascset', '0,softoff,1:1753434821');
      expect(a.reply?.body, `cut at ${cut}`).toEqual(want);
    }
  });

  it('a 9 KB estats reply in 64-byte segments, then NUL', async () => {
    const { driver } = await setup(() => [...pieces(`${ESTATS}\0`, 64)]);
    expect(await driver.readStatus()).toMatchObject({ wallPowerW: 3731, state: 'working' });
  });

  it('the reply ends at the NUL: garbage after it, in the same or a later segment, is ignored', async () => {
    const { client, dev } = await setup((_r, n) =>
      n === 0 ? [{ write: `${SOFTOFF}\0garbage{"STATUS":[{"STATUS":"E"}]}` }, { hang: true }] : [{ write: `${SOFTOFF}\0` }, { wait: 20 }, { write: 'more garbage' }, { hang: true }],
    );
    for (let i = 0; i < 2; i++) {
      const a = await client.request('ascset', '0,softoff,1:1');
      expect(a.status).toMatchObject({ status: 'I', code: 118 });
    }
    await dev.idle(); // the client closed both connections although the device never did
  });

  it('closed (FIN) without a terminator: the bytes before the close are the reply', async () => {
    const { driver } = await setup(() => [...pieces(ESTATS, 1500), { end: true }]);
    expect((await driver.readStatus()).wallPowerW).toBe(3731);
  });

  it('reset (RST) right after a whole reply without NUL: the reply counts', async () => {
    const { client } = await setup(() => [{ write: SOFTOFF }, { wait: 5 }, { reset: true }]);
    expect((await client.request('ascset', '0,softoff,1:1')).status?.code).toBe(118);
  });

  it('no NUL and the connection left open: taken once it stops growing (settleMs), long before the reply timeout', async () => {
    const { client, dev } = await setup(() => [...pieces(SOFTOFF, 40), { hang: true }], { replyTimeoutMs: 5000, settleMs: 50 });
    const t0 = performance.now();
    expect((await client.request('ascset', '0,softoff,1:1')).status?.code).toBe(118);
    expect(performance.now() - t0).toBeLessThan(2500);
    await dev.idle();
  });

  it('several objects concatenated `}{`: the one with STATUS is the reply', async () => {
    const { client } = await setup(() => [{ write: `{"id":1}${minified('avalon-q-25052801/ascset_workmode.json')}{"x":1}\0` }]);
    expect((await client.request('ascset', '0,workmode,set,1')).status).toMatchObject({ status: 'S', code: 119 });
  });

  it('a joined-command shape for a single command is unwrapped', async () => {
    const inner = JSON.parse(ESTATS) as Record<string, unknown>;
    delete inner['id'];
    const { driver } = await setup(() => [{ write: `${JSON.stringify({ estats: [inner], id: 1 })}\0` }]);
    expect((await driver.readStatus()).wallPowerW).toBe(3731);
  });

  it('invalid JSON real firmware sends (bare nan/inf, }{ inside STATS, a raw newline), split into segments', async () => {
    const broken = minified('a1566-24102401/estats.json')
      .replace(/"Elapsed":975/, '"Elapsed":nan')
      .replace('},{"STATS":1', '}{"STATS":1')
      .replace('"CGMiner stats"', '"CGMiner\nstats"');
    const { driver } = await setup(() => [...pieces(`${broken}\0`, 333)]);
    expect(await driver.readStatus()).toMatchObject({ wallPowerW: 3731, workmode: 1, state: 'working' });
  });

  it('a truncated reply and a close: a PeerError naming what broke', async () => {
    const { client } = await setup(() => [{ write: ESTATS.slice(0, 500) }, { end: true }]);
    await expect(client.request('estats', undefined, { idempotent: true })).rejects.toThrow(/unreadable reply to "estats": (unterminated string|unexpected end of reply)/);
  });
});

describe('refusals and answers', () => {
  const status = (s: string, code: number, msg: string): string => `${JSON.stringify({ STATUS: [{ STATUS: s, When: 1, Code: code, Msg: msg, Description: 'cgminer 4.11.1' }], id: 1 })}\0`;

  it('Access denied on ascset: a DeviceAccessDeniedError telling the operator to set api-allow W:, not retried', async () => {
    const { driver, dev } = await setup(() => [{ write: status('E', 45, "Access denied to 'ascset' command") }]);
    const err = await driver.softOff(1753434821).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceAccessDeniedError);
    expect(err).toBeInstanceOf(PeerError);
    expect((err as Error).message).toMatch(/access denied .*api-allow W:/);
    expect(dev.requests).toHaveLength(1);
  });

  it('Access denied on estats: no fallback to stats (it would be denied alike)', async () => {
    const { driver, dev } = await setup(() => [{ write: status('E', 45, "Access denied to 'estats' command") }]);
    await expect(driver.readStatus()).rejects.toBeInstanceOf(DeviceAccessDeniedError);
    expect(dev.requests.map((r) => r.command)).toEqual(['estats']);
  });

  it('a host outside api-allow: the read is closed without a word, and the error says where to look', async () => {
    const { driver } = await setup(() => [{ end: true }]);
    await expect(driver.readStatus()).rejects.toThrow(/closed the connection without replying to "estats" \(.*api-allow/);
  });

  it('Invalid command for estats (older firmware): falls back to stats', async () => {
    const { driver, dev } = await setup((req) => (req.command === 'estats' ? [{ write: status('E', 14, 'Invalid command') }] : [{ write: `${fixture('a1246-21072802/stats.json')}\0` }]));
    expect(await driver.readStatus()).toMatchObject({ wallPowerW: 3504, state: 'working' });
    expect(dev.requests.map((r) => r.command)).toEqual(['estats', 'stats']);
  });

  it('STATUS W is a refusal carrying its message', async () => {
    const { client } = await setup(() => [{ write: status('W', 70, 'No ASCs') }]);
    const err = await client.request('estats').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceRefusedError);
    expect((err as Error).message).toMatch(/refused: STATUS W\/70 "No ASCs"/);
  });

  const setReplies: Array<[string, string, RegExp | undefined]> = [
    ['I/118 "set info: softoff:<t>" (success without the word)', status('I', 118, 'ASC 0 set info: softoff:1753434821'), undefined],
    ['I/118 "set info: success softoff:<t>" (the Q)', status('I', 118, 'ASC 0 set info: success softoff:1753434821'), undefined],
    ['S/119 "set OK" (the A1466)', status('S', 119, 'ASC 0 set OK'), undefined],
    ['I/118 "set info: Unknown option: softoff"', status('I', 118, 'ASC 0 set info: Unknown option: softoff'), /softoff refused: STATUS I\/118 .*the text is an error/],
    ['I/118 with the help list', status('I', 118, 'ASC 0 set info: help|voltage|fan-spd|time|'), /does not know "softoff"/],
    ['E/120 "set failed"', status('E', 120, 'ASC 0 set failed: Invalid parameter'), /refused: STATUS E\/120 "ASC 0 set failed: Invalid parameter"/],
  ];
  for (const [name, reply, error] of setReplies) {
    it(`softoff answered ${name}`, async () => {
      const { driver } = await setup(() => [{ write: reply }]);
      const p = driver.softOff(1753434821);
      if (error) await expect(p).rejects.toThrow(error);
      else await expect(p).resolves.toBeUndefined();
    });
  }
});

describe('dead and hostile devices: bounded time, clear errors, no leaked sockets', () => {
  it('accepts and never answers: TimeoutError at the reply timeout, the connection closed', async () => {
    const { client, dev } = await setup(() => [{ hang: true }], { replyTimeoutMs: 200 });
    const t0 = performance.now();
    const err = await client.request('estats', undefined, { idempotent: true }).catch((e: unknown) => e);
    const ms = performance.now() - t0;
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe(`127.0.0.1:${dev.port}: no reply to "estats" within 200 ms`);
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(2000);
    await dev.idle();
  });

  // A listener that never accepts, its accept queue taken (backlog 1 holds two on Linux; Node reads
  // a backlog of 0 as its default of 511): Linux drops the next SYN, so
  // connect() hangs as for a miner that is powered but wedged. The listener is a child Node process
  // that stops itself (SIGSTOP) in the same tick as it starts listening, so it never accepts.
  it('a listener that never accepts: TimeoutError at the connect timeout, not at the reply timeout', async () => {
    const code =
      "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{process.stdout.write(s.address().port+'\\n');process.kill(process.pid,'SIGSTOP')})";
    const wedged = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((r) => wedged.stdout!.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
      const fillers = [0, 1].map(() => connect({ host: '127.0.0.1', port }).on('error', () => undefined));
      await Promise.all(fillers.map((f) => new Promise((r) => f.once('connect', r))));
      const client = new CgminerClient({ host: '127.0.0.1', port, connectTimeoutMs: 200, replyTimeoutMs: 10_000, readRetries: 0 });
      clients.push(client);
      const t0 = performance.now();
      const err = await client.request('estats', undefined, { idempotent: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as Error).message).toBe(`127.0.0.1:${port}: connect timed out after 200 ms`);
      expect(performance.now() - t0).toBeLessThan(2000);
      for (const f of fillers) f.destroy();
    } finally {
      wedged.kill('SIGKILL'); // a stopped process only ends on SIGKILL
    }
  });

  it('trickles a byte every 20 ms forever: the reply timeout is not reset by data', async () => {
    const { client, dev } = await setup(() => Array.from({ length: 200 }, () => [{ write: ' ' }, { wait: 20 }] as Step[]).flat(), { replyTimeoutMs: 250, settleMs: 1000 });
    const t0 = performance.now();
    await expect(client.request('estats')).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - t0).toBeLessThan(2000);
    await dev.idle();
  });

  it('answers half a reply and goes silent: TimeoutError, not a half-parsed reply', async () => {
    const { client, dev } = await setup(() => [{ write: ESTATS.slice(0, 2000) }, { hang: true }], { replyTimeoutMs: 300 });
    await expect(client.request('estats')).rejects.toBeInstanceOf(TimeoutError);
    await dev.idle();
  });

  it('connection refused: a PeerError at once; reads retry a bounded number of times', async () => {
    const dev = await scripted(() => []);
    const port = dev.port;
    await dev.close();
    const client = new CgminerClient({ host: '127.0.0.1', port, readRetries: 2, retryBaseMs: 5, retryMaxMs: 10 });
    clients.push(client);
    await expect(client.request('ascset', '0,softoff,1:1')).rejects.toThrow(`127.0.0.1:${port}: connection refused`);
    await expect(client.request('estats', undefined, { idempotent: true })).rejects.toThrow(`127.0.0.1:${port}: connection refused`);
    // The bound on retries, counted where the device sees them: a read that meets a reset is tried 1 + readRetries times.
    const resets = await scripted(() => [{ reset: true }]);
    const c2 = new CgminerClient({ host: '127.0.0.1', port: resets.port, readRetries: 2, retryBaseMs: 5, retryMaxMs: 10 });
    clients.push(c2);
    await expect(c2.request('estats', undefined, { idempotent: true })).rejects.toBeInstanceOf(PeerError);
    expect(resets.requests).toHaveLength(3);
    await resets.close();
  });

  it('a reset before any byte on a write is "closed without replying", not success', async () => {
    const { driver } = await setup(() => [{ reset: true }]);
    await expect(driver.softOff(1)).rejects.toThrow(/closed the connection without replying to "ascset"/);
  });

  it('many commands against a device that hangs every other time: every socket is closed afterwards', async () => {
    const { client, dev } = await setup((_r, n) => (n % 2 === 0 ? [{ hang: true }] : [{ write: `${SOFTOFF}\0` }, { hang: true }]), { replyTimeoutMs: 80 });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => client.request('ascset', '0,softoff,1:1')));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    await dev.idle();
    expect(dev.open()).toBe(0);
  });

  it('close() while a command hangs: it fails at once and the socket is freed', async () => {
    const { client, dev } = await setup(() => [{ hang: true }], { replyTimeoutMs: 10_000 });
    const p = client.request('estats').catch((e: unknown) => e);
    await sleep(30);
    client.close();
    expect(await p).toBeInstanceOf(PeerError);
    await dev.idle();
  });
});

describe('device identity and restarts over TCP', () => {
  it('identify(): the Q capture maps to the avalon-q profile', async () => {
    const { driver } = await setup(() => [{ write: `${fixture('avalon-q-25052801/version.json')}\0` }]);
    expect(await driver.identify()).toMatchObject({ source: 'version', identity: { product: 'Avalon Q', model: 'Q' }, match: { profile: 'avalon-q', exact: true } });
  });

  it('identify(): an unknown model is the generic profile with a warning, not a crash', async () => {
    const reply = JSON.stringify({ STATUS: [{ STATUS: 'S', Code: 22, Msg: 'CGMiner versions' }], VERSION: [{ CGMiner: '4.11.1', PROD: 'Avalon Z9', MODEL: 'Z9' }], id: 1 });
    const { driver } = await setup(() => [{ write: `${reply}\0` }]);
    const id = await driver.identify();
    expect(id.match).toMatchObject({ profile: 'generic', exact: false });
    expect(id.match.warning).toMatch(/unknown miner model \(PROD "Avalon Z9", MODEL "Z9"\)/);
  });

  it('identify(): version refused, so the Ver[...] of the state string names the model', async () => {
    const { driver } = await setup((req) =>
      req.command === 'version' ? [{ write: `${JSON.stringify({ STATUS: [{ STATUS: 'E', Code: 14, Msg: 'Invalid command' }] })}\0` }] : [{ write: `${fixture('a1246-21072802/stats.json')}\0` }],
    );
    expect(await driver.identify()).toMatchObject({ source: 'stats', identity: { model: '1246-83' }, match: { profile: 'avalon-a1246' } });
  });

  it('readStatus(): Elapsed going back is reported once as a restart', async () => {
    const at = (elapsed: number): string => `${minified('a1566-24102401/estats.json').replace(/"Elapsed":975/, `"Elapsed":${elapsed}`)}\0`;
    const seq = [975, 1000, 12, 40];
    const { driver } = await setup((_r, n) => [{ write: at(seq[n]!) }]);
    const got = [];
    for (let i = 0; i < seq.length; i++) got.push(await driver.readStatus());
    expect(got.map((s) => s.restarted ?? false)).toEqual([false, false, true, false]);
    expect(got[2]!.notes).toEqual(['device restarted: uptime 12 s after 1000 s at the previous read']);
  });
});

describe('the scheduler over scripted devices of other models', () => {
  it('warns once about a device of another model, an unknown model and a report without wall power', async () => {
    const ok = `${JSON.stringify({ STATUS: [{ STATUS: 'S', When: 1, Code: 119, Msg: 'ASC 0 set OK' }], id: 1 })}\0`;
    const nanoStats = `${JSON.stringify({
      STATUS: [{ STATUS: 'S', When: 1, Code: 70, Msg: 'CGMiner stats' }],
      STATS: [{ STATS: 0, ID: 'AVANANO0', Elapsed: 100, 'MM ID0': 'Ver[Z9-24071801_42c628d] SYSTEMSTATU[Work: In Work, Hash Board: 1] PS[0 0 0 3 2792 89 324] GHSspd[4000] SoftOFF[0] WORKLEVEL[1]' }],
      id: 1,
    })}\0`;
    const z9 = `${JSON.stringify({ STATUS: [{ STATUS: 'S', Code: 22 }], VERSION: [{ PROD: 'Avalon Z9', MODEL: 'Z9' }], id: 1 })}\0`;
    const q = await scripted((req) => [{ write: req.command === 'version' ? `${fixture('avalon-q-25052801/version.json')}\0` : req.command === 'ascset' ? ok : `${fixture('avalon-q-25052801/stats.json')}\0` }]);
    const nano = await scripted((req) => [{ write: req.command === 'version' ? z9 : req.command === 'ascset' ? ok : nanoStats }]);
    devices.push(q, nano);
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const budget = new HttpBudgetSource(3600, 100, systemClock);
    const miners = [
      { id: 'q', worker: 'site.q', model: 'avalon-a1566ha', priority: 0, api: `127.0.0.1:${q.port}` },
      { id: 'nano', worker: 'site.nano', model: 'generic', priority: 0, api: `127.0.0.1:${nano.port}` },
    ];
    const scheduler = new Scheduler({
      clock: systemClock,
      logger: createLogger({ destination: sink, level: 'debug' }),
      settings: schedulerSchema.parse({ minOnS: 0, minOffS: 0, commandStaggerMs: 0, tickS: 3600 }),
      fleet: createFleetState({ models: BUILTIN_MODELS, miners }),
      budget,
      guard: { holdLastS: 60, failsafeKw: 0 },
      drivers: (u) => AvalonDriver.fromAddress(u.api!, { replyTimeoutMs: 5000, readRetries: 0 }),
      lever: { withhold: () => undefined, release: () => undefined, expectHashrate: () => undefined, isConnected: () => true },
    });
    await scheduler.start();
    try {
      budget.put({ kw: 100 });
      for (let i = 0; i < 3; i++) await scheduler.pollStatus();
      const deadline = Date.now() + 5000;
      const msgs = (): unknown[] => lines.map((l) => l['msg']);
      while (Date.now() < deadline && !(msgs().includes('device model not recognised') && msgs().some((m) => String(m).includes('identifies as')))) await sleep(20);
      const other = lines.filter((l) => String(l['msg']).includes('identifies as'));
      expect(other).toHaveLength(1);
      expect(other[0]).toMatchObject({ unit: 'q', model: 'avalon-a1566ha', profile: 'avalon-q' });
      const unknown = lines.filter((l) => l['msg'] === 'device model not recognised');
      expect(unknown).toHaveLength(1);
      expect(unknown[0]).toMatchObject({ unit: 'nano', warning: expect.stringMatching(/unknown miner model \(PROD "Avalon Z9"/) });
      // Three polls, one warning: the standing condition is logged once.
      const incomplete = lines.filter((l) => l['msg'] === 'device report incomplete');
      expect(incomplete).toHaveLength(1);
      expect(incomplete[0]).toMatchObject({ unit: 'nano', note: expect.stringMatching(/PS\[6\]=324 .*nominal draw/) });
      // Counted at its nominal draw: no measured figure for the nano.
      const snap = scheduler.snapshot().units.find((u) => u.id === 'nano')!;
      expect(snap.measured).toBeUndefined();
      expect(q.requests.filter((r) => r.command === 'version')).toHaveLength(1);
    } finally {
      await scheduler.stop();
    }
  });
});
