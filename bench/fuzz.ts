/**
 * The million-line fuzz run (issues 7 and 11), both directions and the
 * device API. Pure stages: miner lines through the front door (LineFramer at
 * random chunk splits, JSON-RPC decode, the method's guard), pool lines
 * through decode and every dialect parser, device replies through the
 * cgminer parser and the Avalon stats reader. Loopback stages: fuzz lines
 * streamed into a real miner session, and from a raw pool at the proxy's
 * upstream connection; every line owed an answer gets exactly one, with its
 * id as sent, the connections survive and the submit books balance. Lines
 * are mutated corpus lines and structure-aware ones (bench/fuzz-structured.ts:
 * any JSON value in any field, deep nesting, odd numbers, long strings).
 *
 * Run: npx tsc -p tsconfig.json --outDir /tmp/surplus-bench; node /tmp/surplus-bench/bench/fuzz.js
 * Env: LINES (pure stages, default 1,000,000 each), SESSION_LINES (loopback stages, default 1,000,000 each), SEED.
 */
import { LineFramer } from '../src/wire/line-framer.js';
import { parseCgminerReply, replyStatus } from '../src/fleet/cgminer-reply.js';
import { parseAvalonStats, toDeviceStatus } from '../src/fleet/avalon-stats.js';
import { classifyLine, expectsAnswer, fuzzLine, mutateLine, reasonKey, xorshift } from './fuzz-corpus.js';
import { classifyPoolLine, structuredDeviceReply, structuredMinerLine, structuredPoolLine } from './fuzz-structured.js';
import { runMinerSession, runPoolSession, type SessionResult } from './fuzz-sessions.js';

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
    pending.push(r() < 0.0002 ? 'x'.repeat(20_000) : r() < 0.5 ? fuzzLine(r) : structuredMinerLine(r));
    if (pending.length === 2000) flush();
  }
  if (pending.length > 0) flush();
  const ms = performance.now() - t0;
  const rss1 = process.memoryUsage().rss;
  console.log(`stage 1 (miner lines: framer + JSON-RPC + guards): ${LINES.toLocaleString()} lines generated (seed ${SEED})`);
  console.log(`  framed ${framed.toLocaleString()}, overflowed ${overflows}, decoded ${parsed.toLocaleString()}, owed an answer ${owed.toLocaleString()}, crashes ${crashes}`);
  console.log(`  framer buffer max ${maxBuffered} B (cap ${MAX_LINE}); RSS ${mb(rss0)} -> ${mb(rss1)}; ${(ms / 1000).toFixed(2)} s, ${Math.round((LINES / ms) * 1000).toLocaleString()} lines/s`);
  console.log('  verdicts:');
  for (const [k, n] of [...reasons].sort((a, b) => b[1] - a[1])) console.log(`    ${String(n).padStart(9)}  ${k}`);
  return crashes === 0 && maxBuffered <= MAX_LINE;
}

function stagePurePool(): boolean {
  const r = xorshift(SEED ^ 0x9001);
  const kinds = new Map<string, number>();
  let owed = 0;
  let crashes = 0;
  const t0 = performance.now();
  for (let i = 0; i < LINES; i++) {
    // Mostly structured; some mutated further (flips, truncation, stray brackets).
    const line = r() < 0.7 ? structuredPoolLine(r) : mutateLine(r, structuredPoolLine(r));
    try {
      const v = classifyPoolLine(line);
      kinds.set(v.kind, (kinds.get(v.kind) ?? 0) + 1);
      if (v.owed) owed++;
    } catch (err) {
      crashes++;
      if (crashes <= 5) console.error('CRASH on pool line', line.slice(0, 300), err);
    }
  }
  const ms = performance.now() - t0;
  console.log(`stage 2 (pool lines: JSON-RPC + every dialect parser): ${LINES.toLocaleString()} lines, owed an answer ${owed.toLocaleString()}, crashes ${crashes}; ${(ms / 1000).toFixed(2)} s, ${Math.round((LINES / ms) * 1000).toLocaleString()} lines/s`);
  console.log(`  ${[...kinds].map(([k, n]) => `${k} ${n.toLocaleString()}`).join(', ')}`);
  return crashes === 0;
}

