/**
 * Soak run (issue 7), not part of the test suite: 2,000 simulated miners for
 * 10 minutes through surplus, with the scheduler following a budget that
 * swings every minute (curtailed miners are withheld, disconnected after the
 * grace period, refused while curtailed, and reconnect by themselves), and a
 * pool failover in the middle (the primary stops for a minute, then comes
 * back and surplus falls back to it). Miners and pools run in a forked child;
 * the proxy and the scheduler are alone in this process.
 *
 * Every 30 s it prints RSS, heap, event-loop delay p99 over the interval,
 * miners connected/ready, accepted shares/s and whether the share books
 * balance; at the end it stops the miners, waits for every answer, and checks
 * the books settled exactly.
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/surplus-rel-bench && ln -sfn $PWD/node_modules /tmp/surplus-rel-bench/node_modules
 *   node /tmp/surplus-rel-bench/bench/soak.js [--miners 2000] [--minutes 10] [--rate 1000] [--sample 30] [--dup-window 4096]
 *   (leak hunting: node --expose-gc ... --heap-dir DIR: a full GC before each sample, heap snapshots)
 *
 * Churn soak (issue 11 item 9): `--churn 75` drops 75 miner connections a
 * second, round robin (the miners reconnect 100 ms later; 500 miners then
 * reconnect every ~7 s, 45,000 connects in 10 min), `--rename` brings each
 * back under a new worker name, and the budget stays at full power. The
 * `rows` and `resumable` columns are the tables keyed by worker name and
 * session id; `--row-idle-s` / `--resume-s` set their age bounds
 * (limits.workerRowIdleS, upstream.resumeWindowS).
 *   node --expose-gc /tmp/surplus-rel-bench/bench/soak.js --miners 500 --minutes 10 --churn 75 --rename --rate 500 --row-idle-s 120 --resume-s 120
 */
import { fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { resolveConfig } from '../src/config/load.js';
import { silentLogger } from '../src/observability/logger.js';
import { HttpBudgetSource } from '../src/power/http-budget-source.js';
import { Proxy } from '../src/proxy.js';
import { createFleetState } from '../src/scheduler/fleet-state.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { SimPool } from '../src/demo/sim-pool.js';
import { eldMs, ELD_RES_MS, LoadMiner, LOAD_MINER_DIFF, pct } from './proxy-load-miner.js';
import { arg, next, mib, sleep } from './bench-util.js';
import { systemClock } from '../src/clock.js';

const POOL_DIFF = 1e-8;

async function child(): Promise<void> {
  const send = (m: unknown): void => void process.send!(m);
  const primary = new SimPool({ difficulty: POOL_DIFF, extranonce2Size: 8, jobIntervalMs: 30_000 });
  const backup = new SimPool({ difficulty: POOL_DIFF, extranonce2Size: 8, jobIntervalMs: 30_000 });
  send({ kind: 'pools', ports: [await primary.start(), await backup.start()] });
  let miners: LoadMiner[] = [];
  let answered = 0;
  let lat: number[] = [];
  const onAnswer = (ms: number): void => {
    answered++;
    if (lat.length < 200_000) lat.push(ms);
  };
  let timer: NodeJS.Timeout | undefined;
  let churnTimer: NodeJS.Timeout | undefined;
  process.on('message', async (m: { kind: string; port?: number; miners?: number; rate?: number; churn?: number; rename?: boolean }) => {
    if (m.kind === 'start') {
      const churn = m.churn ?? 0;
      // Churn: miners come back 100 ms after a drop (a flapping site) instead of 5 s after a curtailment close.
      const reconnectMs = churn > 0 ? 100 : 5000;
      for (let i = 0; i < m.miners!; i += 200) {
        const batch = Array.from({ length: Math.min(200, m.miners! - i) }, (_, k) => new LoadMiner(`site.u${i + k}`, onAnswer, reconnectMs, (i + k) % 2 === 0));
        await Promise.all(batch.map((x) => x.open(m.port!)));
        miners.push(...batch);
      }
      if (churn > 0) {
        // `churn` connections dropped per second, round robin; with `rename`, each comes back under
        // a new worker name (a site whose miners rotate names, or a peer doing it on purpose).
        let at = 0;
        let owedDrops = 0;
        let gen = 0;
        churnTimer = setInterval(() => {
          owedDrops += churn / 10;
          for (; owedDrops >= 1; owedDrops--) {
            const i = at;
            at = (at + 1) % miners.length;
            const x = miners[i]!;
            if (m.rename) x.worker = `site.u${i}.g${++gen}`;
            x.drop();
          }
        }, 100);
      }
      // Shares at `rate` per second over the miners that have work; one tick every 10 ms.
      let cursor = 0;
      let owed = 0;
      timer = setInterval(() => {
        owed += m.rate! / 100;
        for (let tries = 0; owed >= 1 && tries < miners.length; tries++) {
          const x = miners[cursor]!;
          cursor = (cursor + 1) % miners.length;
          if (x.submit()) owed--;
        }
        owed = Math.min(owed, m.rate!); // no catching up after a period without ready miners
      }, 10);
      send({ kind: 'started' });
    } else if (m.kind === 'sample') {
      const ready = miners.filter((x) => x.ready).length;
      send({ kind: 'sample', ready, answered, latP99: pct(lat, 99) });
      lat = [];
    } else if (m.kind === 'primary-down') {
      await primary.stop();
      send({ kind: 'ok' });
    } else if (m.kind === 'primary-up') {
      await primary.start();
      send({ kind: 'ok' });
    } else if (m.kind === 'stop') {
      if (timer) clearInterval(timer);
      if (churnTimer) clearInterval(churnTimer);
      await new Promise((r) => setTimeout(r, 2000));
      for (const x of miners) x.close();
      const unanswered = miners.reduce((n, x) => n + x.unanswered, 0);
      const connects = miners.reduce((n, x) => n + x.connects, 0);
      send({ kind: 'stopped', unanswered, connects, pools: [primary.stats, backup.stats] });
      miners = [];
      await primary.stop();
      await backup.stop();
      process.exit(0);
    }
  });
}

async function main(): Promise<void> {
  const n = arg('miners', 2000);
  const minutes = arg('minutes', 10);
  const rate = arg('rate', 1000);
  const sampleS = arg('sample', 30);
  // Churn soak (issue 11 item 9): --churn 75 drops 75 connections a second (36,000 in 8 min with 500 miners),
  // --rename gives each reconnect a new worker name; the budget then stays at full fleet power.
  const churn = arg('churn', 0);
  const rename = process.argv.includes('--rename');
  const rowIdleS = arg('row-idle-s', 3600);
  const resumeS = arg('resume-s', 300);
  // Leak hunting: --heap-dir DIR writes a heap snapshot at every sample (use with node --expose-gc).
  const hd = process.argv.indexOf('--heap-dir');
  const heapDir = hd >= 0 ? process.argv[hd + 1] : undefined;
  const cp = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: 'inherit' });
  const { ports } = await next<{ ports: [number, number] }>(cp, 'pools');
  const config = resolveConfig({
    listen: '127.0.0.1:0',
    pools: ports.map((p, i) => ({ url: `stratum+tcp://127.0.0.1:${p}`, user: `soak${i}` })),
    difficulty: { initial: LOAD_MINER_DIFF, min: LOAD_MINER_DIFF, max: LOAD_MINER_DIFF },
    upstream: { maxMinersPerConnection: 100, silenceTimeoutS: 90, fallbackStableS: 20, requestTimeoutS: 10, resumeWindowS: resumeS },
    shares: { hashThreads: 1, duplicateWindow: arg('dup-window', 4096) },
    limits: { maxConnectionsPerIp: n + 100, maxSubmitsPerSecond: 1000, workerRowIdleS: rowIdleS },
    scheduler: { tickS: 5, minOnS: 0, minOffS: 0, withholdGraceS: 10, commandStaggerMs: 2, rampKwPerMin: 1e6 },
    fleet: { miners: Array.from({ length: n }, (_, i) => ({ id: `u${i}`, worker: `site.u${i}`, model: 'generic' })) },
    log: { level: 'warn' },
  });
  const proxy = new Proxy(config);
  const { port } = await proxy.start();
  const fleetKw = n * 3.5;
  const budget = new HttpBudgetSource(3600, fleetKw, systemClock);
  const scheduler = new Scheduler({
    clock: systemClock,
    logger: silentLogger(),
    settings: config.scheduler,
    fleet: createFleetState(config.fleet),
    budget,
    guard: { holdLastS: 60, failsafeKw: 0 },
    drivers: () => {
      throw new Error('Stratum-only fleet: no device API');
    },
    lever: proxy.lever,
  });
  await scheduler.start();
  cp.send({ kind: 'start', port, miners: n, rate, churn, rename });
  await next(cp, 'started');

  const eld = monitorEventLoopDelay({ resolution: ELD_RES_MS });
  eld.enable();
  const t0 = Date.now();
  const endAt = t0 + minutes * 60_000;
  const rows: string[] = [];
  const rssSeries: number[] = [];
  let eldP99Max = 0;
  let lastAccepted = proxy.snapshot().shares.accepted;
  let lastT = t0;
  let unbalancedSamples = 0;
  let failoverDone = false;
  let fallbackDone = false;
  let budgetStep = 0;
  console.log('  t(s)   RSS MiB  heap MiB  ext MiB  ELD p99 ms  miners conn/ready  withheld  accepted/s  miner p99 ms  pool   rows  resumable  balanced');
  while (Date.now() < endAt) {
    await sleep(1000);
    const el = Date.now() - t0;
    // Budget swings every minute: 100 % → 40 % → 70 % → 25 % → ... of the fleet's draw.
    const step = Math.floor(el / 60_000);
    if (step !== budgetStep && churn === 0) {
      budgetStep = step;
      const frac = [1, 0.4, 0.7, 0.25, 0.9, 0.5][step % 6]!;
      budget.put({ kw: Math.round(fleetKw * frac) });
    }
    // A pool outage in the middle: the primary is down from 45 % to 55 % of the run.
    if (!failoverDone && el >= minutes * 60_000 * 0.45) {
      failoverDone = true;
      cp.send({ kind: 'primary-down' });
      await next(cp, 'ok');
    }
    if (failoverDone && !fallbackDone && el >= minutes * 60_000 * 0.55) {
      fallbackDone = true;
      cp.send({ kind: 'primary-up' });
      await next(cp, 'ok');
    }
    if (el % (sampleS * 1000) < 1000 || Date.now() >= endAt) {
      cp.send({ kind: 'sample' });
      const cs = await next<{ ready: number; latP99: number }>(cp, 'sample');
      const s = proxy.snapshot();
      // With --expose-gc, measure what is really retained (heap after a full GC) next to RSS.
      (globalThis as { gc?: () => void }).gc?.();
      if (heapDir) writeHeapSnapshot(`${heapDir}/soak-${String(Math.round(el / 1000)).padStart(5, '0')}.heapsnapshot`);
      const mem = process.memoryUsage();
      const p99 = eldMs(eld.percentile(99));
      eldP99Max = Math.max(eldP99Max, p99);
      eld.reset();
      const now = Date.now();
      const accPerS = (s.shares.accepted - lastAccepted) / ((now - lastT) / 1000);
      lastAccepted = s.shares.accepted;
      lastT = now;
      if (!s.accounting.balanced) unbalancedSamples++;
      rssSeries.push(mem.rss);
      const withheld = scheduler.snapshot().units.filter((u) => u.state === 'off').length;
      const row = `${String(Math.round(el / 1000)).padStart(6)}  ${mib(mem.rss).padStart(8)}  ${mib(mem.heapUsed).padStart(8)}  ${mib(mem.external).padStart(7)}  ${p99.toFixed(2).padStart(10)}  ${`${s.minersConnected}/${s.minersReady}`.padStart(17)}  ${String(withheld).padStart(8)}  ${accPerS.toFixed(0).padStart(10)}  ${cs.latP99.toFixed(1).padStart(12)}  ${s.activePool.slice(-5).padStart(7)}  ${String(s.tables.workerRows).padStart(5)}  ${String(s.tables.resumableSessions).padStart(9)}  ${s.accounting.balanced ? 'yes' : `NO ${s.accounting.problems.join('; ')}`}`;
      rows.push(row);
      console.log(row);
    }
  }
  eld.disable();
  await scheduler.stop();
  cp.send({ kind: 'stop' });
  const stopped = await next<{ unanswered: number; connects: number; pools: SimPool['stats'][] }>(cp, 'stopped');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && (proxy.snapshot().minersConnected > 0 || proxy.snapshot().accounting.poolPending > 0)) await sleep(200);
  const end = proxy.snapshot();
  await proxy.close();
  const c = end.shares;
  const settled = end.accounting.balanced && c.submitsReceived === c.submitsAnswered && end.accounting.poolPending === 0;
  console.log(`\nran ${minutes} min with ${n} miners (${stopped.connects} connects in all: curtailment disconnects and reconnects), offered ${rate} shares/s`);
  console.log(`RSS: first sample ${mib(rssSeries[0]!)} MiB, max ${mib(Math.max(...rssSeries))} MiB, last ${mib(rssSeries.at(-1)!)} MiB; event-loop delay p99 worst interval ${eldP99Max.toFixed(2)} ms`);
  console.log(`pools: ${end.pools.map((p) => `${p.url.slice(-5)} failovers ${p.failovers} disconnects ${p.disconnects}`).join(', ')}; active at end ${end.activePool.slice(-5)}`);
  console.log(`books: received ${c.submitsReceived} = answered ${c.submitsAnswered}; accepted ${c.accepted} + rejected ${JSON.stringify(c.rejected)}; forwarded ${c.forwarded} = pool accepted ${c.poolAccepted} + rejected ${c.poolRejected} + timed out ${c.poolTimedOut} + lost ${c.poolLost}; pools saw ${stopped.pools.map((p) => p.submits).join(' + ')}`);
  console.log(`samples unbalanced: ${unbalancedSamples}; settled at the end: ${settled ? 'yes' : `NO ${end.accounting.problems.join('; ')}`}; miner-side submits left unanswered by a closed connection: ${stopped.unanswered}`);
  process.exitCode = settled && unbalancedSamples === 0 ? 0 : 1;
}

if (process.argv.includes('--child')) await child();
else await main();
