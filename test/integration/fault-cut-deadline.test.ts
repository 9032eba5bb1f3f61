/**
 * The cut deadline under a device fault (issue 11 item 4), over real
 * loopback device APIs on a simulated clock: a device stops answering 0.8 s
 * before a cut while a status read of it is in flight. Its softoff must not
 * wait behind that read (or its retries); when it is not acknowledged the
 * unit counts at worst case at once, its jobs are withheld at once, and other
 * units are shed so the site is under budget within the cut deadline plus the
 * device lead. Before, the softoff went out 14.4 s after the cut and nothing
 * else was shed until the next tick after that.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { schedulerSchema } from '../../src/config/schema.js';
import { AvalonDriver } from '../../src/fleet/avalon-driver.js';
import type { DeviceApi, StratumLever } from '../../src/fleet/control.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { silentLogger } from '../../src/observability/logger.js';
import { HttpBudgetSource } from '../../src/power/http-budget-source.js';
import { createFleetState } from '../../src/scheduler/fleet-state.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { AvalonSimDevice } from '../../src/demo/avalon-device.js';
import { countingDevice } from '../support/counting-device.js';

const MODEL = BUILTIN_MODELS['avalon-a1566ha']!;
const T0 = Date.parse('2026-06-01T10:00:00Z');
const CUT_DEADLINE_S = 10;
/** The device lead: the softoff names a whole second softoffDelayS ahead. */
const LEAD_S = MODEL.softoffDelayS + 1;

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

describe('fault: a device stops answering just before a cut', () => {
  it('the site is under budget within the cut deadline plus the device lead; the silent unit is withheld at once', async () => {
    const clock = new ManualClock(T0);
    const devices: AvalonSimDevice[] = [];
    for (let i = 0; i < 4; i++) {
      const d = await AvalonSimDevice.start({ id: `u${i}`, params: MODEL, clock, initial: { on: true, modeIndex: 2 } });
      cleanup.push(() => d.close());
      devices.push(d);
    }
    // Calls in flight per unit (real sockets), so a step waits for the healthy devices' I/O without sleeping.
    const inflight = new Map<string, number>();
    const counting = (id: string, api: DeviceApi): DeviceApi =>
      countingDevice(api, { start: () => void inflight.set(id, (inflight.get(id) ?? 0) + 1), end: () => void inflight.set(id, inflight.get(id)! - 1) });
    const lever: Array<{ what: string; atMs: number }> = [];
    const stratum: StratumLever = {
      withhold: (w) => void lever.push({ what: `withhold ${w}`, atMs: clock.now() }),
      release: (w) => void lever.push({ what: `release ${w}`, atMs: clock.now() }),
      expectHashrate: () => undefined,
      isConnected: () => true,
    };
    const budget = new HttpBudgetSource(3600, 40, clock);
    const scheduler = new Scheduler({
      clock,
      logger: silentLogger(),
      settings: schedulerSchema.parse({ minOnS: 0, minOffS: 0, tickS: 5, cutDeadlineS: CUT_DEADLINE_S }),
      fleet: createFleetState({ models: BUILTIN_MODELS, miners: devices.map((d) => ({ id: d.id, worker: `site.${d.id}`, model: 'avalon-a1566ha', priority: 0, api: d.address })) }),
      budget,
      guard: { holdLastS: 60, failsafeKw: 0 },
      // Reads are retried (as by default) and time out only after a long real time: the silent device's
      // read stays in flight for the whole test, as a read of a device that just died does.
      drivers: (u) => counting(u.id, AvalonDriver.fromAddress(u.api!, { replyTimeoutMs: 60_000, connectTimeoutMs: 60_000, readRetries: 2 })),
      lever: stratum,
    });
    cleanup.push(() => scheduler.stop());
    const silent = devices[3]!;
    const settle = async (): Promise<void> => {
      const busy = (): boolean => [...inflight].some(([id, n]) => id !== silent.id && n > 0);
      do await new Promise((r) => setImmediate(r));
      while (busy());
    };
    const runTo = async (toMs: number): Promise<void> => {
      while (clock.now() < toMs) {
        clock.runUntil(Math.min(toMs, clock.now() + 100));
        await settle();
      }
    };
    const siteKw = (): number => devices.reduce((a, d) => a + d.sample().kw, 0);

    await scheduler.start();
    await runTo(T0 + 60_000);
    expect(devices.every((d) => d.sample().phase === 'working')).toBe(true);
    expect(scheduler.snapshot().units.every((u) => u.available)).toBe(true);

    // u3 stops answering; the next tick's status read of it hangs. 0.8 s later the budget is cut to
    // room for two: the plan sheds u2 and u3 (the last of equals).
    await silent.setFault('hang');
    const nextTick = clock.nextAtMs()!;
    await runTo(nextTick);
    expect(inflight.get(silent.id)).toBeGreaterThan(0);
    await runTo(clock.now() + 800);
    const cutAt = clock.now();
    const BUDGET = 17;
    budget.put({ kw: BUDGET });
    await settle();
    expect(scheduler.snapshot().units.filter((u) => u.state === 'off').map((u) => u.id)).toEqual(['u2', 'u3']);

    // Within half the deadline the silent unit is counted at worst case and withheld, and u1 shed in its place.
    await runTo(cutAt + (CUT_DEADLINE_S / 2) * 1000 + 100);
    const snap = scheduler.snapshot();
    expect(snap.units.find((u) => u.id === 'u3')).toMatchObject({ available: false, kw: 8.1 });
    expect(lever.find((l) => l.what === 'withhold site.u3')?.atMs).toBeLessThanOrEqual(cutAt + (CUT_DEADLINE_S / 2) * 1000);
    expect(snap.plannedKw).toBeLessThanOrEqual(BUDGET);

    // Under budget by the deadline plus the device lead, with u3 still drawing its full 8.1 kW.
    await runTo(cutAt + (CUT_DEADLINE_S + LEAD_S) * 1000);
    expect(silent.sample().kw).toBe(8.1);
    expect(siteKw()).toBeLessThanOrEqual(BUDGET);
    const over: number[] = [];
    for (let t = clock.now(); t <= cutAt + 60_000; t += 1000) {
      await runTo(t);
      if (siteKw() > BUDGET) over.push(t - cutAt);
    }
    expect(over).toEqual([]);
  });
});
