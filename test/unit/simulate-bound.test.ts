import { describe, expect, it } from 'vitest';
import { absorptionBound } from '../../src/whatif/simulator-bound.js';

const A1566 = { standbyKw: 0.15, modesKw: [6.5, 7.3, 8.1] };

describe('simulate --bound: the perfect-foresight LP (issue 12 item 8)', () => {
  it('absorbs a budget the fleet can fill exactly, and is limited by the fleet and the wear budget', async () => {
    // 20 kW for 30 min, then 9 kW: three units (max 24.3 kW) can fill 20 kW with modes, and 9 kW with one unit.
    const budget = Array.from({ length: 3600 }, (_, t) => (t < 1800 ? 20 : 9));
    const r = await absorptionBound({ budgetKw: budget, stepS: 1, groups: [{ units: 3, ...A1566, initialOn: 0 }], cyclesPerUnit: 1, rampKwPerMin: Infinity });
    expect(r.status).toBe('Optimal');
    expect(r.offeredKwh).toBeCloseTo(10 + 4.5, 9);
    expect(r.absorbedPct).toBeCloseTo(100, 6);
    // No cycle allowed: the units on in the first half must stay on, so the second half is capped by their lowest mode.
    const stiff = await absorptionBound({ budgetKw: budget, stepS: 1, groups: [{ units: 3, ...A1566, initialOn: 0 }], cyclesPerUnit: 0, rampKwPerMin: Infinity });
    expect(stiff.absorbedPct).toBeLessThan(r.absorbedPct);
    // A tight ramp limit costs energy at the start.
    const ramp = await absorptionBound({ budgetKw: budget, stepS: 1, groups: [{ units: 3, ...A1566, initialOn: 0 }], cyclesPerUnit: 1, rampKwPerMin: 2 });
    expect(ramp.absorbedPct).toBeLessThan(r.absorbedPct);
    // A budget above the fleet: capped at what the fleet draws.
    const big = await absorptionBound({ budgetKw: Array(600).fill(100), stepS: 1, groups: [{ units: 3, ...A1566, initialOn: 3 }], cyclesPerUnit: 1, rampKwPerMin: Infinity });
    expect(big.absorbedKwh).toBeCloseTo((3 * 8.1 * 600) / 3600, 6);
  });
});
