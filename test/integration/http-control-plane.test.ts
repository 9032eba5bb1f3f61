import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { resolveConfig } from '../../src/config/load.js';
import type { ConnectionLimits } from '../../src/operator/http-connections.js';
import type { HttpServerHandle, HttpServerOptions } from '../../src/operator/http-server.js';
import { silentLogger } from '../../src/observability/logger.js';
import { SimPool } from '../../src/demo/sim-pool.js';
import { Site } from '../../src/site.js';
import { FakeSite, startFakeSiteServer } from './http-fake-site.js';

// Issue 11, control plane: slow clients, timeouts that hold, a limiter that never refuses the right token.
// Linux loopback answers the whole 127/8, so 127.0.0.x as localAddress stands in for other hosts.

const TOKEN = 'tok-control-plane-9d1e';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

/** One request on its own connection from `localAddress`. */
function call(server: HttpServerHandle, localAddress: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: server.host, port: server.port, localAddress, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const putBudget = (server: HttpServerHandle, from: string, token: string, kw: number) =>
  call(server, from, 'PUT', '/api/budget', { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, JSON.stringify({ kw, ttlS: 60 }));

/** Opens a connection from `localAddress` that sends `first` and then nothing; resolves once connected (or refused). */
function slowClient(server: HttpServerHandle, localAddress: string, first = 'PUT /api/budget HTTP/1.1\r\nHost: x\r\n'): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect({ host: server.host, port: server.port, localAddress });
    s.on('error', () => undefined);
    s.once('connect', () => {
      s.write(first);
      resolve(s);
    });
    s.once('close', () => resolve(s));
  });
}

/** Resolves with what the server sent and how long after `from` the socket closed. */
function closed(s: Socket, from: number): Promise<{ ms: number; text: string }> {
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString('latin1')));
  return new Promise((resolve) => {
    if (s.destroyed) return resolve({ ms: performance.now() - from, text });
    s.once('close', () => resolve({ ms: performance.now() - from, text }));
  });
}

/** Waits for a condition on the server's own counters (no fixed sleep); the bound only stops a hang. */
async function until(ok: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error('timed out');
    await new Promise((r) => setImmediate(r));
  }
}

