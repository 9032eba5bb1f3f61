import { describe, expect, it } from 'vitest';
import { schedulerSchema, type ModelConfig } from '../../src/config/schema.js';
import type { BudgetReading } from '../../src/power/budget-source.js';
import { SchedulerCore } from '../../src/scheduler/scheduler-core.js';
import { attachUnitGroups, createFleetState, unitGroupsOf, type FleetState, type FleetUnit } from '../../src/scheduler/fleet-state.js';
import { freshTargets, plan, type Plan, type PolicySettings, type RampMemory } from '../../src/scheduler/policy.js';
import { shed } from '../../src/scheduler/policy-shed.js';
import { lazySorted } from '../../src/scheduler/policy-hull.js';
import { bestMovesFill, greedy } from '../../src/scheduler/policy-candidates.js';
import { MODELS, miner } from './scheduler-fixtures.js';
// Deterministic PRNG: the fleet's state and the budget walk are reproducible.
import { mulberry32 as rng } from '../support/prng.js';

/**
 * Issue 12 item 10: the plan's hot walks read a unit's kind (model, standby,
 * lever, ...) from the fleet's groups instead of the unit object. These tests
 * hold the grouped path to the per-unit one: same plans, decision for
 * decision, on a mixed fleet whose state the plans themselves move.
 */

const GROUP_MODELS: Record<string, ModelConfig> = {
  ...MODELS,
  // The same figures on firmware that changes modes in place: another kind, same modes list shape.
  instant: { ...MODELS['avalon-a1566ha']!, modeChange: 'instant' },
};

const SETTINGS: PolicySettings = {
  minOnS: 300,
  minOffS: 300,
  rampPctPerMin: 10,
  rampMinKwPerMin: 50,
  rampBasis: 'net',
  maxCyclesPerDay: 6,
  onHoldS: 15,
  wearPaceH: 8,
  hysteresisKw: 2,
  cutDeadlineS: 10,
  tickS: 5,
};


const T0 = 1_782_000_000_000;

/** A mixed fleet (four kinds, Stratum-only units, priorities) in a random but valid state. */
function mixedFleet(seed: number, n = 120): FleetState {
  const r = rng(seed);
  const kinds = ['avalon-a1566ha', 'instant', 'old', 'generic'];
  const miners = Array.from({ length: n }, (_, i) => {
    const m = miner(i, { model: kinds[Math.floor(r() * kinds.length)]!, api: r() > 0.1, priority: r() < 0.1 ? 1 : 0 });
    return m;
  });
  const fleet = createFleetState({ models: GROUP_MODELS, miners }, () => ({ on: r() < 0.6 }));
  for (const u of fleet.units) {
    if (u.lever === 'api') u.mode = Math.floor(r() * u.modes.length);
    // Equal times in runs (units switched by one plan), so the ties the orders break are exercised.
    u.sinceMs = r() < 0.2 ? -Infinity : T0 - Math.floor(r() * 8) * 60_000;
    u.changedAtMs = Number.isFinite(u.sinceMs) ? u.sinceMs : -Infinity;
    u.onsMs = Array.from({ length: Math.floor(r() * 4) }, (_, k) => T0 - (4 - k) * 3_600_000);
    if (r() < 0.3) {
      u.measuredKw = u.modes[u.mode]!.kw * (0.9 + r() * 0.2);
      u.measuredAtMs = T0;
    }
    if (r() < 0.03) u.available = false;
  }
  return fleet;
}

/** The same units without the groups: the per-unit path. */
function perUnit(fleet: FleetState): FleetState {
  return { units: fleet.units.slice(), byId: fleet.byId, byWorker: fleet.byWorker };
}

/** What a plan decides, as data. */
function decided(p: Plan): unknown {
  return {
    targets: p.targets.map((t) => ({ ...t })),
    plannedKw: p.plannedKw,
    plannedThs: p.plannedThs,
    cut: p.cut,
    trend: p.trend,
    rebalance: p.rebalance,
    limitedBy: p.limitedBy,
    changes: p.changes,
    revisitAtMs: p.revisitAtMs,
    wearHeldKw: p.wearHeldKw,
    ceilingKw: p.ramp.ceilingKw,
  };
}

/** Commits a plan to the units as SchedulerCore.step and the issue of its switch-ons do. */
function commit(units: FleetUnit[], p: Plan, nowMs: number): void {
  p.targets.forEach((t, i) => {
    if (!t.changed) return;
    const u = units[i]!;
    if (t.on !== u.on) u.sinceMs = nowMs;
    if (t.on && !u.on) u.onsMs = [...(u.onsMs ?? []), nowMs];
    u.on = t.on;
    u.mode = t.mode;
    u.changedAtMs = nowMs;
    u.rampFromMs = nowMs + 6000;
  });
}

