import { describe, expect, it } from 'vitest';
import { attachUnitGroups, createFleetState, measuredIsSteady, unitGroupsOf, type FleetUnit } from '../../src/scheduler/fleet-state.js';
import { DAY_MS, cyclesUsed, firstOnMs, recordOn } from '../../src/scheduler/policy-wear.js';
import { steadyAt } from '../../src/scheduler/unit-states.js';
import { MODELS, miner } from './scheduler-fixtures.js';
import { mulberry32 as rng } from '../support/prng.js';

/**
 * Issue 12 item 10: a fleet's units keep their changing state in typed arrays
 * (unit-states.ts) behind accessors, and the wear count is memoised per unit
 * until an entry leaves the day's window. These hold the arrays and the memo
 * to a plain object that took the same writes, after random event sequences.
 */

const T0 = 1_782_000_000_000;

type Plain = Pick<FleetUnit, 'on' | 'mode' | 'sinceMs' | 'changedAtMs' | 'rampFromMs' | 'available' | 'measuredKw' | 'measuredAtMs' | 'onsMs'> & Pick<FleetUnit, 'rampUpS'>;

const FIELDS = ['on', 'mode', 'sinceMs', 'changedAtMs', 'rampFromMs', 'available', 'measuredKw', 'measuredAtMs', 'onsMs'] as const;

function fleetAndShadow(seed: number, n: number): { units: FleetUnit[]; shadow: Plain[]; r: () => number } {
  const r = rng(seed);
  const miners = Array.from({ length: n }, (_, i) => miner(i, { model: r() < 0.5 ? 'avalon-a1566ha' : 'old' }));
  const fleet = createFleetState({ models: MODELS, miners }, () => ({ on: false }));
  const shadow = fleet.units.map((u): Plain => ({
    on: u.on,
    mode: u.mode,
    sinceMs: u.sinceMs,
    changedAtMs: u.changedAtMs,
    rampFromMs: u.rampFromMs,
    available: u.available,
    measuredKw: u.measuredKw,
    measuredAtMs: u.measuredAtMs,
    onsMs: [],
    rampUpS: u.rampUpS,
  }));
  return { units: fleet.units, shadow, r };
}

/** One random write, the same on the unit and on its shadow (what the loop, the poller and the state store do). */
function randomWrite(u: FleetUnit, p: Plain, r: () => number, nowMs: number): void {
  const t = nowMs - Math.floor(r() * 600_000);
  switch (Math.floor(r() * 10)) {
    case 0:
      u.on = p.on = r() < 0.5;
      break;
    case 1:
      u.mode = p.mode = Math.floor(r() * u.modes.length);
      break;
    case 2:
      u.sinceMs = p.sinceMs = r() < 0.1 ? -Infinity : t;
      break;
    case 3:
      u.changedAtMs = p.changedAtMs = t;
      break;
    case 4:
      u.rampFromMs = p.rampFromMs = r() < 0.3 ? undefined : t;
      break;
    case 5:
      u.available = p.available = r() < 0.8;
      break;
    case 6: {
      // NaN too: whatever a writer stores reads back as written.
      const kw = r() < 0.2 ? undefined : r() < 0.05 ? NaN : 2 + r() * 2;
      u.measuredKw = p.measuredKw = kw;
      u.measuredAtMs = p.measuredAtMs = t;
      break;
    }
    case 7:
    case 8: {
      // A switch-on issued now or a few seconds ahead (a command may be issued after a later one).
      const at = nowMs + Math.floor(r() * 5) * 1000;
      recordOn(u, at);
      recordOn(p as FleetUnit, at);
      break;
    }
    default: {
      // The state store restores a list (ascending, trimmed to the day).
      const ons = Array.from({ length: Math.floor(r() * 5) }, () => nowMs - Math.floor(r() * 2 * DAY_MS)).sort((a, b) => a - b);
      u.onsMs = ons;
      p.onsMs = ons.slice();
    }
  }
}