describe('operator HTTP control plane under hostile clients', () => {
  const open: Socket[] = [];
  let server: HttpServerHandle | undefined;
  let site: FakeSite;

  const start = async (limits: Partial<ConnectionLimits> = {}, extra: Partial<HttpServerOptions> = {}) => {
    site = new FakeSite(new ManualClock(0));
    server = await startFakeSiteServer(site, TOKEN, { limits, ...extra });
    return server;
  };

  afterEach(async () => {
    for (const s of open.splice(0)) s.destroy();
    await server?.close();
    server = undefined;
  });

  it('an authorized PUT from 127.0.0.1 succeeds while 300 slow connections from 127.0.0.2 hang', async () => {
    const srv = await start(); // the defaults: 256 in all, 16 per address, 10 s headers
    for (let i = 0; i < 300; i++) open.push(await slowClient(srv, '127.0.0.2'));
    const held = srv.connections();
    expect(held.open).toBeLessThanOrEqual(16);
    expect(held.refused + held.evicted).toBeGreaterThanOrEqual(284);
    const r = await putBudget(srv, '127.0.0.1', TOKEN, 42);
    expect(r.status).toBe(200);
    expect(site.get().kw).toBe(42);
  });

  it('slow connections spread over many addresses give way to a new client instead of filling the server', async () => {
    const srv = await start({ maxConnections: 64, maxPerAddress: 8 });
    for (let a = 10; a < 30; a++) for (let i = 0; i < 8; i++) open.push(await slowClient(srv, `127.0.0.${a}`));
    expect(srv.connections().open).toBe(64);
    expect(srv.connections().evicted).toBeGreaterThanOrEqual(96);
    const r = await putBudget(srv, '127.0.0.1', TOKEN, 43);
    expect(r.status).toBe(200);
    expect(site.get().kw).toBe(43);
  });

  it('a connection whose request is being answered is never evicted', async () => {
    const srv = await start({ maxPerAddress: 2 });
    // An authorized PUT whose body is still on its way: headers complete, so it is being answered.
    const body = JSON.stringify({ kw: 45, ttlS: 60 });
    const s = await slowClient(srv, '127.0.0.3', `PUT /api/budget HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`);
    open.push(s);
    await until(() => srv.connections().busy === 1);
    for (let i = 0; i < 5; i++) open.push(await slowClient(srv, '127.0.0.3'));
    expect(srv.connections().evicted).toBe(4); // the slow ones give way to each other, never to the PUT
    const reply = closed(s, performance.now());
    s.write(body.slice(5));
    expect((await reply).text).toMatch(/^HTTP\/1.1 200 /);
    expect(site.get().kw).toBe(45);
  });

  it('closes a connection whose headers dribble in past headersTimeout, at the configured time', async () => {
    const srv = await start({ headersTimeoutMs: 300, idleTimeoutMs: 5000 });
    const t0 = performance.now();
    const s = await slowClient(srv, '127.0.0.4', 'GET /healthz HTTP/1.1\r\n');
    open.push(s);
    // One byte every 50 ms: never idle, never done. Node's own check would hold it ~30 s.
    const drip = setInterval(() => s.writable && s.write('X'), 50);
    const { ms, text } = await closed(s, t0);
    clearInterval(drip);
    expect(text).toMatch(/^HTTP\/1.1 408 /);
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(1500);
    expect(srv.connections().timedOut).toBe(1);
  });

  it('closes a request whose body dribbles in past bodyTimeout, at the configured time', async () => {
    const srv = await start({ headersTimeoutMs: 5000, bodyTimeoutMs: 300, idleTimeoutMs: 5000 });
    const t0 = performance.now();
    const s = await slowClient(
      srv,
      '127.0.0.5',
      `PUT /api/budget HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"kw": `,
    );
    open.push(s);
    const drip = setInterval(() => s.writable && s.write(' '), 50);
    const { ms, text } = await closed(s, t0);
    clearInterval(drip);
    expect(text).toMatch(/^HTTP\/1.1 408 /);
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(1500);
    expect(site.get().kw).toBe(12);
  });

  it('closes a silent connection after idleTimeout, at the configured time', async () => {
    const srv = await start({ headersTimeoutMs: 5000, idleTimeoutMs: 300 });
    const t0 = performance.now();
    const s = await slowClient(srv, '127.0.0.6', '');
    open.push(s);
    const { ms } = await closed(s, t0);
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(1500);
  });

  it('a PUT paced longer than idleTimeout is still answered (waiting for us is not idling)', async () => {
    const srv = await start(
      { idleTimeoutMs: 200 },
      { failureDelayMs: 400, failureConcurrency: 1, failureLimits: { perAddress: { burst: 1, refillMs: 60_000 }, global: { burst: 100, refillMs: 1000 }, maxAddresses: 64 } },
    );
    expect((await putBudget(srv, '127.0.0.12', 'wrong-0', 1)).status).toBe(401);
    const r = await putBudget(srv, '127.0.0.12', TOKEN, 64);
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThanOrEqual(380);
  });

  it('a quick client is not cut by the timeouts', async () => {
    const srv = await start({ headersTimeoutMs: 300, bodyTimeoutMs: 300, idleTimeoutMs: 300 });
    const r = await putBudget(srv, '127.0.0.1', TOKEN, 44);
    expect(r.status).toBe(200);
    expect(srv.connections().timedOut).toBe(0);
  });

  it('accepts the right token after any number of wrong ones from the same address', async () => {
    const srv = await start({}, { failureDelayMs: 20 });
    const statuses: number[] = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 10; i++) statuses.push((await putBudget(srv, '127.0.0.7', `wrong-${round}-${i}`, 1)).status);
      const right = await putBudget(srv, '127.0.0.7', TOKEN, 50 + round);
      expect(right.status).toBe(200);
      expect(site.get().kw).toBe(50 + round);
    }
    // The first ten get 401, the rest a 429 held for failureDelayMs.
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(30).fill(429));
  });

  it('a guesser that closes early gains nothing: while limited, checks wait their turn, right or wrong', async () => {
    const srv = await start(
      {},
      { failureDelayMs: 300, failureConcurrency: 1, failureLimits: { perAddress: { burst: 1, refillMs: 60_000 }, global: { burst: 100, refillMs: 1000 }, maxAddresses: 64 } },
    );
    expect((await putBudget(srv, '127.0.0.9', 'wrong-0', 1)).status).toBe(401);
    // Five guesses that give up after 30 ms each: the first holds the only slot for its 300 ms anyway.
    const t0 = performance.now();
    const quitters = [1, 2, 3, 4, 5].map(
      (i) =>
        new Promise<void>((resolve) => {
          const req = request({ host: srv.host, port: srv.port, localAddress: '127.0.0.9', method: 'PUT', path: '/api/budget', agent: false, headers: { authorization: `Bearer wrong-${i}` } });
          req.on('error', () => resolve());
          req.on('close', () => resolve());
          req.end('{"kw":1}');
          setTimeout(() => req.destroy(), 30);
        }),
    );
    await Promise.all(quitters);
    const right = await putBudget(srv, '127.0.0.9', TOKEN, 62);
    expect(right.status).toBe(200);
    expect(site.get().kw).toBe(62);
    // Behind the quitter's hold, then its own: a guesser's check rate is concurrency / hold.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(550);
  });

  it('a guesser filling its address with paced requests cannot keep the EMS at that address out', async () => {
    const srv = await start(
      { maxPerAddress: 4 },
      { failureDelayMs: 300, failureConcurrency: 1, failureLimits: { perAddress: { burst: 1, refillMs: 60_000 }, global: { burst: 100, refillMs: 1000 }, maxAddresses: 64 } },
    );
    expect((await putBudget(srv, '127.0.0.11', 'wrong-0', 1)).status).toBe(401);
    const guesses = [1, 2, 3, 4].map((i) => putBudget(srv, '127.0.0.11', `wrong-${i}`, 1).catch(() => 'closed' as const));
    await until(() => srv.connections().paced === 4);
    const right = await putBudget(srv, '127.0.0.11', TOKEN, 63);
    expect(right.status).toBe(200);
    expect(site.get().kw).toBe(63);
    const outcomes = await Promise.all(guesses);
    expect(outcomes.filter((o) => o === 'closed').length).toBeGreaterThanOrEqual(1);
  });

  it('failures from many addresses do not flush the limiter: guessing stays limited after churn', async () => {
    const srv = await start(
      {},
      { failureDelayMs: 20, failureLimits: { perAddress: { burst: 2, refillMs: 60_000 }, global: { burst: 30, refillMs: 60_000 }, maxAddresses: 8 } },
    );
    // The guesser's own address runs out first...
    for (let i = 0; i < 2; i++) expect((await putBudget(srv, '127.0.1.1', `g-${i}`, 1)).status).toBe(401);
    expect((await putBudget(srv, '127.0.1.1', 'g-2', 1)).status).toBe(429);
    // ...then 60 failures from 30 other addresses evict it from the (8-address) table.
    const churn: number[] = [];
    for (let a = 10; a < 40; a++) for (let i = 0; i < 2; i++) churn.push((await putBudget(srv, `127.0.2.${a}`, `c-${a}-${i}`, 1)).status);
    expect(churn.filter((s) => s === 401)).toHaveLength(27);
    // Forgotten by address, still limited by the global bucket, from it and from fresh addresses.
    expect((await putBudget(srv, '127.0.1.1', 'g-3', 1)).status).toBe(429);
    expect((await putBudget(srv, '127.0.3.1', 'g-4', 1)).status).toBe(429);
    expect((await putBudget(srv, '127.0.1.1', TOKEN, 61)).status).toBe(200);
    expect(site.get().kw).toBe(61);
  });
});

