import { describe, expect, it } from 'vitest';
import { plan } from '../../src/scheduler/policy.js';
import { DAY_MS, cyclesUsed, recordOn } from '../../src/scheduler/policy-wear.js';
import { SETTINGS, fleetOf } from './scheduler-fixtures.js';

/**
 * Issue 12 item 10 (scale): what the policy no longer redoes per unit per
 * plan must still give the same answers.
 */

describe('plan reuses the targets of unchanged units', () => {
  it('keeps the object of a unit whose target reads the same, builds a new one where it changed', () => {
    const fleet = fleetOf(Array.from({ length: 6 }, () => ({ on: true })));
    const a = plan(1000, fleet, 0, SETTINGS);
    expect(a.changes).toBe(0);
    const b = plan(1000, fleet, 5000, SETTINGS, a.ramp);
    for (let i = 0; i < 6; i++) expect(b.targets[i]).toBe(a.targets[i]);
    // A cut: the changed targets are new objects, and the earlier plan's targets are untouched.
    const before = structuredClone(a.targets);
    const c = plan(20, fleet, 10_000, SETTINGS, b.ramp);
    expect(c.changes).toBeGreaterThan(0);
    c.targets.forEach((t, i) => {
      if (t.changed) expect(t).not.toBe(b.targets[i]);
    });
    expect(a.targets).toEqual(before);
  });

  it('gives identical unchanged units one target object even without a last plan', () => {
    const fleet = fleetOf([{ on: true }, { on: true }, { on: false }, { on: true }, { on: false }]);
    const a = plan(1000, fleet, 0, { ...SETTINGS, maxCyclesPerDay: 0 });
    expect(a.changes).toBe(0);
    expect(a.targets[1]).toBe(a.targets[0]);
    expect(a.targets[3]).toBe(a.targets[0]);
    expect(a.targets[4]).toBe(a.targets[2]);
    expect(a.targets[2]).not.toBe(a.targets[0]);
    expect(a.targets[2]).toEqual({ on: false, mode: fleet.units[2]!.mode, kw: fleet.units[2]!.standbyKw, ths: 0, changed: false, reason: 'unchanged' });
  });

  it('does not reuse a target whose reason moved (seconds left of a minimum on-time)', () => {
    const fleet = fleetOf([{ on: true }, { on: true }]);
    for (const u of fleet.units) u.sinceMs = 0;
    const settings = { ...SETTINGS, minOnS: 60 };
    const a = plan(1000, fleet, 1000, settings);
    const b = plan(1000, fleet, 3000, settings, a.ramp);
    expect(a.targets[0]!.reason).toBe('held on: minimum on-time, 59 s left');
    expect(b.targets[0]!.reason).toBe('held on: minimum on-time, 57 s left');
    expect(b.targets[0]).not.toBe(a.targets[0]);
  });

  it('keeps the reuse cache out of the memory as data (JSON, equality)', () => {
    const fleet = fleetOf([{ on: true }]);
    const a = plan(1000, fleet, 0, SETTINGS);
    for (const k of Object.getOwnPropertySymbols(a.ramp)) expect(Object.getOwnPropertyDescriptor(a.ramp, k)!.enumerable).toBe(false);
    expect(Object.keys(a.ramp)).not.toContain('targets');
    expect({ ...a.ramp }).toEqual(a.ramp);
  });
});

describe('cyclesUsed over a time-ordered onsMs', () => {
  it('counts the switch-ons of the last 24 h when they are recorded out of order', () => {
    const fleet = fleetOf([{ on: true }]);
    const u = fleet.units[0]!;
    for (const t of [5000, 1000, 3000, DAY_MS + 2000, 4000]) recordOn(u, t);
    expect(u.onsMs).toEqual([3000, 4000, 5000, DAY_MS + 2000]);
    expect(cyclesUsed(u, DAY_MS + 2000)).toBe(4);
    expect(cyclesUsed(u, DAY_MS + 3500)).toBe(3);
    expect(cyclesUsed(u, DAY_MS + 5000)).toBe(1);
    expect(cyclesUsed(u, 3 * DAY_MS)).toBe(0);
  });
});
