/**
 * The pool list's rules the upstream review corrected, on a manual clock:
 * the configure memory and client.reconnect broadcasts.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { poolSchema } from '../../src/config/schema.js';
import { PoolList } from '../../src/upstream/pool-list.js';

const pools = [poolSchema.parse({ url: 'stratum+tcp://pool.example:3333', user: 'farm' })];

describe('PoolList.configureEnded', () => {
  it('a configure timeout on a connection whose subscribe was never answered (a hung pool) keeps asking', () => {
    const list = new PoolList(pools, { initialMs: 500, maxMs: 30_000 }, new ManualClock(0));
    expect(list.configureEnded(0, 'timeout', false)).toBe(false);
    expect(list.configureEnded(0, 'timeout', false)).toBe(false);
    expect(list.asksConfigure(0)).toBe(true);
    // Alive and answering subscribe, but silent on configure: it ignores the method.
    expect(list.configureEnded(0, 'timeout', true)).toBe(true);
    expect(list.asksConfigure(0)).toBe(false);
  });
});

describe('PoolList.reconnectAsked', () => {
  it('asks on connections made before the last counted ask are one broadcast; asks on newer ones count', () => {
    const clock = new ManualClock(0);
    const list = new PoolList(pools, { initialMs: 1000, maxMs: 30_000 }, clock, () => 0.5);
    // Ten connections made at epoch 0 all asked at once (a pool restart): no backoff.
    for (let i = 0; i < 10; i++) expect(list.reconnectAsked(0, undefined, 0, 0)).toBe(0);
    expect(list.ready(0)).toBe(true);
    expect(list.entry(0).reconnectEpoch).toBe(1);
    // A loop: every new connection is asked again.
    expect(list.reconnectAsked(0, undefined, 0, 1)).toBe(0); // second ask within a minute
    expect(list.reconnectAsked(0, undefined, 0, 2)).toBe(750); // third: first backoff step (jitter 0.5)
    expect(list.ready(0)).toBe(false);
    // A late ask on an old connection neither counts nor shortens the delay already set.
    expect(list.reconnectAsked(0, undefined, 0, 0)).toBe(750);
    expect(list.entry(0).reconnectEpoch).toBe(3);
  });

  it('the wait a broadcast asks for is still honoured on every connection', () => {
    const clock = new ManualClock(0);
    const list = new PoolList(pools, { initialMs: 1000, maxMs: 30_000 }, clock, () => 0.5);
    expect(list.reconnectAsked(0, undefined, 5000, 0)).toBe(5000);
    clock.advance(1000);
    expect(list.reconnectAsked(0, undefined, 5000, 0)).toBe(5000);
    clock.advance(5000);
    expect(list.ready(0)).toBe(true);
  });
});
