/**
 * Per-connection abuse limits (pure; time is an argument): a submit rate cap
 * per one-second window, and a ban when `banInvalidShares` invalid shares fall
 * within `banWindowS` (a ring of their times, so it is O(1) per share and
 * never bans on one bad share).
 */
export interface MinerLimitSettings {
  maxSubmitsPerSecond: number;
  banInvalidShares: number;
  banWindowS: number;
}

export class MinerLimits {
  private windowStartMs = -Infinity;
  private windowCount = 0;
  /** Allocated at the first invalid share: 8 bytes × banInvalidShares (4 KB at the default 500) per miner adds up to 40 MB at 10,000 miners that never send one. */
  private invalid: Float64Array | undefined;
  private invalidCount = 0;

  constructor(private readonly s: MinerLimitSettings) {}

  /** False when this submit is over the per-second cap. */
  allowSubmit(nowMs: number): boolean {
    if (nowMs - this.windowStartMs >= 1000) {
      this.windowStartMs = nowMs;
      this.windowCount = 0;
    }
    return ++this.windowCount <= this.s.maxSubmitsPerSecond;
  }

  /** Records one invalid share; true when the miner should now be banned. */
  noteInvalid(nowMs: number): boolean {
    const ring = (this.invalid ??= new Float64Array(Math.max(1, this.s.banInvalidShares)));
    const n = ring.length;
    ring[this.invalidCount % n] = nowMs;
    this.invalidCount++;
    if (this.invalidCount < this.s.banInvalidShares) return false;
    // The oldest of the last banInvalidShares entries sits right after the newest.
    const oldest = ring[this.invalidCount % n]!;
    return nowMs - oldest <= this.s.banWindowS * 1000;
  }
}
