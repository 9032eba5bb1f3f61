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
});
