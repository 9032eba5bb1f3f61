import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schedulerSchema, type ModelConfig } from '../../src/config/schema.js';
import { createFleetState, type FleetState } from '../../src/scheduler/fleet-state.js';
import { SUN_FALL_PCT_PER_MIN, WINDOW_MS, anticipate, readingCadence, updateHistory, type BudgetHistory } from '../../src/scheduler/policy-anticipate.js';
import { holdMs, wearPace } from '../../src/scheduler/policy-wear.js';
import { SchedulerCore } from '../../src/scheduler/scheduler-core.js';
import type { UnitCommand } from '../../src/scheduler/commands.js';
import type { Plan } from '../../src/scheduler/policy.js';
import { miner, walkBudget, walkCore } from './scheduler-fixtures.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';

/**
 * Power loop v2 (issue 12), as properties over random fleets and budget
 * traces: anticipation never lets a steady decline be overshot, the wear
 * budget is never exceeded and spreads across identical units, and the
 * direction rules of the two levers hold. The core is driven as the loop
 * drives it: a plan per reading and per tick when a re-plan could differ,
 * every command issued at its time.
 */

const T0 = 1_700_000_000_000;
const EPS = 1e-6;

function fleetOfModel(model: ModelConfig, n: number, on: boolean): FleetState {
  const miners = Array.from({ length: n }, (_, i) => ({ ...miner(i), model: 'x' }));
  return createFleetState({ models: { x: model }, miners }, () => ({ on }));
}

const reading = (kw: number, atMs: number) => ({ kw, atMs, ttlMs: Infinity, source: 'test' });

/**
 * Issues every command at its time (as the loop does) and records when it takes effect on
 * the device: Avalon softoff and softon times are a whole second at least softoffDelayS ahead
 * (a softon also ramps; counting it at full draw from then on is the conservative side).
 */
function issueAll(core: SchedulerCore, cmds: UnitCommand[], events: Map<number, Array<[number, boolean]>>): void {
  for (const c of cmds) {
    core.settle(c, 'issued');
    const u = core.fleet.units[c.index]!;
    if (c.action === 'mode') continue;
    const list = events.get(c.index) ?? [];
    list.push([Math.ceil((c.atMs + u.softoffDelayS * 1000) / 1000) * 1000, c.action === 'on']);
    events.set(c.index, list);
  }
}

