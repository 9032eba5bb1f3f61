import { describe, expect, it } from 'vitest';
import { DifficultyMemory } from '../../src/server/difficulty-memory.js';

describe('DifficultyMemory (difficulty kept across a resumed session)', () => {
  it('recalls the last difficulty per session id and forgets the oldest past its capacity', () => {
    const m = new DifficultyMemory(3);
    m.remember('a', 1);
    m.remember('b', 2);
    m.remember('c', 3);
    m.remember('a', 10); // re-used: now the youngest
    m.remember('d', 4);
    expect(m.size).toBe(3);
    expect(m.recall('b')).toBeUndefined();
    expect(m.recall('a')).toBe(10);
    expect(m.recall('c')).toBe(3);
    expect(m.recall('d')).toBe(4);
    expect(m.recall('nope')).toBeUndefined();
  });
});
