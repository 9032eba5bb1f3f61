/**
 * Budget cuts on a 600-unit fleet (issue 4): 600 simulated Avalons
 * (SimDeviceFleet, one cgminer API socket each, in this process) behind the
 * real Scheduler, which drives them through the real AvalonDriver over
 * loopback, with the budget set through HttpBudgetSource.put as PUT
 * /api/budget does. Three steps: full -> 40 % (shed + mode changes), 40 % -> 0
 * (everything off), 0 -> full (restore at the ramp limit). For each: commands
 * (= units changed), time from the budget change to the last command issued
 * and to the last one acknowledged by its device, p50/p99/max device-command
 * latency (issue -> acknowledgement, one API call; a softon in another mode is
 * two calls), and when the devices' own draw got under (or, stepping up, to)
 * the budget. The scheduler's status polls (32 at a time, every tickS) run
 * throughout, as on a site.
 *
 *   npx tsc -p tsconfig.json --outDir build/bench && node build/bench/bench/power-cut.bench.js [--units 600] [--stagger-ms 20] [--ramp-kw-per-min 60000] [--json]
 */
import { loadavg } from 'node:os';
import { systemClock } from '../src/clock.js';
import { schedulerSchema, type ModelConfig } from '../src/config/schema.js';
import { AvalonDriver } from '../src/fleet/avalon-driver.js';
import type { DeviceApi, StratumLever } from '../src/fleet/control.js';
import { BUILTIN_MODELS } from '../src/config/models.js';
import { silentLogger } from '../src/observability/logger.js';
import { HttpBudgetSource } from '../src/power/http-budget-source.js';
import { createFleetState } from '../src/scheduler/fleet-state.js';
import type { Decision } from '../src/scheduler/scheduler-core.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { SimDeviceFleet } from '../src/demo/device-fleet.js';
import { arg, sleep } from './bench-util.js';

const UNITS = arg('units', 600);
const RAMP_KW_PER_MIN = arg('ramp-kw-per-min', 60_000);
// 0: every command of a plan at once, the dispatch floor of the loop, driver and devices.
const STAGGER_MS = arg('stagger-ms', 20);
const JSON_OUT = process.argv.includes('--json');

// The built-in A1566HA figures (three modes, 0.15 kW standby, Avalon's 5 s softoff lead),
// with a 5 s ramp instead of 30 s so the step-up's draw is seen in the run.
const MODEL: ModelConfig = { ...BUILTIN_MODELS['avalon-a1566ha']!, rampUpS: 5 };
const TOP_KW = Math.max(...MODEL.modes.map((m) => m.kw));
const FULL_KW = UNITS * TOP_KW;
const SETTINGS = schedulerSchema.parse({
  tickS: 5,
  cutDeadlineS: 10,
  commandStaggerMs: STAGGER_MS,
  minOnS: 0,
  minOffS: 0,
  rampKwPerMin: RAMP_KW_PER_MIN,
  hysteresisKw: 5,
  withholdGraceS: 30,
});

interface Call {
  unit: string;
  kind: 'softoff' | 'softon' | 'workmode';
  issuedMs: number;
  ackedMs?: number;
  failed?: string;
}

const calls: Call[] = [];

/** The real driver, timing each API call from the moment the scheduler issues it. */
function timed(unit: string, inner: DeviceApi): DeviceApi {
  const wrap = async (kind: Call['kind'], fn: () => Promise<void>): Promise<void> => {
    const c: Call = { unit, kind, issuedMs: performance.now() };
    calls.push(c);
    try {
      await fn();
      c.ackedMs = performance.now();
    } catch (err) {
      c.failed = (err as Error).message;
      throw err;
    }
  };
  return {
    softOff: (t) => wrap('softoff', () => inner.softOff(t)),
    softOn: (t) => wrap('softon', () => inner.softOn(t)),
    setWorkmode: (m) => wrap('workmode', () => inner.setWorkmode(m)),
    readStatus: () => inner.readStatus(),
    close: () => inner.close(),
  };
}

const quiet: StratumLever = { withhold: () => undefined, release: () => undefined, expectHashrate: () => undefined, isConnected: () => true };

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface StepResult {
  step: string;
  budgetKw: number;
  commands: number;
  /** Commands by kind, and the number of plans that issued them. */
  kinds: { off: number; on: number; mode: number; plans: number };
  /** Units the scheduler counted unavailable (a status read failed) when the budget changed. */
  unavailable: number;
  apiCalls: number;
  failed: number;
  lastIssuedS: number;
  lastAckedS: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** Devices' own draw reached the target (cuts: under the budget, or all in standby; step-up: 99 % of the planned draw), seconds after the change. */
  drawS: number | null;
  plannedKw: number;
}

