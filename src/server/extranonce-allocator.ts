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
  private cursor = 0;

  constructor(readonly layout: CarveLayout) {}

  get inUse(): number {
    return this.used.size;
  }

  get free(): number {
    return this.layout.capacity - this.used.size;
  }

  /** Takes `preferred` if it is free (session resume), else the next free prefix; undefined when full. */
  allocate(preferred?: number): number | undefined {
    const cap = this.layout.capacity;
    if (this.used.size >= cap) return undefined;
    if (preferred !== undefined && Number.isInteger(preferred) && preferred >= 0 && preferred < cap && !this.used.has(preferred)) {
      this.used.add(preferred);
      return preferred;
    }
    for (let i = 0; i < cap; i++) {
      const p = (this.cursor + i) % cap;
      if (!this.used.has(p)) {
        this.used.add(p);
        // Round-robin: a just-freed prefix is reused last, so late shares of a
        // departed miner cannot be mistaken for the next miner's.
        this.cursor = (p + 1) % cap;
        return p;
      }
    }
    return undefined;
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
