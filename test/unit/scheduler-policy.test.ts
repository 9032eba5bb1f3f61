import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFleetState, currentKw } from '../../src/scheduler/fleet-state.js';
import { plan, type PolicySettings } from '../../src/scheduler/policy.js';
import { SchedulerCore } from '../../src/scheduler/scheduler-core.js';
import { schedulerSchema, type ModelConfig } from '../../src/config/schema.js';
import { MODELS, SETTINGS, fleetOf, miner, type UnitSpec } from './scheduler-fixtures.js';

const T0 = 1_700_000_000_000;
const modeName = (f: ReturnType<typeof fleetOf>, i: number, mode: number): string => f.units[i]!.modes[mode]!.name;

describe('policy: examples', () => {
  it('sorts modes by efficiency: the A1566HA standard mode (16.6 J/TH) comes first', () => {
    const f = fleetOf([{}]);
    expect(f.units[0]!.modes.map((m) => m.name)).toEqual(['standard', 'eco', 'super']);
  });

  it.each([
    [7.0, 'eco'],
    [7.6, 'standard'],
    [8.3, 'super'],
  ])('one unit with %s kW runs in the highest mode that fits (%s)', (budget, expected) => {
    const f = fleetOf([{ on: false }]);
    const p = plan(budget, f, T0, SETTINGS);
    expect(p.targets[0]!.on).toBe(true);
    expect(modeName(f, 0, p.targets[0]!.mode)).toBe(expected);
    expect(p.plannedKw).toBeLessThanOrEqual(budget);
  });

  it('counts the standby draw of off units against the budget', () => {
    const f = fleetOf([{ on: false }, { on: false }]);
    // super (8.1) + the other unit's standby (0.15) = 8.25 > 8.2: standard it is.
    const p = plan(8.2, f, T0, SETTINGS);
    expect(p.targets.filter((t) => t.on)).toHaveLength(1);
    expect(modeName(f, 0, p.targets[0]!.mode)).toBe('standard');
    expect(p.plannedKw).toBeCloseTo(7.45, 9);
  });

  it('counts an unavailable unit at its worst-case draw and keeps its state', () => {
    const f = fleetOf([{ on: false }, { on: false }]);
    f.units[1]!.available = false;
    const p = plan(9, f, T0, SETTINGS);
    expect(p.targets[1]!.kw).toBe(8.1);
    expect(p.targets[1]!.changed).toBe(false);
    expect(p.targets[0]!.on).toBe(false); // 9 - 8.1 = 0.9 kW left: nothing fits
    expect(p.plannedKw).toBeCloseTo(8.25, 9);
    expect(p.infeasible).toBe(false);
  });

  it('plans all-off and flags it when even all-off exceeds the budget', () => {
    const f = fleetOf([{}, {}, {}]);
    f.units[2]!.available = false;
    const p = plan(0.1, f, T0, SETTINGS);
    expect(p.infeasible).toBe(true);
    expect(p.targets.every((t) => !t.on)).toBe(true);
    expect(p.targets[0]!.reason).toMatch(/even all-off exceeds/);
  });

  it('sheds the least efficient model first and restores the most efficient first', () => {
    const specs: UnitSpec[] = [{ model: 'old' }, { model: 'avalon-a1566ha' }, { model: 'old' }, { model: 'avalon-a1566ha' }];
    const f = fleetOf(specs);
    const cut = plan(16, f, T0, SETTINGS);
    expect(cut.cut).toBe(true);
    expect(cut.targets[0]!.on).toBe(false);
    expect(cut.targets[2]!.on).toBe(false);
    expect(cut.targets[1]!.on && cut.targets[3]!.on).toBe(true);
    expect(cut.targets[0]!.reason).toMatch(/^shed: 34\.21 J\/TH, least efficient, budget cut to 16 kW/);
    const off = fleetOf(specs.map((s) => ({ ...s, on: false })));
    const up = plan(8, off, T0, SETTINGS);
    expect(up.targets.filter((t) => t.on).map((_, i) => i)).toHaveLength(1);
    expect(up.targets[1]!.on).toBe(true);
    expect(up.targets[1]!.reason).toMatch(/^restored in standard: 16.59 J\/TH/); // 7.3 + three standbys = 7.65 <= 8
  });

  it('adds load only while the hysteresis headroom remains', () => {
    const f = fleetOf([{ on: false }]);
    const p = plan(7.4, f, T0, { ...SETTINGS, hysteresisKw: 0.5 });
    expect(modeName(f, 0, p.targets[0]!.mode)).toBe('eco'); // standard (7.3) would leave 0.1 kW < 0.5
    // Inside the band nothing is shed: the current draw stays.
    const on = fleetOf([{ on: true, mode: 0 }]); // standard, 7.3 kW
    const q = plan(7.5, on, T0, { ...SETTINGS, hysteresisKw: 1 });
    expect(q.changes).toBe(0);
  });

  it('aims a cut at the bottom of the hysteresis band, so the next small drop needs no new cut', () => {
    const f = fleetOf([{ mode: 0 }, { mode: 0 }, { mode: 0 }]); // 3 x 7.3 kW
    const p = plan(20, f, T0, { ...SETTINGS, hysteresisKw: 3 });
    expect(p.cut).toBe(true);
    expect(p.plannedKw).toBeLessThanOrEqual(17);
    expect(p.plannedKw).toBeGreaterThan(17 - 8.1);
  });

  it('keeps a unit inside its minimum on-time through a cut when others can be shed instead', () => {
    const f = fleetOf([{}, {}]);
    f.units[1]!.sinceMs = T0 - 10_000;
    const p = plan(8.5, f, T0, { ...SETTINGS, minOnS: 300 });
    expect(p.cut).toBe(true);
    expect(p.targets[0]!.on).toBe(false);
    expect(p.targets[1]!.on).toBe(true);
    expect(p.plannedKw).toBeLessThanOrEqual(8.5);
  });

  it('overrides minimum on-times when the cut cannot be met otherwise', () => {
    const f = fleetOf([{}, {}]);
    for (const u of f.units) u.sinceMs = T0 - 10_000;
    const p = plan(7, f, T0, { ...SETTINGS, minOnS: 300 });
    expect(p.plannedKw).toBeLessThanOrEqual(7);
    // One unit stays, in eco (6.5 + the other's 0.15 standby); the other is shed despite its on-time.
    expect(p.targets.filter((t) => t.on)).toHaveLength(1);
    const shed = p.targets.find((t) => !t.on)!;
    expect(shed.reason).toMatch(/overrides minimum on-time/);
  });

  it('holds an off unit inside its minimum off-time and says until when', () => {
    const f = fleetOf([{ on: false }]);
    f.units[0]!.sinceMs = T0 - 60_000;
    const p = plan(100, f, T0, { ...SETTINGS, minOffS: 300 });
    expect(p.targets[0]!.on).toBe(false);
    expect(p.targets[0]!.reason).toBe('held off: minimum off-time, 240 s left');
    expect(p.revisitAtMs).toBe(T0 + 240_000);
  });

  it('limits increases to the ramp rate (plus one unit step)', () => {
    const f = fleetOf(Array.from({ length: 50 }, () => ({ on: false })));
    const p = plan(1000, f, T0, { ...SETTINGS, rampKwPerMin: 60 }); // first plan: one tick (5 s) of ramp
    expect(p.limitedBy).toBe('ramp');
    expect(p.plannedKw - p.currentKw).toBeLessThanOrEqual(5 + 8.1);
    expect(p.revisitAtMs).toBe(T0);
  });

  it('runs a unit without an API only in its top mode (the mode cannot be set)', () => {
    const f = fleetOf([{ api: false, on: false }]);
    expect(plan(8, f, T0, SETTINGS).targets[0]!.on).toBe(false);
    const p = plan(8.2, f, T0, SETTINGS);
    expect(p.targets[0]!.on).toBe(true);
    expect(modeName(f, 0, p.targets[0]!.mode)).toBe('super');
  });

  it('prefers measured wall power over nominal once the unit is steady', () => {
    const f = fleetOf([{ mode: 2 }]);
    const u = f.units[0]!;
    u.measuredKw = 7.6;
    u.measuredAtMs = T0;
    expect(currentKw(u)).toBe(7.6);
    const p = plan(7.7, f, T0, SETTINGS); // nominal 8.1 would be a cut; measured 7.6 fits
    expect(p.cut).toBe(false);
    expect(p.targets[0]!.changed).toBe(false);
    u.changedAtMs = T0 - 5_000; // still ramping: the reading is not trusted
    expect(currentKw(u)).toBe(8.1);
  });

  it('breaks ties in favour of units already running (no churn between identical units)', () => {
    const f = fleetOf([{ on: false }, { on: true, mode: 0 }, { on: false }]);
    const p = plan(8, f, T0, SETTINGS);
    expect(p.targets.map((t) => t.on)).toEqual([false, true, false]);
  });
});

