/**
 * Fault: surplus restarted while half the fleet is curtailed (issue 7). The
 * scheduler persists its state atomically; the restarted one resumes the plan
 * (units stay off since their recorded time, minOffS and the ramp still
 * apply) instead of switching everything back on. A missing or corrupt state
 * file is logged and ignored. Real files in a temp dir, fake timers.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { schedulerSchema } from '../../src/config/schema.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import type { DeviceApi, DeviceStatus } from '../../src/fleet/control.js';
import { createLogger } from '../../src/observability/logger.js';
import { HttpBudgetSource } from '../../src/power/http-budget-source.js';
import { createFleetState, type FleetState } from '../../src/scheduler/fleet-state.js';
import { cyclesUsed } from '../../src/scheduler/policy-wear.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { applyState, captureState, decodeState, StateStore } from '../../src/scheduler/state-store.js';
import { systemClock } from '../../src/clock.js';
import { recordingLever } from '../support/recording-lever.js';

const T0 = Date.parse('2026-06-01T10:00:00Z');
// 8 units of 8.1 kW (super): 4 with a device API, 4 Stratum-only.
const miners = Array.from({ length: 8 }, (_, i) => ({
  id: `u${i}`,
  worker: `site.u${i}`,
  model: 'avalon-a1566ha',
  priority: 0,
  ...(i % 2 === 0 ? { api: `10.0.0.${i}:4028` } : {}),
}));

interface Rig {
  scheduler: Scheduler;
  budget: HttpBudgetSource;
  calls: string[];
  lever: string[];
  logs: Array<Record<string, unknown>>;
  fleet: FleetState;
}

function rig(store: StateStore, kw: number): Rig {
  const calls: string[] = [];
  const { lever: stratum, calls: lever } = recordingLever();
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _e, cb) {
      for (const l of String(chunk).split('\n')) if (l) logs.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const api = (id: string): DeviceApi => ({
    softOff: async () => void calls.push(`${id} softOff`),
    softOn: async () => void calls.push(`${id} softOn`),
    setWorkmode: async (m) => void calls.push(`${id} workmode ${m}`),
    readStatus: async (): Promise<DeviceStatus> => ({ softOff: false, state: 'working' }),
    close: () => undefined,
  });
  const budget = new HttpBudgetSource(3600, kw, systemClock);
  // A fresh process: every unit assumed on in its top mode, as createFleetState does by default.
  const fleet = createFleetState({ models: BUILTIN_MODELS, miners });
  const scheduler = new Scheduler({
    clock: systemClock,
    logger: createLogger({ level: 'info', destination }),
    settings: schedulerSchema.parse({ minOnS: 0, minOffS: 300, rampKwPerMin: 20, commandStaggerMs: 0, tickS: 3600 }),
    fleet,
    budget,
    guard: { holdLastS: 60, failsafeKw: 0 },
    drivers: (u) => api(u.id),
    lever: stratum,
    stateStore: store,
  });
  return { scheduler, budget, calls, lever, logs, fleet };
}

const offUnits = (s: Scheduler): string[] => s.snapshot().units.filter((u) => u.state === 'off').map((u) => u.id);

describe('fault: restart while half the fleet is curtailed', () => {
  let dir: string;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(T0);
    dir = mkdtempSync(join(tmpdir(), 'surplus-state-'));
  });
  afterEach(() => vi.useRealTimers());

  it('resumes the plan: curtailed units stay off, fail-safes are re-asserted, minOffS counts from before the restart', async () => {
    const file = join(dir, 'state.json');
    const store1 = new StateStore(file, createLogger({ level: 'silent' }));
    const a = rig(store1, 33); // room for 4 of 8
    await a.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000);
    const offBefore = offUnits(a.scheduler);
    expect(offBefore.length).toBe(4);
    await store1.flush();
    await a.scheduler.stop();
    const saved = decodeState(readFileSync(file, 'utf8'));
    expect(saved.ok).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);

    // The process dies; a new one starts 60 s later with the same budget.
    vi.setSystemTime(T0 + 90_000);
    const b = rig(new StateStore(file, createLogger({ level: 'silent' })), 33);
    await b.scheduler.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(offUnits(b.scheduler).sort()).toEqual([...offBefore].sort());
    // Nothing was switched on; the off units' levers are re-asserted (softOff to the API ones, withhold for Stratum-only).
    expect(b.calls.filter((c) => c.endsWith('softOn'))).toEqual([]);
    const offApi = offBefore.filter((id) => Number(id.slice(1)) % 2 === 0);
    const offStratum = offBefore.filter((id) => Number(id.slice(1)) % 2 === 1);
    expect(b.calls.filter((c) => c.endsWith('softOff')).sort()).toEqual(offApi.map((id) => `${id} softOff`).sort());
    expect(b.lever.filter((l) => l.startsWith('withhold')).sort()).toEqual(offStratum.map((id) => `withhold site.${id}`).sort());
    expect(b.logs.some((l) => l['msg'] === 'scheduler state restored' && l['off'] === 4)).toBe(true);

    // More budget arrives: minOffS (300 s) counts from the cut before the restart, not from the restart.
    b.budget.put({ kw: 200 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(offUnits(b.scheduler).length).toBe(4);
    vi.setSystemTime(T0 + 301_000);
    b.scheduler.replan('test');
    await vi.advanceTimersByTimeAsync(60_000);
    // The ramp (20 kW/min) lets them back gradually, not all at once.
    const on = 8 - offUnits(b.scheduler).length;
    expect(on).toBeGreaterThan(4);
    await b.scheduler.stop();
  });

  it('keeps the wear budget spent: a restart remembers each unit\'s switch-ons of the last 24 h (issue 12 item 2)', async () => {
    const file = join(dir, 'state.json');
    const store1 = new StateStore(file, createLogger({ level: 'silent' }));
    const a = rig(store1, 33); // room for 4 of 8: four go off
    await a.scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(offUnits(a.scheduler).length).toBe(4);
    // After minOffS the budget rises: they come back on, each one switch-on spent.
    vi.setSystemTime(T0 + 301_000);
    a.budget.put({ kw: 200 });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(offUnits(a.scheduler)).toEqual([]);
    const now1 = Date.now();
    const before = new Map(a.fleet.units.map((u) => [u.id, cyclesUsed(u, now1)]));
    expect([...before.values()].reduce((x, y) => x + y, 0)).toBe(4);
    await store1.flush();
    await a.scheduler.stop();
    await store1.flush();

    // A new process a minute later: the same counts, not a fresh day.
    vi.setSystemTime(now1 + 60_000);
    const b = rig(new StateStore(file, createLogger({ level: 'silent' })), 200);
    await b.scheduler.start();
    await vi.advanceTimersByTimeAsync(1000);
    const now2 = Date.now();
    expect(new Map(b.fleet.units.map((u) => [u.id, cyclesUsed(u, now2)]))).toEqual(before);
    await b.scheduler.stop();

    // Switch-ons more than a day old are not carried, and a future time (clock stepped back) is clamped.
    const fleet = createFleetState({ models: BUILTIN_MODELS, miners });
    applyState(fleet, { version: 1, savedAtMs: T0, units: [{ id: 'u0', on: true, mode: 'super', sinceMs: null, changedAtMs: null, lastCommand: null, onsMs: [T0 - 90_000_000, T0 - 1000, T0 + 5000] }] }, T0);
    expect(fleet.byId.get('u0')!.onsMs).toEqual([T0 - 1000, T0]);
  });

  it('without a state file (first start) and with a corrupt one, starts fresh and logs it', async () => {
    const file = join(dir, 'state.json');
    const a = rig(new StateStore(file, createLogger({ level: 'silent' })), 1000);
    await a.scheduler.start();
    expect(offUnits(a.scheduler)).toEqual([]);
    await a.scheduler.stop();

    for (const junk of ['{"version":1,"savedAtMs":1,"units":[{"id":"u0","on":"yes"}]}', '{"version":1,"savedAt', '\0\0\0', '{"version":99,"savedAtMs":1,"units":[]}']) {
      writeFileSync(file, junk);
      const logs: string[] = [];
      const destination = new Writable({
        write(c, _e, cb) {
          logs.push(String(c));
          cb();
        },
      });
      const store = new StateStore(file, createLogger({ level: 'info', destination }));
      expect(await store.load()).toBeUndefined();
      expect(logs.join('')).toMatch(/corrupt: ignored/);
    }
    const b = rig(new StateStore(file, createLogger({ level: 'silent' })), 1000);
    await b.scheduler.start();
    expect(offUnits(b.scheduler)).toEqual([]);
    await b.scheduler.stop();
  });

  it('saves atomically: a burst of saves leaves one valid file with the last state and no temp files', async () => {
    const file = join(dir, 'nested', 'state.json');
    const store = new StateStore(file, createLogger({ level: 'silent' }));
    const fleet = createFleetState({ models: BUILTIN_MODELS, miners });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      fleet.units[i % 8]!.on = i % 3 !== 0;
      writes.push(store.save(captureState(fleet, T0 + i)));
    }
    await Promise.all(writes);
    await store.flush();
    const d = decodeState(readFileSync(file, 'utf8'));
    expect(d.ok && d.state.savedAtMs).toBe(T0 + 19);
    expect(store.saves).toBeLessThan(20); // coalesced
    expect(readdirSync(join(dir, 'nested'))).toEqual(['state.json']);
  });

  it('applyState skips units no longer configured and unknown modes, and clamps future times', () => {
    const fleet = createFleetState({ models: BUILTIN_MODELS, miners });
    const r = applyState(
      fleet,
      {
        version: 1,
        savedAtMs: T0,
        units: [
          { id: 'gone', on: false, mode: 'eco', sinceMs: T0, changedAtMs: T0, lastCommand: null },
          { id: 'u0', on: false, mode: 'turbo', sinceMs: T0 + 1e9, changedAtMs: null, lastCommand: { action: 'api:off', atMs: T0 } },
          { id: 'u2', on: true, mode: 'eco', sinceMs: null, changedAtMs: null, lastCommand: null },
        ],
      },
      T0,
    );
    expect(r.restored).toEqual(['u0', 'u2']);
    expect(r.off).toEqual(['u0']);
    expect(r.skipped).toEqual(['gone: not in the fleet config any more', 'u0: mode "turbo" unknown; keeping super']);
    expect(fleet.byId.get('u0')!.sinceMs).toBe(T0);
    expect(fleet.byId.get('u2')!.modes[fleet.byId.get('u2')!.mode]!.name).toBe('eco');
  });
});
