/**
 * BIP310 version rolling for one miner (pure): the mask it asked for in
 * `mining.configure`, the mask agreed with its upstream (miner's ∧ pool's),
 * and the mask it was last told, so `mining.set_version_mask` goes out only
 * when the agreed mask really moved (failover to a pool with another mask).
 */
export class VersionRolling {
  private minerMask: number | undefined;
  /** The mask the miner was last told (configure result or set_version_mask). */
  private announced = 0;

  /**
   * `mining.configure` answered `version-rolling`: `minerMask` is the miner's
   * mask (all bits when it sent none), `answered` the mask in our reply. A
   * refusal (mask 0: disjoint masks, too few bits for min-bit-count) means
   * the miner does not roll, so it is never told a mask later either.
   */
  configured(minerMask: number, answered: number): void {
    const refused = answered >>> 0 === 0;
    this.minerMask = refused ? undefined : minerMask >>> 0;
    this.announced = refused ? 0 : answered >>> 0;
  }

  /** BIP310: miner's mask ∧ the upstream's mask; 0 when the miner never asked. */
  agreed(poolMask: number): number {
    return this.minerMask === undefined ? 0 : (this.minerMask & poolMask) >>> 0;
  }

  /** The mask for a `mining.set_version_mask` when the agreed one differs from what the miner was told; undefined otherwise. */
  announce(poolMask: number): number | undefined {
    if (this.minerMask === undefined) return undefined;
    const mask = this.agreed(poolMask);
    if (mask === this.announced) return undefined;
    this.announced = mask;
    return mask;
  }
}