describe('policy: stability (issue 4 follow-up)', () => {
  const memory = (budgetKw: number, atMs = T0 - 5_000) => ({ atMs, ceilingKw: 1e9, budgetKw });

  it('on a budget increase adds a unit rather than stepping a running one down', () => {
    // u0 in super (8.1 kW), u1 off: from 9 kW to 14.7 kW. From scratch both would run in
    // standard (14.6 kW, 880 TH/s); growing keeps u0 and adds u1 in eco (14.6 kW, 870 TH/s).
    const f = fleetOf([{ mode: 2 }, { on: false }]);
    const p = plan(14.7, f, T0, SETTINGS, memory(9));
    expect(p.trend).toBe('up');
    expect(p.targets[0]!.changed).toBe(false);
    expect(p.targets[1]).toMatchObject({ on: true, changed: true });
    expect(modeName(f, 1, p.targets[1]!.mode)).toBe('eco');
  });

  it('on a budget decrease that still fits changes nothing, and asks to look again at once', () => {
    const f = fleetOf([{ mode: 0 }, { on: false }]);
    const p = plan(20, f, T0, SETTINGS, memory(30));
    expect(p.trend).toBe('down');
    expect(p.changes).toBe(0);
    expect(p.revisitAtMs).toBe(T0);
    // The next plan at the same budget may add again.
    const q = plan(20, f, T0 + 5_000, SETTINGS, p.ramp);
    expect(q.trend).toBe('flat');
    expect(q.targets[1]!.on).toBe(true);
  });

  it('meets a small cut with one mode step down instead of a unit off', () => {
    const f = fleetOf([{ mode: 2 }, { mode: 2 }, { mode: 2 }]); // 24.3 kW
    const p = plan(23.8, f, T0, SETTINGS, memory(24.5));
    expect(p.cut).toBe(true);
    expect(p.changes).toBe(1);
    const t = p.targets.find((x) => x.changed)!;
    expect(t.on).toBe(true);
    expect(f.units[0]!.modes[t.mode]!.name).toBe('standard');
    expect(p.plannedKw).toBeCloseTo(23.5, 9);
  });

  it('never switches a unit on or up in a cut, even where it would hash more', () => {
    // old in normal (3.25) + avalon in eco (6.5) = 9.75 kW; cut to 7.5. Dropping the old unit
    // and moving the avalon up to standard (7.4 kW) would hash more, but is not a cut's move.
    const f = fleetOf([{ model: 'old' }, { mode: 1 }]);
    const p = plan(7.5, f, T0, SETTINGS, memory(9.8));
    expect(p.targets[0]!.on).toBe(false);
    expect(p.targets[1]!.changed).toBe(false);
  });

  it('at a steady budget swaps units only for a material gain, with all of them past their minimum times, once per interval', () => {
    // Two old units (2 x 3.25 kW, 190 TH/s) and an avalon off; 7.6 kW fits the avalon in standard alone.
    const settings = { ...SETTINGS, minOnS: 300, minOffS: 300, swapMinGainPct: 3, swapIntervalS: 600 };
    const f = fleetOf([{ model: 'old' }, { model: 'old' }, { on: false }]);
    f.units[0]!.sinceMs = f.units[0]!.changedAtMs = T0 - 100_000; // inside its minimum on-time
    const held = plan(7.6, f, T0, settings, memory(7.6));
    expect(held.changes).toBe(0);
    expect(held.revisitAtMs).toBe(T0 + 200_000);
    const later = T0 + 200_000;
    const p = plan(7.6, f, later, settings, held.ramp);
    expect(p.rebalance).toBe(true);
    expect(p.targets.map((t) => t.on)).toEqual([false, false, true]);
    expect(p.targets[0]!.reason).toMatch(/swapped for more efficient units/);
    expect(p.ramp.swapAtMs).toBe(later);
    // A second swap waits for the interval.
    const g = fleetOf([{ model: 'old' }, { model: 'old' }, { on: false }]);
    const q = plan(7.6, g, later + 60_000, settings, p.ramp);
    expect(q.changes).toBe(0);
    expect(q.revisitAtMs).toBe(later + 600_000);
  });

  it('does not re-shuffle modes of identical units for a fraction of a percent', () => {
    // Three avalons in super and one off at a steady 31.5 kW: the fourth comes on in eco; from
    // scratch, re-shuffling modes would hash about 1 % more on the units it touches, below 3 %.
    const f = fleetOf([{ mode: 2 }, { mode: 2 }, { mode: 2 }, { on: false }]);
    const p = plan(31.5, f, T0, SETTINGS, memory(31.5));
    expect(p.rebalance).toBe(false);
    expect(p.targets.slice(0, 3).every((t) => !t.changed)).toBe(true);
  });
});