describe('unit groups (issue 12 item 10)', () => {
  it('groups a fleet by kind once, keeps priorities apart, and is absent from a hand-built unit list', () => {
    const fleet = mixedFleet(1);
    const g = unitGroupsOf(fleet.units)!;
    expect(g).toBeDefined();
    fleet.units.forEach((u, i) => {
      const k = g.kinds[g.kind[i]!]!;
      expect([k.modes, k.standbyKw, k.rampUpS, k.softoffDelayS, k.modeChange, k.lever]).toEqual([u.modes, u.standbyKw, u.rampUpS, u.softoffDelayS, u.modeChange, u.lever]);
      expect(k.modes).toBe(u.modes);
      expect(g.priority[i]).toBe(u.priority);
    });
    // Four models, each with and without an API at most.
    expect(g.kinds.length).toBeLessThanOrEqual(8);
    // One entry per kind: no two describe the same units.
    const same = (x: (typeof g.kinds)[number], y: (typeof g.kinds)[number]): boolean =>
      x.modes === y.modes && x.standbyKw === y.standbyKw && x.rampUpS === y.rampUpS && x.softoffDelayS === y.softoffDelayS && x.modeChange === y.modeChange && x.lever === y.lever;
    g.kinds.forEach((x, i) => g.kinds.forEach((y, j) => expect(i === j || !same(x, y)).toBe(true)));
    expect(unitGroupsOf(fleet.units.slice())).toBeUndefined();
    const grown = fleet.units.slice();
    attachUnitGroups(grown);
    grown.push(fleet.units[0]!);
    expect(unitGroupsOf(grown)).toBeUndefined();
    // Not data: a fleet still compares and serialises as its units.
    expect(Object.keys(fleet.units)).toHaveLength(fleet.units.length);
    expect(JSON.parse(JSON.stringify(fleet.units))).toHaveLength(fleet.units.length);
  });

  it.each([1, 2, 3, 4, 5, 6])('plans a mixed fleet exactly as the per-unit path does, over a day of swings (seed %i)', (seed) => {
    const fleet = mixedFleet(seed);
    const plain = perUnit(fleet);
    expect(unitGroupsOf(fleet.units)).toBeDefined();
    expect(unitGroupsOf(plain.units)).toBeUndefined();
    const r = rng(seed * 7919);
    const topKw = fleet.units.reduce((a, u) => a + Math.max(...u.modes.map((m) => m.kw)), 0);
    let budget = topKw * 0.5;
    let now = T0;
    let a: RampMemory | undefined;
    let b: RampMemory | undefined;
    let cuts = 0;
    let adds = 0;
    let lastTargets: Plan['targets'] | undefined;
    let fresh = 0;
    for (let k = 0; k < 250; k++) {
      // Flat spells, slow drifts and deep swings, as on a variable day.
      const x = r();
      if (x < 0.15) budget = topKw * (0.1 + 0.8 * r());
      else if (x < 0.6) budget = Math.max(0, budget * (0.97 + 0.06 * r()));
      now += 1000 * (1 + Math.floor(r() * 20));
      const pa = plan(budget, fleet, now, SETTINGS, a);
      const pb = plan(budget, plain, now, SETTINGS, b);
      expect(decided(pa)).toEqual(decided(pb));
      // The targets a plan says are new are exactly those that are not the last plan's objects
      // (the loop walks only these: SchedulerCore.step).
      const said = freshTargets(pa, lastTargets);
      if (said !== undefined) {
        fresh++;
        expect([...said]).toEqual(pa.targets.flatMap((t, i) => (t !== lastTargets![i] ? [i] : [])));
      }
      expect(freshTargets(pa, pa.targets)).toBeUndefined();
      lastTargets = pa.targets;
      if (pa.cut) cuts++;
      if (pa.targets.some((t, i) => t.changed && t.on && !fleet.units[i]!.on)) adds++;
      commit(fleet.units, pa, now);
      a = pa.ramp;
      b = pb.ramp;
    }
    // The walk reached both directions (else the comparison proves little).
    expect(fresh).toBeGreaterThan(100);
    expect(cuts).toBeGreaterThan(5);
    expect(adds).toBeGreaterThan(5);
  });

  it('falls back to the unit object where the fleet array no longer holds the unit the groups were built from', () => {
    const own = mixedFleet(9);
    const other = mixedFleet(10);
    // A fleet's own list is frozen: a copy grouped like it, then units of other kinds swapped in
    // at a few places, so the groups' record of those indices is stale.
    const units = own.units.slice();
    attachUnitGroups(units);
    for (const i of [0, 7, 33, 90]) units[i] = other.units[(i + 1) % other.units.length]!;
    expect(unitGroupsOf(units)).toBeDefined();
    const fleet: FleetState = { units, byId: own.byId, byWorker: own.byWorker };
    const plain = perUnit(fleet);
    let a: RampMemory | undefined;
    let b: RampMemory | undefined;
    let now = T0;
    const topKw = fleet.units.reduce((s, u) => s + Math.max(...u.modes.map((m) => m.kw)), 0);
    for (const f of [0.9, 0.7, 0.75, 0.3, 0.35, 0.8, 0.2, 0.6]) {
      now += 30_000;
      const pa = plan(topKw * f, fleet, now, SETTINGS, a);
      const pb = plan(topKw * f, plain, now, SETTINGS, b);
      expect(decided(pa)).toEqual(decided(pb));
      commit(fleet.units, pa, now);
      a = pa.ramp;
      b = pb.ramp;
    }
  });
});