function stagePureDevice(): boolean {
  const r = xorshift(SEED ^ 0xde71ce);
  let ok = 0;
  let refused = 0;
  let stats = 0;
  let crashes = 0;
  let maxMs = 0;
  const t0 = performance.now();
  for (let i = 0; i < LINES; i++) {
    const reply = r() < 0.8 ? structuredDeviceReply(r) : mutateLine(r, structuredDeviceReply(r));
    const t = performance.now();
    try {
      const p = parseCgminerReply(reply);
      if (!p.ok) {
        refused++;
        if (p.reason.length > 1000) throw new Error(`unbounded reason (${p.reason.length} chars)`);
      } else {
        ok++;
        replyStatus(p.reply.body);
        const s = parseAvalonStats(p.reply.body);
        if (s.ok) {
          stats++;
          toDeviceStatus(s.stats);
        }
      }
    } catch (err) {
      crashes++;
      if (crashes <= 5) console.error('CRASH on device reply', reply.slice(0, 300), err);
    }
    maxMs = Math.max(maxMs, performance.now() - t);
  }
  const ms = performance.now() - t0;
  console.log(`stage 3 (device API replies: cgminer parse, STATUS, Avalon stats): ${LINES.toLocaleString()} replies, parsed ${ok.toLocaleString()} (stats read ${stats.toLocaleString()}), refused ${refused.toLocaleString()}, crashes ${crashes}`);
  console.log(`  slowest reply ${maxMs.toFixed(1)} ms; ${(ms / 1000).toFixed(2)} s, ${Math.round((LINES / ms) * 1000).toLocaleString()} replies/s`);
  return crashes === 0;
}

function report(name: string, res: SessionResult, extra = ''): boolean {
  console.log(`${name}: ${res.lines.toLocaleString()} fuzz lines`);
  console.log(`  owed ${res.owed.toLocaleString()} answers, got ${res.answers.toLocaleString()} (+${res.notifications.toLocaleString()} requests/notifications), id mismatches ${res.idMismatches}; connection ${res.closed ? 'CLOSED' : 'alive'}`);
  if (extra) console.log(`  ${extra}`);
  if (res.firstMismatch) console.log(`  first id mismatch: ${res.firstMismatch}`);
  console.log(`  RSS (proxy + peer in one process) max ${mb(res.rssMaxBytes)}; ${(res.ms / 1000).toFixed(2)} s, ${Math.round((res.lines / res.ms) * 1000).toLocaleString()} lines/s`);
  return res.answers === res.owed && !res.closed && res.idMismatches === 0;
}

const ok1 = stagePure();
const ok2 = stagePurePool();
const ok3 = stagePureDevice();
let ok4 = true;
let ok5 = true;
if (SESSION_LINES > 0) {
  const miner = await runMinerSession(SESSION_LINES, xorshift(SEED ^ 0x5eed), (r) => (r() < 0.5 ? fuzzLine(r) : structuredMinerLine(r)));
  ok4 = report('stage 4 (miner -> surplus, one real miner session over loopback, after subscribe + authorize)', miner,
    `proxy counted ${miner.malformed!.toLocaleString()} malformed lines, ${miner.submitsReceived!.toLocaleString()} submits received, ${miner.submitsAnswered!.toLocaleString()} answered`) && miner.submitsReceived === miner.submitsAnswered;
  const pool = await runPoolSession(SESSION_LINES, xorshift(SEED ^ 0x9001f), (r) => (r() < 0.8 ? structuredPoolLine(r) : mutateLine(r, structuredPoolLine(r))));
  ok5 = report('stage 5 (pool -> surplus, the proxy\'s upstream connection over loopback, after the handshake)', pool, `proxy counted ${pool.malformed!.toLocaleString()} malformed lines and bad messages`);
}
const all = ok1 && ok2 && ok3 && ok4 && ok5;
console.log(all ? 'RESULT: PASS (no crash, bounded buffer, one answer per owed id, books balanced)' : 'RESULT: FAIL');
process.exitCode = all ? 0 : 1;
