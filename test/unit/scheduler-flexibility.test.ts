import { describe, expect, it } from 'vitest';
import { fleetFlexibility } from '../../src/scheduler/flexibility.js';
import { schedulerSchema } from '../../src/config/schema.js';
import { holdSettings } from '../../src/scheduler/policy.js';
import { wearPace } from '../../src/scheduler/policy-wear.js';
import { SchedulerCore } from '../../src/scheduler/scheduler-core.js';
import { fleetOf } from './scheduler-fixtures.js';

const NOW = 1_000_000_000;
const S = { cutDeadlineS: 10, minOffS: 300, withholdGraceS: 30 };
const TOP = 8.1;
const STANDBY = 0.15;

describe('fleet flexibility (issue 12 item 9)', () => {
  it('sheds API units within the deadline, not Stratum-only ones whose grace is longer', () => {
    const f = fleetOf([{}, {}, { api: false }]);
    expect(fleetFlexibility(f, NOW, S).shedKw).toBeCloseTo(2 * (TOP - STANDBY), 9);
    expect(fleetFlexibility(f, NOW, { ...S, withholdGraceS: 5 }).shedKw).toBeCloseTo(3 * (TOP - STANDBY), 9);
  });

  it('does not count an unavailable unit as sheddable', () => {
    const f = fleetOf([{}, {}]);
    f.units[1]!.available = false;
    expect(fleetFlexibility(f, NOW, S).shedKw).toBeCloseTo(TOP - STANDBY, 9);
  });

  it('adds off units once their minimum off-time, lead and ramp fit the horizon; modes up within the ramp time', () => {
    const f = fleetOf([{ on: false }, { on: false }, { mode: 0 }]);
    f.units[0]!.sinceMs = NOW - 300_000; // free now: 6 s lead + 30 s ramp < 60 s
    f.units[1]!.sinceMs = NOW - 100_000; // free in 200 s: ready in 236 s
    const r = fleetFlexibility(f, NOW, S);
    const eco = f.units[2]!.modes[0]!.kw;
    expect(r.add1MinKw).toBeCloseTo(TOP - STANDBY + (TOP - eco), 9);
    expect(r.add5MinKw).toBeCloseTo(2 * (TOP - STANDBY) + (TOP - eco), 9);
    // The ramp limit caps what can be added.
    expect(fleetFlexibility(f, NOW, { ...S, rampKwPerMin: 5 })).toMatchObject({ add1MinKw: 5, add5MinKw: 25 > r.add5MinKw ? r.add5MinKw : 25 });
  });

  it('counts no off unit the wear budget keeps off: none out of cycles, and one ahead of its even spend only after wearPaceOffS', () => {
    const f = fleetOf([{ on: false }, { on: false }, { on: false }]);
    for (const u of f.units) u.sinceMs = NOW - 120_000; // past a 60 s minOffS
    f.units[0]!.onsMs = [NOW - 3_600_000]; // one switch-on today: within the burst
    f.units[1]!.onsMs = [NOW - 400_000, NOW - 300_000, NOW - 200_000]; // three in minutes: ahead of the pace
    f.units[2]!.onsMs = [NOW - 600_000, NOW - 500_000, NOW - 400_000, NOW - 300_000, NOW - 250_000, NOW - 200_000]; // all 6 spent
    const wear = { ...S, minOffS: 60, maxCyclesPerDay: 6, wearPaceH: 10, wearPaceBurst: 3, wearPaceOffS: 300 };
    const r = fleetFlexibility(f, NOW, wear);
    expect(r.add1MinKw).toBeCloseTo(TOP - STANDBY, 9);
    // The paced one is free in 180 s (off 120 of 300 s), ready 36 s later: inside 5 minutes.
    expect(r.add5MinKw).toBeCloseTo(2 * (TOP - STANDBY), 9);
    // Without the wear settings all three count.
    expect(fleetFlexibility(f, NOW, { ...S, minOffS: 60 }).add1MinKw).toBeCloseTo(3 * (TOP - STANDBY), 9);
  });
});

