/**
 * Carves per-miner extranonce prefixes out of one upstream connection's
 * extranonce2 (pure). Miner extranonce1 = upstream extranonce1 ‖ prefix and
 * the miner rolls the remaining extranonce2 bytes, so every miner searches a
 * disjoint part of the coinbase space of the one upstream subscription.
 */

export interface CarveLayout {
  /** Bytes of the upstream extranonce2 used for the per-miner prefix. */
  prefixBytes: number;
  /** Extranonce2 size each miner gets (3..8). */
  minerExtranonce2Size: number;
  /** Miners this connection can hold: min(256^prefixBytes, maxMinersPerConnection). */
  capacity: number;
}

/**
 * Split the pool's extranonce2 size. Prefer `wanted` bytes for the miner (default 4),
 * give up bytes down to 3 when the pool leaves too little room, and never more than 8.
 * Returns a reason string when the pool's size cannot serve even one miner.
 */
export function carveLayout(upstreamSize: number, wanted: number, maxMinersPerConnection: number): CarveLayout | string {
  if (upstreamSize < 3) return `pool extranonce2_size ${upstreamSize} is below the 3 bytes a miner needs`;
  let minerSize = Math.min(8, Math.max(3, wanted));
  if (upstreamSize - minerSize < 1) minerSize = Math.max(3, upstreamSize - 1);
  minerSize = Math.min(minerSize, upstreamSize);
  // Large pool sizes: give the miner at most 8 bytes and use the rest as prefix (capped at 4 bytes of ids).
  const prefixBytes = Math.min(4, upstreamSize - minerSize);
  const finalMiner = upstreamSize - prefixBytes;
  if (finalMiner > 8) return `pool extranonce2_size ${upstreamSize} leaves more than 8 bytes per miner`;
  const capacity = Math.min(2 ** (8 * prefixBytes), maxMinersPerConnection);
  return { prefixBytes, minerExtranonce2Size: finalMiner, capacity };
}

export class ExtranonceAllocator {
  private readonly used = new Set<number>();
  private cursor: number;
  /**
   * Prefixes are drawn from the whole prefix space (2^(8·prefixBytes), at
   * most 2^32), round robin, while at most `capacity` are held at once. A
   * freed prefix then comes back only after the whole space went round: a
   * miner that takes a just-freed prefix during the same job would build the
   * departed miner's coinbases and find shares the pool already has
   * (duplicates it refuses after the miner was told accepted; seen as 12 %
   * pool rejections in the churn soak, issue 11 item 9). `startAt` spreads
   * the connections of one pool over the space, so miners on different
   * connections also get different prefixes (their extranonce1, Channel.folds).
   */
  readonly space: number;

  constructor(
    readonly layout: CarveLayout,
    startAt = 0,
  ) {
    this.space = layout.prefixBytes === 0 ? 1 : Math.min(2 ** (8 * layout.prefixBytes), 2 ** 32);
    this.cursor = ((startAt % this.space) + this.space) % this.space;
  }

  get free(): number {
    return this.layout.capacity - this.used.size;
  }

  /** Takes `preferred` if it is free (session resume), else the next free prefix; undefined when full. */
  allocate(preferred?: number): number | undefined {
    if (this.used.size >= this.layout.capacity) return undefined;
    if (preferred !== undefined && Number.isInteger(preferred) && preferred >= 0 && preferred < this.space && !this.used.has(preferred)) {
      this.used.add(preferred);
      return preferred;
    }
    // Ends within capacity + 1 steps: fewer than capacity <= space prefixes are held.
    for (let i = 0; i < this.space; i++) {
      const p = (this.cursor + i) % this.space;
      if (!this.used.has(p)) {
        this.used.add(p);
        // Round-robin: a just-freed prefix is reused last, so late shares of a
        // departed miner cannot be mistaken for the next miner's.
        this.cursor = (p + 1) % this.space;
        return p;
      }
    }
    return undefined;
  }

  /** Whether `prefix` is within the layout and nobody holds it. */
  isFree(prefix: number): boolean {
    return Number.isInteger(prefix) && prefix >= 0 && prefix < this.space && !this.used.has(prefix) && this.used.size < this.layout.capacity;
  }

  release(prefix: number): void {
    this.used.delete(prefix);
  }

  /** Prefix as hex of exactly prefixBytes bytes ('' when the connection serves one miner). */
  prefixHex(prefix: number): string {
    const n = this.layout.prefixBytes;
    return n === 0 ? '' : prefix.toString(16).padStart(2 * n, '0');
  }
}
