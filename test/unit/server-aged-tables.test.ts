/**
 * Tables keyed by what peers choose are bounded by age as well as count
 * (issue 11 item 9), on fake time: the AgedTable itself, the share ledger's
 * worker rows and the resumable session ids, under the churn of the issue
 * (500 miners reconnecting, 75 connects a second for 8 minutes).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { AgedTable } from '../../src/upstream/aged-table.js';
import { OTHER_WORKERS, ShareLedger } from '../../src/server/worker-stats.js';
import type { Channel, ChannelMember, Slot } from '../../src/upstream/channel.js';
import { MinerSlots } from '../../src/upstream/miner-slots.js';

describe('AgedTable', () => {
  it('drops rows older than maxAgeMs from the old end; set and touch make a row young', () => {
    const t = new AgedTable<string, number>(100, 1000);
    t.set('a', 1, 0);
    t.set('b', 2, 100);
    t.set('c', 3, 200);
    t.touch('a', 500);
    expect(t.prune(1099)).toBe(0);
    expect(t.prune(1100)).toBe(1); // b
    expect([...t.keys()]).toEqual(['c', 'a']);
    expect(t.prune(1500)).toBe(2);
    expect(t.size).toBe(0);
  });

  it('keeps rows its owner vouches for, refreshed; still bounded by count', () => {
    const t = new AgedTable<string, number>(3, 1000);
    for (const k of ['a', 'b', 'c', 'd']) t.set(k, 0, 0);
    expect([...t.keys()]).toEqual(['b', 'c', 'd']);
    expect(t.prune(5000, (k) => k === 'c')).toBe(2);
    expect([...t.entries()]).toEqual([['c', 0]]);
    expect(t.prune(5999)).toBe(0); // refreshed at 5000
    expect(t.prune(6000)).toBe(1);
  });
});

describe('ShareLedger worker rows under churn', () => {
  it('75 new worker names a second for 8 minutes: rows level off at the idle window, new names keep their own row', () => {
    const clock = new ManualClock(0);
    const l = new ShareLedger({ maxWorkers: 10_000, maxIdleMs: 60_000, now: () => clock.now() });
    let most = 0;
    for (let s = 0; s < 8 * 60; s++) {
      for (let k = 0; k < 75; k++) {
        const w = `site.u${k}.g${s}`;
        l.received(w);
        l.accepted(w, 1, clock.now(), false);
      }
      clock.advance(1000);
      l.prune(clock.now());
      most = Math.max(most, l.rows);
    }
    expect(most).toBeLessThanOrEqual(75 * 61);
    expect(l.workerNames()).not.toContain(OTHER_WORKERS); // count cap never reached
    expect(l.totals(clock.now()).counters.accepted).toBe(36_000); // the totals keep every share
    l.received('late.arrival');
    expect(l.workerNames()).toContain('late.arrival');
  });

  it('a row its owner keeps (worker connected or in the fleet) survives however idle', () => {
    const clock = new ManualClock(0);
    const l = new ShareLedger({ maxIdleMs: 60_000, now: () => clock.now() });
    l.received('fleet.unit1');
    l.received('gone');
    clock.advance(10 * 60_000);
    expect(l.prune(clock.now(), (w) => w === 'fleet.unit1')).toBe(1);
    expect(l.workerNames()).toEqual(['fleet.unit1']);
    expect(l.worker('fleet.unit1', clock.now())!.counters.submitsReceived).toBe(1);
  });
});

/** Just what MinerSlots uses of a Channel: an id, slots by prefix, a client with nothing pending. */
function fakeChannel(id: number): Channel {
  const members = new Map<ChannelMember, number>();
  const ch = {
    id,
    poolIndex: 0,
    closedReason: undefined,
    client: { pendingCount: 0, closeWhenIdle: () => undefined },
    get memberCount() {
      return members.size;
    },
    take(m: ChannelMember, preferred?: number): Slot {
      const used = new Set(members.values());
      let p = preferred !== undefined && !used.has(preferred) ? preferred : 0;
      while (used.has(p)) p++;
      members.set(m, p);
      return { channel: ch as unknown as Channel, prefix: p, prefixHex: p.toString(16).padStart(4, '0'), extranonce1: 'cafe' + p.toString(16).padStart(4, '0'), extranonce2Size: 4 };
    },
    release: (m: ChannelMember) => void members.delete(m),
    prefixOf: (m: ChannelMember) => members.get(m),
  };
  return ch as unknown as Channel;
}

const member = (): ChannelMember => ({ moveTo: () => undefined, orphan: () => undefined, deliverJob: () => undefined, upstreamChanged: () => undefined });

describe('MinerSlots resumable sessions', () => {
  it('a miner that leaves can resume for the window from when it left, not from when it came', async () => {
    const clock = new ManualClock(0);
    const ch = fakeChannel(1);
    const slots = new MinerSlots(() => 0, clock, 5 * 60_000);
    const acquire = (m: ChannelMember, sid?: string) => slots.acquire(m, sid, 10, () => slots.handOut([ch]));
    const m1 = member();
    await acquire(member());
    const first = await acquire(m1);
    expect(first.slot.prefix).toBe(1);
    clock.advance(60 * 60_000); // connected for an hour
    slots.prune();
    slots.release(m1);
    clock.advance(4 * 60_000);
    slots.prune();
    const back = await acquire(member(), first.sessionId);
    expect(back).toMatchObject({ sessionId: first.sessionId, slot: { prefix: 1 } });
  });

  it('past the window the id is forgotten: a new session id', async () => {
    const clock = new ManualClock(0);
    const ch = fakeChannel(1);
    const slots = new MinerSlots(() => 0, clock, 5 * 60_000);
    const m1 = member();
    const first = await slots.acquire(m1, undefined, 10, () => slots.handOut([ch]));
    slots.release(m1);
    clock.advance(5 * 60_000);
    expect(slots.prune()).toBe(1);
    const again = await slots.acquire(member(), first.sessionId, 10, () => slots.handOut([ch]));
    expect(again.sessionId).not.toBe(first.sessionId);
  });

  it('36,000 connects at 75 a second: the table levels off at the window instead of holding every id', async () => {
    const clock = new ManualClock(0);
    const ch = fakeChannel(1);
    const slots = new MinerSlots(() => 0, clock, 60_000);
    let most = 0;
    for (let s = 0; s < 480; s++) {
      for (let k = 0; k < 75; k++) {
        const m = member();
        await slots.acquire(m, undefined, 10, () => slots.handOut([ch]));
        slots.release(m);
      }
      clock.advance(1000);
      slots.prune();
      most = Math.max(most, slots.resumableCount);
    }
    expect(most).toBeLessThanOrEqual(75 * 61);
    expect(slots.resumableCount).toBeLessThanOrEqual(75 * 61);
  });
});
