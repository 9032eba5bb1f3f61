/**
 * Never trip the site (issue 12 item 5), over real loopback device APIs on a
 * simulated clock: a fresh `surplus start` with an `http` budget source (no
 * reading yet) and a restart (with the last reading persisted in the state
 * file, live or long expired) switch nothing off before `holdLastS`; the
 * fail-safe applies only after it. Before this, the first plan ran on the
 * fail-safe budget and soft-offed every unit at once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { schedulerSchema } from '../../src/config/schema.js';
import { AvalonDriver } from '../../src/fleet/avalon-driver.js';
import type { DeviceApi } from '../../src/fleet/control.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { silentLogger } from '../../src/observability/logger.js';
import { HttpBudgetSource } from '../../src/power/http-budget-source.js';
import { createFleetState } from '../../src/scheduler/fleet-state.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { StateStore } from '../../src/scheduler/state-store.js';
import { AvalonSimDevice } from '../../src/demo/avalon-device.js';
import { countingDevice } from '../support/counting-device.js';
import { recordingLever } from '../support/recording-lever.js';

const MODEL = BUILTIN_MODELS['avalon-a1566ha']!;
const T0 = Date.parse('2026-06-01T10:00:00Z');
const HOLD_S = 60;

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

/** Device calls in flight (real sockets), so a step can wait for the I/O it started without sleeping. */
function counting(api: DeviceApi, inflight: { n: number }): DeviceApi {
  return countingDevice(api, { start: () => void inflight.n++, end: () => void inflight.n-- });
}

async function site(clock: ManualClock, devices: AvalonSimDevice[], stateFile?: string) {
  const inflight = { n: 0 };
  const { lever: stratum, calls: lever } = recordingLever();
  const miners = devices.map((d) => ({ id: d.id, worker: `site.${d.id}`, model: 'avalon-a1566ha', priority: 0, api: d.address }));
  // No initialKw: a fresh start has no budget until the EMS posts one.
  const budget = new HttpBudgetSource(300, undefined, clock);
  const scheduler = new Scheduler({
    clock,
    logger: silentLogger(),
    settings: schedulerSchema.parse({ minOnS: 300, minOffS: 300, tickS: 5 }),
    // A fresh process assumes every unit on in its top mode (createFleetState's default).
    fleet: createFleetState({ models: BUILTIN_MODELS, miners }),
    budget,
    guard: { holdLastS: HOLD_S, failsafeKw: 0 },
    drivers: (u) => counting(AvalonDriver.fromAddress(u.api!, { replyTimeoutMs: 10_000, connectTimeoutMs: 10_000, readRetries: 0 }), inflight),
    lever: stratum,
    ...(stateFile ? { stateStore: new StateStore(stateFile, silentLogger()) } : {}),
  });
  const settle = async (): Promise<void> => {
    do await new Promise((r) => setImmediate(r));
    while (inflight.n > 0);
  };
  /** Moves simulated time to `toMs` a second at a time, letting each step's device I/O finish. */
  const runTo = async (toMs: number): Promise<void> => {
    while (clock.now() < toMs) {
      clock.runUntil(Math.min(toMs, clock.now() + 1000));
      await settle();
    }
  };
  await scheduler.start();
  await settle();
  return { scheduler, budget, lever, runTo, settle };
}

async function devicesOn(clock: ManualClock, states: boolean[]): Promise<AvalonSimDevice[]> {
  const out: AvalonSimDevice[] = [];
  for (const [i, on] of states.entries()) {
    const d = await AvalonSimDevice.start({ id: `u${i}`, params: MODEL, clock, initial: { on, modeIndex: 2 } });
    cleanup.push(() => d.close());
    out.push(d);
  }
  return out;
}

const softoffs = (ds: AvalonSimDevice[]): number => ds.reduce((a, d) => a + (d.model.lastSoftOffAtMs === undefined ? 0 : 1), 0);
const working = (ds: AvalonSimDevice[]): string[] => ds.filter((d) => d.sample().phase !== 'standby').map((d) => d.id);