describe('anticipation (pure)', () => {
  it('on a steady decline sampled at any interval, the anticipated budget is at or below the budget one horizon ahead, and no lower than one step more', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1000, 5000, 15_000, 60_000),
        // Up to the sun's steepest (SUN_FALL_PCT_PER_MIN of the 10,000 kW at the window's start, which is at least 8,500).
        fc.double({ min: 0.01, max: 4, noNaN: true }),
        fc.integer({ min: 1000, max: 20_000 }),
        fc.integer({ min: 0, max: 59_999 }),
        (intervalMs, slopeKwPerS, horizonMs, offsetMs) => {
          const at = (j: number): number => T0 + j * intervalMs;
          const value = (j: number): number => 10_000 - slopeKwPerS * ((j * intervalMs) / 1000);
          // Long enough a decline for two windows (WINDOW_MS) and two falls.
          const last = Math.ceil((2 * WINDOW_MS) / intervalMs) + 2;
          let h: BudgetHistory | undefined;
          for (let j = 0; j <= last; j++) h = updateHistory(h, value(j), at(j));
          const now = at(last) + (offsetMs % intervalMs);
          const a = anticipate(h!, now, horizonMs);
          // The budget as it will stand at now + horizon (a step function of the readings).
          const jAhead = Math.floor((now + horizonMs - T0) / intervalMs);
          expect(a.kw).toBeLessThanOrEqual(value(jAhead) + EPS);
          expect(a.kw).toBeGreaterThanOrEqual(value(jAhead) - slopeKwPerS * (intervalMs / 1000) - EPS);
          expect(a.revisitAtMs).toBeGreaterThan(now);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('anticipates only a decline that held over a window, not after a rise or once it stopped', () => {
    // Falls of 10 kW a minute: the sun's pace for a fleet of 1,000 kW (1 %/min).
    const FLEET_KW = 1000;
    let h = updateHistory(undefined, 100, T0);
    h = updateHistory(h, 90, T0 + 60_000);
    // Two falls in a row are not enough until the decline has held for a window.
    expect(anticipate(h, T0 + 115_000, 10_000, FLEET_KW).kw).toBe(90);
    h = updateHistory(h, 80, T0 + 120_000);
    expect(anticipate(h, T0 + 120_000, 10_000, FLEET_KW).kw).toBe(80);
    expect(anticipate(h, T0 + 175_000, 10_000, FLEET_KW).kw).toBe(70);
    expect(anticipate(h, T0 + 120_000 + 90_000, 10_000, FLEET_KW).kw).toBe(80);
    expect(anticipate(updateHistory(h, 85, T0 + 180_000), T0 + 235_000, 10_000, FLEET_KW).kw).toBe(85);
  });

  it('a decline steeper than the sun makes (a cloud edge) is never anticipated, at any fleet size, interval or lead', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1000, 5000, 15_000, 60_000),
        fc.double({ min: 1.01, max: 20, noNaN: true }),
        fc.integer({ min: 1000, max: 20_000 }),
        fc.double({ min: 100, max: 20_000, noNaN: true }),
        (intervalMs, timesSun, horizonMs, fleetKw) => {
          // The budget starts at the fleet's capacity and falls faster than SUN_FALL_PCT_PER_MIN of it.
          const slopeKwPerS = (timesSun * (SUN_FALL_PCT_PER_MIN / 100) * fleetKw) / 60;
          const last = Math.ceil((2 * WINDOW_MS) / intervalMs) + 2;
          let h: BudgetHistory | undefined;
          for (let j = 0; j <= last; j++) h = updateHistory(h, fleetKw - slopeKwPerS * ((j * intervalMs) / 1000), T0 + j * intervalMs);
          const a = anticipate(h!, T0 + last * intervalMs + 1, horizonMs, fleetKw);
          expect(a.kw).toBe(h!.kw);
          expect(a.fallKwPerS).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a cloud edge of two one-minute falls of 20 % each is not cut ahead; the same falls at the sun\'s pace are', () => {
    const fleetKw = 4860;
    let cloud = updateHistory(undefined, 4800, T0);
    for (const [kw, t] of [[4800, 60_000], [4800, 120_000], [3840, 180_000], [2880, 240_000]] as const) cloud = updateHistory(cloud, kw, T0 + t);
    expect(anticipate(cloud, T0 + 290_000, 11_000, fleetKw).kw).toBe(2880);
    let sun = updateHistory(undefined, 4800, T0);
    for (let m = 1; m <= 5; m++) sun = updateHistory(sun, 4800 - 40 * m, T0 + m * 60_000);
    expect(anticipate(sun, T0 + 5 * 60_000 + 50_000, 11_000, fleetKw).kw).toBe(4800 - 40 * 6);
  });

  it('a budget that flickers every second (two falls in a row) is not read as a steep decline', () => {
    let h: BudgetHistory | undefined;
    // +-50 kW around a flat 1,000 kW, falling in pairs.
    for (let s = 0; s <= 600; s++) h = updateHistory(h, 1000 + (s % 4 < 2 ? 50 : -50) - (s % 2) * 20, T0 + s * 1000);
    expect(anticipate(h!, T0 + 600_500, 10_000).kw).toBe(h!.kw);
  });
});

describe('the budget\'s reading interval and jitter (pure)', () => {
  const changesAt = (...ms: number[]): BudgetHistory => ms.reduce<BudgetHistory | undefined>((h, t, i) => updateHistory(h, i + 1, t), undefined)!;
  it('reads the shorter of the last two intervals; a repeated reading (an interval of two) is no jitter, a late one is', () => {
    expect([readingCadence(changesAt(0)), readingCadence(changesAt(0, 60_000))]).toEqual([{ everyMs: 0, jitterMs: 0 }, { everyMs: 0, jitterMs: 0 }]);
    expect(readingCadence(changesAt(0, 60_000, 180_000))).toEqual({ everyMs: 60_000, jitterMs: 0 });
    expect(readingCadence(changesAt(0, 62_000, 120_000))).toEqual({ everyMs: 58_000, jitterMs: 4_000 });
    expect(readingCadence(changesAt(0, 60_000, 181_000))).toEqual({ everyMs: 60_000, jitterMs: 1_000 });
  });
});

describe('anticipation (plan): a smooth decline is never overshot', () => {
  it('with the softoff lead of the model and any reading interval, the draw stays within the budget once the decline is steady', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 5, max: 25 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(1000, 5000, 60_000),
        // Declines the sun can make (SUN_FALL_PCT_PER_MIN): steeper ones are cloud edges, not anticipated.
        fc.double({ min: 0.005, max: 0.029, noNaN: true }),
        fc.constantFrom(1, 5),
        (n, kw, delayS, intervalMs, fallPerMinOfFleet, tickS) => {
          const model: ModelConfig = { standbyKw: 0.1, modes: [{ name: 'm', kw, ths: kw * 60 }], rampUpS: 30, softoffDelayS: delayS, nominal: true };
          const fleet = fleetOfModel(model, n, true);
          const core = new SchedulerCore(fleet, schedulerSchema.parse({ minOnS: 0, minOffS: 0, hysteresisKw: 0, commandStaggerMs: 0, tickS }), { holdLastS: 0, failsafeKw: 0 });
          const full = n * kw;
          const floor = n * 0.1;
          const slope = (full * fallPerMinOfFleet) / 60; // kW per second
          const budgetAt = (t: number): number => Math.max(floor + 1, full + 1 - slope * (Math.floor((t - T0) / intervalMs) * intervalMs) / 1000);
          const events = new Map<number, Array<[number, boolean]>>();
          const onAt = (i: number, t: number): boolean => {
            let on = true;
            for (const [at, v] of events.get(i) ?? []) if (at <= t) on = v;
            return on;
          };
          const drawAt = (t: number): number => fleet.units.reduce((a, u, i) => a + (onAt(i, t) ? kw : u.standbyKw), 0);
          const endMs = T0 + Math.min(40 * 60_000, Math.ceil((full / slope) * 1000) + 120_000);
          let lastKw: number | undefined;
          let checkFrom = Infinity;
          let falls = 0;
          // Steady once it has fallen twice and over two windows (policy-anticipate.ts), then one horizon.
          const settleMs = 2 * WINDOW_MS + 2 * intervalMs + (delayS + 1 + tickS) * 1000;
          for (let t = T0; t <= endMs; t += 1000) {
            const b = budgetAt(t);
            const isReading = (t - T0) % intervalMs === 0;
            const tick = (t - T0) % (tickS * 1000) === 0;
            if (isReading && lastKw !== undefined && b < lastKw && ++falls === 1) checkFrom = t + settleMs;
            if ((isReading && b !== lastKw) || (tick && core.needsPlan(reading(b, t), t))) {
              const { commands } = core.step(reading(b, t), t);
              issueAll(core, commands, events);
            }
            if (isReading) lastKw = b;
            if (t >= checkFrom) expect(drawAt(t), `at +${(t - T0) / 1000} s`).toBeLessThanOrEqual(b + EPS);
          }
        },
      ),
      { numRuns: 40, endOnFailure: true },
    );
  });
});

