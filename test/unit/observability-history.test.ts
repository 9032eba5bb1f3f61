import { describe, expect, it } from 'vitest';
import { HistoryRing, type HistoryPoint } from '../../src/operator/history.js';

const point = (atMs: number): HistoryPoint => ({
  atMs,
  budgetKw: atMs / 10,
  plannedKw: 0,
  measuredKw: 0,
  hashrateThs: 0,
  sharesAccepted: atMs,
  sharesRejected: 0,
});

describe('HistoryRing', () => {
  it('returns points oldest first until full', () => {
    const h = new HistoryRing(4);
    for (const t of [10, 20, 30]) h.push(point(t));
    expect(h.points().map((p) => p.atMs)).toEqual([10, 20, 30]);
    expect(h.length).toBe(3);
  });

  it('overwrites the oldest point when full, never growing', () => {
    const h = new HistoryRing(3);
    for (let t = 1; t <= 10; t++) h.push(point(t));
    expect(h.length).toBe(3);
    expect(h.points().map((p) => p.atMs)).toEqual([8, 9, 10]);
  });

  it('returns only points after sinceMs for incremental polling', () => {
    const h = new HistoryRing(5);
    for (let t = 1; t <= 7; t++) h.push(point(t * 100));
    expect(h.points(500).map((p) => p.atMs)).toEqual([600, 700]);
    expect(h.points(700)).toEqual([]);
    expect(h.points(0).map((p) => p.atMs)).toEqual([300, 400, 500, 600, 700]);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new HistoryRing(0)).toThrow(/capacity must be an integer >= 1/);
    expect(() => new HistoryRing(2.5)).toThrow(/capacity/);
  });
});
