import { describe, expect, it } from 'vitest';
import { fleetFlexibility } from '../../src/scheduler/flexibility.js';
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
