import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settleOn } from '../support/manual-time.js';
import { ManualClock } from '../../src/clock.js';
import { ConfigError } from '../../src/errors.js';
import { EnergyReport } from '../../src/operator/energy-report.js';
import { HistoryRing } from '../../src/operator/history.js';
import { startHttpServer, type HttpServerHandle } from '../../src/operator/http-server.js';
import { createLogger } from '../../src/observability/logger.js';
import { SiteMetrics } from '../../src/operator/metrics.js';
import { SiteSampler } from '../../src/operator/site-sampler.js';
import { FakeSite } from './http-fake-site.js';

const TOKEN = 'tok-3f9a1c7e55d2b8a0';
const POOL_PASSWORD = 'pool-secret-77x';

describe('operator HTTP API over a real socket', () => {
  const clock = new ManualClock(Date.UTC(2026, 5, 21, 10, 0, 0));
  const site = new FakeSite(clock);
  const logStream = new PassThrough();
  let logText = '';
  logStream.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
  const logger = createLogger({ level: 'debug', destination: logStream });
  const metrics = new SiteMetrics({ source: site, processMetrics: false });
  const sampler = new SiteSampler({ source: site, clock, history: new HistoryRing(50), report: new EnergyReport({ intervalMs: 60_000 }) });
  let server: HttpServerHandle;

  const call = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(server.url + path, init);
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, any> };
  };
  const put = (body: string, headers: Record<string, string> = {}) =>
    call('/api/budget', { method: 'PUT', body, headers: { 'content-type': 'application/json', ...headers } });

  beforeAll(async () => {
    for (let i = 0; i < 5; i++) {
      sampler.sample();
      clock.advance(1000);
    }
    server = await startHttpServer({
      listen: '127.0.0.1:0',
      token: TOKEN,
      source: site,
      budget: site,
      metrics,
      history: sampler.history,
      report: sampler.report,
      config: { pools: [{ url: 'stratum+tcp://127.0.0.1:3334', user: 'acct', password: POOL_PASSWORD }], http: { token: TOKEN } },
      logger,
      clock,
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves the status snapshot with the source values', async () => {
    const r = await call('/api/status');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    const body = r.json();
    const s = site.status();
    expect(body['budget'].kw).toBeCloseTo(s.budget.kw, 9);
    expect(body['measuredKw']).toBeCloseTo(s.measuredKw, 9);
    expect(body['minersByState']).toEqual(s.minersByState);
    expect(body['pools'][0].failovers).toBe(2);
    expect(body['shares'].accepted).toBe(s.shares.accepted);
  });

  it('serves the miners', async () => {
    const body = (await call('/api/miners')).json();
    expect(body['miners']).toHaveLength(6);
    expect(body['miners'][0]).toMatchObject({ id: 'm1', worker: 'site.rig1', difficulty: 16384 });
  });

  it('serves healthz', async () => {
    const r = await call('/healthz');
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, budgetStatus: 'live' });
  });

  it('refuses PUT /api/budget without a token and changes nothing', async () => {
    const before = site.get().kw;
    const r = await put('{"kw": 40}');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer realm="surplus"');
    expect(r.json()['error']).toMatch(/bearer token/);
    expect(site.get().kw).toBe(before);
  });

  it('refuses a wrong token, including one of the same length', async () => {
    const before = site.get().kw;
    const sameLength = TOKEN.slice(0, -1) + (TOKEN.endsWith('0') ? '1' : '0');
    for (const auth of [`Bearer ${sameLength}`, 'Bearer nope', `Basic ${TOKEN}`, TOKEN]) {
      expect((await put('{"kw": 40}', { authorization: auth })).status).toBe(401);
    }
    expect(site.get().kw).toBe(before);
  });

  it('sets the budget with the right token', async () => {
    const r = await put('{"kw": 20.5, "ttlS": 120}', { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ kw: 20.5, expiresAtMs: clock.now() + 120_000 });
    expect(site.get().kw).toBe(20.5);
    const g = (await call('/api/budget')).json();
    expect(g).toMatchObject({ kw: 20.5, source: 'http', writable: true });
  });

  it.each([
    ['{"kw": ', 400, /not valid JSON/],
    ['', 400, /empty/],
    ['[1]', 400, /JSON object/],
    ['{"kw": "20"}', 400, /kw must be a number of kW in 0\.\.1000000, got "20"/],
    ['{"kw": -1}', 400, /kw must be a number of kW in 0\.\.1000000, got -1/],
    ['{"kw": 1e400}', 400, /kw must be a number of kW in 0\.\.1000000/],
    ['{"ttlS": 60}', 400, /kw must be a number of kW in 0\.\.1000000, got nothing/],
    ['{"kw": 5, "ttlS": 0}', 400, /ttlS must be a number of seconds in \(0, 86400\], got 0/],
    ['{"kw": 5, "watts": 5}', 400, /unknown key watts; allowed: kw, ttlS/],
    ['{"kw": 20000}', 400, /site limit/], // refused by the budget source itself
    [`{"kw": 5, "pad": "${'x'.repeat(5000)}"}`, 413, /limited to 4096 bytes/],
  ])('answers %s with %d and changes nothing', async (body, status, message) => {
    const before = site.get().kw;
    const r = await put(body, { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(status);
    expect(r.json()['error']).toMatch(message);
    expect(site.get().kw).toBe(before);
  });

  it('reads JSON under a missing or form content type (curl -d), refuses types that cannot carry it', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const form = await call('/api/budget', { method: 'PUT', body: 'kw=5', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(400);
    expect(form.json()['error']).toMatch(/not valid JSON \(expected like \{"kw": 120/);
    const plain = await call('/api/budget', { method: 'PUT', body: '{"kw": 5}', headers: { ...auth, 'content-type': 'text/plain' } });
    expect(plain.status).toBe(415);
    expect(plain.json()['error']).toBe('request body must be JSON (content-type application/json), got content-type "text/plain"');
    const formJson = await call('/api/budget', { method: 'PUT', body: '{"kw": 7, "ttlS": 60}', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(formJson.status).toBe(200);
    expect(site.get().kw).toBe(7);
  });

  it('exposes Prometheus metrics from the same source', async () => {
    const r = await call('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const s = site.status();
    expect(r.text).toContain(`surplus_budget_kw ${s.budget.kw}`);
    expect(r.text).toContain(`surplus_shares_total{result="accepted",reason=""} ${s.shares.accepted}`);
    expect(r.text).toMatch(/# TYPE surplus_device_command_seconds histogram/);
  });

  it('serves the history, incrementally with sinceMs', async () => {
    const all = (await call('/api/history')).json();
    expect(all['points']).toHaveLength(5);
    const cut = all['points'][2].atMs;
    const some = (await call(`/api/history?sinceMs=${cut}`)).json();
    expect(some['points'].map((p: { atMs: number }) => p.atMs)).toEqual(all['points'].slice(3).map((p: { atMs: number }) => p.atMs));
    expect((await call('/api/history?sinceMs=yesterday')).status).toBe(400);
  });

  it('serves the energy report as JSON and CSV', async () => {
    const json = (await call('/api/report')).json();
    expect(json['intervalS']).toBe(60);
    expect(json['intervals'][0].offeredKwh).toBeGreaterThan(0);
    expect(json['totals'].coveredS).toBeCloseTo(4, 6);
    const csv = await call('/api/report?format=csv');
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.text.split('\r\n')[0]).toMatch(/^start,end,offered_kwh/);
    expect((await call('/api/report?format=xml')).status).toBe(400);
  });

  it('serves the configuration with secrets redacted', async () => {
    const r = await call('/api/config');
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(POOL_PASSWORD);
    expect(r.text).not.toContain(TOKEN);
    expect(r.json()['pools'][0].user).toBe('acct');
  });

  it('serves the dashboard and its local copy of uPlot', async () => {
    const page = await call('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.text).toContain('/vendor/uPlot.iife.min.js');
    const lib = await call('/vendor/uPlot.iife.min.js');
    expect(lib.status).toBe(200);
    expect(lib.text).toContain('uPlot');
    expect((await call('/dashboard.js')).status).toBe(200);
    const head = await call('/index.html', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength(page.text));
  });

  it('answers unknown paths with 404 and wrong methods with 405, in JSON', async () => {
    const nf = await call('/api/nope');
    expect(nf.status).toBe(404);
    expect(nf.json()['error']).toMatch(/no such endpoint/);
    const na = await call('/api/status', { method: 'POST' });
    expect(na.status).toBe(405);
    expect(na.headers.get('allow')).toBe('GET, HEAD');
    expect((await call('/api/budget', { method: 'DELETE' })).headers.get('allow')).toBe('GET, HEAD, PUT');
  });

  it('answers a malformed HTTP request with 400 and closes', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect(server.port, '127.0.0.1', () => sock.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      sock.on('data', (d) => (text += d.toString('latin1')));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1.1 400 Bad Request/);
  });

  it('logs requests at debug and never the token', async () => {
    await put('{"kw": 21}', { authorization: `Bearer ${TOKEN}` });
    await put('{"kw": 22}', { authorization: `Bearer ${TOKEN}x` });
    await new Promise((r) => setImmediate(r));
    const records = logText.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.some((r) => r['msg'] === 'http request' && r['path'] === '/api/budget' && r['status'] === 401)).toBe(true);
    expect(records.some((r) => r['msg'] === 'budget set over HTTP' && r['kw'] === 21)).toBe(true);
    expect(logText).not.toContain(TOKEN);
    expect(logText).not.toContain(POOL_PASSWORD);
  });
});

describe('operator HTTP API start-up rules', () => {
  const base = () => {
    const site = new FakeSite(new ManualClock(0));
    return { source: site, metrics: new SiteMetrics({ source: site, processMetrics: false }), history: new HistoryRing(5), report: new EnergyReport() };
  };

  it('refuses a non-loopback address without a token, before binding', async () => {
    await expect(startHttpServer({ ...base(), listen: '0.0.0.0:0' })).rejects.toThrow(ConfigError);
    await expect(startHttpServer({ ...base(), listen: '192.168.1.20:8080' })).rejects.toThrow(/not a loopback address: set http.token/);
  });

  it('disables PUT /api/budget when no token is configured, even on loopback', async () => {
    const opts = base();
    const server = await startHttpServer({ ...opts, budget: opts.source, listen: '127.0.0.1:0' });
    try {
      const r = await fetch(`${server.url}/api/budget`, { method: 'PUT', body: '{"kw":1}', headers: { 'content-type': 'application/json' } });
      expect(r.status).toBe(403);
      expect(opts.source.get().kw).toBe(12);
      expect(((await (await fetch(`${server.url}/api/budget`)).json()) as { writable: boolean }).writable).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('answers 429 beyond the failure budget and still accepts the right token', async () => {
    const clock = new ManualClock(0);
    const opts = base();
    const server = await startHttpServer({ ...opts, budget: opts.source, token: TOKEN, listen: '127.0.0.1:0', clock, failureDelayMs: 30 });
    const put = (token: string) =>
      fetch(`${server.url}/api/budget`, { method: 'PUT', body: '{"kw":3}', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
    try {
      // Over the budget every check waits its 30 ms turn in the penalty gate, on the manual clock.
      const held = <T>(p: Promise<T>): Promise<T> => settleOn(clock, p, { withinMs: 30 });
      for (let i = 0; i < 10; i++) expect((await held(put('guess-' + i))).status).toBe(401);
      const limited = await held(put('guess-10'));
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('6');
      expect((await held(put(TOKEN))).status).toBe(200);
      expect(opts.source.get().kw).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('answers 409 to PUT when the budget does not come over HTTP', async () => {
    const server = await startHttpServer({ ...base(), token: TOKEN, listen: '127.0.0.1:0' });
    try {
      const r = await fetch(`${server.url}/api/budget`, { method: 'PUT', body: '{"kw":1}', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
      expect(r.status).toBe(409);
    } finally {
      await server.close();
    }
  });

  it('names the key when the port is taken', async () => {
    const first = await startHttpServer({ ...base(), listen: '127.0.0.1:0' });
    try {
      await expect(startHttpServer({ ...base(), listen: `127.0.0.1:${first.port}` })).rejects.toThrow(/http.listen 127.0.0.1:\d+: cannot listen \(EADDRINUSE\)/);
    } finally {
      await first.close();
    }
  });
});
