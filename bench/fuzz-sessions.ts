/**
 * The fuzz runs over real loopback sockets, shared by bench/fuzz.ts (10^6
 * lines) and the seeded small run in `npm test` (test/unit/fuzz-structured.test.ts):
 * a raw miner streaming fuzz lines into a running proxy, and a raw pool
 * streaming fuzz lines at the proxy's upstream connection. Each counts the
 * answers it is owed (from the pure classifiers) against the answers it got.
 */
import { createServer, connect, type Socket } from 'node:net';
import { resolveConfig } from '../src/config/load.js';
import { Proxy } from '../src/proxy.js';
import { SimPool } from '../src/demo/sim-pool.js';
import { classifyLine, expectsAnswer, type Rand } from './fuzz-corpus.js';
import { classifyPoolLine } from './fuzz-structured.js';

/** Miner lines above this are left to the pure stage (the proxy's cap is 16 KiB; they overflow there). */
const MINER_LINE_LIMIT = 16_000;

export interface SessionResult {
  lines: number;
  owed: number;
  answers: number;
  notifications: number;
  /** The proxy closed the connection (it must not: strike limits are raised). */
  closed: boolean;
  /** Proxy-side books: submits received and answered, malformed lines counted. */
  submitsReceived?: number;
  submitsAnswered?: number;
  malformed?: number;
  /** Answers whose id text is not the one sent (checked for every owed request with a string id). */
  idMismatches: number;
  /** The first mismatch: the line sent and the answer got. */
  firstMismatch?: string;
  rssMaxBytes: number;
  ms: number;
}

/** Reads NDJSON lines off a socket, handing each raw line to `onLine`. */
function lines(sock: Socket, onLine: (line: string) => void): void {
  let tail = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    tail += d;
    let i: number;
    while ((i = tail.indexOf('\n')) >= 0) {
      const l = tail.slice(0, i);
      tail = tail.slice(i + 1);
      if (l.trim() !== '') onLine(l);
    }
  });
}

const write = (sock: Socket, s: string): Promise<void> => (sock.write(s) ? Promise.resolve() : new Promise((res) => sock.once('drain', () => res())));
const settle = async (done: () => boolean, ms: number): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  // Any extra (double) answers would arrive now.
  await new Promise((res) => setTimeout(res, 200));
};

