import { describe, expect, it } from 'vitest';
import { carveLayout, ExtranonceAllocator, type CarveLayout } from '../../src/server/extranonce-allocator.js';

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
    expect(a.allocate()).toBe(got[1]);
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
