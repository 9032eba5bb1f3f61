import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plan, type Plan, type PolicySettings, type RampMemory } from '../../src/scheduler/policy.js';
import { POW2_NEAR_REL, pow2Near, recordOn } from '../../src/scheduler/policy-wear.js';
import { MODELS, SETTINGS, fleetOf, type UnitSpec } from './scheduler-fixtures.js';
import { mulberry32 } from '../support/prng.js';

/**
 * Issue 12 item 10 (scale): the plan's first pass works out again only the units written since
 * the last plan or whose time comparisons came due (policy-scan.ts). A plan made from the same
 * memory without its working arrays (`{ ...memory }` drops them) works out every unit: the two
 * must agree exactly, whatever the writes and the time did in between.
 */

/** A plan as data: its figures and targets, without the memory's caches. */
function asData(p: Plan): unknown {
  return { ...p, ramp: { ...p.ramp }, targets: p.targets.map((t) => ({ ...t })) };
}

const MODELS_INSTANT = { ...MODELS, quick: { ...MODELS['avalon-a1566ha']!, modeChange: 'instant' as const } };

describe('the incremental first pass', () => {
  const cases: { name: string; settings: PolicySettings }[] = [
    { name: 'minimum on/off times', settings: { ...SETTINGS, minOnS: 40, minOffS: 25 } },
    { name: 'wear budget with pacing and holds', settings: { ...SETTINGS, minOnS: 30, minOffS: 20, maxCyclesPerDay: 4, onHoldS: 15, wearPaceH: 2, wearPaceBurst: 1, wearPaceOffS: 90, wearPaceHoldS: 10 } },
    // A short pace: the pace's off floor often ends (the pace catches up) while a unit is held by it.
    { name: 'a pace of minutes', settings: { ...SETTINGS, minOnS: 10, minOffS: 5, maxCyclesPerDay: 8, onHoldS: 5, wearPaceH: 0.05, wearPaceBurst: 1, wearPaceOffS: 120, wearPaceHoldS: 5 } },
  ];
  for (const { name, settings } of cases) {
    it(`plans as a pass over every unit does (${name}), after random writes and times`, () => {
      const next = mulberry32(name.length * 7919);
      const specs: UnitSpec[] = Array.from({ length: 24 }, (_, i) => ({
        model: i % 5 === 0 ? 'old' : i % 7 === 0 ? 'quick' : 'avalon-a1566ha',
        api: i % 11 !== 3,
        on: next() < 0.5,
      }));
      const fleet = fleetOf(specs, MODELS_INSTANT);
      let t = 1_000_000;
      let memory: RampMemory | undefined;
      let budget = 60;
      for (let step = 0; step < 1500; step++) {
        // Time: mostly a second, at times across a minimum on/off time, a pace or a day.
        const r = next();
        t += r < 0.7 ? 1000 : r < 0.9 ? Math.floor(next() * 60_000) : r < 0.97 ? Math.floor(next() * 3_600_000) : 86_400_000 + Math.floor(next() * 4000) - 2000;
        if (next() < 0.3) budget = Math.max(0, budget + (next() - 0.5) * 40);
        // Writes through the units' accessors, as the loop, the poller and the state store make them.
        for (let w = Math.floor(next() * 4); w > 0; w--) {
          const u = fleet.units[Math.floor(next() * fleet.units.length)]!;
          const k = Math.floor(next() * 8);
          if (k === 0) {
            u.on = !u.on;
            u.sinceMs = t - Math.floor(next() * 50_000);
            u.changedAtMs = u.sinceMs;
            if (u.on) recordOn(u, u.sinceMs);
          } else if (k === 1) {
            u.mode = Math.floor(next() * u.modes.length);
            u.changedAtMs = t - Math.floor(next() * 50_000);
          } else if (k === 2) u.available = !u.available;
          else if (k === 3) {
            u.measuredKw = next() < 0.2 ? undefined : u.modes[u.mode]!.kw * (0.8 + next() * 0.4);
            u.measuredAtMs = t;
          } else if (k === 4) u.rampFromMs = next() < 0.5 ? undefined : t + 2000;
          else if (k === 5) recordOn(u, t - Math.floor(next() * 86_400_000));
          else if (k === 6) u.sinceMs = next() < 0.2 ? -Infinity : t - Math.floor(next() * 100_000);
          else u.changedAtMs = t - Math.floor(next() * 100_000);
        }
        const whole = plan(budget, fleet, t, settings, memory === undefined ? undefined : { ...memory });
        const incremental = plan(budget, fleet, t, settings, memory);
        expect(asData(incremental)).toEqual(asData(whole));
        // The loop's commands follow the plan: its targets become the units' state.
        if (next() < 0.5) {
          incremental.targets.forEach((x, i) => {
            const u = fleet.units[i]!;
            if (!x.changed) return;
            if (x.on !== u.on) {
              u.sinceMs = t;
              if (x.on) recordOn(u, t);
            }
            u.on = x.on;
            u.mode = x.mode;
            u.changedAtMs = t;
          });
        }
        memory = incremental.ramp;
      }
    });
  }
});

describe('pow2Near, the bracket of the paced wear holds', () => {
  // The plan decides a paced unit's hold from [near * (1 - REL), near * (1 + REL)] only where
  // every value in it decides alike, so Math.pow(2, x) must lie inside, with room to spare.
  const within = (x: number): void => {
    const exact = Math.pow(2, x);
    expect(Math.abs(pow2Near(x) / exact - 1)).toBeLessThan(POW2_NEAR_REL / 5);
  };
  it('is within a fifth of its stated bound of Math.pow(2, x) on [0, 30)', () => {
    for (const x of [0, Number.MIN_VALUE, 1e-300, 0.5, 1 - 2 ** -52, 1, 2.999999999, 7, 12.25, 29, 30 - 2 ** -48]) within(x);
    fc.assert(fc.property(fc.double({ min: 0, max: 30, maxExcluded: true, noNaN: true }), (x) => within(x)), { numRuns: 20_000 });
  });
  it('declines outside it (NaN: the plan takes Math.pow)', () => {
    for (const x of [-1e-9, -1, 30, 31, Infinity, -Infinity, NaN]) expect(pow2Near(x)).toBeNaN();
  });
});