/** The id text as an answer carries it (`{"id":<here>,"result"...`). */
const answerIdText = (line: string): string | undefined => /^\{"id":(.*?),"(?:result|error)"/s.exec(line)?.[1];

/** JSON id text as surplus echoes it: a string re-encoded, anything else as sent without whitespace (or null past 1,024 chars). */
function expectedIdText(line: string): string | undefined {
  const d = JSON.parse(line) as { id?: unknown };
  if (typeof d.id === 'string') return JSON.stringify(d.id);
  return undefined;
}

function config(poolUrl: string): ReturnType<typeof resolveConfig> {
  return resolveConfig({
    listen: '127.0.0.1:0',
    pools: [{ url: poolUrl, user: 'fuzz' }],
    difficulty: { initial: 1e-6, min: 1e-6, max: 1e-6 },
    shares: { hashThreads: 1 },
    // Fuzz input would trip every strike limit at once; raise them so one connection sees all lines.
    limits: { maxMalformedLines: 1e12, banInvalidShares: 100_000, maxSubmitsPerSecond: 1e9, handshakeTimeoutS: 3600 },
    upstream: { silenceTimeoutS: 3600, requestTimeoutS: 60, handshakeTimeoutS: 60 },
    log: { level: 'silent' },
  });
}

/** Miner → surplus: `n` lines from `gen` into one miner session, after a valid subscribe + authorize. */

/**
 * Streams `n` generated lines to `sock` in batches of 500, noting for each line
 * the proxy owes an answer the id text it must echo (undefined: none readable).
 * `seenOf` is what the proxy will read of the line (null: not sent at all).
 */
async function streamFuzz(
  sock: Socket,
  n: number,
  next: () => string,
  seenOf: (line: string) => string | null,
  owes: (seen: string) => boolean,
  expected: Array<string | undefined>,
): Promise<{ sent: number; owed: number; rssMax: number }> {
  let sent = 0;
  let owed = 0;
  let rssMax = process.memoryUsage().rss;
  let batch: string[] = [];
  while (sent < n) {
    const line = next();
    const seen = seenOf(line);
    if (seen === null) continue;
    sent++;
    if (owes(seen)) {
      owed++;
      let want: string | undefined;
      try {
        want = expectedIdText(seen);
      } catch {
        want = undefined;
      }
      expected.push(want);
    }
    batch.push(line);
    if (batch.length === 500) {
      await write(sock, batch.join('\n') + '\n');
      batch = [];
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
  }
  if (batch.length) await write(sock, batch.join('\n') + '\n');
  return { sent, owed, rssMax };
}

export async function runMinerSession(n: number, r: Rand, gen: (r: Rand) => string): Promise<SessionResult> {
  const pool = new SimPool({ difficulty: 1e-5 });
  await pool.start();
  const proxy = new Proxy(config(pool.url));
  const { port } = await proxy.start();
  const sock = connect({ host: '127.0.0.1', port });
  await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
  let closed = false;
  sock.on('close', () => (closed = true));
  let answers = 0;
  let notifications = 0;
  let idMismatches = 0;
  let firstMismatch: string | undefined;
  const expected: Array<string | undefined> = [];
  lines(sock, (l) => {
    if (l.startsWith('{"id":null,"method":')) notifications++;
    else {
      const want = expected[answers];
      if (want !== undefined && answerIdText(l) !== want) {
        idMismatches++;
        firstMismatch ??= `expected id ${want.slice(0, 200)}, got ${l.slice(0, 300)}`;
      }
      answers++;
    }
  });
  await write(sock, '{"id":"s","method":"mining.subscribe","params":["fuzz/1"]}\n{"id":"a","method":"mining.authorize","params":["farm.rig01","x"]}\n');
  expected.push('"s"', '"a"');
  const t0 = performance.now();
  const streamed = await streamFuzz(
    sock,
    n,
    () => gen(r),
    // What the proxy will see: UTF-8 round trip (lone surrogates become U+FFFD), a trailing CR stripped.
    (line) => (Buffer.byteLength(line) > MINER_LINE_LIMIT ? null : Buffer.from(line, 'utf8').toString('utf8').replace(/\r$/, '')),
    (seen) => seen.trim() !== '' && expectsAnswer(classifyLine(seen)),
    expected,
  );
  const { sent, rssMax } = streamed;
  const owed = 2 + streamed.owed;
  await settle(() => answers >= owed || closed, 120_000);
  const ms = performance.now() - t0;
  const snap = proxy.snapshot();
  const result: SessionResult = {
    lines: sent, owed, answers, notifications, closed, idMismatches, rssMaxBytes: rssMax, ms, ...(firstMismatch ? { firstMismatch } : {}),
    submitsReceived: snap.shares.submitsReceived, submitsAnswered: snap.shares.submitsAnswered, malformed: snap.malformedLines,
  };
  sock.destroy();
  await proxy.close();
  await pool.stop();
  return result;
}

/** Pool → surplus: a raw pool that passes the handshake, then sends `n` lines from `gen` on the proxy's upstream connection. */
export async function runPoolSession(n: number, r: Rand, gen: (r: Rand) => string): Promise<SessionResult> {
  let conn: Socket | undefined;
  let firstMismatch: string | undefined;
  let connections = 0;
  let answers = 0;
  let notifications = 0;
  let idMismatches = 0;
  const expected: Array<string | undefined> = [];
  let handshook!: () => void;
  const ready = new Promise<void>((res) => (handshook = res));
  const server = createServer((s) => {
    connections++;
    conn = s;
    s.on('error', () => undefined);
    lines(s, (l) => {
      const m = JSON.parse(l) as { id?: unknown; method?: string };
      if (m.method === undefined) {
        const want = expected[answers];
        if (want !== undefined && answerIdText(l) !== want) {
          idMismatches++;
          firstMismatch ??= `expected id ${want.slice(0, 200)}, got ${l.slice(0, 300)}`;
        }
        answers++;
        return;
      }
      notifications++;
      const id = JSON.stringify(m.id);
      // Answer the handshake like ckpool, then the fuzz starts.
      if (m.method === 'mining.subscribe') s.write(`{"id":${id},"result":[[["mining.notify","n1"]],"f0000001",8],"error":null}\n`);
      else if (m.method === 'mining.authorize') {
        s.write(`{"id":${id},"result":true,"error":null}\n{"id":null,"method":"mining.set_difficulty","params":[1]}\n`);
        handshook();
      } else s.write(`{"id":${id},"result":true,"error":null}\n`);
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  const proxy = new Proxy(config(`stratum+tcp://127.0.0.1:${port}`));
  await proxy.start();
  await ready;
  const sock = conn!;
  let closed = false;
  sock.on('close', () => (closed = true));
  const t0 = performance.now();
  const { sent, owed, rssMax } = await streamFuzz(
    sock,
    n,
    () => gen(r),
    // client.reconnect closes the connection by design, and a set_extranonce the channel cannot
    // carve closes it too (miners are moved); the pure stage covers both.
    (line) => (/"client\.reconnect"|"mining\.set_extranonce"/.test(line) ? null : Buffer.from(line, 'utf8').toString('utf8')),
    (seen) => classifyPoolLine(seen).owed,
    expected,
  );
  await settle(() => answers >= owed || closed, 120_000);
  const ms = performance.now() - t0;
  const snap = proxy.snapshot();
  const p = snap.pools[0]!;
  const result: SessionResult = { lines: sent, owed, answers, notifications, closed: closed || connections > 1, idMismatches, rssMaxBytes: rssMax, ms, malformed: (p.malformedLines ?? 0) + (p.badMessages ?? 0), ...(firstMismatch ? { firstMismatch } : {}) };
  await proxy.close();
  await new Promise<void>((res) => server.close(() => res()));
  return result;
}
