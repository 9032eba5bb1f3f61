import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { schedulerSchema } from '../../src/config/schema.js';
import type { DeviceApi, DeviceStatus, StratumLever } from '../../src/fleet/control.js';
import { createLogger } from '../../src/observability/logger.js';
import { HttpBudgetSource } from '../../src/power/http-budget-source.js';
import type { FleetUnit } from '../../src/scheduler/fleet-state.js';
import { mismatchOf, plannedWorkmode, RECONCILE_DEFAULTS, reconcileStep, settledAtMs, type ReconcileTrack } from '../../src/scheduler/reconcile.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { fleetOf } from './scheduler-fixtures.js';
import { systemClock } from '../../src/clock.js';

/**
 * A fake Avalon with state: a softoff/softon takes effect at the second it
 * names, unless the device ignores it (`ignore`); `reboot()` brings it back
 * working, whatever it was told. Draw: 150 W soft-off, its mode's kW working.
 */
class FakeDevice implements DeviceApi {
  off = false;
  workmode = 2;
  ignore = new Set<'softOff' | 'softOn'>();
  readonly calls: Array<{ call: string; atMs: number }> = [];
  private due: { off: boolean; atMs: number } | undefined;
  constructor(private readonly unit: FleetUnit) {}
  private settle(): void {
    if (this.due && Date.now() >= this.due.atMs) {
      this.off = this.due.off;
      this.due = undefined;
    }
  }
  async softOff(atUnixS: number): Promise<void> {
    this.calls.push({ call: 'softOff', atMs: Date.now() });
    if (!this.ignore.has('softOff')) this.due = { off: true, atMs: atUnixS * 1000 };
  }
  async softOn(atUnixS: number): Promise<void> {
    this.calls.push({ call: 'softOn', atMs: Date.now() });
    if (!this.ignore.has('softOn')) this.due = { off: false, atMs: atUnixS * 1000 };
  }
  async setWorkmode(mode: number): Promise<void> {
    this.calls.push({ call: 'setWorkmode', atMs: Date.now() });
    this.workmode = mode;
  }
  async readStatus(): Promise<DeviceStatus> {
    this.settle();
    const kw = this.unit.modes.find((m) => m.workmode === this.workmode)!.kw;
    return { softOff: this.off, state: this.off ? 'idle' : 'working', workmode: this.workmode, wallPowerW: this.off ? 150 : kw * 1000 };
  }
  reboot(): void {
    this.off = false;
    this.due = undefined;
  }
  close(): void {}
}

class FakeLever implements StratumLever {
  events: string[] = [];
  withhold(worker: string): void {
    this.events.push(`withhold ${worker}`);
  }
  release(worker: string): void {
    this.events.push(`release ${worker}`);
  }
  expectHashrate(): void {}
  isConnected(): boolean {
    return true;
  }
}

const T0 = Date.parse('2026-06-01T10:00:00Z');

/** One Avalon, on in super at 100 kW; tick 5 s (a status poll every 5 s). */
function setup(initialKw = 100, on = true, workmode = 2) {
  const devices = new Map<string, FakeDevice>();
  const lever = new FakeLever();
  const logLines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const fleet = fleetOf([{ on }]);
  const budget = new HttpBudgetSource(3600, initialKw, systemClock);
  const scheduler = new Scheduler({
    clock: systemClock,
    logger: createLogger({ level: 'info', destination }),
    settings: schedulerSchema.parse({ minOnS: 0, minOffS: 0, tickS: 5 }),
    fleet,
    budget,
    guard: { holdLastS: 5, failsafeKw: 0 },
    // One fake device per unit, whichever of its clients (status, cut) the loop builds.
    drivers: (u) => {
      let d = devices.get(u.id);
      if (!d) {
        d = new FakeDevice(u);
        d.workmode = workmode;
        if (!on) d.off = true;
        devices.set(u.id, d);
      }
      return d;
    },
    lever,
  });
  const device = (): FakeDevice => devices.get('u0')!;
  const unit = fleet.units[0]!;
  const logged = (msg: RegExp): number => logLines.filter((l) => msg.test(String(l.msg))).length;
  return { scheduler, budget, lever, unit, device, logged, logLines };
}