describe('ramp limit on the net exchange', () => {
  const generic = BUILTIN_MODELS['generic']!;
  // 100 units of 3.5 kW: 10 %/min of the fleet is 35 kW/min (no floor), a unit every 6 s.
  const run = (rampBasis: 'net' | 'load'): number[] => {
    const fleet = fleetOfModel(generic, 100, true);
    const settings = schedulerSchema.parse({ minOnS: 0, minOffS: 300, hysteresisKw: 0, commandStaggerMs: 0, rampMinKwPerMin: 0, rampBasis });
    const core = new SchedulerCore(fleet, settings, { holdLastS: 0, failsafeKw: 0 });
    const on: number[] = [];
    const full = 100 * 3.5;
    // A cloud takes half the budget for a minute; the shed units sit out their minimum off-time.
    for (let s = 0; s <= 420; s += 5) {
      const kw = s >= 10 && s < 70 ? full / 2 : full;
      const now = T0 + s * 1000;
      core.step(reading(kw, now), now).commands.forEach((c) => core.settle(c, 'issued'));
      on.push(fleet.units.filter((u) => u.on).length);
    }
    return on;
  };

  it('the budget\'s rise stays allowed until the load follows it, even when the minimum off-time kept the load back', () => {
    const net = run('net');
    // Half the fleet went off in the cut; at 70 s the budget came back, but nothing may go on before 310 s.
    const shed = Math.min(...net);
    expect(shed).toBeLessThanOrEqual(50);
    expect(net[Math.floor(300 / 5)]).toBe(shed);
    // Once the off-time is over the whole rise is followed at once: the grid saw it when the sun came back.
    expect(net[Math.floor(320 / 5)]).toBe(100);
  });

  it('on the load basis every kW added counts, however the budget moved', () => {
    const load = run('load');
    expect(load[Math.floor(320 / 5)]).toBeLessThan(Math.min(...load) + 5);
    expect(load[load.length - 1]).toBeLessThan(100);
  });
});