describe('unit states (issue 12 item 10)', () => {
  it('read back every write, in the unit and in the fleet arrays, after random event sequences', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const { units, shadow, r } = fleetAndShadow(seed, 30);
      const states = unitGroupsOf(units)!.states!;
      expect(states).toBeDefined();
      let now = T0;
      for (let step = 0; step < 400; step++) {
        now += Math.floor(r() * 3 * 3_600_000);
        const i = Math.floor(r() * units.length);
        randomWrite(units[i]!, shadow[i]!, r, now);
        // The unit written, and every 50 steps all of them (a write to a wrong slot shows there).
        for (const j of step % 50 === 49 ? units.keys() : [i]) {
          const u = units[j]!;
          const p = shadow[j]!;
          for (const f of FIELDS) expect(u[f], `seed ${seed} step ${step} unit ${j} ${f}`).toEqual(p[f]);
          expect(states.on[j]).toBe(p.on ? 1 : 0);
          expect(states.mode[j]).toBe(p.mode);
          expect(states.sinceMs[j]).toBe(p.sinceMs);
          expect(steadyAt(states, j, u.rampUpS)).toBe(measuredIsSteady(p as FleetUnit));
        }
      }
    }
  });

  it('counts the cycles of the last day as a walk of the list does, at times going forward and back', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const { units, shadow, r } = fleetAndShadow(100 + seed, 10);
      const states = unitGroupsOf(units)!.states!;
      let now = T0;
      for (let step = 0; step < 300; step++) {
        const i = Math.floor(r() * units.length);
        if (r() < 0.4) randomWrite(units[i]!, shadow[i]!, r, now);
        // Mostly forward (a day of plans), sometimes exactly onto an entry's expiry, sometimes back.
        const ons = shadow[i]!.onsMs ?? [];
        const x = r();
        if (x < 0.2 && ons.length > 0) now = ons[Math.floor(r() * ons.length)]! + DAY_MS + (r() < 0.5 ? 0 : -1);
        else if (x < 0.3) now -= Math.floor(r() * DAY_MS);
        else now += Math.floor(r() * 2 * 3_600_000);
        for (let j = 0; j < units.length; j++) {
          const p = shadow[j]! as FleetUnit;
          expect(states.cyclesUsed(j, now), `seed ${seed} step ${step} unit ${j}`).toBe(cyclesUsed(p, now));
          expect(states.firstOnMs(j, now)).toBe(firstOnMs(p, now));
          expect(cyclesUsed(units[j]!, now)).toBe(cyclesUsed(p, now));
        }
      }
    }
  });

  it('keeps switch-ons as a frozen copy: a write in place throws instead of going unseen by the count', () => {
    const { units } = fleetAndShadow(7, 2);
    const u = units[0]!;
    const mine = [T0 - 1000];
    u.onsMs = mine;
    mine.push(T0);
    expect(u.onsMs).toEqual([T0 - 1000]);
    expect(() => (u.onsMs as number[]).push(T0)).toThrow(TypeError);
    recordOn(u, T0);
    expect(u.onsMs).toEqual([T0 - 1000, T0]);
    expect(cyclesUsed(u, T0)).toBe(2);
    expect(unitGroupsOf(units)!.states!.cyclesUsed(0, T0)).toBe(2);
  });

  it('serialises a unit as the plain object it stands for', () => {
    const { units } = fleetAndShadow(8, 1);
    const u = units[0]!;
    u.on = true;
    u.measuredKw = 3.1;
    u.rampFromMs = T0;
    const json = JSON.parse(JSON.stringify(u)) as Record<string, unknown>;
    expect(json).toMatchObject({ id: 'u0', on: true, mode: u.mode, measuredKw: 3.1, rampFromMs: T0, available: true, onsMs: [] });
    expect(Object.keys(json).slice(0, 3)).toEqual(['id', 'worker', 'model']);
  });

  it('is the fleet arrays only while every slot holds its own unit', () => {
    const { units } = fleetAndShadow(9, 4);
    expect(unitGroupsOf(units)!.states).toBeDefined();
    // The fleet's own list is frozen (the plan trusts it without a per-unit check): no slot swaps.
    expect(() => {
      units[1] = units[0]!;
    }).toThrow(TypeError);
    expect(unitGroupsOf(units)!.units).toBe(units);
    const other = createFleetState({ models: MODELS, miners: [miner(9)] }).units;
    const mixed = units.slice();
    mixed[2] = other[0]!;
    expect(attachUnitGroups(mixed).states).toBeUndefined();
    // In place of its own slot a unit is still the arrays' (a hand-built list of all of them in order).
    expect(attachUnitGroups(units.slice()).states).toBe(unitGroupsOf(units)!.states);
  });
});