describe('reconciling reported and planned device state (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('a unit whose softoff is ignored is counted at its draw, re-sent with backoff, then given up on with the Stratum fail-safe', async () => {
    const s = setup();
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(6000); // the first poll creates the device
    s.device().ignore.add('softOff');
    const cutAt = Date.now();
    s.budget.put({ kw: 1 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.unit).toMatchObject({ on: false, available: true });
    // Before the softoff can have taken effect (5 s lead + 1 s + 5 s margin), nothing happens.
    await vi.advanceTimersByTimeAsync(9000);
    expect(s.device().calls.filter((c) => c.call === 'softOff')).toHaveLength(1);
    expect(s.unit.available).toBe(true);
    // Two mismatching polls later: counted at worst case (at least its 8.1 kW draw), softoff re-sent.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(s.unit.available).toBe(false);
    const snap = s.scheduler.snapshot();
    expect(snap.units[0]!.kw).toBeGreaterThanOrEqual(8.1);
    expect(snap.decisions.at(-1)).toMatchObject({ unitId: 'u0', from: 'off', to: 'unavailable', reason: 'device reports working while planned off: counted at its draw, re-sending softoff' });
    expect(s.device().calls.filter((c) => c.call === 'softOff')).toHaveLength(2);
    expect(s.lever.events).not.toContain('withhold site.u0');
    // Three re-sends, each further apart, then the fail-safe; the mismatch is logged once.
    await vi.advanceTimersByTimeAsync(180_000);
    const offs = s.device().calls.filter((c) => c.call === 'softOff').map((c) => c.atMs - cutAt);
    expect(offs).toHaveLength(1 + RECONCILE_DEFAULTS.maxRetries);
    const gaps = offs.slice(2).map((t, i) => t - offs[i + 1]!);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThan(gaps[i - 1]!);
    expect(s.lever.events).toContain('withhold site.u0');
    expect(s.scheduler.snapshot().decisions.at(-1)!.reason).toBe('device still reports working after 3 re-sent softoffs: Stratum fail-safe');
    expect(s.logged(/^device reports working while planned off/)).toBe(1);
    expect(s.logged(/^device still reports working after 3 re-sent softoffs/)).toBe(1);
    // Held unavailable while it keeps working; back (and off) once it obeys.
    expect(s.unit.available).toBe(false);
    s.device().ignore.clear();
    await s.device().softOff(Math.ceil(Date.now() / 1000));
    await vi.advanceTimersByTimeAsync(11_000);
    expect(s.unit).toMatchObject({ on: false, available: true });
    expect(s.logged(/^device reports its planned state again/)).toBe(1);
    await s.scheduler.stop();
  });

  it('re-sends a softon the device ignored once, without marking the unit unavailable', async () => {
    const s = setup(1, false);
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(6000);
    s.device().ignore.add('softOn');
    s.budget.put({ kw: 100 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.device().calls.map((c) => c.call)).toEqual(['softOn']);
    s.device().ignore.clear();
    // The softon has until its named second + 30 s ramp + 5 s margin to show; then two polls confirm.
    await vi.advanceTimersByTimeAsync(35_000);
    expect(s.device().calls.filter((c) => c.call === 'softOn')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(s.device().calls.filter((c) => c.call === 'softOn')).toHaveLength(2);
    expect(s.unit.available).toBe(true);
    expect(s.scheduler.snapshot().decisions.at(-1)).toMatchObject({ from: 'off', to: 'super', reason: 'device reports off while planned on: re-sending softon' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.device().off).toBe(false);
    expect(s.device().calls.filter((c) => c.call === 'softOn')).toHaveLength(2);
    expect(s.logged(/^device reports its planned state again/)).toBe(1);
    await s.scheduler.stop();
  });

  it('a healthy start with a device in another mode than assumed: no warning, its mode is taken as its state and the plan moves it (issue 13)', async () => {
    const s = setup(100, true, 0);
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.logLines.filter((l) => Number(l['level']) >= 40)).toEqual([]);
    expect(s.logged(/^device runs in another mode than assumed at start: taken as its state/)).toBe(1);
    // The plan wanted super (100 kW is room for it): one planned workmode command, from what the device really ran.
    expect(s.device().calls.map((c) => c.call)).toEqual(['setWorkmode']);
    expect(s.device().workmode).toBe(2);
    expect(s.scheduler.snapshot().decisions.map((d) => [d.from, d.to])).toEqual([['eco', 'super']]);
    await s.scheduler.stop();
  });

  it('a unit that comes back in another workmode (a reboot into eco) gets its planned workmode again, counted at its measured draw meanwhile', async () => {
    const s = setup();
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(60_000); // on in super, settled
    expect(s.device().calls).toEqual([]);
    s.device().workmode = 0;
    await vi.advanceTimersByTimeAsync(10_000); // two polls confirm
    expect(s.device().calls.map((c) => c.call)).toEqual(['setWorkmode']);
    expect(s.device().workmode).toBe(2);
    // It reported its draw (eco), so it is not counted at worst case; the episode is recorded and logged once.
    expect(s.unit.available).toBe(true);
    expect(s.scheduler.snapshot().decisions.at(-1)).toMatchObject({ unitId: 'u0', from: 'eco', to: 'super', reason: 'device works in another workmode than planned: re-sending workmode' });
    expect(s.logged(/^device works in another workmode than planned/)).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(s.logged(/^device reports its planned state again/)).toBe(1);
    // A device that keeps switching back is given up on like any other lost command.
    s.device().setWorkmode = async (): Promise<void> => void s.device().calls.push({ call: 'setWorkmode', atMs: Date.now() });
    s.device().workmode = 0;
    await vi.advanceTimersByTimeAsync(400_000);
    expect(s.device().calls.filter((c) => c.call === 'setWorkmode')).toHaveLength(1 + RECONCILE_DEFAULTS.maxRetries);
    expect(s.unit.available).toBe(false);
    expect(s.lever.events).toContain('withhold site.u0');
    expect(s.scheduler.snapshot().decisions.at(-1)!.reason).toBe('device still reports workmode 0 after 3 re-sent workmodes');
    await s.scheduler.stop();
  });

  it('a planned-off unit that reboots into working is counted and switched off again', async () => {
    const s = setup();
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(6000);
    s.budget.put({ kw: 1 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.device().off).toBe(true);
    expect(s.device().calls.map((c) => c.call)).toEqual(['softOff']);
    s.device().reboot();
    await vi.advanceTimersByTimeAsync(10_000); // two polls
    expect(s.unit.available).toBe(false);
    expect(s.scheduler.snapshot().units[0]!.kw).toBeGreaterThanOrEqual(8.1);
    expect(s.device().calls.map((c) => c.call)).toEqual(['softOff', 'softOff']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(s.unit).toMatchObject({ on: false, available: true });
    expect(s.lever.events).not.toContain('withhold site.u0');
    await s.scheduler.stop();
  });

  it('a planned-on unit that stays off (button, power cut) is given up on: worst case and withheld', async () => {
    const s = setup();
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(6000);
    s.device().off = true;
    s.device().ignore.add('softOn');
    await vi.advanceTimersByTimeAsync(300_000);
    expect(s.device().calls.filter((c) => c.call === 'softOn')).toHaveLength(RECONCILE_DEFAULTS.maxRetries);
    expect(s.unit.available).toBe(false);
    expect(s.lever.events).toContain('withhold site.u0');
    expect(s.scheduler.snapshot().decisions.at(-1)).toMatchObject({ from: 'super', to: 'unavailable', reason: 'device still reports off after 3 re-sent softons' });
    // Someone switches it back on: it reports the planned state, comes back and is released.
    s.device().off = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(s.unit).toMatchObject({ on: true, available: true });
    expect(s.lever.events.at(-1)).toBe('release site.u0');
    await s.scheduler.stop();
  });
});

describe('reconcile (pure)', () => {
  const [avalon] = fleetOf([{}]).units;
  const u = avalon!;
  // A fleet's unit keeps its state behind accessors (fleet-state.ts): a spread would drop it.
  const on = (x: boolean): FleetUnit => fleetOf([{ on: x }]).units[0]!;

  it.each([
    ['planned on, soft-off', true, { softOff: true, state: 'idle' }, 'reports-off'],
    ['planned on, idle without the flag', true, { softOff: false, state: 'idle' }, 'reports-off'],
    ['planned on, working', true, { softOff: false, state: 'working' }, undefined],
    ['planned on, working in the planned workmode', true, { softOff: false, state: 'working', workmode: 2 }, undefined],
    ['planned on, working in another workmode', true, { softOff: false, state: 'working', workmode: 0 }, 'reports-mode'],
    ['planned on, soft-off in another workmode', true, { softOff: true, state: 'idle', workmode: 0 }, 'reports-off'],
    ['planned off, soft-off in another workmode', false, { softOff: true, state: 'idle', workmode: 0, wallPowerW: 150 }, undefined],
    ['planned on, booting', true, { softOff: false, state: 'init' }, undefined],
    ['planned off, soft-off', false, { softOff: true, state: 'idle', wallPowerW: 150 }, undefined],
    ['planned off, working near standby', false, { softOff: false, state: 'working', wallPowerW: 1500 }, undefined],
    ['planned off, working at full draw', false, { softOff: false, state: 'working', wallPowerW: 8100 }, 'reports-on'],
    ['planned off, working, no draw, hashing', false, { softOff: false, state: 'working', hashrateThs: 400 }, 'reports-on'],
    ['planned off, working, nothing to go by', false, { softOff: false, state: 'working' }, undefined],
  ] as const)('%s', (_name, planned, status, expected) => {
    expect(mismatchOf(on(planned), status)).toBe(expected);
  });

  it('leaves the workmode of a single-mode profile alone (on the A10..A14 a change needs a reboot)', () => {
    const [a1246] = fleetOf([{ model: 'avalon-a1246' }]).units;
    expect(plannedWorkmode(a1246!)).toBeUndefined();
    expect(mismatchOf(a1246!, { softOff: false, state: 'working', workmode: 1 })).toBeUndefined();
    expect(plannedWorkmode(u)).toBe(2);
  });

  it('waits for the command to take effect: softoff lead, plus the ramp when on, plus the margin', () => {
    const x = { ...u, on: false, changedAtMs: 1000 };
    expect(settledAtMs(x, 2000, 5000)).toBe(2000 + 6000 + 5000);
    expect(settledAtMs({ ...x, on: true, rampFromMs: 9000 }, 2000, 5000)).toBe(9000 + 30_000 + 5000);
    expect(settledAtMs({ ...x, on: true, rampFromMs: 7000 }, 2000, 5000)).toBe(8000 + 30_000 + 5000);
  });

  it('confirms after two polls, re-sends with doubling backoff, gives up after the retries', () => {
    const settings = { ...RECONCILE_DEFAULTS, maxRetries: 2, backoffMs: 1000 };
    let track: ReconcileTrack | undefined;
    const steps: string[] = [];
    for (let now = 0; now <= 10_000; now += 500) {
      const r = reconcileStep(track, 'reports-on', { nowMs: now, settledAtMs: 0, pending: false }, settings);
      track = r.track;
      if (r.action !== 'none' || r.firstConfirm) steps.push(`${now} ${r.action}${r.firstConfirm ? ' first' : ''}`);
    }
    expect(steps).toEqual(['500 resend first', '1500 resend', '3500 give-up']);
    expect(reconcileStep(track, undefined, { nowMs: 0, settledAtMs: 0, pending: false })).toEqual({ track: undefined, action: 'cleared', firstConfirm: false });
  });

  it('ignores reports while a command is pending or has not had time, and a one-poll blip', () => {
    const input = { nowMs: 10, settledAtMs: 0, pending: false };
    expect(reconcileStep(undefined, 'reports-off', { ...input, pending: true }).track).toBeUndefined();
    expect(reconcileStep(undefined, 'reports-off', { ...input, settledAtMs: 11 }).track).toBeUndefined();
    const one = reconcileStep(undefined, 'reports-off', input);
    expect(one).toMatchObject({ action: 'none', firstConfirm: false });
    expect(reconcileStep(one.track, undefined, input)).toEqual({ track: undefined, action: 'none', firstConfirm: false });
  });
});
