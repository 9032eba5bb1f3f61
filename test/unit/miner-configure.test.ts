import { describe, expect, it } from 'vitest';
import { negotiateConfigure } from '../../src/miner/configure.js';

describe('negotiateConfigure (BIP310)', () => {
  it.each([
    ['miner ∧ pool', { 'version-rolling.mask': '1fffe000' }, 0x00ffe000, { 'version-rolling': true, 'version-rolling.mask': '00ffe000' }, 0x00ffe000],
    ['no miner mask = all bits the pool allows', {}, 0x1fffe000, { 'version-rolling': true, 'version-rolling.mask': '1fffe000' }, 0x1fffe000],
    ['disjoint masks refuse', { 'version-rolling.mask': '00001fff' }, 0x1fffe000, { 'version-rolling': false, 'version-rolling.mask': '00000000' }, 0],
    ['too few bits for min-bit-count refuse', { 'version-rolling.mask': '00006000', 'version-rolling.min-bit-count': 4 }, 0x1fffe000, { 'version-rolling': false, 'version-rolling.mask': '00000000' }, 0],
  ])('version-rolling: %s', (_name, options, poolMask, result, mask) => {
    const out = negotiateConfigure({ extensions: ['version-rolling'], options }, poolMask);
    expect(out.result).toEqual(result);
    expect(out.versionMask).toBe(mask);
  });

  it('handles minimum-difficulty, subscribe-extranonce and unknown extensions', () => {
    const out = negotiateConfigure({ extensions: ['minimum-difficulty', 'subscribe-extranonce', 'info'], options: { 'minimum-difficulty.value': 2048 } }, 0);
    expect(out.result).toEqual({ 'minimum-difficulty': true, 'subscribe-extranonce': true, info: false });
    expect(out.minimumDifficulty).toBe(2048);
    expect(out.subscribeExtranonce).toBe(true);
    expect(out.versionMask).toBeUndefined();
  });
});