// ---------------------------------------------------------------- properties

const arbModel: fc.Arbitrary<ModelConfig> = fc
  .record({
    standbyKw: fc.double({ min: 0, max: 0.3, noNaN: true }),
    modes: fc.array(fc.record({ kw: fc.double({ min: 1, max: 10, noNaN: true }), jth: fc.double({ min: 14, max: 40, noNaN: true }) }), { minLength: 1, maxLength: 3 }),
  })
  .map(({ standbyKw, modes }) => ({
    standbyKw,
    modes: modes.map((m, i) => ({ name: `m${i}`, kw: m.kw, ths: (m.kw / m.jth) * 1000 })),
    rampUpS: 0,
    softoffDelayS: 5,
    nominal: true,
  }));

const arbUnit = fc.record({ model: fc.nat(2), api: fc.boolean(), on: fc.boolean(), available: fc.double({ min: 0, max: 1, noNaN: true }) });

function buildFleet(models: ModelConfig[], units: Array<{ model: number; api: boolean; on: boolean; available: number }>) {
  const m: Record<string, ModelConfig> = {};
  models.forEach((x, i) => (m[`r${i}`] = x));
  const f = createFleetState({ models: m, miners: units.map((u, i) => ({ ...miner(i, { api: u.api }), model: `r${u.model % models.length}` })) }, (mc) => ({ on: units[Number(mc.id.slice(1))]!.on }));
  units.forEach((u, i) => (f.units[i]!.available = u.available > 0.1));
  return f;
}

