/**
 * A table bounded by count and by age (issue 11 item 9): under churn (500
 * miners reconnecting for hours, or one peer rotating worker names) a table
 * bounded by count alone fills to its cap and stays there, holding the rows
 * of miners long gone and pushing new ones out. Rows here are kept in
 * recency order (Map insertion order, refreshed on `set`/`touch`), so both
 * bounds are enforced from the old end and `prune` stops at the first row
 * young enough. Time comes in as values (injected clock at the caller).
 */

interface Row<V> {
  value: V;
  atMs: number;
}

export class AgedTable<K, V> {
  private readonly rows = new Map<K, Row<V>>();

  constructor(
    readonly maxEntries: number,
    readonly maxAgeMs: number,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  get(key: K): V | undefined {
    return this.rows.get(key)?.value;
  }

  has(key: K): boolean {
    return this.rows.has(key);
  }

  /** Inserts or replaces `key` as the youngest row; the oldest rows go beyond maxEntries. */
  set(key: K, value: V, nowMs: number): void {
    this.rows.delete(key);
    this.rows.set(key, { value, atMs: nowMs });
    while (this.rows.size > this.maxEntries) this.rows.delete(this.rows.keys().next().value as K);
  }

  /** Marks `key` used now (the youngest row); false when it is not in the table. */
  touch(key: K, nowMs: number): boolean {
    const r = this.rows.get(key);
    if (!r) return false;
    this.rows.delete(key);
    r.atMs = nowMs;
    this.rows.set(key, r);
    return true;
  }

  delete(key: K): boolean {
    return this.rows.delete(key);
  }

  /**
   * Drops rows unused for maxAgeMs, oldest first. A row `keep` vouches for
   * (a worker still connected) is refreshed instead. Returns the rows dropped.
   */
  prune(nowMs: number, keep?: (key: K, value: V) => boolean): number {
    let dropped = 0;
    // Bounded by the size at entry: kept rows move to the young end and are not visited twice.
    for (let n = this.rows.size; n > 0; n--) {
      const first = this.rows.entries().next();
      if (first.done) break;
      const [key, row] = first.value;
      if (nowMs - row.atMs < this.maxAgeMs) break;
      this.rows.delete(key);
      if (keep?.(key, row.value)) {
        row.atMs = nowMs;
        this.rows.set(key, row);
      } else dropped++;
    }
    return dropped;
  }

  *entries(): IterableIterator<[K, V]> {
    for (const [k, r] of this.rows) yield [k, r.value];
  }

  *keys(): IterableIterator<K> {
    yield* this.rows.keys();
  }
}
