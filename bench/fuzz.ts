/**
 * The million-line fuzz run (issue 7). Stage 1 pushes generated and mutated
 * miner lines through the pure front door (LineFramer at random chunk
 * splits, JSON-RPC decode, the method's guard). Stage 2 streams fuzz lines
 * into a real miner session of a running proxy over loopback (behind a
 * valid subscribe + authorize) and checks that every line that carries an
 * id gets exactly one answer and the connection survives.
 *
 * Run: npx tsc -p tsconfig.json --outDir /tmp/surplus-bench; node /tmp/surplus-bench/bench/fuzz.js
 * Env: LINES (stage 1, default 1,000,000), SESSION_LINES (stage 2, default 1,000,000), SEED.
 */
import { connect } from 'node:net';
import { LineFramer } from '../src/protocol/line-framer.js';
import { resolveConfig } from '../src/config/load.js';
import { Proxy } from '../src/proxy.js';
import { SimPool } from '../src/sim/sim-pool.js';
import { classifyLine, expectsAnswer, fuzzLine, reasonKey, xorshift } from './fuzz-corpus.js';

const LINES = Number(process.env['LINES'] ?? 1_000_000);
const SESSION_LINES = Number(process.env['SESSION_LINES'] ?? 1_000_000);
const SEED = Number(process.env['SEED'] ?? 20261121);
const MAX_LINE = 16 * 1024;

