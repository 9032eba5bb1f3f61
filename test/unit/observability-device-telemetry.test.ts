import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { PeerError } from '../../src/errors.js';
import type { DeviceApi, DeviceStatus } from '../../src/fleet/control.js';
import { DecisionTally, decisionAction } from '../../src/operator/decision-tally.js';
import { DeviceTelemetry } from '../../src/operator/device-telemetry.js';

function device(): DeviceApi & { calls: string[]; fail: boolean } {
  const status: DeviceStatus = { softOff: false, state: 'working', wallPowerW: 8100, hashrateThs: 480, workmode: 2 };
  const d = {
    calls: [] as string[],
    fail: false,
    async softOff(t: number) {
      d.calls.push(`softOff ${t}`);
      if (d.fail) throw new PeerError('refused');
    },
    async softOn(t: number) {
      d.calls.push(`softOn ${t}`);
    },
    async setWorkmode(m: number) {
      d.calls.push(`workmode ${m}`);
    },
    async readStatus() {
      d.calls.push('status');
      if (d.fail) throw new PeerError('no answer');
      return status;
    },
    close() {
      d.calls.push('close');
    },
  };
  return d;
}

describe('DeviceTelemetry', () => {
  it('passes every call through and records latency, counts and the last status', async () => {
    const clock = new ManualClock(5000);
    const seen: Array<[string, number]> = [];
    const t = new DeviceTelemetry(clock, { observeCommand: (c, s) => seen.push([c, s]) });
    const raw = device();
    const api = t.wrap('u1', raw);
    await api.setWorkmode(1);
    await api.softOn(100);
    expect(await api.readStatus()).toMatchObject({ wallPowerW: 8100 });
    api.close();
    expect(raw.calls).toEqual(['workmode 1', 'softOn 100', 'status', 'close']);
    expect(seen.map(([c]) => c)).toEqual(['workmode', 'softon', 'status']);
    for (const [, s] of seen) expect(s).toBeGreaterThanOrEqual(0);
    expect(t.reading('u1')).toEqual({ status: expect.objectContaining({ hashrateThs: 480 }), atMs: 5000 });
    expect(t.view()).toMatchObject({ sent: 3, failed: 0 });
    expect(t.isFailing('u1')).toBe(false);
  });

  it('counts failures, rethrows them unchanged and keeps the last good status', async () => {
    const t = new DeviceTelemetry(new ManualClock(0));
    const raw = device();
    const api = t.wrap('u2', raw);
    await api.readStatus();
    raw.fail = true;
    await expect(api.softOff(1)).rejects.toThrow(PeerError);
    await expect(api.readStatus()).rejects.toThrow('no answer');
    expect(t.view()).toMatchObject({ sent: 3, failed: 2 });
    expect(t.isFailing('u2')).toBe(true);
    expect(t.reading('u2')?.status.wallPowerW).toBe(8100);
    raw.fail = false;
    await api.readStatus();
    expect(t.isFailing('u2')).toBe(false);
  });
});

describe('DecisionTally', () => {
  it.each([
    ['off', 'super', 'on'],
    ['super', 'off', 'off'],
    ['eco', 'super', 'mode'],
    ['super', 'unavailable', 'unavailable'],
    ['unavailable', 'off', 'recovered'],
  ])('%s -> %s is %s', (from, to, want) => {
    expect(decisionAction({ from, to })).toBe(want);
  });

  it('counts decisions by action and remembers the last', () => {
    const tally = new DecisionTally();
    tally.add({ from: 'off', to: 'eco', reason: 'budget grew', atMs: 10 });
    tally.add({ from: 'off', to: 'eco', reason: 'budget grew', atMs: 11 });
    tally.add({ from: 'eco', to: 'off', reason: 'cloud', atMs: 12 });
    const v = tally.view();
    expect(v.decisions).toMatchObject({ on: 2, off: 1, mode: 0 });
    expect(v.lastDecisionAtMs).toBe(12);
    expect(v.lastReason).toBe('eco -> off: cloud');
  });

  it('keeps a bounded list of recent decisions with their reasons', () => {
    const tally = new DecisionTally(2);
    tally.add({ unitId: 'a', from: 'off', to: 'eco', reason: 'budget grew', atMs: 10 });
    tally.add({ unitId: 'b', from: 'off', to: 'eco', reason: 'budget grew', atMs: 11 });
    tally.add({ unitId: 'a', from: 'eco', to: 'off', reason: 'cloud', atMs: 12 });
    expect(tally.view().recent).toEqual([
      { unitId: 'b', from: 'off', to: 'eco', reason: 'budget grew', atMs: 11 },
      { unitId: 'a', from: 'eco', to: 'off', reason: 'cloud', atMs: 12 },
    ]);
    expect(tally.view().decisions).toMatchObject({ on: 2, off: 1 });
  });
});
