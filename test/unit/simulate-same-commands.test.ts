/**
 * One command path (issue 12 item 6): the live loop driven by a budget
 * posted over its HTTP source, with device APIs that only record, and
 * `surplus simulate` on the same trace issue the same commands (unit,
 * action, mode, lever, issue time), superseding and staggering included.
 * Before, the simulator carried its own copy of the queue (superseding,
 * device lead, command translation), which could drift from the loop's.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { schedulerSchema } from '../../src/config/schema.js';
import type { DeviceApi, DeviceStatus, StratumLever } from '../../src/fleet/control.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { silentLogger } from '../../src/observability/logger.js';
import { HttpBudgetSource } from '../../src/power/http-budget-source.js';
import { parseTrace } from '../../src/power/trace-parse.js';
import type { UnitCommand } from '../../src/scheduler/commands.js';
import { createFleetState } from '../../src/scheduler/fleet-state.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { simulate } from '../../src/whatif/simulator.js';

const T0 = Date.parse('2026-06-21T00:00:00Z');
// Eight units, one in four without a device API (Stratum lever), two models.
const miners = Array.from({ length: 8 }, (_, i) => ({
  id: `u${i}`,
  worker: `w${i}`,
  model: i % 3 === 2 ? 'generic' : 'avalon-a1566ha',
  priority: 0,
  ...(i % 4 === 3 ? {} : { api: `10.0.0.${i + 1}:4028` }),
}));
// Rises, a cut, a partial return, a second cut inside a minute (supersedes waiting softons), a gap.
const ROWS: Array<[number, number]> = [
  [0, 5], [1, 20], [2, 40], [3, 55], [4, 55], [5, 12], [5.1, 30], [5.2, 8], [6, 45], [7, 60], [9, 20], [12, 60], [20, 0],
];
const CSV = `minute,kw\n${ROWS.map(([m, kw]) => `${m},${kw}`).join('\n')}\n`;
const SETTINGS = schedulerSchema.parse({ minOnS: 30, minOffS: 30, commandStaggerMs: 500, rampKwPerMin: 40, cutDeadlineS: 10, tickS: 5 });
const GUARD = { holdLastS: 60, failsafeKw: 0 };
const TTL_S = 300;

const key = (c: UnitCommand, atMs: number): string => `${(atMs - T0) / 1000}s ${c.unitId} ${c.action} ${c.via} mode ${c.mode}`;

// Sun-breaks of a minute between cloudy spells: without a look-ahead each one buys switch-ons.
const SPIKES: Array<[number, number]> = [
  [0, 5], [1, 25], [3, 55], [4, 25], [7, 55], [8, 25], [11, 55], [12, 25], [15, 40], [20, 0],
];
const csvOf = (rows: Array<[number, number]>): string => `minute,kw\n${rows.map(([m, kw]) => `${m},${kw}`).join('\n')}\n`;

/** The trace's value at `ms` after its start (a step trace). */
const valueAt = (rows: Array<[number, number]>, ms: number): number => {
  let kw = rows[0]![1];
  for (const [m, v] of rows) if (m * 60_000 <= ms) kw = v;
  return kw;
};

/**
 * What an EMS with a perfect nowcast of `aheadS` sends: at each row, and whenever a lower row
 * comes within reach, the value with the lowest over the next `aheadS` seconds.
 */
function nowcastPuts(trace: Array<[number, number]>, aheadS: number): Array<[number, { kw: number; lowAhead: number; aheadS: number }]> {
  const aheadMs = aheadS * 1000;
  const valueAtMs = (ms: number): number => valueAt(trace, ms);
  const rows = trace.map(([m]) => m * 60_000);
  const times = [...new Set([...rows, ...rows.map((r) => r - aheadMs).filter((t) => t > 0)])].sort((a, b) => a - b);
  const out: Array<[number, { kw: number; lowAhead: number; aheadS: number }]> = [];
  let last = NaN;
  for (const t of times) {
    const low = Math.min(valueAtMs(t), ...rows.filter((r) => r > t && r <= t + aheadMs).map(valueAtMs), valueAtMs(t + aheadMs));
    if (rows.includes(t) || low !== last) out.push([t, { kw: valueAtMs(t), lowAhead: low, aheadS }]);
    last = low;
  }
  return out;
}

