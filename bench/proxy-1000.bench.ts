/**
 * 1,000 simulated miner connections through surplus to a simulated pool
 * (issue 3). The proxy runs in this process (so RSS is the proxy's own, hash
 * workers included); the pool and the miner fleet run in a forked child.
 * Prints accepted shares/s, forwarded shares/s, RSS, and the time from a new
 * upstream job (pool writes it) to the last miner having it.
 *
 *   npx tsc -p tsconfig.json --outDir build/bench && node build/bench/bench/proxy-1000.bench.js [--miners 1000] [--seconds 20] [--rate 400000] [--json]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../src/config/load.js';
import { Proxy } from '../src/proxy.js';
import { SimPool } from '../src/demo/sim-pool.js';
import { SimMinerFleet } from '../src/demo/sim-miner-fleet.js';
import { arg } from './bench-util.js';

type Msg =
  | { kind: 'pool'; port: number }
  | { kind: 'ready'; connected: number; ms: number }
  | { kind: 'fanout'; ms: number; reached: number }
  | { kind: 'totals'; totals: ReturnType<SimMinerFleet['totals']>; pool: SimPool['stats'] };

const MINER_DIFF = 1e-7; // ~430 hashes per share: the fleet finds shares cheaply
const POOL_DIFF = 1e-6; // one share in ten goes upstream

async function child(): Promise<void> {
  const send = (m: Msg): void => void process.send!(m);
  const pool = new SimPool({ difficulty: POOL_DIFF, extranonce2Size: 8 });
  send({ kind: 'pool', port: await pool.start() });
  let fleet: SimMinerFleet | undefined;
  process.on('message', async (m: { kind: string; port?: number; miners?: number; rate?: number }) => {
    if (m.kind === 'start') {
      const t0 = Date.now();
      fleet = new SimMinerFleet({ host: '127.0.0.1', port: m.port!, count: m.miners!, totalHashesPerSecond: m.rate!, workerPrefix: 'rig', connectConcurrency: 100 });
      await fleet.start();
      send({ kind: 'ready', connected: fleet.totals().connected, ms: Date.now() - t0 });
    } else if (m.kind === 'fanout') {
      const f = fleet!;
      if (m.rate === 0) f.pause();
      const before = f.miners.map((x) => x.stats.cleanJobs);
      const t0 = Date.now();
      pool.newJob(true);
      const deadline = t0 + 10_000;
      while (Date.now() < deadline && !f.miners.every((x, i) => x.stats.cleanJobs > before[i]!)) await new Promise((r) => setTimeout(r, 1));
      const reached = f.miners.filter((x, i) => x.stats.cleanJobs > before[i]!);
      send({ kind: 'fanout', ms: Math.max(...reached.map((x) => x.stats.lastJobAtMs)) - t0, reached: reached.length });
    } else if (m.kind === 'totals') {
      fleet?.pause();
      await new Promise((r) => setTimeout(r, 1000));
      send({ kind: 'totals', totals: fleet!.totals(), pool: pool.stats });
      fleet?.stop();
      await pool.stop();
      process.exit(0);
    }
  });
}

function next<T extends Msg['kind']>(cp: ChildProcess, kind: T): Promise<Extract<Msg, { kind: T }>> {
  return new Promise((resolve) => {
    const on = (m: Msg): void => {
      if (m.kind === kind) {
        cp.off('message', on);
        resolve(m as Extract<Msg, { kind: T }>);
      }
    };
    cp.on('message', on);
  });
}

async function main(): Promise<void> {
  const miners = arg('miners', 1000);
  const seconds = arg('seconds', 20);
  const rate = arg('rate', 400_000);
  const json = process.argv.includes('--json');
  const cp = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: 'inherit' });
  const { port: poolPort } = await next(cp, 'pool');
  const proxy = new Proxy(
    resolveConfig({
      listen: '127.0.0.1:0',
      pools: [{ url: `stratum+tcp://127.0.0.1:${poolPort}`, user: 'bench' }],
      difficulty: { initial: MINER_DIFF, min: MINER_DIFF, max: MINER_DIFF },
      upstream: { maxMinersPerConnection: 50 },
      shares: { hashThreads: 1 },
      limits: { maxConnectionsPerIp: 5000 },
    }),
  );
  const { port } = await proxy.start();
  const rssBefore = process.memoryUsage().rss;
  cp.send({ kind: 'start', port, miners, rate });
  const ready = await next(cp, 'ready');
  await new Promise((r) => setTimeout(r, 2000)); // warm up
  const s0 = proxy.snapshot();
  const t0 = Date.now();
  let rssPeak = 0;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 250);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const s1 = proxy.snapshot();
  const elapsedS = (Date.now() - t0) / 1000;
  // Fan-out under load (the fleet keeps hashing in the same child process, so its
  // own event-loop lag is included), then with the fleet quiet.
  const fanouts: number[] = [];
  const quiet: number[] = [];
  let reached = 0;
  for (const list of [fanouts, quiet]) {
    for (let i = 0; i < 5; i++) {
      cp.send({ kind: 'fanout', rate: list === quiet ? 0 : rate });
      const f = await next(cp, 'fanout');
      list.push(f.ms);
      reached = f.reached;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  clearInterval(sampler);
  cp.send({ kind: 'totals' });
  const { totals, pool } = await next(cp, 'totals');
  await new Promise((r) => setTimeout(r, 300));
  const s2 = proxy.snapshot();
  const sorted = [...fanouts].sort((a, b) => a - b);
  const sortedQuiet = [...quiet].sort((a, b) => a - b);
  const result = {
    miners,
    connected: ready.connected,
    connectAllMs: ready.ms,
    upstreamConnections: s1.upstreamConnections,
    seconds: Number(elapsedS.toFixed(1)),
    acceptedPerS: Number(((s1.shares.accepted - s0.shares.accepted) / elapsedS).toFixed(1)),
    forwardedPerS: Number(((s1.shares.forwarded - s0.shares.forwarded) / elapsedS).toFixed(1)),
    rssBeforeMiB: Number((rssBefore / 2 ** 20).toFixed(1)),
    rssPeakMiB: Number((rssPeak / 2 ** 20).toFixed(1)),
    fanoutMs: { median: sorted[2], max: sorted[4], all: fanouts, reached },
    fanoutQuietMs: { median: sortedQuiet[2], max: sortedQuiet[4], all: quiet },
    proxyFanoutPerUpstreamMs: s2.jobFanout,
    accounting: {
      proxy: s2.shares,
      fleet: totals,
      pool: { submits: pool.submits, accepted: pool.accepted, rejected: pool.rejected },
    },
  };
  await proxy.close();
  if (json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`miners: ${result.connected}/${miners} connected in ${result.connectAllMs} ms over ${result.upstreamConnections} upstream connections`);
    console.log(`shares: ${result.acceptedPerS}/s validated+accepted, ${result.forwardedPerS}/s forwarded (over ${result.seconds} s)`);
    console.log(`RSS: ${result.rssBeforeMiB} MiB idle → ${result.rssPeakMiB} MiB peak under load (proxy process, hash worker included)`);
    console.log(`new upstream job → last of ${reached} miners, under load: median ${result.fanoutMs.median} ms, max ${result.fanoutMs.max} ms (${fanouts.join(', ')})`);
    console.log(`new upstream job → last of ${reached} miners, fleet quiet: median ${result.fanoutQuietMs.median} ms, max ${result.fanoutQuietMs.max} ms (${quiet.join(', ')})`);
    console.log(`proxy side alone: one upstream job to its ${s2.jobFanout.lastMembers} miners took ${s2.jobFanout.lastMs.toFixed(2)} ms (slowest ${s2.jobFanout.maxMs.toFixed(2)} ms over ${s2.jobFanout.jobs} hand-outs)`);
    console.log(`accounting: proxy received ${s2.shares.submitsReceived}, answered ${s2.shares.submitsAnswered}; forwarded ${s2.shares.forwarded} = pool accepted ${s2.shares.poolAccepted} + rejected ${s2.shares.poolRejected} + timeouts ${s2.shares.poolTimedOut} + lost ${s2.shares.poolLost}; pool's own count ${pool.accepted} accepted, rejected ${JSON.stringify(pool.rejected)}`);
    console.log(`fleet: submitted ${totals.submitted}, answered ${totals.answered}, accepted ${totals.accepted}, rejected ${totals.rejected}, unexpected replies ${totals.unexpectedReplies}`);
  }
}

if (process.argv.includes('--child')) await child();
else await main();