describe('http.* connection keys', () => {
  it('default as documented and name the key when out of range', () => {
    const base = { pools: [{ url: 'stratum+tcp://127.0.0.1:3333', user: 'u' }] };
    expect(resolveConfig(base).http).toMatchObject({ maxConnections: 256, maxConnectionsPerAddress: 16, headersTimeoutS: 10, bodyTimeoutS: 10, idleTimeoutS: 30 });
    expect(() => resolveConfig({ ...base, http: { maxConnectionsPerAddress: 0 } })).toThrow(/http\.maxConnectionsPerAddress/);
    expect(() => resolveConfig({ ...base, http: { headersTimeoutS: -1 } })).toThrow(/http\.headersTimeoutS/);
  });

  it('reach the server a site starts', async () => {
    const pool = new SimPool();
    await pool.start();
    const config = resolveConfig({
      listen: '127.0.0.1:0',
      pools: [{ url: pool.url, user: 'site' }],
      http: { listen: '127.0.0.1:0', idleTimeoutS: 0.3, maxConnectionsPerAddress: 2, token: 'site-token-abcdef12' },
      shares: { hashThreads: 1 },
    });
    const site = await Site.start({ config, logger: silentLogger() });
    try {
      const url = new URL(site.httpUrl);
      const srv = { host: url.hostname, port: Number(url.port) } as HttpServerHandle;
      const t0 = performance.now();
      const sockets = [await slowClient(srv, '127.0.0.8', ''), await slowClient(srv, '127.0.0.8', ''), await slowClient(srv, '127.0.0.8', '')];
      // The third from one address evicts the first at once (cap 2); the others go idle after 0.3 s.
      const [first, ...rest] = await Promise.all(sockets.map((s) => closed(s, t0)));
      expect(first!.ms).toBeLessThan(250);
      for (const r of rest) expect(r.ms).toBeGreaterThanOrEqual(280);
      // ...and what the guard did shows in /metrics.
      const wrong = await fetch(`${site.httpUrl}/api/budget`, { method: 'PUT', body: '{"kw":1}', headers: { authorization: 'Bearer not-the-token' } });
      expect(wrong.status).toBe(401);
      const metrics = await (await fetch(`${site.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/^surplus_http_connections_closed_total\{reason="evicted"\} 1$/m);
      expect(metrics).toMatch(/^surplus_http_connections_closed_total\{reason="timeout"\} 0$/m);
      expect(metrics).toMatch(/^surplus_http_auth_failures_total 1$/m);
      expect(metrics).toMatch(/^surplus_http_connections [1-9]/m);
    } finally {
      await site.close();
      await pool.stop();
    }
  });
});
