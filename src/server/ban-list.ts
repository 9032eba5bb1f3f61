/**
 * Miners banned for invalid shares, for `limits.banS` seconds. Without a
 * hold, a ban is only a disconnect: the miner reconnects at once and goes on
 * sending the same bad work. Keys are opaque here; the server keys a ban by
 * address and worker name together, so one broken unit does not lock out
 * the others behind the same NAT address or under the same worker name.
 */
export class BanList {
  readonly #until = new Map<string, number>();

  /** `holdMs` 0 keeps nobody out (a ban is then only the disconnect); `max` bounds memory. */
  constructor(
    private readonly holdMs: number,
    private readonly max = 100_000,
  ) {}

  ban(workers: Iterable<string>, nowMs: number): void {
    if (this.holdMs <= 0) return;
    for (const w of workers) {
      this.#until.delete(w); // re-inserted last: the map stays in expiry order
      this.#until.set(w, nowMs + this.holdMs);
    }
    for (const [w, until] of this.#until) {
      if (until > nowMs && this.#until.size <= this.max) break;
      this.#until.delete(w);
    }
  }

  /** When the worker's ban ends, or undefined when it is not banned. */
  bannedUntil(worker: string, nowMs: number): number | undefined {
    const until = this.#until.get(worker);
    if (until === undefined) return undefined;
    if (until > nowMs) return until;
    this.#until.delete(worker);
    return undefined;
  }

  get size(): number {
    return this.#until.size;
  }
}