describe('the cut order, read lazily (issue 12 item 10)', () => {
  /** The documented order of equal-cost units: priority, cycles spent, longest on, later in the fleet. */
  function reference(units: FleetUnit[], used: Int32Array): number[] {
    return units
      .map((_, i) => i)
      .sort((p, q) => units[p]!.priority - units[q]!.priority || used[p]! - used[q]! || (units[p]!.sinceMs < units[q]!.sinceMs ? -1 : units[p]!.sinceMs > units[q]!.sinceMs ? 1 : 0) || q - p);
  }

  // 3 and 40 stop inside the heap's first units; 700 reads on into the sorted rest.
  it.each([3, 40, 700])('sheds the first %i units of the documented order from a bucket of 1,000', (k) => {
    const r = rng(k);
    const n = 1000;
    const fleet = createFleetState({ models: GROUP_MODELS, miners: Array.from({ length: n }, (_, i) => miner(i, { priority: r() < 0.05 ? 1 : 0 })) }, () => ({ on: true, mode: 0 }));
    const used = new Int32Array(n);
    fleet.units.forEach((u, i) => {
      u.sinceMs = r() < 0.1 ? -Infinity : T0 - Math.floor(r() * 50) * 1000;
      used[i] = Math.floor(r() * 4);
    });
    const level = new Int16Array(n).fill(0);
    const unitKw = fleet.units[0]!.modes[0]!.kw;
    const standby = fleet.units[0]!.standbyKw;
    const planned = n * unitKw;
    // Exactly k units' worth too much: k go off, nothing is left to give back.
    const limit = planned - k * (unitKw - standby);
    const out = shed(fleet.units, level, planned, new Uint8Array(n), new Uint8Array(n), new Float64Array(n).fill(1), limit, used);
    const off = [...out.level.keys()].filter((i) => out.level[i] === -1);
    expect(new Set(off)).toEqual(new Set(reference(fleet.units, used).slice(0, k)));
  });
});

describe('the restore order, read lazily (issue 12 item 10)', () => {
  /** The documented order of equal off units: higher priority, fewer cycles spent, off longest, fleet order. */
  function reference(units: FleetUnit[], used: Int32Array): number[] {
    return units
      .map((_, i) => i)
      .sort((p, q) => units[q]!.priority - units[p]!.priority || used[p]! - used[q]! || (units[p]!.sinceMs < units[q]!.sinceMs ? -1 : units[p]!.sinceMs > units[q]!.sinceMs ? 1 : 0) || p - q);
  }

  it.each([3, 40, 700])('switches on the first %i units of the documented order of 1,000 off units', (k) => {
    const r = rng(100 + k);
    const n = 1000;
    const fleet = createFleetState({ models: GROUP_MODELS, miners: Array.from({ length: n }, (_, i) => miner(i, { priority: r() < 0.05 ? 1 : 0 })) }, () => ({ on: false }));
    const used = new Int32Array(n);
    fleet.units.forEach((u, i) => {
      u.sinceMs = r() < 0.1 ? -Infinity : T0 - Math.floor(r() * 50) * 1000;
      used[i] = Math.floor(r() * 4);
    });
    const u0 = fleet.units[0]!;
    // The hull's first step from off is the most efficient mode (standard): room for exactly k of them.
    const stepKw = u0.modes[0]!.kw - u0.standbyKw;
    const base = n * u0.standbyKw;
    const level = new Int16Array(n).fill(-1);
    greedy(fleet.units, level, new Uint8Array(n), new Uint8Array(n), new Float64Array(n).fill(1), base + k * stepKw + 1e-6, base, 1e9, 1e9, true, used);
    const on = [...level.keys()].filter((i) => level[i]! >= 0);
    expect(new Set(on)).toEqual(new Set(reference(fleet.units, used).slice(0, k)));
  });
});

