import { describe, expect, it } from 'vitest';
import { benchWorkload, measurePool } from '../../src/shares/bench-run.js';
import { validateShare } from '../../src/shares/validator.js';

describe('bench workload through the pool', () => {
  it('is the shared 13-branch job, self-checked, and the pool run verifies its results', async () => {
    const work = benchWorkload(300);
    expect(work.branches).toBe(13);
    expect(work.coinbaseBytes).toBeGreaterThan(200);
    // Deterministic: share i differs from share i+1 and repeats across calls.
    expect(benchWorkload(2).requests.map((r) => validateShare(r).hash)).toEqual(work.requests.slice(0, 2).map((r) => validateShare(r).hash));
    const run = await measurePool(work.requests, { threads: 1, batchSize: 32, samples: 300 });
    expect(run).toMatchObject({ threads: 1, batchSize: 32, shares: 300, verified: 300, tasks: Math.ceil(300 / 32) });
    expect(run.sharesPerSecond).toBeGreaterThan(0);
  });
});