describe('never trip the site: no budget reading yet after a start or restart', () => {
  it('a fresh start holds the devices as they are for holdLastS, then applies the fail-safe', async () => {
    const clock = new ManualClock(T0);
    const devices = await devicesOn(clock, [true, true, false, true]);
    const s = await site(clock, devices);
    cleanup.push(() => s.scheduler.stop());
    expect(s.scheduler.snapshot().budget).toMatchObject({ status: 'holding' });
    await s.runTo(T0 + (HOLD_S - 1) * 1000);
    // Nothing switched: no softoff, no softon (the unit found off is adopted as off, not "re-sent" a softon).
    expect(softoffs(devices)).toBe(0);
    expect(devices.every((d) => d.model.lastSoftOnAtMs === undefined)).toBe(true);
    expect(working(devices)).toEqual(['u0', 'u1', 'u3']);
    expect(s.lever).toEqual([]);
    const snap = s.scheduler.snapshot();
    expect(snap.budget.status).toBe('holding');
    expect(snap.budget.reason).toMatch(/^no budget reading since start: holding the measured/);
    // What the devices draw (3 x 8.1 kW + one in standby), as measured.
    expect(snap.budget.kw).toBeCloseTo(3 * 8.1 + MODEL.standbyKw, 1);
    expect(snap.units.map((u) => u.state)).toEqual(['on', 'on', 'off', 'on']);
    // The hold ends: the fail-safe (0 kW) applies, as for a source gone silent.
    await s.runTo(T0 + (HOLD_S + 15) * 1000);
    expect(s.scheduler.snapshot().budget).toMatchObject({ status: 'failsafe', kw: 0 });
    expect(working(devices)).toEqual([]);
  });

  it('a fresh start follows the first posted budget at once', async () => {
    const clock = new ManualClock(T0);
    const devices = await devicesOn(clock, [true, true, true]);
    const s = await site(clock, devices);
    cleanup.push(() => s.scheduler.stop());
    await s.runTo(T0 + 10_000);
    s.budget.put({ kw: 17 }); // room for two
    await s.settle();
    await s.runTo(T0 + 30_000);
    expect(s.scheduler.snapshot().budget).toMatchObject({ status: 'live', kw: 17 });
    expect(working(devices).length).toBe(2);
  });

  it('a restart resumes the persisted reading, and with an expired one holds for holdLastS before the fail-safe', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'surplus-boot-')), 'state.json');
    const clock = new ManualClock(T0);
    const devices = await devicesOn(clock, [true, true, true, true]);
    const a = await site(clock, devices, file);
    a.budget.put({ kw: 25, ttlS: 600 }); // room for three
    await a.settle();
    await a.runTo(T0 + 30_000);
    expect(working(devices).length).toBe(3);
    await a.scheduler.stop();
    const offs = softoffs(devices);

    // Restart 60 s later, the reading still within its TTL: resumed, nothing more switched off.
    clock.set(T0 + 90_000);
    const b = await site(clock, devices, file);
    await b.runTo(T0 + 90_000 + (HOLD_S + 30) * 1000);
    expect(b.scheduler.snapshot().budget).toMatchObject({ status: 'live', kw: 25, source: 'http' });
    expect(softoffs(devices)).toBe(offs);
    expect(working(devices).length).toBe(3);
    await b.scheduler.stop();

    // Restart an hour later: the reading (TTL 600 s + hold) has long expired. Still nothing is switched
    // off before holdLastS; then the fail-safe.
    const t1 = T0 + 3_600_000;
    clock.set(t1);
    const c = await site(clock, devices, file);
    cleanup.push(() => c.scheduler.stop());
    await c.runTo(t1 + (HOLD_S - 1) * 1000);
    expect(c.scheduler.snapshot().budget.status).toBe('holding');
    expect(working(devices).length).toBe(3);
    expect(softoffs(devices)).toBe(offs);
    await c.runTo(t1 + (HOLD_S + 15) * 1000);
    expect(c.scheduler.snapshot().budget).toMatchObject({ status: 'failsafe', kw: 0 });
    expect(working(devices)).toEqual([]);
  });
});
