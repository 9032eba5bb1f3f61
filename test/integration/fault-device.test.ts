/**
 * Faults on the power side (issue 7), over real loopback sockets: a device
 * API that hangs or answers garbage (the unit is marked unavailable, counted
 * at worst-case draw, and the Stratum fail-safe takes over when a command to
 * it fails), and a budget source that goes silent (hold, then the fail-safe
 * budget, visible in the scheduler snapshot).
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { schedulerSchema } from '../../src/config/schema.js';
import { AvalonDriver } from '../../src/fleet/avalon-driver.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { silentLogger } from '../../src/observability/logger.js';
import { HttpBudgetSource } from '../../src/power/http-budget-source.js';
import { createFleetState } from '../../src/scheduler/fleet-state.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { AvalonSimDevice, type SimFault } from '../../src/demo/avalon-device.js';
import { recordingLever } from '../support/recording-lever.js';

const MODEL = BUILTIN_MODELS['avalon-a1566ha']!;
const TOP_KW = Math.max(...MODEL.modes.map((m) => m.kw));

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function simDevice(id: string, fault: SimFault): Promise<string> {
  const d = await AvalonSimDevice.start({ id, params: MODEL, clock: systemClock, fault, requestTimeoutMs: 2000 });
  cleanup.push(() => d.close());
  return d.address;
}

/** A "device" that answers every request with random bytes and a NUL, as a broken firmware or a wrong service might. */
async function garbageDevice(): Promise<string> {
  let n = 7;
  const server: Server = createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => {
      const junk = Buffer.alloc(200);
      for (let i = 0; i < junk.length; i++) junk[i] = (n = (n * 1103515245 + 12345) >>> 0) & 0xff;
      s.end(Buffer.concat([Buffer.from('{"STATUS":[{"STAT'), junk, Buffer.from([0])]));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function rig(budgetTtlS: number, holdLastS: number, failsafeKw: number) {
  const apis = [await simDevice('ok', 'none'), await simDevice('hung', 'hang'), await garbageDevice()];
  const miners = ['ok', 'hung', 'junk'].map((id, i) => ({ id, worker: `site.${id}`, model: 'avalon-a1566ha', priority: 0, api: apis[i]! }));
  const { lever: stratum, calls: lever } = recordingLever();
  const budget = new HttpBudgetSource(budgetTtlS, 100, systemClock);
  const scheduler = new Scheduler({
    clock: systemClock,
    logger: silentLogger(),
    settings: schedulerSchema.parse({ minOnS: 0, minOffS: 0, commandStaggerMs: 0, tickS: 3600 }),
    fleet: createFleetState({ models: BUILTIN_MODELS, miners }),
    budget,
    guard: { holdLastS, failsafeKw },
    // Only the hung device needs a short timeout to fail; the healthy one gets a generous one so a
    // loaded machine answering late cannot make it look broken (the junk one fails on its bytes).
    drivers: (u) => AvalonDriver.fromAddress(u.api!, { replyTimeoutMs: u.id === 'hung' ? 300 : 10_000, connectTimeoutMs: u.id === 'hung' ? 300 : 10_000, readRetries: 0 }),
    lever: stratum,
  });
  await scheduler.start();
  cleanup.push(() => scheduler.stop());
  return { scheduler, budget, lever };
}

const unit = (s: Scheduler, id: string) => s.snapshot().units.find((u) => u.id === id)!;

describe('fault: device APIs that hang or answer garbage', () => {
  it('marks them unavailable at worst-case draw and falls back to the Stratum fail-safe when a command fails', async () => {
    const { scheduler, budget, lever } = await rig(3600, 60, 0);
    await scheduler.pollStatus();
    expect(unit(scheduler, 'ok').available).toBe(true);
    for (const id of ['hung', 'junk']) {
      const u = unit(scheduler, id);
      expect(u.available).toBe(false);
      expect(u.kw).toBe(TOP_KW);
      expect(u.reason).toMatch(/unavailable: status read failed/);
    }
    // A cut the healthy unit alone could meet; the blind ones are counted at worst case, so they must go too.
    budget.put({ kw: 9 });
    const deadline = Date.now() + 10_000;
    while (lever.filter((l) => l.startsWith('withhold')).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(lever).toContain('withhold site.hung');
    expect(lever).toContain('withhold site.junk');
    const snap = scheduler.snapshot();
    expect(snap.budget).toMatchObject({ kw: 9, status: 'live' });
    // Two blind units at worst case (2 x 8.1 kW) already exceed 9 kW: the healthy one is shed too, and the
    // plan says it cannot be met rather than pretending the withheld units draw nothing.
    expect(unit(scheduler, 'ok').state).toBe('off');
    expect(snap.plannedKw).toBeCloseTo(2 * TOP_KW + MODEL.standbyKw, 6);
    expect(snap.infeasible).toBe(true);
  });
});

describe('fault: the budget source goes silent', () => {
  it('holds the last value, then applies the fail-safe budget and shows it in the snapshot', async () => {
    // The TTL, the hold and the scheduler's guard timer run on fake time: on a loaded machine real
    // time could skip the live or the held phase, or read the snapshot between the verdict turning
    // fail-safe and the guard's re-plan. Nothing here polls a device, so no socket waits on a timer.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { scheduler } = await rig(0.3, 0.3, 8.5);
      const planned = scheduler.snapshot().plannedKw;
      expect(scheduler.snapshot().budget).toMatchObject({ kw: 100, status: 'live' });
      await vi.advanceTimersByTimeAsync(290);
      expect(scheduler.snapshot().budget).toMatchObject({ kw: 100, status: 'live' });
      await vi.advanceTimersByTimeAsync(20);
      expect(scheduler.snapshot().budget).toMatchObject({ kw: 100, status: 'holding' });
      expect(scheduler.snapshot().plannedKw).toBe(planned);
      await vi.advanceTimersByTimeAsync(300);
      const snap = scheduler.snapshot();
      expect(snap.budget).toMatchObject({ kw: 8.5, status: 'failsafe' });
      expect(snap.budget.reason).toMatch(/\S/);
      // The guard re-planned by itself when the hold ran out (no tick within the test: tickS is an hour).
      expect(snap.plannedKw).toBeLessThanOrEqual(8.5 + 1e-9);
      expect(snap.units.filter((u) => u.state === 'on').length).toBeLessThanOrEqual(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
