import { describe, expect, it } from 'vitest';
import { carveLayout, ExtranonceAllocator, type CarveLayout } from '../../src/upstream/extranonce-allocator.js';

describe('carveLayout', () => {
  it.each([
    [8, 4, 50, { prefixBytes: 4, minerExtranonce2Size: 4, capacity: 50 }],
    [8, 4, 2, { prefixBytes: 4, minerExtranonce2Size: 4, capacity: 2 }],
    [6, 4, 1000, { prefixBytes: 2, minerExtranonce2Size: 4, capacity: 1000 }],
    [5, 4, 1000, { prefixBytes: 1, minerExtranonce2Size: 4, capacity: 256 }],
    [4, 4, 1000, { prefixBytes: 1, minerExtranonce2Size: 3, capacity: 256 }],
    [3, 4, 1000, { prefixBytes: 0, minerExtranonce2Size: 3, capacity: 1 }],
    [12, 4, 50, { prefixBytes: 4, minerExtranonce2Size: 8, capacity: 50 }],
    [8, 3, 50, { prefixBytes: 4, minerExtranonce2Size: 4, capacity: 50 }],
  ])('pool size %i, wanted %i, max %i', (up, wanted, max, layout) => {
    expect(carveLayout(up, wanted, max)).toEqual(layout);
  });

  it('refuses sizes that cannot serve a miner', () => {
    expect(carveLayout(2, 4, 50)).toMatch(/below the 3 bytes/);
    expect(carveLayout(16, 4, 50)).toMatch(/more than 8 bytes/);
  });
});

describe('ExtranonceAllocator', () => {
  const layout = carveLayout(5, 4, 3) as CarveLayout;

  it('hands out distinct prefixes up to capacity, then undefined', () => {
    const a = new ExtranonceAllocator(layout);
    const got = [a.allocate(), a.allocate(), a.allocate()];
    expect(new Set(got).size).toBe(3);
    expect(a.allocate()).toBeUndefined();
    expect(a.free).toBe(0);
    a.release(got[1]!);
    // A slot is free again, under a prefix nobody held lately (not the one just freed).
    const next = a.allocate()!;
    expect(next).not.toBe(got[1]);
    expect(got).not.toContain(next);
  });

  it('draws prefixes from the whole prefix space: a freed one comes back only after the space went round', () => {
    // 1 prefix byte: 256 prefixes, at most 3 held at once.
    const a = new ExtranonceAllocator(layout);
    const seen: number[] = [];
    let held = a.allocate()!;
    for (let i = 0; i < 255; i++) {
      a.release(held);
      seen.push(held);
      held = a.allocate()!;
    }
    expect(new Set([...seen, held]).size).toBe(256); // no prefix twice within one round
    a.release(held);
    expect(a.allocate()).toBe(seen[0]);
  });

  it('startAt spreads the connections of a pool over the space', () => {
    const wide = carveLayout(8, 4, 50) as CarveLayout; // 4 prefix bytes, 50 miners per connection
    const one = new ExtranonceAllocator(wide, 1 * 50);
    const two = new ExtranonceAllocator(wide, 2 * 50);
    expect([one.allocate(), one.allocate()]).toEqual([50, 51]);
    expect(two.allocate()).toBe(100);
    expect(two.prefixHex(100)).toBe('00000064');
    expect(one.isFree(52)).toBe(true);
    expect(one.isFree(50)).toBe(false);
  });

  it('resumes a preferred prefix when it is free and falls back when it is not', () => {
    const a = new ExtranonceAllocator(layout);
    expect(a.allocate(2)).toBe(2);
    expect(a.allocate(2)).not.toBe(2);
    expect(a.allocate(99)).toBeDefined();
  });

  it('reuses a released prefix last (round robin)', () => {
    const a = new ExtranonceAllocator(carveLayout(5, 4, 10) as CarveLayout);
    const p0 = a.allocate()!;
    a.release(p0);
    expect(a.allocate()).not.toBe(p0);
  });

  it('formats prefixes with exactly prefixBytes bytes', () => {
    expect(new ExtranonceAllocator(layout).prefixHex(10)).toBe('0a');
    expect(new ExtranonceAllocator(carveLayout(6, 4, 9) as CarveLayout).prefixHex(10)).toBe('000a');
    expect(new ExtranonceAllocator(carveLayout(3, 4, 9) as CarveLayout).prefixHex(0)).toBe('');
  });
});