const arbSettings: fc.Arbitrary<PolicySettings> = fc.record({
  minOnS: fc.constantFrom(0, 60, 300),
  minOffS: fc.constantFrom(0, 60, 300),
  rampKwPerMin: fc.constantFrom(10, 50, 1000),
  hysteresisKw: fc.constantFrom(0, 2, 5),
  cutDeadlineS: fc.constant(10),
  tickS: fc.constant(5),
});

describe('policy: properties', () => {
  it('over random budget traces: never above a feasible budget; min on/off times hold except in cuts; increases respect the ramp', () => {
    fc.assert(
      fc.property(
        fc.array(arbModel, { minLength: 1, maxLength: 3 }),
        fc.array(arbUnit, { minLength: 1, maxLength: 25 }),
        arbSettings,
        fc.array(fc.record({ dtS: fc.integer({ min: 1, max: 400 }), kw: fc.double({ min: 0, max: 150, noNaN: true }) }), { minLength: 1, maxLength: 30 }),
        (models, unitSpecs, settings, trace) => {
          const fleet = buildFleet(models, unitSpecs);
          const cfg = schedulerSchema.parse({ ...settings });
          const core = new SchedulerCore(fleet, cfg, { holdLastS: 0, failsafeKw: 0 });
          let maxStep = 0;
          for (const u of fleet.units) for (const m of u.modes) maxStep = Math.max(maxStep, m.kw - u.standbyKw);
          let now = T0;
          let prev: { atMs: number; kw: number } | undefined;
          for (const step of trace) {
            now += step.dtS * 1000;
            const before = fleet.units.map((u) => ({ on: u.on, since: u.sinceMs }));
            const { plan: p } = core.step({ kw: step.kw, atMs: now, ttlMs: Infinity, source: 'test' }, now);
            if (!p.infeasible) expect(p.plannedKw).toBeLessThanOrEqual(step.kw + 1e-6);
            else expect(p.targets.every((t) => !t.on)).toBe(true);
            p.targets.forEach((t, i) => {
              const b = before[i]!;
              if (!t.changed || t.on === b.on || !fleet.units[i]!.available) return;
              if (t.on) expect(now - b.since).toBeGreaterThanOrEqual(settings.minOffS * 1000);
              else if (!p.cut) expect(now - b.since).toBeGreaterThanOrEqual(settings.minOnS * 1000);
            });
            if (prev) expect(p.plannedKw - prev.kw).toBeLessThanOrEqual((settings.rampKwPerMin! * (now - prev.atMs)) / 60_000 + maxStep + 1e-6);
            prev = { atMs: now, kw: p.plannedKw };
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  // Fleets like the demo's (A1566-class units with three modes, some older ones) under a budget
  // that wanders in small steps, as a sunrise with clouds does: where swaps and mode flips showed.
  const arbSiteFleet = fc.array(fc.record({ model: fc.constantFrom('avalon-a1566ha', 'avalon-a1566ha', 'old', 'generic'), on: fc.boolean(), mode: fc.nat(2) }), { minLength: 2, maxLength: 30 });
  const arbWalk = fc.record({
    startKw: fc.double({ min: 0, max: 200, noNaN: true }),
    steps: fc.array(fc.record({ dtS: fc.integer({ min: 1, max: 90 }), dKw: fc.double({ min: -12, max: 12, noNaN: true }) }), { minLength: 5, maxLength: 60 }),
  });

  it('moves with the budget: on an increase no unit goes off or down, on a decrease none goes on or up', () => {
    fc.assert(
      fc.property(arbSiteFleet, arbSettings, arbWalk, (specs, settings, walk) => {
        const fleet = fleetOf(specs.map((x) => ({ model: x.model, on: x.on, mode: x.model === 'avalon-a1566ha' ? x.mode : x.mode % 2 })).map((x) => (x.model === 'generic' ? { model: x.model, on: x.on } : x)));
        const core = new SchedulerCore(fleet, schedulerSchema.parse({ ...settings, swapIntervalS: 60 }), { holdLastS: 0, failsafeKw: 0 });
        let now = T0;
        let kw = walk.startKw;
        let last: number | undefined;
        for (const step of walk.steps) {
          now += step.dtS * 1000;
          kw = Math.max(0, kw + step.dKw);
          const before = fleet.units.map((u) => ({ on: u.on, kw: u.modes[u.mode]!.kw }));
          const { plan: p } = core.step({ kw, atMs: now, ttlMs: Infinity, source: 'test' }, now);
          p.targets.forEach((t, i) => {
            if (!t.changed) return;
            const b = before[i]!;
            const mkw = fleet.units[i]!.modes[t.mode]!.kw;
            const down = !t.on || (b.on && mkw < b.kw - 1e-12);
            const up = (t.on && !b.on) || (b.on && t.on && mkw > b.kw + 1e-12);
            if (last !== undefined && kw > last + 1e-9 && !p.cut) expect(down, `unit ${i} off/down on a rise to ${kw} kW`).toBe(false);
            if (last !== undefined && kw < last - 1e-9) expect(up, `unit ${i} on/up on a fall to ${kw} kW`).toBe(false);
          });
          last = kw;
        }
      }),
      { numRuns: 150 },
    );
  });

  it('at a constant budget settles: after the ramp, the minimum times and a few swap intervals, nothing switches', () => {
    fc.assert(
      fc.property(arbSiteFleet, arbSettings, fc.double({ min: 0, max: 250, noNaN: true }), (specs, settings, kw) => {
        const fleet = fleetOf(specs.map((x) => (x.model === 'generic' ? { model: x.model, on: x.on } : { model: x.model, on: x.on, mode: x.model === 'old' ? x.mode % 2 : x.mode })));
        const core = new SchedulerCore(fleet, schedulerSchema.parse({ ...settings, swapIntervalS: 120 }), { holdLastS: 0, failsafeKw: 0 });
        const reading = { kw, atMs: T0, ttlMs: Infinity, source: 'test' };
        let lastChangeAtMs = T0;
        let thsAtChange = -Infinity;
        // Two hours of 5 s ticks, re-planning when the loop would (needsPlan).
        for (let now = T0; now <= T0 + 7_200_000; now += 5_000) {
          if (!core.needsPlan(reading, now)) continue;
          const { plan: p } = core.step(reading, now);
          if (p.changes === 0) continue;
          // After the first cut, every change at a constant budget hashes more than the last: no cycles.
          if (!p.cut && !p.infeasible) expect(p.plannedThs).toBeGreaterThan(thsAtChange);
          thsAtChange = p.cut ? -Infinity : p.plannedThs;
          lastChangeAtMs = now;
        }
        expect(lastChangeAtMs - T0).toBeLessThan(3_600_000);
      }),
      { numRuns: 80 },
    );
  });

  it('in a cut, a shed unit is more efficient than a kept one only when swapping them would not fit', () => {
    const arbSingle = fc.record({ kw: fc.double({ min: 1, max: 10, noNaN: true }), jth: fc.double({ min: 14, max: 40, noNaN: true }), standby: fc.double({ min: 0, max: 0.3, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(arbSingle, { minLength: 2, maxLength: 30 }), fc.double({ min: 0.05, max: 0.95, noNaN: true }), (specs, frac) => {
        const models: Record<string, ModelConfig> = {};
        specs.forEach((s, i) => (models[`m${i}`] = { standbyKw: s.standby, modes: [{ name: 'only', kw: s.kw, ths: (s.kw / s.jth) * 1000 }], rampUpS: 0, softoffDelayS: 5, nominal: true }));
        const f = createFleetState({ models, miners: specs.map((_, i) => ({ ...miner(i), model: `m${i}` })) });
        const full = f.units.reduce((a, u) => a + currentKw(u), 0);
        const budget = full * frac;
        const p = plan(budget, f, T0, SETTINGS);
        if (p.infeasible) return;
        expect(p.cut).toBe(true);
        const marginal = (i: number): number => {
          const u = f.units[i]!;
          return u.modes[0]!.ths / (u.modes[0]!.kw - u.standbyKw);
        };
        const step = (i: number): number => f.units[i]!.modes[0]!.kw - f.units[i]!.standbyKw;
        p.targets.forEach((s, si) => {
          if (s.on) return;
          p.targets.forEach((k, ki) => {
            // Efficiencies equal to float noise (same J/TH written two ways) are ties, not an order.
            if (!k.on || marginal(ki) >= marginal(si) * (1 - 1e-9)) return;
            expect(p.plannedKw - step(ki) + step(si)).toBeGreaterThan(budget - 1e-9);
          });
        });
      }),
      { numRuns: 200 },
    );
  });
});

it('uses the configured defaults as policy settings', () => {
  const cfg = schedulerSchema.parse({});
  const f = fleetOf([{}]);
  expect(plan(100, f, T0, cfg).plannedKw).toBeCloseTo(8.1, 9);
  expect(MODELS['old']!.modes).toHaveLength(2);
});
