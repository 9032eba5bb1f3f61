import type { FleetState } from './fleet-state.js';
import type { Plan } from './policy.js';

/**
 * Live estimates of three losses (issue 12 item 7), integrated by left Riemann
 * sums between the loop's evaluations (every plan and tick):
 * - ramp-up: the draw units still ramping after a softon or a mode change
 *   have not reached yet (their mode's kW less a linear ramp from standby),
 *   modelled from commanded times, kWh;
 * - ramp limit: the budget room a plan limited by the ramp limit left
 *   unplanned (the fleet's top draw capped by the budget, less the plan), kWh;
 * - wear budget: the room a plan left that whole units out of cycles or inside
 *   a wear hold would have filled (Plan `wearHeldKw`, as `simulate` books it),
 *   kWh: why units sit off while the budget has room.
 * All are estimates from the plan and the model, not from meters.
 */
export class LossEstimates {
  rampUpKwh = 0;
  rampLimitKwh = 0;
  wearHeldKwh = 0;
  /** What the last plan's wear budget holds off now, kW. */
  wearHeldKw = 0;
  private lastMs: number | undefined;
  private rampUpKw = 0;
  private heldKw = 0;
  private readonly fleetTopKw: number;
  /** Units that may be ramping (told of by `started`), so an evaluation costs O(ramping), not O(fleet). */
  private readonly ramping = new Set<number>();

  constructor(private readonly fleet: FleetState) {
    let top = 0;
    for (const u of fleet.units) top += Math.max(...u.modes.map((m) => m.kw));
    this.fleetTopKw = top;
  }

  /** The unit at `index` was switched on or changed mode: it ramps (until its ramp is over). */
  started(index: number): void {
    if (index >= 0 && index < this.fleet.units.length) this.ramping.add(index);
  }

  /** A new plan: what the ramp limit holds back from now on. */
  planned(p: Plan): void {
    this.advance(p.atMs);
    this.heldKw = p.limitedBy === 'ramp' ? Math.max(0, Math.min(p.budgetKw, this.fleetTopKw) - p.plannedKw) : 0;
    this.wearHeldKw = p.wearHeldKw;
  }

  /** Integrates up to `nowMs` and re-reads the ramping units. */
  advance(nowMs: number): void {
    if (this.lastMs !== undefined && nowMs > this.lastMs) {
      const h = (nowMs - this.lastMs) / 3_600_000;
      this.rampUpKwh += this.rampUpKw * h;
      this.rampLimitKwh += this.heldKw * h;
      this.wearHeldKwh += this.wearHeldKw * h;
    }
    if (this.lastMs === undefined || nowMs >= this.lastMs) this.lastMs = nowMs;
    let kw = 0;
    for (const i of this.ramping) {
      const u = this.fleet.units[i]!;
      const from = Math.max(u.changedAtMs, u.rampFromMs ?? -Infinity);
      const elapsed = (nowMs - from) / (u.rampUpS * 1000);
      if (!u.on || u.rampUpS <= 0 || !(elapsed < 1)) {
        this.ramping.delete(i);
        continue;
      }
      // Before its softon lands (the device lead) it is not ramping yet: that wait is not counted here.
      if (elapsed >= 0) kw += (u.modes[u.mode]!.kw - u.standbyKw) * (1 - elapsed);
    }
    this.rampUpKw = kw;
  }
}
