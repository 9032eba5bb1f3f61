/**
 * A raw-TCP Stratum pool on loopback (port 0) that answers by script, to
 * speak the dialects real pools speak: exact bytes, CRLF, several messages
 * in one write or one message in many. It records every request it gets.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { systemClock, type Clock } from '../../src/clock.js';
import { poolSchema, upstreamSchema } from '../../src/config/schema.js';
import { silentLogger, type Logger } from '../../src/observability/logger.js';
import { UpstreamManager } from '../../src/upstream/upstream-manager.js';

export interface PoolRequest {
  id: number | string | null;
  method: string;
  params: unknown[];
}

export class PoolConn {
  readonly requests: PoolRequest[] = [];
  /** What the client answered to the pool's own requests (client.get_version ...). */
  readonly answers: Array<Record<string, unknown>> = [];
  /** Sent ids as strings ("7"), as some pools do. */
  stringIds = false;
  closed = false;
  constructor(readonly socket: Socket, readonly index: number) {
    socket.on('close', () => (this.closed = true));
  }

  /** One JSON message, newline-terminated (`eol` for CRLF pools). */
  send(obj: unknown, eol = '\n'): void {
    const o = obj as { id?: unknown };
    const out = this.stringIds && typeof o.id === 'number' ? { ...o, id: String(o.id) } : obj;
    if (!this.closed) this.socket.write(JSON.stringify(out) + eol);
  }

  raw(text: string | Buffer): void {
    if (!this.closed) this.socket.write(text);
  }

  /** Writes `text` in pieces of `size` bytes, one socket write (and segment, given the pause) each. */
  async trickle(text: string, size: number, pauseMs = 1): Promise<void> {
    const buf = Buffer.from(text);
    for (let i = 0; i < buf.length && !this.closed; i += size) {
      this.socket.write(buf.subarray(i, i + size));
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  close(): void {
    this.socket.end();
  }

  has(method: string): boolean {
    return this.requests.some((r) => r.method === method);
  }
}

export type Script = (req: PoolRequest, conn: PoolConn) => void;

export class ScriptedPool {
  readonly conns: PoolConn[] = [];
  private server: Server | undefined;
  /** Called when a client connects, before it sends anything. */
  onConnect: ((conn: PoolConn) => void) | undefined;

  constructor(public script: Script) {}

  static async start(script: Script, host = '127.0.0.1'): Promise<ScriptedPool> {
    const p = new ScriptedPool(script);
    await p.listen(host);
    return p;
  }

  port = 0;

  get url(): string {
    return `stratum+tcp://127.0.0.1:${this.port}`;
  }

  private async listen(host: string): Promise<void> {
    const server = createServer((sock) => {
      sock.on('error', () => undefined);
      const conn = new PoolConn(sock, this.conns.length);
      this.conns.push(conn);
      this.onConnect?.(conn);
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line) continue;
          const msg = JSON.parse(line) as Record<string, unknown>;
          if (typeof msg['method'] !== 'string') {
            conn.answers.push(msg);
            continue;
          }
          const req = msg as unknown as PoolRequest;
          conn.requests.push(req);
          this.script(req, conn);
        }
      });
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, host, r));
    this.port = (server.address() as { port: number }).port;
  }

  /** Every request from every connection, in arrival order per connection. */
  requests(method?: string): PoolRequest[] {
    const all = this.conns.flatMap((c) => c.requests);
    return method === undefined ? all : all.filter((r) => r.method === method);
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** 64 hex: a prevhash distinct per tag. */
export function prevhash(tag: string): string {
  return Buffer.from(tag.padEnd(32, '.')).subarray(0, 32).toString('hex');
}

/** mining.notify params of a small valid job (coinbase parts are free-form hex to the client). */
export function notifyParams(jobId: string, clean: unknown = true, tag = jobId): unknown[] {
  return [jobId, prevhash(tag), '01000000010000', 'ffffffff00000000', [], '20000000', '1d00ffff', '5f5e1000', clean];
}

/** What most pools answer (ckpool-like); pass overrides per method. */
export function answerLikeCkpool(req: PoolRequest, conn: PoolConn, over: Partial<Record<string, unknown>> = {}): void {
  const canned: Record<string, unknown> = {
    'mining.configure': { 'version-rolling': true, 'version-rolling.mask': '1fffe000' },
    'mining.subscribe': [[['mining.set_difficulty', 'd1'], ['mining.notify', 'n1']], 'f0000001', 8],
    'mining.extranonce.subscribe': true,
    'mining.authorize': true,
    'mining.submit': true,
    ...over,
  };
  if (req.method in canned) conn.send({ id: req.id, result: canned[req.method], error: null });
  else conn.send({ id: req.id, result: null, error: [20, 'Method not found', null] });
  if (req.method === 'mining.authorize' && !('noJob' in over)) {
    conn.send({ id: null, method: 'mining.set_difficulty', params: [1] });
    conn.send({ id: null, method: 'mining.notify', params: notifyParams('j1') });
  }
}

/**
 * An UpstreamManager for the scripted pools, started, with test-sized timeouts
 * (overridable per test) and a fixed jitter draw (0.5) so backoffs are exact.
 */
export function startTestManager(pools: Array<Record<string, unknown>>, upstream: Record<string, unknown> = {}, logger: Logger = silentLogger(), clock: Clock = systemClock): UpstreamManager {
  const m = new UpstreamManager({
    pools: pools.map((p) => poolSchema.parse(p)),
    upstream: upstreamSchema.parse({ handshakeTimeoutS: 2, requestTimeoutS: 1, silenceTimeoutS: 30, fallbackStableS: 60, backoffInitialMs: 100, backoffMaxMs: 2000, ...upstream }),
    maxLineBytes: 16384, maxWriteBufferBytes: 1 << 20, clock, logger, random: () => 0.5,
  });
  m.start();
  return m;
}
