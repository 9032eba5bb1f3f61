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
            if (prev) expect(p.plannedKw - prev.kw).toBeLessThanOrEqual((settings.rampKwPerMin * (now - prev.atMs)) / 60_000 + maxStep + 1e-6);
            prev = { atMs: now, kw: p.plannedKw };
          }
        },
      ),
      { numRuns: 150 },
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
            if (!k.on || marginal(ki) >= marginal(si)) return;
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
