import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { DeviceApi, DeviceStatus } from '../../src/fleet/control.js';
import type { SchedulerSnapshot, UnitSnapshot } from '../../src/scheduler/scheduler-core.js';
import { DecisionTally } from '../../src/operator/decision-tally.js';
import { DeviceTelemetry } from '../../src/operator/device-telemetry.js';
import { SiteStatusAdapter, type ProxyStatusView, type WorkerShareView } from '../../src/operator/site-status.js';
import { emptyShareAccounting } from '../../src/operator/snapshots.js';

const unit = (id: string, state: 'on' | 'off', available = true): UnitSnapshot => ({
  id,
  worker: `w.${id}`,
  state,
  mode: 'super',
  kw: state === 'on' ? 8.1 : 0.15,
  available,
  since: null,
  reason: 'test',
});

function deviceReporting(status: DeviceStatus): DeviceApi {
  return {
    softOff: async () => {},
    softOn: async () => {},
    setWorkmode: async () => {},
    readStatus: async () => status,
    close: () => {},
  };
}

describe('SiteStatusAdapter', () => {
  it('combines scheduler, device readings and proxy ledger into the operator view', async () => {
    const clock = new ManualClock(1_000_000);
    const telemetry = new DeviceTelemetry(clock);
    await telemetry.wrap('a', deviceReporting({ softOff: false, state: 'working', wallPowerW: 7900, hashrateThs: 470 })).readStatus();
    await telemetry.wrap('b', deviceReporting({ softOff: false, state: 'init', wallPowerW: 3000, hashrateThs: 120 })).readStatus();
    const snapshot: SchedulerSnapshot = {
      budget: { kw: 20, status: 'holding', source: 'http', reason: 'r' },
      plannedKw: 16.35,
      measuredKw: 10.9,
      plannedThs: 960,
      cut: false,
      infeasible: false,
      limitedBy: null,
      atMs: 999_000,
      units: [unit('a', 'on'), unit('b', 'on'), unit('c', 'off'), unit('d', 'on', false), unit('e', 'on')],
      decisions: [],
    };
    const workers: Record<string, WorkerShareView> = {
      'w.a': { accepted: 90, rejected: { duplicate: 2, 'stale-job': 3 }, hashesPerSecond: 1e3, lastShareAtMs: 999_500, difficulty: 0.001, connected: true },
      'w.b': { accepted: 1, rejected: {}, hashesPerSecond: 0, lastShareAtMs: null, difficulty: 0.001, connected: true },
      'w.e': { accepted: 0, rejected: {}, hashesPerSecond: 0, lastShareAtMs: null, difficulty: null, connected: false },
    };
    const proxy: ProxyStatusView = {
      overview: () => ({
        pools: [{ url: 'stratum+tcp://127.0.0.1:1', state: 'up', sinceMs: 0, connections: 1, failovers: 0, active: true }],
        shares: { ...emptyShareAccounting(), accepted: 91, rejected: { duplicate: 2, 'stale-job': 3 } },
        hashQueueDepth: 4,
      }),
      workers: () => new Map(Object.entries(workers)),
    };
    const tally = new DecisionTally();
    tally.add({ from: 'super', to: 'off', reason: 'cloud', atMs: 998_000 });
    const adapter = new SiteStatusAdapter({
      clock,
      proxy,
      miners: ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, worker: `w.${id}` })),
      scheduler: { snapshot: () => snapshot },
      budgetSource: { latest: () => ({ kw: 20, atMs: 900_000, ttlMs: 60_000, source: 'http' }) },
      telemetry,
      tally,
    });

    const miners = adapter.miners();
    expect(miners.map((m) => m.state)).toEqual(['hashing', 'ramping', 'curtailed', 'fault', 'disconnected']);
    expect(miners[0]).toMatchObject({ kw: 7.9, hashrateThs: 470, mode: 'super', shares: { accepted: 90, rejected: 2, stale: 3 }, difficulty: 0.001 });
    expect(miners[2]).toMatchObject({ kw: 0.15, mode: null, hashrateThs: 0 });
    expect(miners[0]!.reason).toBe('test'); // the scheduler's reason for the unit's state

    const s = adapter.status();
    expect(s.budget).toEqual({ kw: 20, status: 'holding', source: 'http', updatedAtMs: 900_000, expiresAtMs: 960_000 });
    expect(s.plannedKw).toBe(16.35);
    expect(s.measuredKw).toBeCloseTo(7.9 + 3 + 0.15 + 8.1 + 8.1, 9);
    expect(s.hashrateThs).toBe(590);
    expect(s.minersByState).toMatchObject({ hashing: 1, ramping: 1, curtailed: 1, fault: 1, disconnected: 1 });
    expect(s.shares.accepted).toBe(91);
    expect(s.scheduler.decisions['off']).toBe(1);
    expect(s.scheduler.recent).toEqual([{ unitId: '', from: 'super', to: 'off', reason: 'cloud', atMs: 998_000 }]);
    expect(s.hashQueueDepth).toBe(4);
  });

  it('works for a proxy-only site without scheduler or devices', () => {
    const adapter = new SiteStatusAdapter({
      clock: new ManualClock(5),
      proxy: {
        overview: () => ({ pools: [], shares: emptyShareAccounting(), hashQueueDepth: 0 }),
        workers: () => new Map([['w.x', { accepted: 3, rejected: {}, hashesPerSecond: 2e12, lastShareAtMs: 4, difficulty: 8, connected: true }]]),
      },
      miners: [{ id: 'x', worker: 'w.x' }],
    });
    const s = adapter.status();
    expect(s.budget.source).toBe('none');
    expect(s.hashrateThs).toBe(2);
    expect(adapter.miners()[0]!.state).toBe('hashing');
  });

  it('lists workers the proxy serves that the fleet config does not name', () => {
    const adapter = new SiteStatusAdapter({
      clock: new ManualClock(5),
      proxy: {
        overview: () => ({ pools: [], shares: emptyShareAccounting(), hashQueueDepth: 0 }),
        workers: () =>
          new Map<string, WorkerShareView>([
            ['bitaxe.1', { accepted: 7, rejected: { 'low-difficulty': 1 }, hashesPerSecond: 1.2e12, lastShareAtMs: 4, difficulty: 512, connected: true }],
            ['bitaxe.2', { accepted: 0, rejected: {}, hashesPerSecond: 0, lastShareAtMs: null, difficulty: null, connected: false }],
          ]),
      },
      miners: [],
    });
    const miners = adapter.miners();
    expect(miners.map((m) => [m.id, m.worker, m.state])).toEqual([
      ['bitaxe.1', 'bitaxe.1', 'hashing'],
      ['bitaxe.2', 'bitaxe.2', 'disconnected'],
    ]);
    expect(miners[0]).toMatchObject({ hashrateThs: 1.2, shares: { accepted: 7, rejected: 1, stale: 0 }, difficulty: 512, kw: 0 });
    expect(adapter.status().minersByState).toMatchObject({ hashing: 1, disconnected: 1 });
  });

  it('carries the device data of each unit (issue 13): what the device reported, its address, its last failure; the demo clock', async () => {
    const clock = new ManualClock(2_000_000);
    const telemetry = new DeviceTelemetry(clock);
    const details = { tempMaxC: 78, inletC: 31, fansRpm: [4275, 4282], uptimeS: 975, firmware: '15-194-24102401_25462b2_9ddf522' };
    await telemetry.wrap('a', deviceReporting({ softOff: false, state: 'working', wallPowerW: 3731, details })).readStatus();
    const failing: DeviceApi = { ...deviceReporting({ softOff: false, state: 'working' }), readStatus: async () => Promise.reject(new Error('no answer\nwithin 2000 ms' + ' x'.repeat(300))) };
    clock.set(2_005_000);
    await expect(telemetry.wrap('b', failing).readStatus()).rejects.toThrow();
    const adapter = new SiteStatusAdapter({
      clock,
      proxy: { overview: () => ({ pools: [], shares: emptyShareAccounting(), hashQueueDepth: 0 }), workers: () => new Map() },
      miners: [
        { id: 'a', worker: 'w.a', api: '10.0.0.5:4028' },
        { id: 'b', worker: 'w.b', api: '10.0.0.6:4028' },
        { id: 'c', worker: 'w.c' },
      ],
      telemetry,
      simulatedTime: () => '13:45',
    });
    const [a, b, c] = adapter.miners();
    expect(a!.device).toEqual({ address: '10.0.0.5:4028', readAtMs: 2_000_000, ...details });
    expect(b!.device!.address).toBe('10.0.0.6:4028');
    expect(b!.device!.lastErrorAtMs).toBe(2_005_000);
    // One line, bounded: a device's text reaches the page only through this.
    expect(b!.device!.lastError).toMatch(/^status: no answer within 2000 ms x x/);
    expect(b!.device!.lastError!.length).toBeLessThanOrEqual(220);
    expect(b!.state).toBe('fault');
    // A unit with no device API and no reading has no device block (not an empty one).
    expect(c!.device).toBeUndefined();
    expect(adapter.status().simulatedTime).toBe('13:45');
  });
});
