import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { schedulerSchema } from '../../src/config/schema.js';
import type { DeviceApi, DeviceStatus, StratumLever } from '../../src/fleet/control.js';
import { createLogger } from '../../src/observability/logger.js';
import { HttpBudgetSource } from '../../src/power/http-budget-source.js';
import type { FleetUnit } from '../../src/scheduler/fleet-state.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { StateStore } from '../../src/scheduler/state-store.js';
import { fleetOf, type UnitSpec } from './scheduler-fixtures.js';
import { systemClock } from '../../src/clock.js';

interface Call {
  unit: string;
  call: string;
  arg?: number;
  atMs: number;
}

/** A DeviceApi that records every call with the (fake) time; `fail` makes a call reject. */
class FakeApi implements DeviceApi {
  fail = new Set<string>();
  wallPowerW: number | undefined;
  constructor(
    private readonly unit: FleetUnit,
    private readonly calls: Call[],
  ) {}
  private rec(call: string, arg?: number): Promise<void> {
    this.calls.push({ unit: this.unit.id, call, ...(arg !== undefined ? { arg } : {}), atMs: Date.now() });
    return this.fail.has(call) ? Promise.reject(new Error(`${call} refused`)) : Promise.resolve();
  }
  softOff(atUnixS: number): Promise<void> {
    return this.rec('softOff', atUnixS);
  }
  softOn(atUnixS: number): Promise<void> {
    return this.rec('softOn', atUnixS);
  }
  setWorkmode(mode: number): Promise<void> {
    return this.rec('setWorkmode', mode);
  }
  async readStatus(): Promise<DeviceStatus> {
    if (this.fail.has('readStatus')) throw new Error('no answer');
    return { softOff: false, state: 'working', ...(this.wallPowerW !== undefined ? { wallPowerW: this.wallPowerW } : {}) };
  }
  close(): void {}
}

class FakeLever implements StratumLever {
  events: string[] = [];
  withhold(worker: string, graceS: number): void {
    this.events.push(`withhold ${worker} ${graceS}`);
  }
  release(worker: string): void {
    this.events.push(`release ${worker}`);
  }
  expectHashrate(worker: string, ths: number): void {
    this.events.push(`expect ${worker} ${ths}`);
  }
  isConnected(): boolean {
    return true;
  }
}

const T0 = Date.parse('2026-06-01T10:00:00Z');

function setup(specs: UnitSpec[], settings: Record<string, unknown> = {}, ttlS = 300, initialKw = 1000, stateStore?: StateStore) {
  const calls: Call[] = [];
  const apis = new Map<string, FakeApi>();
  const lever = new FakeLever();
  const logLines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const fleet = fleetOf(specs);
  const budget = new HttpBudgetSource(ttlS, initialKw, systemClock);
  const scheduler = new Scheduler({
    clock: systemClock,
    logger: createLogger({ level: 'info', destination }),
    settings: schedulerSchema.parse({ minOnS: 0, minOffS: 0, ...settings }),
    fleet,
    budget,
    guard: { holdLastS: 5, failsafeKw: 0 },
    // One fake per unit, whichever of its clients (status, cut) the loop builds.
    drivers: (u) => {
      const api = apis.get(u.id) ?? new FakeApi(u, calls);
      apis.set(u.id, api);
      return api;
    },
    lever,
    ...(stateStore ? { stateStore } : {}),
  });
  return { calls, apis, lever, fleet, budget, scheduler, logLines };
}

