/**
 * Reconciliation against the simulated Avalon over a real loopback socket:
 * a unit switched off by the scheduler comes back working on its own (a
 * reboot), is counted at worst case while it draws, gets its softoff
 * re-sent, and is counted off again once it reports standby. Device,
 * scheduler and driver share one ManualClock (the device's softoff delay
 * passes as site time, test/support/manual-time.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { fakeTime } from '../support/manual-time.js';
import { schedulerSchema } from '../../src/config/schema.js';
import { AvalonDriver } from '../../src/fleet/avalon-driver.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { silentLogger } from '../../src/observability/logger.js';
import { HttpBudgetSource } from '../../src/power/http-budget-source.js';
import { createFleetState } from '../../src/scheduler/fleet-state.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { AvalonSimDevice } from '../../src/demo/avalon-device.js';
import { recordingLever } from '../support/recording-lever.js';

// A 1 s softoff lead and no ramp keep the scenario to a few seconds of site time.
const MODEL = { ...BUILTIN_MODELS['avalon-a1566ha']!, softoffDelayS: 1, rampUpS: 0 };

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});


describe('reconcile: simulated Avalon reboots into working while planned off', () => {
  it('counts it at worst case, re-sends the softoff, and counts it off once it obeys', async () => {
    const time = fakeTime(new ManualClock(Date.now()));
    const clock = time.clock;
    /** Moves site time until `cond` holds or `ms` have passed (the assertions after it then judge). */
    const until = (cond: () => boolean, ms = 5000): Promise<void> => time.waitFor(cond, ms).catch(() => undefined);
    const dev = await AvalonSimDevice.start({ id: 'a', params: MODEL, clock, initial: { on: true, modeIndex: 2 } });
    cleanup.push(() => dev.close());
    const { lever: stratum, calls: lever } = recordingLever();
    const budget = new HttpBudgetSource(3600, 100, clock);
    const fleet = createFleetState({ models: { avalon: MODEL }, miners: [{ id: 'a', worker: 'site.a', model: 'avalon', priority: 0, api: dev.address }] });
    const scheduler = new Scheduler({
      clock,
      logger: silentLogger(),
      // Polls are driven by hand (tick 1 h): deterministic, no timers racing the test.
      settings: schedulerSchema.parse({ minOnS: 0, minOffS: 0, commandStaggerMs: 0, tickS: 3600 }),
      fleet,
      budget,
      guard: { holdLastS: 60, failsafeKw: 0 },
      drivers: (u) => AvalonDriver.fromAddress(u.api!, { replyTimeoutMs: 500, connectTimeoutMs: 500, readRetries: 0, clock }),
      lever: stratum,
      reconcile: { marginMs: 0 },
    });
    await scheduler.start();
    cleanup.push(() => scheduler.stop());
    const u = fleet.units[0]!;

    budget.put({ kw: 1 });
    await until(() => dev.sample().phase === 'standby');
    expect(dev.sample().phase).toBe('standby');
    await scheduler.pollStatus();
    expect(u).toMatchObject({ on: false, available: true });
    const sentBefore = dev.requestCounts.get('ascset') ?? 0;

    // The reboot: the device comes back working without being told.
    dev.model.softOn(clock.now(), clock.now());
    await until(() => dev.sample().phase === 'working');
    await until(() => clock.now() >= u.changedAtMs + 2500, 3000); // past softoffDelayS + 1 s since the softoff was issued
    await scheduler.pollStatus();
    expect(u.available).toBe(true); // one poll is not enough
    await scheduler.pollStatus();
    expect(u.available).toBe(false);
    expect(scheduler.snapshot().units[0]!.kw).toBeGreaterThanOrEqual(8.1);
    await until(() => (dev.requestCounts.get('ascset') ?? 0) > sentBefore);
    expect(dev.requestCounts.get('ascset')).toBe(sentBefore + 1);

    await until(() => dev.sample().phase === 'standby');
    await scheduler.pollStatus();
    expect(u).toMatchObject({ on: false, available: true });
    expect(scheduler.snapshot().units[0]!.kw).toBeLessThan(1);
    expect(lever).not.toContain('withhold site.a');
  });
});
