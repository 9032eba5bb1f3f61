import { describe, expect, it } from 'vitest';
import { BanList } from '../../src/server/ban-list.js';

describe('BanList', () => {
  it('keeps a banned worker out until its hold ends, and only that worker', () => {
    const b = new BanList(600_000);
    b.ban(['rig1', 'rig1.b'], 1_000);
    expect(b.bannedUntil('rig1', 1_000)).toBe(601_000);
    expect(b.bannedUntil('rig1.b', 300_000)).toBe(601_000);
    expect(b.bannedUntil('rig2', 1_000)).toBeUndefined();
    expect(b.bannedUntil('rig1', 601_000)).toBeUndefined();
    expect(b.size).toBe(1); // rig1 expired and was dropped when asked
  });

  it('a second ban extends the hold', () => {
    const b = new BanList(10_000);
    b.ban(['rig'], 0);
    b.ban(['rig'], 8_000);
    expect(b.bannedUntil('rig', 12_000)).toBe(18_000);
  });

  it('a hold of 0 keeps nobody out (the ban is only the disconnect)', () => {
    const b = new BanList(0);
    b.ban(['rig'], 0);
    expect(b.bannedUntil('rig', 0)).toBeUndefined();
    expect(b.size).toBe(0);
  });

  it('is bounded: expired entries go first, then the oldest bans', () => {
    const b = new BanList(1_000, 3);
    b.ban(['a', 'b'], 0);
    b.ban(['c', 'd'], 2_000); // a and b have expired
    expect(b.size).toBe(2);
    b.ban(['e', 'f'], 2_500); // over the cap of 3: the oldest live ban (c) goes
    expect(b.size).toBe(3);
    expect(b.bannedUntil('c', 2_500)).toBeUndefined();
    expect(b.bannedUntil('d', 2_500)).toBe(3_000);
    expect(b.bannedUntil('f', 2_500)).toBe(3_500);
  });
});