/** The live loop: HTTP budget source, device APIs that record nothing but succeed, simulated clock. */
async function live(rows: Array<[number, number]> = ROWS, aheadS?: number): Promise<string[]> {
  const clock = new ManualClock(T0);
  const api: DeviceApi = {
    softOff: async () => undefined,
    softOn: async () => undefined,
    setWorkmode: async () => undefined,
    readStatus: async (): Promise<DeviceStatus> => ({ softOff: false, state: 'working' }),
    close: () => undefined,
  };
  const lever: StratumLever = { withhold: () => undefined, release: () => undefined, expectHashrate: () => undefined, isConnected: () => true };
  const budget = new HttpBudgetSource(TTL_S, undefined, clock);
  const scheduler = new Scheduler({
    clock,
    logger: silentLogger(),
    settings: SETTINGS,
    fleet: createFleetState({ models: BUILTIN_MODELS, miners }, () => ({ on: false })),
    budget,
    guard: GUARD,
    drivers: () => api,
    lever,
    statusPoll: false,
  });
  await budget.start();
  const puts = aheadS === undefined ? rows.map(([m, kw]): [number, object] => [m * 60_000, { kw }]) : nowcastPuts(rows, aheadS);
  budget.put(puts[0]![1]);
  await scheduler.start();
  const out: string[] = [];
  scheduler.onCommand((c) => out.push(key(c, clock.now())));
  for (const [t, body] of puts.slice(1)) clock.setTimeout(() => void budget.put(body), t);
  const end = T0 + 28 * 60_000;
  for (let next = clock.nextAtMs(); next !== undefined && next <= end; next = clock.nextAtMs()) {
    clock.runUntil(next);
    await new Promise((r) => setImmediate(r));
  }
  await scheduler.stop();
  return out;
}

/** `surplus simulate` on the same trace (with a perfect look-ahead of `lookAheadS`): the commands it issues. */
async function simulated(csv: string, lookAheadS?: number): Promise<string[]> {
  const out: string[] = [];
  await simulate({
    trace: parseTrace(csv, 't.csv'),
    fleet: { models: BUILTIN_MODELS, miners },
    scheduler: SETTINGS,
    guard: GUARD,
    readingTtlS: TTL_S,
    stepS: 1,
    startMs: T0,
    ...(lookAheadS !== undefined ? { lookAheadS } : {}),
    onCommand: (c, atMs) => out.push(key(c, atMs)),
  });
  return out;
}

describe('one command path: the live loop and the simulator', () => {
  it('issue the same commands at the same times for the same budget trace', async () => {
    const fromLive = await live();
    const fromSim = await simulated(CSV);
    expect(fromLive.length).toBeGreaterThan(20);
    // Superseding and staggering are exercised: some units get several commands, increases are spaced.
    expect(new Set(fromLive.map((k) => k.split(' ')[1])).size).toBeGreaterThan(4);
    expect(fromSim).toEqual(fromLive);
  });

  it.each([
    ['the same trace', ROWS],
    ['minute-long sun-breaks', SPIKES],
  ])('and with a nowcast (%s): simulate --look-ahead sends what an EMS with a perfect one would', async (_, rows) => {
    const fromLive = await live(rows, 90);
    const fromSim = await simulated(csvOf(rows), 90);
    expect(fromLive.length).toBeGreaterThan(5);
    expect(fromSim).toEqual(fromLive);
  });

  it('a nowcast spends no switch-on on a minute-long sun-break', async () => {
    const ons = (k: string[]): number => k.filter((x) => x.includes(' on ')).length;
    const plain = await live(SPIKES);
    const nowcast = await live(SPIKES, 90);
    // Each 55 kW minute switched units on for a minute in the plain run (20 switch-ons); with the
    // nowcast only the start and a swap do (7).
    expect(ons(plain)).toBeGreaterThanOrEqual(15);
    expect(ons(nowcast)).toBeLessThanOrEqual(ons(plain) / 2);
  });
});
