/**
 * Plan time of the scheduling policy for a large fleet (issue 4: target <= 10 ms
 * for 10,000 units). Run: npx tsc -p tsconfig.json --outDir /tmp/surplus-bench && node /tmp/surplus-bench/bench/scheduler-plan.bench.js
 */
import { loadavg } from 'node:os';
import { BUILTIN_MODELS } from '../src/config/models.js';
import { createFleetState } from '../src/scheduler/fleet-state.js';
import { plan, type PolicySettings, type RampMemory } from '../src/scheduler/policy.js';

const UNITS = Number(process.env['UNITS'] ?? 10_000);
const ROUNDS = 200;
const WARMUP = 10;
// The configured defaults (issue 12: wear budget, on-hold, anticipation, % ramp on the net exchange), hysteresis 5 kW.
const settings: PolicySettings = {
  minOnS: 300,
  minOffS: 300,
  rampPctPerMin: 10,
  rampMinKwPerMin: 500,
  rampBasis: 'net',
  maxCyclesPerDay: 12,
  onHoldS: 15,
  hysteresisKw: 5,
  cutDeadlineS: 10,
  tickS: 5,
};

// A mixed fleet: mostly A1566HA-class, some older generic units, a few without an API.
const miners = Array.from({ length: UNITS }, (_, i) => ({
  id: `u${i}`,
  worker: `site.u${i}`,
  model: i % 5 === 0 ? 'generic' : 'avalon-a1566ha',
  api: i % 50 === 0 ? undefined : `10.0.${(i >> 8) & 255}.${i & 255}:4028`,
  priority: 0,
}));
const fleet = createFleetState({ models: BUILTIN_MODELS, miners }, (m) => ({ on: Number(m.id.slice(1)) % 3 !== 0 }));
const fullKw = UNITS * 7;

// `chained`: each plan gets the last one's memory, as the live loop plans (SchedulerCore.step).
function run(label: string, budgetFor: (r: number) => number, chained = false): void {
  const times: number[] = [];
  let last = 0;
  let memory: RampMemory | undefined;
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    const p = plan(budgetFor(r), fleet, 1_000_000 + r * 5000, settings, chained ? memory : undefined);
    memory = p.ramp;
    if (r >= WARMUP) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    last = p.plannedKw;
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const p90 = times[Math.floor(times.length * 0.9)]!;
  const p99 = times[Math.floor(times.length * 0.99)]!;
  console.log(`${label.padEnd(24)} units=${UNITS} min=${times[0]!.toFixed(2)} ms median=${median.toFixed(2)} ms p90=${p90.toFixed(2)} ms p99=${p99.toFixed(2)} ms (last planned ${last.toFixed(0)} kW)`);
}

console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on this machine (shared cores inflate the median)`);
run('plan, steady budget', () => fullKw * 0.6);
run('plan, cut to 30%', () => fullKw * 0.3);
run('plan, varying budget', (r) => fullKw * (0.2 + 0.6 * ((r * 37) % 100) / 100));
run('plan, steady, chained', () => fullKw * 0.6, true);
run('plan, varying, chained', (r) => fullKw * (0.2 + 0.6 * ((r * 37) % 100) / 100), true);
