import { describe, expect, it } from 'vitest';
import { HashrateMeter, ShareLedger } from '../../src/server/worker-stats.js';

describe('HashrateMeter', () => {
  it('is Σdiff·2^32/Δt over the window', () => {
    const m = new HashrateMeter();
    // 60 shares of difficulty 1000, one per second for a minute.
    for (let i = 0; i < 60; i++) m.add(1000, i * 1000);
    expect(m.rate(60_000)).toBeCloseTo((60 * 1000 * 2 ** 32) / 60, -6);
    // Old buckets fall out after 5 minutes.
    expect(m.rate(60_000 + 6 * 60_000)).toBe(0);
    expect(new HashrateMeter().rate(1000)).toBe(0);
  });
});

describe('ShareLedger', () => {
  it('keeps totals and per-worker counters that balance', () => {
    const l = new ShareLedger();
    l.received('a');
    l.accepted('a', 8, 1000, false);
    l.received('a');
    l.rejected('a', 'duplicate');
    l.received('b');
    l.accepted('b', 16, 1000, true);
    l.forwarded('b');
    l.poolAnswer('b', 'accepted');
    const t = l.totals(2000).counters;
    expect(t).toMatchObject({ submitsReceived: 3, submitsAnswered: 3, accepted: 2, acceptedDifficulty: 24, forwarded: 1, poolAccepted: 1, blocks: 1 });
    expect(t.rejected).toEqual({ duplicate: 1 });
    expect(l.worker('a', 2000)!.counters).toMatchObject({ accepted: 1, rejected: { duplicate: 1 } });
    expect(l.worker('b', 2000)!.lastShareAtMs).toBe(1000);
    expect(l.workerNames()).toEqual(['a', 'b']);
    // Snapshots are copies.
    t.accepted = 99;
    expect(l.totals(2000).counters.accepted).toBe(2);
  });

  it('bounds the per-worker table (names come from miners)', () => {
    const l = new ShareLedger(2);
    for (const w of ['a', 'b', 'c', 'd']) {
      l.received(w);
      l.rejected(w, 'low-difficulty');
    }
    expect(l.workerNames()).toEqual(['a', 'b', '(other workers)']);
    expect(l.worker('(other workers)', 0)!.counters.submitsReceived).toBe(2);
    expect(l.totals(0).counters.submitsReceived).toBe(4);
  });
});