describe('fleet flexibility counts the switch-on hold the plan applies', () => {
  const settings = schedulerSchema.parse({ minOnS: 0, minOffS: 0, commandStaggerMs: 0, rampKwPerMin: 1e9, maxCyclesPerDay: 6, wearPaceBurst: 3, wearPaceHoldS: 5 });
  const flexOf = (core: SchedulerCore, nowMs: number) =>
    fleetFlexibility(core.fleet, nowMs, { ...settings, rampKwPerMin: Infinity, holds: holdSettings(wearPace(settings), core.budgetHistory(), settings) });

  /**
   * One off A1566 unit three cycles into its day (0.9 cycles ahead of the pace: a hold of
   * 5 s x 3 / 3 x 2^0.92 = 9.4 s), the budget read every `intervalS` with no room for ten minutes
   * and then room: what the fleet says it can add within a minute when the room appears, and the
   * kW the unit really draws 60 s later (on at its switch-on, plus its softoff lead and ramp).
   */
  const promisedAndDrawn = (intervalS: number): { add1: number; drawnBy60: number } => {
    const fleet = fleetOf([{ on: false }]);
    fleet.units[0]!.onsMs = [NOW - 1_000_000, NOW - 900_000, NOW - 800_000];
    fleet.units[0]!.sinceMs = NOW - 700_000;
    const core = new SchedulerCore(fleet, settings, { holdLastS: 0, failsafeKw: 0 });
    const readAt = (t: number): number => Math.floor(t / intervalS) * intervalS;
    // Flickering by a few watts, so each reading is a change (the reading interval is known).
    const kwAt = (t: number): number => (t >= 0 ? 10 : 0.1) + (Math.abs(readAt(t) / intervalS) % 2) * 0.01;
    let add1 = NaN;
    let onAtS = Infinity;
    for (let t = -600; t <= 60 && onAtS === Infinity; t++) {
      const { commands } = core.step({ kw: kwAt(t), atMs: NOW + readAt(t) * 1000, ttlMs: Infinity, source: 'test' }, NOW + t * 1000);
      if (t === 0) add1 = flexOf(core, NOW).add1MinKw;
      if (commands.some((c) => c.action === 'on')) onAtS = t;
    }
    const u = fleet.units[0]!;
    const deliversAtS = onAtS + u.softoffDelayS + 1 + u.rampUpS;
    return { add1, drawnBy60: deliversAtS <= 60 ? TOP - STANDBY : 0 };
  };

  it('a paced unit read once a minute waits for the next reading: not counted within a minute, and not drawn by then', () => {
    expect(promisedAndDrawn(60)).toEqual({ add1: 0, drawnBy60: 0 });
  });

  it('the same unit on a live meter goes on after its 9 s hold: counted, and drawn within the minute', () => {
    const r = promisedAndDrawn(1);
    expect(r.drawnBy60).toBeCloseTo(TOP - STANDBY, 9);
    expect(r.add1).toBeCloseTo(TOP - STANDBY, 9);
  });

  it('a hold longer than the minute keeps an otherwise free unit out of add1 but in add5', () => {
    const f = fleetOf([{ on: false }]);
    f.units[0]!.sinceMs = NOW - 3_600_000;
    f.units[0]!.onsMs = [NOW - 1_000_000, NOW - 900_000, NOW - 800_000];
    const wear = { ...S, minOffS: 60, maxCyclesPerDay: 6, wearPaceH: 10, wearPaceBurst: 3, wearPaceOffS: 300 };
    // The plan's hold settings with no budget history yet, then with a budget read once a minute.
    const holds = (onHoldS: number | undefined, readingMs: number) => ({ ...holdSettings(wearPace(wear), undefined, { onHoldS, wearPaceHoldS: 5 }), readingMs });
    expect(fleetFlexibility(f, NOW, { ...wear, holds: holds(0, 0) }).add1MinKw).toBeCloseTo(TOP - STANDBY, 9);
    const minute = fleetFlexibility(f, NOW, { ...wear, holds: holds(0, 60_000) });
    expect(minute.add1MinKw).toBe(0);
    expect(minute.add5MinKw).toBeCloseTo(TOP - STANDBY, 9);
    // No onHoldS: the plan applies no hold at all, and neither does the figure.
    expect(fleetFlexibility(f, NOW, { ...wear, holds: holds(undefined, 60_000) }).add1MinKw).toBeCloseTo(TOP - STANDBY, 9);
  });
});