describe('SchedulerCore: each unit\'s reason in the snapshot (issue 12 item 10: kept without a store per unit and plan)', () => {
  const reading = (kw: number, atMs: number): BudgetReading => ({ kw, atMs, ttlMs: 600_000, source: 'test' });

  it('reads as the last plan\'s target for the unit, unless set since by the loop, until a plan gives the unit a new target', () => {
    const fleet = createFleetState({ models: GROUP_MODELS, miners: [0, 1, 2, 3].map((i) => miner(i)) }, () => ({ on: true }));
    const core = new SchedulerCore(fleet, schedulerSchema.parse({ minOnS: 60, minOffS: 60, hysteresisKw: 0, commandStaggerMs: 0, rampKwPerMin: 1e9 }), { holdLastS: 0, failsafeKw: 0 });
    const reasons = (now: number): string[] => core.snapshot(reading(20, now), now).units.map((u) => u.reason);
    expect(reasons(T0)).toEqual(['not planned yet', 'not planned yet', 'not planned yet', 'not planned yet']);
    // A cut to two units' draw: two shed, two kept; the kept ones' targets are unchanged.
    core.step(reading(17, T0), T0);
    const cut = reasons(T0);
    expect(cut.filter((r) => r.startsWith('shed:'))).toHaveLength(2);
    expect(cut.filter((r) => r === 'unchanged')).toHaveLength(2);
    const shedIdx = cut.findIndex((r) => r.startsWith('shed:'));
    const keptIdx = cut.indexOf('unchanged');
    // The next plan re-words the shed units' reasons (their minimum off-time counts down).
    core.step(reading(17.5, T0 + 10_000), T0 + 10_000);
    expect(reasons(T0 + 10_000)[shedIdx]).toBe('held off: minimum off-time, 50 s left');
    expect(reasons(T0 + 10_000)[keptIdx]).toBe('unchanged');
    // Set by the loop: stands while the plans keep the unit's target, as before.
    core.markUnavailable(fleet.units[keptIdx]!.id, T0 + 11_000, 'status read failed');
    expect(reasons(T0 + 11_000)[keptIdx]).toBe('unavailable: status read failed');
    core.step(reading(17.5, T0 + 12_000), T0 + 12_000);
    expect(reasons(T0 + 12_000)[keptIdx]).toMatch(/^unavailable: counted at worst-case/);
    core.step(reading(17.5, T0 + 13_000), T0 + 13_000);
    expect(reasons(T0 + 13_000)[shedIdx]).toBe('held off: minimum off-time, 47 s left');
  });
});