describe('scheduler loop (fake timers, fake device APIs)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('issues every command of a cut within the deadline, cut commands first, even with a long stagger', async () => {
    const s = setup(Array.from({ length: 20 }, () => ({})), { commandStaggerMs: 1000, cutDeadlineS: 10 });
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.calls).toEqual([]); // 1000 kW: all 20 stay on
    const cutAt = Date.now();
    s.budget.put({ kw: 50 });
    await vi.advanceTimersByTimeAsync(60_000);
    const offs = s.calls.filter((c) => c.call === 'softOff');
    expect(offs.length).toBeGreaterThanOrEqual(14);
    for (const c of offs) expect(c.atMs - cutAt).toBeLessThanOrEqual(10_000);
    // Avalon wants the softoff time a few seconds ahead: the model's softoffDelayS (5 s).
    for (const c of offs) expect(c.arg! * 1000 - c.atMs).toBeGreaterThanOrEqual(5000);
    const snap = s.scheduler.snapshot();
    expect(snap.plannedKw).toBeLessThanOrEqual(50);
    expect(snap.budget).toMatchObject({ kw: 50, status: 'live', source: 'http' });
    expect(snap.decisions.at(-1)).toMatchObject({ to: expect.any(String), reason: expect.stringMatching(/budget cut to 50 kW|to fit 50 kW/) });
    await s.scheduler.stop();
  });

  it('issues the commands of a cut in parallel and staggers only increases (issue 12 item 3)', async () => {
    const s = setup(Array.from({ length: 6 }, () => ({})), { commandStaggerMs: 1000, cutDeadlineS: 10 });
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(1000);
    const cutAt = Date.now();
    s.budget.put({ kw: 17, ttlS: 3600 }); // room for two of six
    await vi.advanceTimersByTimeAsync(0);
    const offs = s.calls.filter((c) => c.call === 'softOff');
    expect(offs.length).toBe(4);
    for (const c of offs) expect(c.atMs).toBe(cutAt);
    s.calls.length = 0;
    await vi.advanceTimersByTimeAsync(60_000);
    s.budget.put({ kw: 100 });
    await vi.advanceTimersByTimeAsync(60_000);
    const ons = s.calls.filter((c) => c.call === 'softOn').map((c) => c.atMs);
    expect(ons.length).toBe(4);
    for (let i = 1; i < ons.length; i++) expect(ons[i]! - ons[i - 1]!).toBeGreaterThanOrEqual(1000);
    await s.scheduler.stop();
  });

  it('a reading\'s look-ahead holds switch-ons back until it ends, and switches nothing off', async () => {
    const s = setup(Array.from({ length: 6 }, () => ({ on: false })), { commandStaggerMs: 1000 }, 3600, 0);
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(1000);
    // 50 kW now, but the sender (a nowcast) expects 20 kW at lowest within the minute: two of six.
    const putAt = Date.now();
    s.budget.put({ kw: 50, lowAhead: 20, aheadS: 60 });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(s.calls.filter((c) => c.call === 'softOn').length).toBe(2);
    const snap = s.scheduler.snapshot();
    expect(snap.budget).toMatchObject({ kw: 50, status: 'live', lowAhead: { kw: 20, untilMs: putAt + 60_000 } });
    expect(snap.limitedBy).toBe('ahead');
    expect(snap.plannedKw).toBeLessThanOrEqual(20);
    // The look-ahead ends with no new reading: the plan fills the budget.
    await vi.advanceTimersByTimeAsync(40_000);
    expect(s.calls.filter((c) => c.call === 'softOn').length).toBe(6);
    expect(s.scheduler.snapshot().budget.lowAhead).toBeUndefined();
    // A look-ahead of nothing never cuts what runs: only the budget does.
    s.calls.length = 0;
    s.budget.put({ kw: 50, lowAhead: 0, aheadS: 60 });
    await vi.advanceTimersByTimeAsync(90_000);
    expect(s.calls.filter((c) => c.call === 'softOff')).toEqual([]);
    await s.scheduler.stop();
  });

  it('swaps at a steady budget: decreases first, the increase once the softoff has taken effect', async () => {
    // An old unit (3.25 kW, 95 TH/s) runs, an avalon is off; 7.6 kW fits the avalon in standard alone.
    const s = setup([{ model: 'old' }, { on: false }], {}, 300, 7.6);
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(s.calls.map((c) => `${c.unit} ${c.call}`)).toEqual(['u0 softOff', 'u1 setWorkmode', 'u1 softOn']);
    const [off, , on] = s.calls;
    expect(off!.atMs).toBe(T0);
    expect(on!.atMs).toBeGreaterThanOrEqual(off!.arg! * 1000);
    expect(s.scheduler.snapshot().decisions.map((d) => d.reason)).toEqual([expect.stringMatching(/^shed: 34\.21 J\/TH, swapped for more efficient units/), expect.stringMatching(/^swapped in, standard/)]);
    await s.scheduler.stop();
  });

  describe('every decision ends as a command issued, superseded or a fail-safe', () => {
    it('keeps a waiting softon that a newer plan turns into a mode change (it used to be lost), still after the softoff', async () => {
      const s = setup([{ model: 'old' }, { on: false }], {}, 300, 7.6);
      await s.scheduler.start();
      await vi.advanceTimersByTimeAsync(1000);
      expect(s.calls.map((c) => `${c.unit} ${c.call}`)).toEqual(['u0 softOff']);
      // Before u1's softon is issued, the budget rises: u1 (planned on in standard) goes up to super.
      s.budget.put({ kw: 8.5 });
      await vi.advanceTimersByTimeAsync(20_000);
      // u1's device is still in super (its mode before the plan), so the softon alone does it.
      const u1 = s.calls.filter((c) => c.unit === 'u1');
      expect(u1.map((c) => c.call)).toEqual(['softOn']);
      expect(u1[0]!.atMs).toBeGreaterThanOrEqual(s.calls[0]!.arg! * 1000);
      expect(s.fleet.units[1]).toMatchObject({ on: true, mode: 2 });
      const snap = s.scheduler.snapshot();
      expect(snap.outcomes).toEqual({ decided: 3, pending: 0, issued: 3, superseded: 0, failsafe: 0, cancelled: 0 });
      expect(snap.decisions.map((d) => `${d.unitId} ${d.from}->${d.to} ${d.outcome}`)).toEqual(['u0 normal->off issued', 'u1 off->standard issued', 'u1 standard->super issued']);
      await s.scheduler.stop();
    });

    it('records a waiting softon that a cut replaces as superseded, and a command still waiting at stop as cancelled', async () => {
      const s = setup([{ model: 'old' }, { on: false }], {}, 300, 7.6);
      await s.scheduler.start();
      await vi.advanceTimersByTimeAsync(1000);
      s.budget.put({ kw: 6 }); // below the planned 7.4 kW, and no room for u1 even in eco: shed before its softon went out
      await vi.advanceTimersByTimeAsync(20_000);
      let snap = s.scheduler.snapshot();
      expect(snap.decisions.map((d) => `${d.unitId} ${d.to} ${d.outcome}`)).toEqual(['u0 off issued', 'u1 standard superseded', 'u1 off issued']);
      expect(snap.decisions[1]!.outcomeNote).toBe('by off before its issue time');
      expect(s.calls.filter((c) => c.call === 'softOn')).toEqual([]);
      // The budget comes back and the scheduler stops before the softon is issued: cancelled, not lost.
      s.budget.put({ kw: 7.6 });
      await s.scheduler.stop();
      snap = s.scheduler.snapshot();
      expect(snap.decisions.at(-1)).toMatchObject({ unitId: 'u1', from: 'off', outcome: 'cancelled' });
      expect(snap.outcomes).toEqual({ decided: 4, pending: 0, issued: 2, superseded: 1, failsafe: 0, cancelled: 1 });
    });

    it('counts no cycle for an off that replaces a softon superseded before its issue time (the device never left standby)', async () => {
      const s = setup([{ model: 'old' }, { on: false }], {}, 300, 7.6);
      await s.scheduler.start();
      await vi.advanceTimersByTimeAsync(1000);
      s.budget.put({ kw: 6 });
      await vi.advanceTimersByTimeAsync(20_000);
      // u0 ran and went off (one cycle); u1's softon never went out, its off ends nothing.
      expect(s.calls.filter((c) => c.unit === 'u1').map((c) => c.call)).toEqual(['softOff']);
      expect(s.scheduler.wear().cyclesPerUnit).toMatchObject({ max: 1, mean: 0.5 });
      expect(s.fleet.units[1]!.onsMs ?? []).toEqual([]);
      await s.scheduler.stop();
    });

    it('counts a failed device command as a fail-safe', async () => {
      const s = setup([{}], {}, 300, 100);
      await s.scheduler.start();
      await vi.advanceTimersByTimeAsync(5000);
      s.apis.get('u0')!.fail.add('softOff');
      s.budget.put({ kw: 1 });
      await vi.advanceTimersByTimeAsync(1000);
      const d = s.scheduler.snapshot().decisions.find((x) => x.to === 'off')!;
      expect(d.outcome).toBe('failsafe');
      expect(d.outcomeNote).toMatch(/off failed: softOff refused; withheld/);
      await s.scheduler.stop();
    });
  });

  it('logs an infeasible budget once when it starts and once when it ends, not on every re-plan', async () => {
    const s = setup([{}, {}], {}, 300, 100);
    await s.scheduler.start();
    for (const kw of [0.1, 0.2, 0.05, 0.1]) {
      s.budget.put({ kw });
      await vi.advanceTimersByTimeAsync(250);
    }
    await vi.advanceTimersByTimeAsync(20_000); // ticks re-plan too
    s.budget.put({ kw: 100 });
    await vi.advanceTimersByTimeAsync(250);
    s.budget.put({ kw: 90 });
    await vi.advanceTimersByTimeAsync(250);
    const msgs = s.logLines.map((l) => l['msg']).filter((m) => typeof m === 'string' && m.startsWith('budget above') || m === 'budget below the all-off draw: everything off');
    expect(msgs).toEqual(['budget below the all-off draw: everything off', 'budget above the all-off draw again']);
    await s.scheduler.stop();
  });

  it('falls back to StratumLever.withhold when a command fails, and marks the unit unavailable', async () => {
    const s = setup([{}, {}], { withholdGraceS: 30 });
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(5000); // first status poll creates the clients
    s.apis.get('u0')!.fail.add('softOff');
    s.apis.get('u1')!.fail.add('softOff');
    s.budget.put({ kw: 0.3 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.lever.events).toContain('withhold site.u0 30');
    expect(s.lever.events).toContain('withhold site.u1 30');
    const snap = s.scheduler.snapshot();
    expect(snap.units.map((u) => u.available)).toEqual([false, false]);
    // The loop re-plans at once around the unit counted at worst case (issue 11 item 4): the unit's
    // reason is the plan's; why it became unavailable is in its decision record.
    expect(snap.units[0]!.reason).toMatch(/^unavailable: /);
    expect(snap.decisions).toContainEqual(expect.objectContaining({ unitId: 'u0', to: 'unavailable', reason: 'off failed: softOff refused' }));
    expect(s.logLines.some((l) => l['msg'] === 'device command failed: Stratum fail-safe' && l['unit'] === 'u0')).toBe(true);
    // The unit reports again (as on: its softoff never happened). It stays withheld: the
    // re-plan still wants it off, and this time the softoff goes through.
    s.apis.get('u0')!.fail.clear();
    s.calls.length = 0;
    await vi.advanceTimersByTimeAsync(5000);
    expect(s.scheduler.snapshot().units[0]).toMatchObject({ available: true, state: 'off' });
    expect(s.calls.filter((c) => c.unit === 'u0').map((c) => c.call)).toEqual(['softOff']);
    expect(s.lever.events).not.toContain('release site.u0');
    // When the budget allows it again, the softon succeeds and the worker is released.
    s.budget.put({ kw: 100 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.lever.events).toContain('release site.u0');
    await s.scheduler.stop();
  });

  it('marks a unit that stops reporting unavailable, counted at worst case', async () => {
    const s = setup([{ mode: 1 }]);
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(10);
    s.apis.get('u0')!.fail.add('readStatus');
    await vi.advanceTimersByTimeAsync(5000);
    const u = s.scheduler.snapshot().units[0]!;
    expect(u).toMatchObject({ available: false, kw: 8.1 });
  });

  it('uses withhold/release for a unit without an API', async () => {
    const s = setup([{ api: false }]);
    await s.scheduler.start();
    s.budget.put({ kw: 1 });
    await vi.advanceTimersByTimeAsync(100);
    expect(s.lever.events).toEqual(['withhold site.u0 30']);
    await vi.advanceTimersByTimeAsync(1000);
    s.budget.put({ kw: 100 });
    await vi.advanceTimersByTimeAsync(100);
    expect(s.lever.events.slice(1)).toEqual(['expect site.u0 480', 'release site.u0']);
    expect(s.calls).toEqual([]);
    await s.scheduler.stop();
  });

  it('holds a silent source past its TTL, then applies the fail-safe, and logs both', async () => {
    const s = setup([{}], {}, 10);
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(12_000);
    expect(s.scheduler.snapshot().budget.status).toBe('holding');
    expect(s.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(3_100); // TTL 10 s + hold 5 s: applied at once, not at the next tick
    expect(s.scheduler.snapshot().budget).toMatchObject({ status: 'failsafe', kw: 0 });
    expect(s.calls.map((c) => c.call)).toEqual(['softOff']);
    const statuses = s.logLines.filter((l) => 'budgetStatus' in l).map((l) => l['budgetStatus']);
    expect(statuses).toEqual(['live', 'holding', 'failsafe']);
    await s.scheduler.stop();
  });

  it('tells the proxy the planned hashrate when it changes', async () => {
    const s = setup([{ on: false }]);
    await s.scheduler.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(s.lever.events).toContain('expect site.u0 480');
    expect(s.calls.map((c) => c.call)).toEqual(['softOn']);
    await s.scheduler.stop();
  });

  it('persists the commanded state and keeps minimum off-times across a restart', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'surplus-state-')), 'state.json');
    const a = setup([{}, {}], { minOffS: 300 }, 300, 1000, new StateStore(file, createLogger({ level: 'silent' })));
    await a.scheduler.start();
    a.budget.put({ kw: 9 }); // one unit must go
    await vi.advanceTimersByTimeAsync(100);
    await a.scheduler.stop();
    const saved = JSON.parse(await readFile(file, 'utf8')) as { units: Array<{ id: string; on: boolean; sinceMs: number | null }> };
    expect(saved.units.map((u) => u.on).sort()).toEqual([false, true]);
    const offId = saved.units.find((u) => !u.on)!.id;
    await vi.advanceTimersByTimeAsync(60_000);
    const b = setup([{}, {}], { minOffS: 300 }, 300, 1000, new StateStore(file, createLogger({ level: 'silent' })));
    await b.scheduler.start();
    await vi.advanceTimersByTimeAsync(100);
    const unit = b.scheduler.snapshot().units.find((u) => u.id === offId)!;
    expect(unit.state).toBe('off');
    // Its softoff is re-asserted: the device may have rebooted since.
    expect(b.calls.filter((c) => c.unit === offId).map((c) => c.call)).toEqual(['softOff']);
    expect(unit.reason).toMatch(/^held off: minimum off-time, 2[34]\d s left$/);
    await b.scheduler.stop();
  });
});