const mb = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MB`;

function stagePure(): boolean {
  const r = xorshift(SEED);
  const framer = new LineFramer(MAX_LINE);
  const reasons = new Map<string, number>();
  let framed = 0;
  let parsed = 0;
  let owed = 0;
  let crashes = 0;
  let overflows = 0;
  let maxBuffered = 0;
  const bump = (k: string): void => void reasons.set(k, (reasons.get(k) ?? 0) + 1);
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  let pending: string[] = [];
  const flush = (): void => {
    const bytes = Buffer.from(pending.join('\n') + '\n', 'utf8');
    pending = [];
    // Random split points, as TCP delivers them.
    let at = 0;
    while (at < bytes.length) {
      const n = 1 + Math.floor(r() * 4096);
      for (const ev of framer.push(bytes.subarray(at, at + n))) {
        if (ev.kind === 'overflow') {
          overflows++;
          continue;
        }
        framed++;
        try {
          const v = classifyLine(ev.line);
          if (v.kind !== 'decode-error') parsed++;
          if (expectsAnswer(v)) owed++;
          bump(reasonKey(v));
        } catch (err) {
          crashes++;
          if (crashes <= 5) console.error('CRASH on line', JSON.stringify(ev.line).slice(0, 300), err);
        }
      }
      maxBuffered = Math.max(maxBuffered, framer.bufferedBytes);
      at += n;
    }
  };
  for (let i = 0; i < LINES; i++) {
    // One line in 5,000 is a 20 KB monster: it must overflow, not grow the buffer.
    pending.push(r() < 0.0002 ? 'x'.repeat(20_000) : fuzzLine(r));
    if (pending.length === 2000) flush();
  }
  if (pending.length > 0) flush();
  const ms = performance.now() - t0;
  const rss1 = process.memoryUsage().rss;
  console.log(`stage 1 (framer + JSON-RPC + guards): ${LINES.toLocaleString()} lines generated (seed ${SEED})`);
  console.log(`  framed ${framed.toLocaleString()}, overflowed ${overflows}, decoded ${parsed.toLocaleString()}, owed an answer ${owed.toLocaleString()}, crashes ${crashes}`);
  console.log(`  framer buffer max ${maxBuffered} B (cap ${MAX_LINE}); RSS ${mb(rss0)} -> ${mb(rss1)}; ${(ms / 1000).toFixed(2)} s, ${Math.round((LINES / ms) * 1000).toLocaleString()} lines/s`);
  console.log('  verdicts:');
  for (const [k, n] of [...reasons].sort((a, b) => b[1] - a[1])) console.log(`    ${String(n).padStart(9)}  ${k}`);
  return crashes === 0 && maxBuffered <= MAX_LINE;
}

async function stageSession(): Promise<boolean> {
  const pool = new SimPool({ difficulty: 1e-5 });
  await pool.start();
  const config = resolveConfig({
    listen: '127.0.0.1:0',
    pools: [{ url: pool.url, user: 'fuzz' }],
    difficulty: { initial: 1e-6, min: 1e-6, max: 1e-6 },
    shares: { hashThreads: 1 },
    // Fuzz input would trip every strike limit at once; raise them so one connection sees all lines.
    limits: { maxMalformedLines: 1e12, banInvalidShares: 100_000, maxSubmitsPerSecond: 1e9, handshakeTimeoutS: 3600 },
    log: { level: 'silent' },
  });
  const proxy = new Proxy(config);
  const { port } = await proxy.start();
  const sock = connect({ host: '127.0.0.1', port });
  await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
  let closed = false;
  sock.on('close', () => (closed = true));
  let answers = 0;
  let notifications = 0;
  let tail = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    tail += d;
    let i: number;
    while ((i = tail.indexOf('\n')) >= 0) {
      const m = JSON.parse(tail.slice(0, i)) as { method?: string };
      tail = tail.slice(i + 1);
      if (m.method === undefined) answers++;
      else notifications++;
    }
  });
  const write = (s: string): Promise<void> => (sock.write(s) ? Promise.resolve() : new Promise((res) => sock.once('drain', res)));
  await write('{"id":"s","method":"mining.subscribe","params":["fuzz/1"]}\n{"id":"a","method":"mining.authorize","params":["farm.rig01","x"]}\n');
  let owed = 2;
  const r = xorshift(SEED ^ 0x5eed);
  const rss0 = process.memoryUsage().rss;
  let rssMax = rss0;
  const t0 = performance.now();
  let batch: string[] = [];
  for (let i = 0; i < SESSION_LINES; i++) {
    const line = fuzzLine(r);
    // What the proxy will see: UTF-8 round trip, a trailing CR stripped, blank lines skipped.
    const seen = Buffer.from(line, 'utf8').toString('utf8').replace(/\r$/, '');
    if (seen.trim() !== '' && expectsAnswer(classifyLine(seen))) owed++;
    batch.push(line);
    if (batch.length === 500) {
      await write(batch.join('\n') + '\n');
      batch = [];
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
  }
  if (batch.length) await write(batch.join('\n') + '\n');
  const deadline = Date.now() + 60_000;
  while (answers < owed && !closed && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  await new Promise((res) => setTimeout(res, 300)); // any extra (double) answers would arrive now
  const ms = performance.now() - t0;
  const snap = proxy.snapshot();
  const closedByProxy = closed;
  sock.destroy();
  await proxy.close();
  await pool.stop();
  console.log(`stage 2 (real miner session over loopback): ${SESSION_LINES.toLocaleString()} fuzz lines after subscribe + authorize`);
  console.log(`  owed ${owed.toLocaleString()} answers, got ${answers.toLocaleString()} (+${notifications} notifications); connection ${closedByProxy ? 'CLOSED by the proxy' : 'alive'}`);
  console.log(`  proxy counted ${snap.malformedLines.toLocaleString()} malformed lines, ${snap.shares.submitsReceived.toLocaleString()} submits received, ${snap.shares.submitsAnswered.toLocaleString()} answered`);
  console.log(`  RSS (proxy + client in one process) ${mb(rss0)} -> max ${mb(rssMax)}; ${(ms / 1000).toFixed(2)} s, ${Math.round((SESSION_LINES / ms) * 1000).toLocaleString()} lines/s`);
  return answers === owed && !closedByProxy && snap.shares.submitsReceived === snap.shares.submitsAnswered;
}

const ok1 = stagePure();
const ok2 = SESSION_LINES > 0 ? await stageSession() : true;
console.log(ok1 && ok2 ? 'RESULT: PASS (no crash, bounded buffer, one answer per id)' : 'RESULT: FAIL');
process.exitCode = ok1 && ok2 ? 0 : 1;