describe('bestMovesFill: the walk over the units that had a move (issue 12 item 10)', () => {
  /** The fill as specified: every round scans every unit and mode (the code before the candidate walk). */
  function referenceFill(units: readonly FleetUnit[], level: Int16Array, scale: Float64Array, limit: number, planned: number, rounds: number, allow: (i: number, l: number, j: number, dkw: number) => boolean): number {
    for (let round = 0; round < rounds; round++) {
      const rem = limit - planned;
      if (rem <= 1e-9) break;
      let best = -1;
      let bestMode = -1;
      let bestScore = 0;
      let bestDkw = 0;
      units.forEach((u, i) => {
        const l = level[i]!;
        const kw0 = l < 0 ? u.standbyKw : u.modes[l]!.kw * scale[i]!;
        const ths0 = l < 0 ? 0 : u.modes[l]!.ths;
        u.modes.forEach((m, j) => {
          const dkw = m.kw * scale[i]! - kw0;
          const dths = m.ths - ths0;
          if (dths <= 0 || dkw > rem + 1e-9 || !allow(i, l, j, dkw)) return;
          const score = dkw <= 1e-9 ? Infinity : dths / dkw;
          const b = units[best];
          const wearFirst = b !== undefined && (u.on !== b.on ? u.on : u.on ? u.sinceMs > b.sinceMs : u.sinceMs < b.sinceMs);
          if (score > bestScore || (score === bestScore && l < 0 && best >= 0 && level[best]! < 0 && wearFirst)) {
            bestScore = score;
            best = i;
            bestMode = j;
            bestDkw = dkw;
          }
        });
      });
      if (best < 0) break;
      level[best] = bestMode;
      planned += bestDkw;
    }
    return planned;
  }

  // A mode of lower draw that hashes more than another (off the hull): a move to it gives room back,
  // so the room grows between rounds and the walk must go back to the whole fleet.
  const models: Record<string, ModelConfig> = {
    ...GROUP_MODELS,
    odd: { standbyKw: 0.1, modes: [{ name: 'tuned', kw: 3.0, ths: 150 }, { name: 'stock', kw: 3.4, ths: 140 }, { name: 'boost', kw: 4.2, ths: 175 }], rampUpS: 20, softoffDelayS: 5, nominal: true },
  };

  it.each([11, 12, 13, 14, 15, 16, 17, 18])('makes the same moves as the full scan, rounds after rounds (seed %i)', (seed) => {
    const r = rng(seed);
    const names = ['avalon-a1566ha', 'old', 'odd', 'generic'];
    const n = 150;
    const fleet = createFleetState({ models, miners: Array.from({ length: n }, (_, i) => miner(i, { model: names[Math.floor(r() * names.length)]! })) }, () => ({ on: r() < 0.5 }));
    fleet.units.forEach((u) => {
      u.mode = Math.floor(r() * u.modes.length);
      u.sinceMs = T0 - Math.floor(r() * 5) * 1000;
    });
    const scale = Float64Array.from(fleet.units, () => (r() < 0.3 ? 0.95 : 1));
    const start = Int16Array.from(fleet.units, (u) => (u.on ? u.mode : -1));
    const planned = fleet.units.reduce((a, u, i) => a + (u.on ? u.modes[u.mode]!.kw * scale[i]! : u.standbyKw), 0);
    const skip = Uint8Array.from(fleet.units, () => (r() < 0.1 ? 1 : 0));
    for (const room of [0.5, 1, 3, 7, 20, 60]) {
      for (const upOnly of [false, true]) {
        const allow = (i: number, l: number, j: number, dkw: number): boolean => !skip[i] && j !== l && !(upOnly && dkw < -1e-9);
        const a = start.slice();
        const b = start.slice();
        const pa = bestMovesFill(fleet.units, a, scale, planned + room, planned, 12, allow);
        const pb = referenceFill(fleet.units, b, scale, planned + room, planned, 12, allow);
        expect(pa).toBe(pb);
        expect(a).toEqual(b);
      }
    }
  });
});

describe('plan memory: the targets buffer used in turn (issue 12 item 10)', () => {
  it('a memory planned from twice (a branch) does not hand the older branch another plan\'s targets', () => {
    const fleet = createFleetState({ models: GROUP_MODELS, miners: Array.from({ length: 40 }, (_, i) => miner(i)) }, () => ({ on: true }));
    const top = fleet.units.reduce((a, u) => a + Math.max(...u.modes.map((m) => m.kw)), 0);
    const settings: PolicySettings = { minOnS: 0, minOffS: 0, rampKwPerMin: 1e9, hysteresisKw: 0, cutDeadlineS: 10, tickS: 5 };
    const values = (p: Plan): unknown => p.targets.map((t) => [t.on, t.mode, t.kw, t.ths, t.changed, t.reason]);
    // The branch: x, then a (a deep cut) and b (no change) both from x's memory, then c (the cut lifted) from a's.
    const x = plan(top, fleet, T0, settings);
    const a = plan(top * 0.3, fleet, T0 + 1000, settings, x.ramp);
    plan(top, fleet, T0 + 1000, settings, x.ramp);
    const c = plan(top, fleet, T0 + 2000, settings, a.ramp);
    // The same without the branch.
    const x2 = plan(top, fleet, T0, settings);
    const a2 = plan(top * 0.3, fleet, T0 + 1000, settings, x2.ramp);
    const c2 = plan(top, fleet, T0 + 2000, settings, a2.ramp);
    expect(a.changes).toBeGreaterThan(10);
    expect(values(c)).toEqual(values(c2));
  });
});

describe('lazySorted (issue 12 item 10)', () => {
  it.each([0, 1, 2, 5, 63, 64, 65, 100, 3000])('reads %i positions in the order of a full sort, however far it is read', (m) => {
    const r = rng(m + 1);
    // Many ties on the first key, broken by the position: a total order, as the callers build.
    const key = Float64Array.from({ length: m }, () => Math.floor(r() * 7));
    const before = (p: number, q: number): number => key[p]! - key[q]! || q - p;
    const full = Array.from({ length: m }, (_, k) => k).sort(before);
    for (const stop of [0, 1, 10, 64, 65, Math.floor(m / 2), m]) {
      const got: number[] = [];
      for (const p of lazySorted(m, before)) {
        if (got.length === stop) break;
        got.push(p);
      }
      expect(got).toEqual(full.slice(0, stop));
    }
  });
});
