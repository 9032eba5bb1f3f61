/**
 * The pure miner session's own cost (issue 14 item 1), with no sockets, so
 * it does not move with the load on a shared machine as the loopback bench
 * does: N sessions through the handshake, then J jobs fanned out to all of
 * them, then S submits each (parse, precheck, judge, actions; the hash is
 * one real result reused, so the validator's SHA-256 is not what is
 * measured). Prints heap per session after a full GC, ns per job per
 * session, ns per submit (both halves: the message and the hash result),
 * and the actions returned per submit.
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/surplus-rel-bench && ln -sfn $PWD/node_modules /tmp/surplus-rel-bench/node_modules
 *   node --expose-gc /tmp/surplus-rel-bench/bench/miner-session.bench.js [--miners 10000] [--jobs 20] [--submits 20]
 */
import { resolveConfig } from '../src/config/load.js';
import type { MinerAction } from '../src/miner/events.js';
import { MinerSession } from '../src/miner/miner-session.js';
import type { MinerSlot, MinerWork, WorkSource } from '../src/miner/work.js';
import { validateShare } from '../src/shares/validator.js';
import type { HashRequest } from '../src/shares/types.js';
import { encodeNotification } from '../src/wire/json-rpc.js';
import type { StratumJob } from '../src/wire/stratum-job.js';
import { arg, hex8, syntheticJob } from './bench-util.js';
import { prepareJob } from '../src/shares/validator.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const miners = arg('miners', 10_000);
const jobs = arg('jobs', 20);
const submits = arg('submits', 20);

const NTIME = 0x6553f100;
const config = resolveConfig({
  pools: [{ url: 'stratum+tcp://127.0.0.1:3333', user: 'farm' }],
  // Difficulty pinned low: every share is accepted, no retarget.
  difficulty: { initial: 1e-9, min: 1e-9, max: 1e-9 },
  limits: { maxSubmitsPerSecond: 1e9 },
});
const jobAt = (j: number): StratumJob => syntheticJob(j, NTIME, false);
const work = (job: StratumJob): MinerWork => ({ job, line: Buffer.from(encodeNotification('mining.notify', [job.jobId])), prepared: prepareJob(job), origin: { poolDifficulty: 1e-9 } });
let nextId = 1 << 20;
const source: WorkSource & { current: MinerWork | undefined } = {
  current: work({ ...jobAt(0), cleanJobs: true }),
  difficulty: 1e-9,
  versionMask: 0x1fffe000,
  alias: (w, cleanJobs) => work({ ...w.job, jobId: (nextId++).toString(16), cleanJobs }),
  cleanCopy: (w) => w,
};

const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const req = (id: number, method: string, params: unknown[]) => ({ type: 'message' as const, message: { kind: 'request' as const, id, method, params } });

let now = 1_000_000;
const before = heap();
const sessions: MinerSession[] = [];
for (let m = 0; m < miners; m++) {
  const s = new MinerSession(config, now);
  const slot: MinerSlot = { channel: source, prefixHex: hex8(m), extranonce1: hex8(m), extranonce2Size: 4 };
  s.handle(req(1, 'mining.subscribe', []), now);
  s.handle({ type: 'slot', slot, sessionId: hex8(m) }, now);
  s.handle(req(2, 'mining.authorize', [`rig${m}`]), now);
  s.handle({ type: 'admission', id: 2, worker: `rig${m}`, withheld: false }, now);
  sessions.push(s);
}
const perSession = (heap() - before) / miners;

let t0 = process.hrtime.bigint();
for (let j = 1; j <= jobs; j++) {
  const w = work(jobAt(j));
  source.current = w;
  for (const s of sessions) s.handle({ type: 'job', work: w }, now);
}
const jobNs = Number(process.hrtime.bigint() - t0) / (jobs * miners);

// One real hash result, reused: the session's work is what is timed, not SHA-256.
const probe = sessions[0]!.handle(req(3, 'mining.submit', ['rig0', jobs.toString(16), '00000000', hex8(NTIME), '00000000']), now);
const request = (probe.find((a) => a.type === 'hash') as { request: HashRequest }).request;
const result = validateShare(request);
let actions = 0;
let accepted = 0;
const count = (out: readonly MinerAction[]): void => {
  actions += out.length;
  for (const a of out) if (a.type === 'accepted') accepted++;
};
count(sessions[0]!.handle({ type: 'hashed', result }, now));
t0 = process.hrtime.bigint();
for (let k = 1; k <= submits; k++) {
  now += 1;
  const nonce = hex8(k);
  for (let m = 0; m < miners; m++) {
    const s = sessions[m]!;
    count(s.handle(req(10 + k, 'mining.submit', [`rig${m}`, jobs.toString(16), '00000000', hex8(NTIME), nonce]), now));
    count(s.handle({ type: 'hashed', result }, now));
  }
}
const submitNs = Number(process.hrtime.bigint() - t0) / (submits * miners);

console.log(
  JSON.stringify(
    {
      miners,
      heapPerSessionKiB: Number((perSession / 1024).toFixed(2)),
      jobNsPerSession: Math.round(jobNs),
      submitNs: Math.round(submitNs),
      actionsPerSubmit: Number((actions / (submits * miners + 1)).toFixed(2)),
      accepted,
    },
    null,
    2,
  ),
);
