import { afterEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/clock.js';
import type { BudgetReading, BudgetSource } from '../../src/power/budget-source.js';

/**
 * The one contract every budget source passes (house style: one interface,
 * one shared suite). Each source's test file calls `budgetSourceContract`
 * with a harness factory.
 */
export interface ContractHarness {
  source: BudgetSource;
  clock: ManualClock;
  /** Makes the source produce `kw` (dynamic sources) and waits until it has been emitted or could have been. */
  produce(kw: number): Promise<void>;
  /** Static and schedule sources cannot be told a new value after start. */
  dynamic: boolean;
  cleanup?(): Promise<void>;
}

export function budgetSourceContract(label: string, setup: (initialKw: number) => Promise<ContractHarness>): void {
  describe(`budget source contract: ${label}`, () => {
    let h: ContractHarness | undefined;
    afterEach(async () => {
      await h?.source.stop();
      await h?.cleanup?.();
      h = undefined;
    });

    const collect = (s: BudgetSource): BudgetReading[] => {
      const seen: BudgetReading[] = [];
      s.on('reading', (r) => seen.push(r));
      return seen;
    };

    it('has no reading before start', async () => {
      h = await setup(42);
      const seen = collect(h.source);
      expect(h.source.latest()).toBeUndefined();
      expect(seen).toEqual([]);
      expect(typeof h.source.name).toBe('string');
    });

    it('emits a frozen, stamped reading with a TTL, and latest() returns it', async () => {
      h = await setup(42);
      const seen = collect(h.source);
      h.clock.set(1_700_000_000_000);
      await h.source.start();
      await h.produce(42);
      const r = seen.at(-1)!;
      expect(r).toMatchObject({ kw: 42, atMs: 1_700_000_000_000, source: h.source.name });
      expect(r.ttlMs).toBeGreaterThan(0);
      expect(Object.isFrozen(r)).toBe(true);
      expect(h.source.latest()).toBe(r);
    });

    it('follows new values in order (dynamic sources)', async () => {
      h = await setup(10);
      if (!h.dynamic) return;
      const seen = collect(h.source);
      await h.source.start();
      await h.produce(10);
      h.clock.advance(1000);
      await h.produce(0);
      h.clock.advance(1000);
      await h.produce(12.5);
      expect(seen.map((r) => r.kw).slice(-3)).toEqual([10, 0, 12.5]);
      expect(h.source.latest()!.kw).toBe(12.5);
    });

    it('stops idempotently and emits nothing after stop', async () => {
      h = await setup(7);
      const seen = collect(h.source);
      await h.source.start();
      await h.produce(7);
      await h.source.stop();
      await h.source.stop();
      const count = seen.length;
      if (h.dynamic) await h.produce(8).catch(() => undefined);
      expect(seen.length).toBe(count);
      expect(h.source.latest()!.kw).toBe(7);
    });
  });
}
