/**
 * The upstream-fault series (issue 11 item 3): block candidates by outcome,
 * per-pool errors by kind, and lost shares among the pool's answers.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { SiteMetrics } from '../../src/operator/metrics.js';
import type { SiteStatus, SiteStatusSource } from '../../src/operator/snapshots.js';
import { FakeSite } from '../integration/http-fake-site.js';

function value(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  return undefined;
}

describe('SiteMetrics: upstream faults', () => {
  it('exports block candidates, pool errors by kind and lost shares', async () => {
    const site = new FakeSite(new ManualClock(1_700_000_000_000));
    const patch = (s: SiteStatus): SiteStatus => {
      s.blockCandidates = { submitted: 4, accepted: 2, rejected: 1, unacknowledged: 1 };
      s.shares.poolLost = 7;
      s.pools[0] = { ...s.pools[0]!, connectFailures: 3, submitTimeouts: 5, hungDetections: 1, sharesLost: 7, lastError: 'pool hung', lastErrorAtMs: 1 };
      return s;
    };
    const source: SiteStatusSource = { status: () => patch(site.status()), miners: () => site.miners() };
    const text = await new SiteMetrics({ source, processMetrics: false }).render();
    const pool = site.status().pools[0]!.url;
    expect(value(text, 'surplus_block_candidates_total{result="submitted"}')).toBe(4);
    expect(value(text, 'surplus_block_candidates_total{result="unacknowledged"}')).toBe(1);
    expect(value(text, 'surplus_pool_shares_total{result="lost"}')).toBe(7);
    expect(value(text, `surplus_pool_errors_total{pool="${pool}",kind="connect_failure"}`)).toBe(3);
    expect(value(text, `surplus_pool_errors_total{pool="${pool}",kind="submit_timeout"}`)).toBe(5);
    expect(value(text, `surplus_pool_errors_total{pool="${pool}",kind="hung"}`)).toBe(1);
    expect(value(text, `surplus_pool_errors_total{pool="${pool}",kind="share_lost"}`)).toBe(7);
  });
});
