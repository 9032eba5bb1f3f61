import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { EnergyReport } from '../../src/operator/energy-report.js';
import { createLogger } from '../../src/observability/logger.js';
import { SiteSampler } from '../../src/operator/site-sampler.js';
import type { SiteStatusSource } from '../../src/operator/snapshots.js';
import { FakeSite } from '../integration/http-fake-site.js';

describe('SiteSampler', () => {
  afterEach(() => vi.useRealTimers());

  it('samples on its interval into the history and the energy report', () => {
    vi.useFakeTimers();
    const clock = new ManualClock(0);
    const site = new FakeSite(clock);
    const sampler = new SiteSampler({ source: site, clock, intervalMs: 1000, report: new EnergyReport({ intervalMs: 60_000 }) });
    sampler.start();
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      vi.advanceTimersByTime(1000);
    }
    sampler.stop();
    vi.advanceTimersByTime(5000);
    const points = sampler.history.points();
    expect(points).toHaveLength(11);
    expect(points.at(-1)).toMatchObject({ atMs: 10_000, sharesAccepted: site.status().shares.accepted });
    const [row] = sampler.report.intervals();
    expect(row!.coveredS).toBeCloseTo(10, 9);
    // Difficulty-weighted shares are the growth of the source's counter since the first sample.
    expect(row!.diffShares).toBe(site.status().shares.acceptedDifficulty);
  });

  it('logs a failing source instead of throwing into the timer, and recovers', () => {
    const clock = new ManualClock(0);
    const site = new FakeSite(clock);
    let broken = true;
    const source: SiteStatusSource = {
      status: () => {
        if (broken) throw new Error('scheduler gone');
        return site.status();
      },
      miners: () => site.miners(),
    };
    const out = new PassThrough();
    let log = '';
    out.on('data', (d: Buffer) => (log += d.toString()));
    const sampler = new SiteSampler({ source, clock, logger: createLogger({ destination: out }) });
    for (let i = 0; i < 3; i++) expect(() => sampler.sample()).not.toThrow();
    expect(sampler.history.length).toBe(0);
    expect(log.trim().split('\n')).toHaveLength(1); // first failure only, not every second
    expect(log).toContain('scheduler gone');
    broken = false;
    sampler.sample();
    expect(sampler.history.length).toBe(1);
  });
});
