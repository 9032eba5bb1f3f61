/**
 * Load bench (issue 6 item 3, issue 7): N miner connections (1,000 / 10,000)
 * through surplus to the simulated pool. Miners and pool live in a forked
 * child process; the proxy (with its hash worker) is alone in this one, so
 * the RSS and event-loop delay printed are the proxy's own. Miners are cheap:
 * the difficulty is so low (1e-9: ~4 sha256d per share) that each share is
 * found on demand, so the submit rate is set exactly.
 *
 * Measures: accepted shares/s end to end, submit round-trip latency p50/p99
 * seen by the miners (and the same load sent straight to the pool as the
 * baseline, so "what the proxy adds" is the difference), time from a new
 * upstream job (the pool writes it) to each miner having it (p50/p99/max over
 * miners, several jobs), RSS, event-loop delay p99, and the share books.
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/surplus-rel-bench && ln -sfn $PWD/node_modules /tmp/surplus-rel-bench/node_modules
 *   node /tmp/surplus-rel-bench/bench/proxy-load.js --miners 10000 --rate 2000 --seconds 30
 *   (bench/proxy-load.sh raises the fd limit and runs 1,000 and 10,000)
 */
import { fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../src/config/load.js';
import { Proxy } from '../src/proxy.js';
import { SimPool } from '../src/demo/sim-pool.js';
import { eldMs, ELD_RES_MS, LoadMiner, LOAD_MINER_DIFF as MINER_DIFF, pct } from './proxy-load-miner.js';
import { arg, next, mib } from './bench-util.js';

const POOL_DIFF = 1e-8; // one share in ten goes upstream

// ------------------------------------------------------------------ child: pool + load miners

interface PhaseResult {
  answered: number;
  accepted: number;
  seconds: number;
  latP50: number;
  latP99: number;
  latMax: number;
}

async function child(): Promise<void> {
  const send = (m: unknown): void => void process.send!(m);
  const pool = new SimPool({ difficulty: POOL_DIFF, extranonce2Size: 8 });
  const direct = new SimPool({ difficulty: MINER_DIFF, extranonce2Size: 8 });
  send({ kind: 'pool', port: await pool.start() });
  await direct.start();
  let miners: LoadMiner[] = [];
  let lat: number[] = [];
  let answered = 0;
  let accepted = 0;
  const onAnswer = (ms: number, ok: boolean): void => {
    answered++;
    if (ok) accepted++;
    lat.push(ms);
  };
  const connectAll = async (port: number, n: number, prefix: string): Promise<LoadMiner[]> => {
    const out: LoadMiner[] = [];
    for (let i = 0; i < n; i += 200) {
      const batch = Array.from({ length: Math.min(200, n - i) }, (_, k) => new LoadMiner(`${prefix}${i + k}`, onAnswer));
      await Promise.all(batch.map((m) => m.open(port)));
      out.push(...batch);
    }
    return out;
  };
  const run = async (rate: number, seconds: number): Promise<PhaseResult> => {
    lat = [];
    answered = 0;
    accepted = 0;
    let cursor = 0;
    const perTick = rate / 100;
    let carry = 0;
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        // Catch up by wall time so a slow tick does not lower the rate.
        const due = ((performance.now() - t0) / 1000) * rate - carry;
        for (let k = 0; k < Math.min(due, perTick * 5); k++) {
          miners[cursor]!.submit();
          cursor = (cursor + 1) % miners.length;
          carry++;
        }
        if (performance.now() - t0 >= seconds * 1000) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });
    await new Promise((r) => setTimeout(r, 1000)); // last answers
    return { answered, accepted, seconds: (performance.now() - t0 - 1000) / 1000, latP50: pct(lat, 50), latP99: pct(lat, 99), latMax: Math.max(...lat) };
  };
  process.on('message', async (m: { kind: string; port?: number; miners?: number; rate?: number; seconds?: number; jobs?: number }) => {
    if (m.kind === 'baseline') {
      // The same load straight to a pool: what a submit costs without surplus in the path.
      miners = await connectAll(direct.port, Math.min(m.miners!, 1000), 'direct');
      const r = await run(m.rate!, m.seconds!);
      for (const x of miners) x.close();
      send({ kind: 'baseline', r });
    } else if (m.kind === 'start') {
      const t0 = Date.now();
      miners = await connectAll(m.port!, m.miners!, 'rig');
      send({ kind: 'ready', connected: miners.filter((x) => x.ready).length, ms: Date.now() - t0 });
    } else if (m.kind === 'load') {
      send({ kind: 'load', r: await run(m.rate!, m.seconds!) });
    } else if (m.kind === 'fanout') {
      // New block jobs with the fleet quiet; per-miner arrival delay after the pool wrote the job.
      const delays: number[] = [];
      const lasts: number[] = [];
      const proxyLasts: number[] = [];
      let reached = 0;
      for (let j = 0; j < m.jobs!; j++) {
        const t0 = performance.now() + performance.timeOrigin;
        pool.newJob(true);
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline && !miners.every((x) => x.cleanAt >= t0)) await new Promise((r) => setTimeout(r, 2));
        const got = miners.filter((x) => x.cleanAt >= t0).map((x) => x.cleanAt - t0);
        reached = got.length;
        delays.push(...got);
        lasts.push(Math.max(...got));
        // The proxy's own side: when it issued the last write of this job (same clock base, other process).
        const ack = new Promise<{ endAtMs: number }>((resolve) => {
          const on = (x: { kind: string; endAtMs: number }): void => {
            if (x.kind !== 'proxy-fanout') return;
            process.off('message', on);
            resolve(x);
          };
          process.on('message', on);
        });
        send({ kind: 'job-done' });
        proxyLasts.push((await ack).endAtMs - t0);
        await new Promise((r) => setTimeout(r, 300));
      }
      send({ kind: 'fanout', p50: pct(delays, 50), p99: pct(delays, 99), lastP50: pct(lasts, 50), lastMax: Math.max(...lasts), proxyLastP50: pct(proxyLasts, 50), proxyLastMax: Math.max(...proxyLasts), reached, jobs: m.jobs });
    } else if (m.kind === 'stop') {
      for (const x of miners) x.close();
      send({ kind: 'stopped', pool: pool.stats });
      await pool.stop();
      await direct.stop();
      process.exit(0);
    }
  });
}