async function main(): Promise<void> {
  const devices = new SimDeviceFleet({ clock: systemClock });
  const miners = [];
  const topIndex = MODEL.modes.findIndex((m) => m.kw === TOP_KW);
  const t0 = performance.now();
  for (let i = 0; i < UNITS; i++) {
    const id = `av${String(i).padStart(3, '0')}`;
    const dev = await devices.add({ id, params: MODEL, initial: { on: true, modeIndex: topIndex } });
    miners.push({ id, worker: `site.${id}`, model: 'a1566', api: dev.address, priority: 0 });
  }
  const startupMs = performance.now() - t0;
  const fleet = createFleetState({ models: { a1566: MODEL }, miners });
  const budget = new HttpBudgetSource(3600, FULL_KW, systemClock);
  const decisions: Decision[] = [];
  const scheduler = new Scheduler({
    clock: systemClock,
    logger: silentLogger(),
    settings: SETTINGS,
    fleet,
    budget,
    guard: { holdLastS: 60, failsafeKw: 0 },
    drivers: (u) => timed(u.id, AvalonDriver.fromAddress(u.api!)),
    lever: quiet,
  });
  scheduler.onDecision((d) => void decisions.push(d));
  await scheduler.start();
  await scheduler.pollStatus();

  async function step(name: string, kw: number, reached: (drawKw: number) => boolean, done: () => boolean = () => true): Promise<StepResult> {
    const firstCall = calls.length;
    const firstDecision = decisions.length;
    const unavailable = scheduler.snapshot().units.filter((u) => !u.available).length;
    const start = performance.now();
    let drawAt: number | null = null;
    budget.put({ kw });
    // Until the plan stops changing and every command it issued is acknowledged (or failed).
    const deadline = start + 120_000;
    let quietSince = performance.now();
    let lastCount = -1;
    while (performance.now() < deadline) {
      await sleep(20);
      devices.tick();
      const draw = devices.totals().kw;
      if (drawAt === null && reached(draw)) drawAt = performance.now();
      const mine = calls.slice(firstCall);
      const settled = mine.every((c) => c.ackedMs !== undefined || c.failed !== undefined);
      const n = decisions.length - firstDecision + mine.length;
      if (n !== lastCount) {
        lastCount = n;
        quietSince = performance.now();
      }
      // Quiet for longer than a tick: no plan or command is still coming.
      if (settled && done() && drawAt !== null && performance.now() - quietSince > SETTINGS.tickS * 1000 + 500) break;
    }
    const mine = calls.slice(firstCall);
    const lat = mine.filter((c) => c.ackedMs !== undefined).map((c) => c.ackedMs! - c.issuedMs).sort((a, b) => a - b);
    const s = (ms: number): number => Math.round(ms) / 1000;
    const made = decisions.slice(firstDecision);
    const kinds = {
      off: made.filter((d) => d.to === 'off').length,
      on: made.filter((d) => d.from === 'off').length,
      mode: made.filter((d) => d.from !== 'off' && d.to !== 'off').length,
      plans: new Set(made.map((d) => d.atMs)).size,
    };
    return {
      step: name,
      budgetKw: kw,
      commands: decisions.length - firstDecision,
      kinds,
      unavailable,
      apiCalls: mine.length,
      failed: mine.filter((c) => c.failed !== undefined).length,
      lastIssuedS: s(Math.max(...mine.map((c) => c.issuedMs)) - start),
      lastAckedS: s(Math.max(...mine.map((c) => c.ackedMs ?? c.issuedMs)) - start),
      latencyMs: { p50: round(pct(lat, 50)), p99: round(pct(lat, 99)), max: round(lat.at(-1) ?? NaN) },
      drawS: drawAt === null ? null : s(drawAt - start),
      plannedKw: round(scheduler.snapshot().plannedKw),
    };
  }

  const plannedNear = (kw: number): (() => boolean) => () => Math.abs(scheduler.snapshot().plannedKw - kw) <= TOP_KW + SETTINGS.hysteresisKw;
  const results: StepResult[] = [];
  const standbyKw = UNITS * MODEL.standbyKw;
  results.push(await step('cut full -> 40 %', 0.4 * FULL_KW, (d) => d <= 0.4 * FULL_KW + 1e-9));
  // Below the all-off draw: everything goes to standby.
  results.push(await step('cut 40 % -> 0', 0, (d) => d <= standbyKw + 1e-9));
  // The plan keeps hysteresisKw of headroom under the budget, so "full" is judged against what the
  // plan intends (on a small fleet 99 % of the budget itself can be above every feasible plan).
  results.push(await step('step-up 0 -> full', FULL_KW, (d) => d >= 0.99 * scheduler.snapshot().plannedKw, plannedNear(FULL_KW)));
  await scheduler.stop();
  await devices.close();

  if (JSON_OUT) {
    process.stdout.write(JSON.stringify({ units: UNITS, settings: SETTINGS, startupMs, loadavg: loadavg(), results }, null, 2) + '\n');
    return;
  }
  console.log(`power-cut: ${UNITS} simulated Avalons (${TOP_KW} kW top, ${MODEL.softoffDelayS} s softoff lead, ${MODEL.rampUpS} s ramp), real Scheduler + AvalonDriver over loopback`);
  console.log(`  settings: cutDeadlineS ${SETTINGS.cutDeadlineS}, commandStaggerMs ${SETTINGS.commandStaggerMs}, tickS ${SETTINGS.tickS}, rampKwPerMin ${SETTINGS.rampKwPerMin}; devices up in ${Math.round(startupMs)} ms; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const r of results) {
    console.log(
      `  ${r.step.padEnd(18)} budget ${r.budgetKw.toFixed(0).padStart(5)} kW: ${String(r.commands).padStart(3)} commands (${r.kinds.off} off, ${r.kinds.on} on, ${r.kinds.mode} mode; ${r.kinds.plans} plans; ${r.apiCalls} API calls, ${r.failed} failed; ${r.unavailable} unavailable); ` +
        `last issued +${r.lastIssuedS.toFixed(2)} s, last acked +${r.lastAckedS.toFixed(2)} s; latency p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms; ` +
        `devices' draw ${r.budgetKw >= FULL_KW ? `>= 99 % of the plan's ${r.plannedKw} kW` : r.budgetKw === 0 ? 'all standby' : 'under budget'} at ${r.drawS === null ? 'never' : `+${r.drawS.toFixed(2)} s`}`,
    );
  }
}

const round = (x: number): number => Math.round(x * 10) / 10;

await main();