describe('wear budget', () => {
  const arbWalk = fc.array(fc.record({ dtS: fc.integer({ min: 5, max: 900 }), frac: fc.double({ min: 0, max: 1.1, noNaN: true }) }), { minLength: 10, maxLength: 120 });

  it('no unit switches on more than maxCyclesPerDay times in any 24 h, and identical units spread the cycles within one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 25 }), fc.integer({ min: 1, max: 6 }), fc.constantFrom(0, 15, 120), arbWalk, (n, maxCycles, onHoldS, walk) => {
        const model: ModelConfig = { standbyKw: 0.1, modes: [{ name: 'm', kw: 3, ths: 200 }], rampUpS: 30, softoffDelayS: 5, nominal: true };
        const fleet = fleetOfModel(model, n, false);
        const core = new SchedulerCore(fleet, schedulerSchema.parse({ minOnS: 0, minOffS: 0, maxCyclesPerDay: maxCycles, onHoldS, commandStaggerMs: 0, rampKwPerMin: 1e9 }), { holdLastS: 0, failsafeKw: 0 });
        const ons: number[][] = fleet.units.map(() => []);
        let now = T0;
        const plan = (kw: number): number => {
          const { plan: p, commands } = core.step(reading(kw, now), now);
          for (const c of commands) {
            core.settle(c, 'issued');
            if (c.action === 'on') ons[c.index]!.push(now);
          }
          return p.revisitAtMs;
        };
        for (const step of walk) {
          const kw = step.frac * n * 3;
          // Between readings the loop re-plans when the plan says so (hold expiries).
          const end = now + step.dtS * 1000;
          let revisitAtMs = plan(kw);
          while (revisitAtMs < end) {
            now = Math.max(now + 5000, revisitAtMs);
            revisitAtMs = plan(kw);
          }
          now = end;
        }
        for (const times of ons) for (let k = maxCycles; k < times.length; k++) expect(times[k]! - times[k - maxCycles]!).toBeGreaterThan(86_400_000 - 1);
        if (now - T0 < 86_400_000) {
          const counts = ons.map((t) => t.length);
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('direction rules of the two levers', () => {
  // The built-in profile itself, so the rules are checked on the figures a site runs.
  const A1566 = (modeChange: 'restart' | 'instant'): ModelConfig => ({ ...BUILTIN_MODELS['avalon-a1566ha']!, modeChange });
  const arbWalk = fc.array(fc.record({ dtS: fc.integer({ min: 1, max: 40 }), dFrac: fc.double({ min: -0.3, max: 0.3, noNaN: true }) }), { minLength: 5, maxLength: 120 });

  it('a unit goes on only after the budget has stood above the running units\' top-mode draw for its hold; with instant modes a unit goes off only when the lowest modes do not fit', () => {
    fc.assert(
      fc.property(fc.constantFrom<'restart' | 'instant'>('restart', 'instant'), fc.integer({ min: 2, max: 4 }), fc.constantFrom(0, 15, 60, 120), fc.double({ min: 0, max: 1, noNaN: true }), arbWalk, (modeChange, n, onHoldS, start, walk) => {
        const model = A1566(modeChange);
        const fleet = fleetOfModel(model, n, false);
        const core = walkCore(fleet, onHoldS);
        const used = new Int32Array(n);
        let aboveSince: number | undefined;
        let last: number | undefined;
        for (const { now, kw } of walkBudget(walk, start, n, T0)) {
          const before = fleet.units.map((u) => ({ on: u.on, kw: u.modes[u.mode]!.kw }));
          // The running units' top-mode draw (a restart-mode unit counts at its mode).
          const top = fleet.units.reduce((a, u) => a + (u.on ? (modeChange === 'instant' ? 8.1 : u.modes[u.mode]!.kw) : u.standbyKw), 0);
          aboveSince = kw > top + 1e-9 ? (aboveSince ?? now) : undefined;
          const { plan: p, commands } = core.step(reading(kw, now), now);
          checkPlan(p, before, kw, last, aboveSince, onHoldS, used, now, modeChange, n);
          for (const c of commands) {
            core.settle(c, 'issued');
            if (c.action === 'on') used[c.index]!++;
          }
          last = kw;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with the default settings (no switch-on hold) an off unit goes on at once, but a restart-mode step up waits until the room can pay back its restart', () => {
    const defaults = schedulerSchema.parse({});
    expect(defaults.onHoldS).toBe(0);
    // Pacing is on, but a unit on its second cycle is within the burst (3 of the default 24) and does not wait.
    expect(wearPace(defaults).burst).toBe(3);
    const settings = schedulerSchema.parse({ minOnS: 0, minOffS: 0, commandStaggerMs: 0, rampKwPerMin: 1e9 });
    const fleet = fleetOfModel(A1566('restart'), 3, false);
    const core = new SchedulerCore(fleet, settings, { holdLastS: 0, failsafeKw: 0 });
    let now = T0;
    const step = (kw: number): UnitCommand[] => {
      const { commands } = core.step(reading(kw, now), now);
      commands.forEach((c) => core.settle(c, 'issued'));
      return commands;
    };
    const running = (): number => fleet.units.filter((u) => u.on).length;
    // All three on (standard, 7.3 kW: the most efficient mode), then a dip sheds one.
    step(22.5);
    expect(running()).toBe(3);
    now += 600_000;
    step(15);
    expect(running()).toBe(2);
    // The unit that went off has spent a cycle today; it goes on the moment there is room again.
    now += 600_000;
    expect(step(22.5).filter((c) => c.action === 'on').length).toBe(1);
    // Room for step ups (standard -> super, +0.8 kW each): none at once, nor two minutes on, ...
    now += 600_000;
    const stepUps = (): number => step(3 * 8.1 + 0.5).filter((c) => c.action === 'mode').length;
    expect(stepUps()).toBe(0);
    now += 120_000;
    expect(stepUps()).toBe(0);
    // ... nor after one restart's pay-back (8.1 kW x 30 s / 2 / 0.8 kW = 152 s) ...
    now += 60_000;
    expect(stepUps()).toBe(0);
    // ... but once it has lasted long enough to pay back the step up and the step back down
    // when the room ends ((8.1 + 7.3) kW x 30 s / 2 / 0.8 kW = 289 s).
    now += 120_000;
    expect(stepUps()).toBeGreaterThan(0);
  });

  it('with no switch-on hold, a unit ahead of the even spend of its wear budget still holds (wearPaceHoldS, doubled per cycle ahead)', () => {
    const fleet = fleetOfModel(A1566('restart'), 1, false);
    const settings = schedulerSchema.parse({ minOnS: 0, minOffS: 0, commandStaggerMs: 0, rampKwPerMin: 1e9, maxCyclesPerDay: 6, onHoldS: 0, wearPaceBurst: 3 });
    expect([settings.wearPaceH, settings.wearPaceBurst, settings.wearPaceHoldS]).toEqual([10, 3, 15]);
    // Three switch-ons in the last minutes: the fourth is due 10 h / (6 - 3) after the first,
    // so the unit is one cycle ahead, and holds 15 s x 3 / (6 - 3) x 2 = 30 s.
    fleet.units[0]!.onsMs = [T0 - 180_000, T0 - 120_000, T0 - 60_000];
    const core = new SchedulerCore(fleet, settings, { holdLastS: 0, failsafeKw: 0 });
    // No room at first (a plan without history reads the budget as it stands as sustained).
    core.step(reading(0.1, T0 - 10_000), T0 - 10_000);
    const onAt = (s: number): boolean => core.step(reading(10, T0 + s * 1000), T0 + s * 1000).commands.some((c) => c.action === 'on');
    expect(onAt(0)).toBe(false);
    expect(onAt(20)).toBe(false);
    expect(onAt(29)).toBe(false);
    expect(onAt(31)).toBe(true);
  });

  /**
   * One running A1566 unit with switch-ons `onsMs` today: a dip cuts it at 10 s and the room is
   * back ten seconds later; seconds from the cut until it goes on again (Infinity: not in 15 min).
   */
  const backAfterCutS = (settings: ReturnType<typeof schedulerSchema.parse>, onsMs: number[]): number => {
    const fleet = fleetOfModel(A1566('restart'), 1, true);
    fleet.units[0]!.onsMs = onsMs;
    const core = new SchedulerCore(fleet, settings, { holdLastS: 0, failsafeKw: 0 });
    const step = (kw: number, s: number): UnitCommand[] => {
      const { commands } = core.step(reading(kw, T0 + s * 1000), T0 + s * 1000);
      commands.forEach((c) => core.settle(c, 'issued'));
      return commands;
    };
    step(10, 0);
    expect(step(0.1, 10).map((c) => c.action)).toEqual(['off']);
    for (let s = 20; s < 900; s++) if (step(10, s).some((c) => c.action === 'on')) return s - 10;
    return Infinity;
  };

  it('after a cut, a unit ahead of the even spend of its wear budget stays off wearPaceOffS (300 s); one within its burst returns after minOffS (60 s)', () => {
    const settings = schedulerSchema.parse({ minOnS: 0, commandStaggerMs: 0, rampKwPerMin: 1e9, maxCyclesPerDay: 6, wearPaceHoldS: 0, wearPaceBurst: 3 });
    expect([settings.minOffS, settings.wearPaceOffS, settings.wearPaceH, settings.wearPaceBurst]).toEqual([60, 300, 10, 3]);
    const backAfterS = (onsMs: number[]): number => backAfterCutS(settings, onsMs);
    // One switch-on today (inside the burst of 3): back once minOffS is over.
    expect(backAfterS([T0 - 3_600_000])).toBeGreaterThanOrEqual(60);
    expect(backAfterS([T0 - 3_600_000])).toBeLessThan(70);
    // Three in the last minutes: the fourth is due 10 h / (6 - 3) after the first, so it is ahead.
    const ahead = backAfterS([T0 - 180_000, T0 - 120_000, T0 - 60_000]);
    expect(ahead).toBeGreaterThanOrEqual(300);
    expect(ahead).toBeLessThan(310);
  });

  it('by default a third of the wear budget, at most 3, is free of the pace: with 6 a unit on its third switch-on of the morning is ahead (off 300 s after a cut), with 12 it is not', () => {
    expect([3, 4, 6, 9, 12, 24].map((m) => wearPace(schedulerSchema.parse({ maxCyclesPerDay: m })).burst)).toEqual([1, 2, 2, 3, 3, 3]);
    expect(wearPace(schedulerSchema.parse({ maxCyclesPerDay: 6, wearPaceBurst: 3 })).burst).toBe(3);
    // Two switch-ons in the last minutes (a morning of wiggles), the second running now.
    const backAfterS = (maxCyclesPerDay: number): number =>
      backAfterCutS(schedulerSchema.parse({ minOnS: 0, commandStaggerMs: 0, rampKwPerMin: 1e9, maxCyclesPerDay, wearPaceHoldS: 0 }), [T0 - 120_000, T0 - 60_000]);
    // 6: the third is due 10 h / (6 - 2) after the first; two used, the unit is ahead.
    const six = backAfterS(6);
    expect(six).toBeGreaterThanOrEqual(300);
    expect(six).toBeLessThan(310);
    // 12: still within its burst of 3, back once minOffS (60 s) is over.
    const twelve = backAfterS(12);
    expect(twelve).toBeGreaterThanOrEqual(60);
    expect(twelve).toBeLessThan(70);
  });

  it('a unit held off by wearPaceOffS says so, with the time left on that floor, and the plan revisits at its end', () => {
    const fleet = fleetOfModel(A1566('restart'), 1, true);
    const settings = schedulerSchema.parse({ minOnS: 0, commandStaggerMs: 0, rampKwPerMin: 1e9, maxCyclesPerDay: 6, wearPaceHoldS: 0 });
    fleet.units[0]!.onsMs = [T0 - 180_000, T0 - 120_000, T0 - 60_000];
    const core = new SchedulerCore(fleet, settings, { holdLastS: 0, failsafeKw: 0 });
    const step = (kw: number, s: number) => {
      const r = core.step(reading(kw, T0 + s * 1000), T0 + s * 1000);
      r.commands.forEach((c) => core.settle(c, 'issued'));
      return r;
    };
    step(10, 0);
    step(0.1, 10);
    // 100 s after the cut: past minOffS (60 s), 200 s left of the pace's 300 s floor.
    const sinceMs = fleet.units[0]!.sinceMs;
    const r = step(0.1, 10 + 100);
    const left = Math.ceil((sinceMs + 300_000 - (T0 + 110_000)) / 1000);
    expect(left).toBeGreaterThan(150);
    expect(r.plan.targets[0]!.reason).toBe(`held off: ahead of its wear pace, off at least wearPaceOffS, ${left} s left`);
    expect(r.plan.revisitAtMs).toBe(sinceMs + 300_000);
  });

  it('with flickerHoldS 30, on a budget read every second (a live meter) a unit goes on only into room held 30 s; read once a minute, at once', () => {
    const onAfterS = (intervalS: number): number => {
      const fleet = fleetOfModel(A1566('restart'), 1, false);
      const core = new SchedulerCore(fleet, schedulerSchema.parse({ minOnS: 0, minOffS: 0, commandStaggerMs: 0, rampKwPerMin: 1e9, flickerHoldS: 30 }), { holdLastS: 0, failsafeKw: 0 });
      // No room for ten minutes, the reading flickering by a few watts at the meter's interval...
      for (let t = 0; t < 600; t += intervalS) core.step(reading(0.1 + (t / intervalS) % 2 * 0.01, T0 + t * 1000), T0 + t * 1000);
      // ...then room for the unit, read at the same interval.
      for (let t = 600; t < 700; t += intervalS) {
        if (core.step(reading(10 + (t / intervalS) % 2 * 0.01, T0 + t * 1000), T0 + t * 1000).commands.some((c) => c.action === 'on')) return t - 600;
      }
      return Infinity;
    };
    expect(onAfterS(60)).toBe(0);
    // 30 s, or the next reading when the 30th is a flicker down (nothing goes on while the budget falls).
    const live = onAfterS(1);
    expect(live).toBeGreaterThanOrEqual(30);
    expect(live).toBeLessThanOrEqual(31);
  });

  it('a unit ahead of the even spend holds whole readings of the budget: a one-minute sun-break read once a minute spends no cycle; a live meter, the paced hold alone', () => {
    /**
     * Seconds after the rise until one A1566 unit with switch-ons `onsMs` today goes on (Infinity:
     * never): the budget, read every `intervalS` (flickering by a few watts, so each reading is a
     * change), offers room for `roomS` seconds after ten minutes without; the loop steps every second.
     */
    const onAfterS = (onsMs: number[], intervalS: number, roomS: number, wearPaceHoldS = 15, lateS = 0): number => {
      const fleet = fleetOfModel(A1566('restart'), 1, false);
      fleet.units[0]!.onsMs = onsMs;
      const settings = schedulerSchema.parse({ minOnS: 0, minOffS: 0, commandStaggerMs: 0, rampKwPerMin: 1e9, maxCyclesPerDay: 6, wearPaceBurst: 3, wearPaceHoldS });
      const core = new SchedulerCore(fleet, settings, { holdLastS: 0, failsafeKw: 0 });
      for (let t = -600; t < 300; t++) {
        // Readings every intervalS, every other one (odd slots) `lateS` late.
        const slotAt = (k: number): number => k * intervalS + (Math.abs(k) % 2) * lateS;
        let k = Math.floor(t / intervalS);
        if (slotAt(k) > t) k--;
        const readAt = slotAt(k);
        const flicker = (Math.abs(k) % 2) * 0.01;
        const kw = (readAt >= 0 && readAt < roomS ? 10 : 0.1) + flicker;
        const { commands } = core.step(reading(kw, T0 + readAt * 1000), T0 + t * 1000);
        if (commands.some((c) => c.action === 'on')) return t;
      }
      return Infinity;
    };
    // Three switch-ons 11-13 min ago: 0.935 cycles ahead of the pace (the fourth is due 10 h / 3
    // after the first), a paced hold of 15 s x 2^0.935 = 28.7 s.
    const ahead = [T0 - 780_000, T0 - 720_000, T0 - 660_000];
    // Read once a minute: the paced hold alone went on 29 s into a one-minute break, ramped 30 s and
    // was cut at the next reading. Now the next reading decides.
    expect(onAfterS(ahead, 60, 60)).toBe(Infinity);
    expect(onAfterS(ahead, 60, 120)).toBe(60);
    // Read every second (a live meter): the paced hold alone, in whole seconds (28 s), and the
    // reading after it, as the 28th is a flicker down (nothing goes on while the budget falls).
    expect(onAfterS(ahead, 1, 120)).toBe(29);
    // Read every five minutes (slower than PACE_READING_MAX_MS): not waited for.
    expect(onAfterS(ahead, 300, 300)).toBe(29);
    // Four switch-ons: 1.935 cycles ahead, a paced hold of 15 s x 4 / 2 x 2^1.935 = 115 s (shrinking
    // as the pace catches up: 114 s by 113 s after the rise). Read once a minute it ends on the
    // reading before (the 55 s after it learn nothing); read every second, the 113th reading.
    const further = [T0 - 780_000, T0 - 760_000, T0 - 740_000, T0 - 720_000];
    expect(onAfterS(further, 60, 300)).toBe(60);
    expect(onAfterS(further, 1, 300)).toBe(113);
    // Within the burst (one switch-on today): at once, however the budget is read.
    expect(onAfterS([T0 - 3_600_000], 60, 60)).toBe(0);
    // wearPaceHoldS 0: no paced hold, so nothing to count in readings either.
    expect(onAfterS(ahead, 60, 60, 0)).toBe(0);
    // A live source on a timer jitters: every other reading comes 2 s late (intervals of 62 and
    // 58 s). The hold is 58 s and its slack (twice the 4 s jitter, at most a tenth: 5.8 s), so the
    // late reading after the rise, at 62 s and showing the room gone, still decides: no cycle
    // spent. (58 s alone went on before it.)
    expect(onAfterS(ahead, 60, 60, 15, 2)).toBe(Infinity);
    expect(onAfterS(ahead, 60, 120, 15, 2)).toBe(64);
  });

  it('a rebalance at a steady budget does not bypass the hold (a swap found it once)', () => {
    const fleet = fleetOfModel(A1566('restart'), 3, false);
    const core = new SchedulerCore(fleet, schedulerSchema.parse({ minOnS: 0, minOffS: 0, hysteresisKw: 0, onHoldS: 60, maxCyclesPerDay: 6, swapIntervalS: 1e9, commandStaggerMs: 0, rampKwPerMin: 1e9 }), { holdLastS: 0, failsafeKw: 0 });
    const used = new Int32Array(3);
    let aboveSince: number | undefined;
    let now = T0;
    let last: number | undefined;
    for (const kw of [10, 20, 5, 5, 20, 20, 20, 20, 5, 22, 22, 22]) {
      now += 10_000;
      const before = fleet.units.map((u) => ({ on: u.on, kw: u.modes[u.mode]!.kw }));
      const top = fleet.units.reduce((a, u) => a + (u.on ? u.modes[u.mode]!.kw : u.standbyKw), 0);
      aboveSince = kw > top + 1e-9 ? (aboveSince ?? now) : undefined;
      const { plan: p, commands } = core.step(reading(kw, now), now);
      checkPlan(p, before, kw, last, aboveSince, 60, used, now, 'restart', 3);
      for (const c of commands) {
        core.settle(c, 'issued');
        if (c.action === 'on') used[c.index]!++;
      }
      last = kw;
    }
  });

  function checkPlan(
    p: Plan,
    before: Array<{ on: boolean; kw: number }>,
    kw: number,
    last: number | undefined,
    aboveSince: number | undefined,
    onHoldS: number,
    used: Int32Array,
    now: number,
    modeChange: 'restart' | 'instant',
    n: number,
  ): void {
    let anyOff = false;
    p.targets.forEach((t, i) => {
      const b = before[i]!;
      if (!t.changed) return;
      if (t.on && !b.on) {
        expect(aboveSince, `unit ${i} on without the budget above the running top`).toBeDefined();
        const need = used[i] === 0 ? 0 : holdMs(used[i]!, 6, onHoldS);
        expect(now - aboveSince!).toBeGreaterThanOrEqual(need);
        if (last !== undefined) expect(kw).toBeGreaterThanOrEqual(last - 1e-9);
      }
      if (!t.on && b.on) anyOff = true;
      // On a rise nothing goes off; on a fall nothing goes on or up.
      if (last !== undefined && kw > last + 1e-9 && !p.cut) expect(!t.on && b.on).toBe(false);
      if (last !== undefined && kw < last - 1e-9) expect((t.on && !b.on) || (t.on && b.on && t.kw > b.kw + 1e-9)).toBe(false);
    });
    if (anyOff && modeChange === 'instant') {
      // Off only when every unit that ran, at its lowest mode, would not fit.
      const lowest = before.reduce((a, b) => a + (b.on ? 6.5 : 0.15), 0);
      expect(lowest, `${n} units: lowest ${lowest} kW vs aim ${p.anticipatedKw} kW`).toBeGreaterThan(p.anticipatedKw - 1e-9);
    }
  }
});

describe('a reading\'s look-ahead (a nowcast)', () => {
  const A1566 = (modeChange: 'restart' | 'instant'): ModelConfig => ({ ...BUILTIN_MODELS['avalon-a1566ha']!, modeChange });
  const arbWalk = fc.array(
    fc.record({ dtS: fc.integer({ min: 1, max: 90 }), dFrac: fc.double({ min: -0.4, max: 0.4, noNaN: true }), lowFrac: fc.double({ min: 0, max: 1, noNaN: true }), aheadS: fc.integer({ min: 1, max: 300 }) }),
    { minLength: 5, maxLength: 100 },
  );

  it('only holds back: nothing goes off or down unless the budget itself is below the draw, and a restart-mode fleet adds nothing above the expected low', () => {
    fc.assert(
      fc.property(fc.constantFrom<'restart' | 'instant'>('restart', 'instant'), fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, 15), fc.double({ min: 0, max: 1, noNaN: true }), arbWalk, (modeChange, n, onHoldS, start, walk) => {
        const fleet = fleetOfModel(A1566(modeChange), n, false);
        const core = walkCore(fleet, onHoldS);
        for (const { step, now, kw } of walkBudget(walk, start, n, T0)) {
          const low = kw * step.lowFrac;
          const before = fleet.units.map((u) => ({ on: u.on, kw: u.on ? u.modes[u.mode]!.kw : 0 }));
          const r = { ...reading(kw, now), lowAhead: { kw: low, untilMs: now + step.aheadS * 1000 } };
          const { plan: p, commands } = core.step(r, now);
          if (!p.cut) {
            for (const [i, t] of p.targets.entries()) {
              expect(t.on || !before[i]!.on).toBe(true);
              if (t.on && before[i]!.on) expect(t.kw).toBeGreaterThanOrEqual(modeChange === 'instant' ? 0 : before[i]!.kw - EPS);
            }
          }
          const switchedOn = p.targets.some((t, i) => t.on && !before[i]!.on);
          if (switchedOn && modeChange === 'restart') expect(p.plannedKw).toBeLessThanOrEqual(Math.max(p.currentKw, low) + EPS);
          for (const c of commands) core.settle(c, 'issued');
        }
      }),
      { numRuns: 300 },
    );
  });
});