// ------------------------------------------------------------------ parent: the proxy

async function main(): Promise<void> {
  const miners = arg('miners', 1000);
  const rate = arg('rate', 2000);
  const seconds = arg('seconds', 20);
  const jobs = arg('jobs', 10);
  const cp = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: 'inherit' });
  const { port: poolPort } = await next<{ port: number }>(cp, 'pool');
  cp.send({ kind: 'baseline', miners, rate, seconds: Math.min(10, seconds) });
  const base = (await next<{ r: PhaseResult }>(cp, 'baseline')).r;

  const proxy = new Proxy(
    resolveConfig({
      listen: '127.0.0.1:0',
      pools: [{ url: `stratum+tcp://127.0.0.1:${poolPort}`, user: 'bench' }],
      difficulty: { initial: MINER_DIFF, min: MINER_DIFF, max: MINER_DIFF },
      upstream: { maxMinersPerConnection: 100 },
      shares: { hashThreads: 1 },
      limits: { maxConnectionsPerIp: miners + 100, maxSubmitsPerSecond: 1000 },
      log: { level: 'warn' },
    }),
  );
  const { port } = await proxy.start();
  const rssIdle = process.memoryUsage().rss;
  cp.send({ kind: 'start', port, miners });
  const ready = await next<{ connected: number; ms: number }>(cp, 'ready');
  await new Promise((r) => setTimeout(r, 1000));
  const memConnected = process.memoryUsage();
  const rssConnected = memConnected.rss;

  // The histogram records whole timer intervals: subtract the resolution to get the delay.
  const eld = monitorEventLoopDelay({ resolution: ELD_RES_MS });
  eld.enable();
  let rssPeak = 0;
  let atPeak = process.memoryUsage();
  const sampler = setInterval(() => {
    const u = process.memoryUsage();
    if (u.rss > rssPeak) [rssPeak, atPeak] = [u.rss, u];
  }, 250);
  const s0 = proxy.snapshot();
  cp.send({ kind: 'load', rate, seconds });
  const load = (await next<{ r: PhaseResult }>(cp, 'load')).r;
  const s1 = proxy.snapshot();
  eld.disable();
  const f0 = proxy.snapshot().jobFanout;
  const onJobDone = (m: { kind: string }): void => {
    if (m.kind === 'job-done') cp.send({ kind: 'proxy-fanout', endAtMs: proxy.snapshot().jobFanout.lastEndAtMs });
  };
  cp.on('message', onJobDone);
  cp.send({ kind: 'fanout', jobs });
  const fan = await next<{ p50: number; p99: number; lastP50: number; lastMax: number; proxyLastP50: number; proxyLastMax: number; reached: number; jobs: number }>(cp, 'fanout');
  cp.off('message', onJobDone);
  const f1 = proxy.snapshot().jobFanout;
  clearInterval(sampler);
  const snap = proxy.snapshot();
  cp.send({ kind: 'stop' });
  const { pool } = await next<{ pool: SimPool['stats'] }>(cp, 'stopped');
  await new Promise((r) => setTimeout(r, 500));
  const end = proxy.snapshot();
  await proxy.close();

  const acceptedPerS = (s1.shares.accepted - s0.shares.accepted) / load.seconds;
  const result = {
    miners,
    connected: ready.connected,
    connectMs: ready.ms,
    upstreamConnections: snap.upstreamConnections,
    offeredRate: rate,
    acceptedPerS: Math.round(acceptedPerS),
    submitLatencyMs: { p50: +load.latP50.toFixed(2), p99: +load.latP99.toFixed(2), max: +load.latMax.toFixed(1) },
    baselineDirectToPoolMs: { p50: +base.latP50.toFixed(2), p99: +base.latP99.toFixed(2), miners: Math.min(miners, 1000) },
    proxyAddsP99Ms: +(load.latP99 - base.latP99).toFixed(2),
    // Client side: pool writes the job -> each miner socket's data event in the (single-threaded) miners' process.
    fanoutMs: { perMinerP50: +fan.p50.toFixed(2), perMinerP99: +fan.p99.toFixed(2), lastMinerP50: +fan.lastP50.toFixed(2), lastMinerMax: +fan.lastMax.toFixed(2), reached: fan.reached, jobs: fan.jobs },
    // Proxy side: pool writes the job -> the proxy issued its last miner write (the data is then in that miner's kernel buffer),
    // and the proxy's own busy time handing one job to all N miners (sum over its upstream connections), per miner.
    proxyFanoutMs: {
      lastWriteP50: +fan.proxyLastP50.toFixed(2),
      lastWriteMax: +fan.proxyLastMax.toFixed(2),
      busyPerJob: +((f1.totalMs - f0.totalMs) / fan.jobs).toFixed(2),
      busyPerMinerUs: +(((f1.totalMs - f0.totalMs) / fan.jobs / miners) * 1000).toFixed(2),
    },
    proxyFanoutPerUpstreamMs: { jobs: snap.jobFanout.jobs, lastMs: +snap.jobFanout.lastMs.toFixed(2), maxMs: +snap.jobFanout.maxMs.toFixed(2), lastMembers: snap.jobFanout.lastMembers },
    rssMiB: { idle: +mib(rssIdle), connected: +mib(rssConnected), peak: +mib(Math.max(rssPeak, rssConnected)) },
    // Where the RSS sits: V8 heap of the main thread (the hash worker's heap is in RSS only) and off-heap buffers.
    connectedMiB: { heapUsed: +mib(memConnected.heapUsed), heapTotal: +mib(memConnected.heapTotal), external: +mib(memConnected.external), arrayBuffers: +mib(memConnected.arrayBuffers) },
    atPeakMiB: { heapUsed: +mib(atPeak.heapUsed), heapTotal: +mib(atPeak.heapTotal), external: +mib(atPeak.external), arrayBuffers: +mib(atPeak.arrayBuffers) },
    eventLoopDelayMs: { p50: eldMs(eld.percentile(50)), p99: eldMs(eld.percentile(99)), max: eldMs(eld.max) },
    accounting: { ...end.accounting, received: end.shares.submitsReceived, answered: end.shares.submitsAnswered, forwarded: end.shares.forwarded, poolAccepted: end.shares.poolAccepted, poolSaw: pool.submits },
  };
  console.log(JSON.stringify(result, null, 2));
}

if (process.argv.includes('--child')) await child();
else await main();
