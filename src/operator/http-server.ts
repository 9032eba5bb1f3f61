import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../clock.js';
import { ConfigError, InputError } from '../errors.js';
import { loadDashboardAssets, type Asset } from './dashboard-assets.js';
import { energyReportCsv, type EnergyReport } from './energy-report.js';
import type { HistoryRing } from './history.js';
import { isLoopbackHost } from '../net/host.js';
import { BearerAuth, DEFAULT_FAILURE_LIMITS, FailureLimiter, splitHostPort, type FailureLimits } from './http-auth.js';
import { ConnectionGuard, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './http-connections.js';
import { HttpError, readJsonBody, sendBody, sendError, sendJson } from './http-io.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { PenaltyGate } from './penalty-gate.js';
import type { SiteMetrics } from './metrics.js';
import { redactSecrets } from '../redact.js';
import type { BudgetControl, SiteStatusSource } from './snapshots.js';

export interface HttpServerOptions {
  /** "host:port"; port 0 picks a free one (tests). */
  listen: string;
  /** Bearer token for PUT /api/budget; required on a non-loopback address. */
  token?: string;
  source: SiteStatusSource;
  /** The HTTP budget source's setter; without it PUT /api/budget answers 409. */
  budget?: BudgetControl;
  metrics: SiteMetrics;
  history: HistoryRing;
  report: EnergyReport;
  /** Effective configuration, served redacted at GET /api/config. */
  config?: unknown;
  logger?: Logger;
  clock?: Clock;
  /** Largest accepted request body, bytes (default 4096). */
  maxBodyBytes?: number;
  /** Connection caps and timeouts (http.* in the config); each defaults as in DEFAULT_CONNECTION_LIMITS. */
  limits?: Partial<ConnectionLimits>;
  /** Failed-token buckets (tests shrink them). */
  failureLimits?: FailureLimits;
  /** While failures are over budget, each token check waits this long for its turn first, ms (default 1000). */
  failureDelayMs?: number;
  /** ...and at most this many such checks are under way at once (default 4): 4 checks/s while limited. */
  failureConcurrency?: number;
  /** Directory holding index.html, dashboard.js, dashboard.css (default: the package's public/). */
  publicDir?: string;
}

export interface HttpServerHandle {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  host: string;
  port: number;
  /** Open connections, those being answered, PUTs paced by the failure limiter, and what the guard has refused, evicted and timed out. */
  connections(): { open: number; busy: number; paced: number; refused: number; evicted: number; timedOut: number; authFailures: number };
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

/** The page may only load its own files; uPlot styles via the CSSOM, which CSP does not restrict. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * The operator's HTTP surface: JSON API, Prometheus metrics and the dashboard,
 * on node:http. Read endpoints are open (bind to loopback unless you mean
 * otherwise); the one state-changing endpoint needs the bearer token. No CORS
 * headers anywhere: other origins cannot read or preflight-pass anything.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServerHandle> {
  const { host, port } = splitHostPort(options.listen);
  if (!isLoopbackHost(host) && !options.token) {
    throw new ConfigError(
      `http.listen ${options.listen} is not a loopback address: set http.token (at least 8 characters) so that PUT /api/budget is protected, or listen on 127.0.0.1`,
    );
  }
  const log = options.logger ?? silentLogger();
  const clock = options.clock ?? systemClock;
  const auth = new BearerAuth(options.token);
  const limiter = new FailureLimiter(options.failureLimits ?? DEFAULT_FAILURE_LIMITS, clock.now());
  const gate = new PenaltyGate(options.failureConcurrency ?? 4, options.failureDelayMs ?? 1000, clock);
  const guard = new ConnectionGuard({ ...DEFAULT_CONNECTION_LIMITS, ...options.limits }, clock);
  const maxBodyBytes = options.maxBodyBytes ?? 4096;
  const assets = await loadDashboardAssets(options.publicDir);
  const startedAtMs = clock.now();
  let authFailures = 0;

  const putBudget: Handler = async (req, res) => {
    if (!auth.configured) throw new HttpError(403, 'control endpoints are disabled: configure http.token to enable PUT /api/budget', { connection: 'close' });
    const remote = req.socket.remoteAddress ?? '?';
    // Over the failure budget, every check (right or wrong) waits its turn in the gate before
    // the token is even looked at: a right token is never refused, only later, and a guesser
    // who closes early learns nothing sooner (issue 11). Otherwise the check is immediate.
    if (limiter.isLimited(remote, clock.now())) {
      guard.yieldable(req.socket, true);
      const turn = await gate.wait(req.socket);
      guard.yieldable(req.socket, false);
      if (!turn) {
        res.destroy(); // the client left or gave way, or the server is closing: nobody to answer
        return;
      }
    }
    if (!auth.check(req.headers.authorization)) {
      authFailures++;
      const { limited, retryAfterMs } = limiter.fail(remote, clock.now());
      const unauthorized = { 'www-authenticate': 'Bearer realm="surplus"', connection: 'close' };
      if (!limited) {
        log.warn({ remote, path: '/api/budget' }, 'refused PUT /api/budget: missing or wrong bearer token');
        throw new HttpError(401, 'missing or wrong bearer token (Authorization: Bearer <http.token>)', unauthorized);
      }
      const retryS = Math.ceil(retryAfterMs / 1000);
      throw new HttpError(429, `missing or wrong bearer token, and too many of them; retry in ${retryS} s`, { ...unauthorized, 'retry-after': String(retryS) });
    }
    if (!options.budget) throw new HttpError(409, 'the budget is not set over HTTP on this site (budget.source is not "http")');
    const setting = options.budget.put(await readJsonBody(req, maxBodyBytes));
    log.info({ kw: setting.kw, ttlS: setting.ttlS, ...(setting.lowAhead ? { lowAhead: setting.lowAhead } : {}), remote }, 'budget set over HTTP');
    sendJson(res, 200, options.budget.get());
  };

  const routes: Record<string, Partial<Record<string, Handler>>> = {
    '/healthz': {
      GET: (_req, res) => {
        const s = options.source.status();
        sendJson(res, 200, { ok: true, uptimeS: Math.round((clock.now() - startedAtMs) / 1000), budgetStatus: s.budget.status });
      },
    },
    '/api/status': { GET: (_req, res) => sendJson(res, 200, options.source.status()) },
    '/api/miners': { GET: (_req, res) => sendJson(res, 200, { atMs: clock.now(), miners: options.source.miners() }) },
    '/api/budget': {
      GET: (_req, res) => sendJson(res, 200, { ...(options.budget?.get() ?? options.source.status().budget), writable: Boolean(options.budget && auth.configured) }),
      PUT: putBudget,
    },
    '/api/history': {
      GET: (_req, res, url) => {
        const since = url.searchParams.get('sinceMs');
        const sinceMs = since === null ? -Infinity : Number(since);
        if (since !== null && (since.trim() === '' || !Number.isFinite(sinceMs))) throw new HttpError(400, `sinceMs must be a number (milliseconds since the epoch), got "${since}"`);
        sendJson(res, 200, { atMs: clock.now(), capacity: options.history.capacity, points: options.history.points(sinceMs) });
      },
    },
    '/api/report': {
      GET: (_req, res, url) => {
        const format = url.searchParams.get('format') ?? 'json';
        const intervals = options.report.intervals();
        if (format === 'csv') return sendBody(res, 200, 'text/csv; charset=utf-8', energyReportCsv(intervals));
        if (format !== 'json') throw new HttpError(400, `format must be "json" or "csv", got "${format}"`);
        return sendJson(res, 200, {
          intervalS: options.report.intervalMs / 1000,
          integration: options.report.integration,
          intervals,
          totals: options.report.totals(),
        });
      },
    },
    '/api/config': {
      GET: (_req, res) => {
        if (options.config === undefined) throw new HttpError(404, 'no configuration to show');
        sendJson(res, 200, redactSecrets(options.config));
      },
    },
    '/metrics': {
      GET: async (_req, res) => sendBody(res, 200, options.metrics.contentType, await options.metrics.render()),
    },
  };
  for (const [route, asset] of assets) routes[route] = { GET: (_req, res) => sendAsset(res, asset) };
  routes['/index.html'] = routes['/'] ?? {};

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://surplus.invalid');
    } catch {
      return sendError(res, new HttpError(400, 'malformed request URL'));
    }
    try {
      const methods = routes[url.pathname];
      if (!methods) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
      const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
      const handler = methods[method];
      if (!handler) {
        const allow = Object.keys(methods).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])).join(', ');
        throw new HttpError(405, `method ${req.method ?? '?'} not allowed on ${url.pathname}; allowed: ${allow}`, { allow });
      }
      await handler(req, res, url);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
      } else if (err instanceof HttpError) {
        sendError(res, err);
      } else if (err instanceof InputError) {
        sendError(res, new HttpError(400, err.message));
      } else {
        log.error({ err, path: url.pathname }, 'HTTP handler failed');
        sendError(res, new HttpError(500, 'internal error (see the server log)'));
      }
    } finally {
      // Path only: a query string is the one place a careless client might put a secret.
      log.debug({ method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'http request');
    }
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  // Caps per address and in all, and timeouts that hold as configured (http-connections.ts).
  guard.attach(server);
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy(err);
  });
  await new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException): void => {
      const hint = err.code === 'EADDRINUSE' ? '; the port is taken: choose another with http.listen or --http host:port' : '';
      reject(new ConfigError(`http.listen ${options.listen}: cannot listen (${err.code ?? err.message})${hint}`, { cause: err }));
    };
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'HTTP server error'));
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  log.info({ url: `http://${shownHost}:${addr.port}`, tokenConfigured: auth.configured }, 'operator HTTP API listening');

  return {
    url: `http://${shownHost}:${addr.port}`,
    host: addr.address,
    port: addr.port,
    connections: () => ({ open: guard.open(), busy: guard.busy(), paced: gate.waiting + gate.holding, ...guard.counters, authFailures }),
    close: () =>
      new Promise<void>((resolve) => {
        gate.close();
        server.close(() => resolve());
        // The dashboard keeps connections alive between polls; don't wait for them.
        server.closeAllConnections();
      }),
  };
}

function sendAsset(res: ServerResponse, asset: Asset): void {
  sendBody(res, 200, asset.contentType, asset.body, asset.contentType.startsWith('text/html') ? PAGE_HEADERS : {});
}
