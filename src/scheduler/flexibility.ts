import { currentKw, topModeIndex, type FleetState } from './fleet-state.js';
import { switchOnHoldMs, type HoldSettings } from './policy-holds.js';
import { cyclesUsed, firstOnMs, offFloorMs, paceReadyFor, wearPace } from './policy-wear.js';

/**
 * What the fleet can offer the grid right now (issue 12 item 9), pure: the
 * kW it can shed within the cut deadline, and add within 1 and 5 minutes.
 * This is what a utility can book as balancing capacity.
 *
 * Shed: every unit counted on and available drops to standby when its cut
 * takes effect: an API unit after its device lead (softoffDelayS, plus up to
 * a second: Avalon times are whole seconds), a Stratum-only unit after
 * `withholdGraceS` (its jobs stop, then it is disconnected). Minimum
 * on-times do not hold a cut. A unit that does not report counts at worst
 * case and cannot be relied on to shed.
 *
 * Add: an available unit that is off can start once its minimum off-time
 * has run out (`wearPaceOffS` instead while it is ahead of the even spend of
 * its wear budget, as the plan holds it), and only while it has a cycle of
 * its wear budget left (the plan switches on no other). Room offered now
 * reaches it only after its switch-on hold (policy-holds.ts switchOnHoldMs:
 * a unit ahead of its pace holds, on a budget read once a minute at least
 * until the next reading). It adds its top mode once its softon has taken
 * effect and it has ramped (lead + rampUpS). A running unit below its top mode adds the
 * difference once its ramp after the mode change is over (a mode change may
 * restart the boards: the dip is not counted against it). The sum is capped
 * by the ramp limit (`rampKwPerMin` over the horizon).
 */
export interface Flexibility {
  /** kW the fleet can shed within `shedWithinS`. */
  shedKw: number;
  /** The cut deadline the shed figure is for, s. */
  shedWithinS: number;
  /** kW the fleet can add within 60 s. */
  add1MinKw: number;
  /** kW the fleet can add within 300 s. */
  add5MinKw: number;
}

export interface FlexibilitySettings {
  cutDeadlineS: number;
  minOffS: number;
  withholdGraceS: number;
  /** Ramp limit on increases, kW per minute (Infinity: none). */
  rampKwPerMin?: number;
  /** The wear budget as the plan applies it (policy-wear.ts); absent: none. */
  maxCyclesPerDay?: number;
  wearPaceH?: number;
  wearPaceBurst?: number;
  wearPaceOffS?: number;
  /** The switch-on holds as the plan applies them (policy.ts holdSettings); absent: none. */
  holds?: HoldSettings;
}

export function fleetFlexibility(fleet: FleetState, nowMs: number, s: FlexibilitySettings): Flexibility {
  let shed = 0;
  let add1 = 0;
  let add5 = 0;
  const deadlineMs = s.cutDeadlineS * 1000;
  const pace = wearPace(s);
  for (const u of fleet.units) {
    if (!u.available) continue;
    const leadMs = u.lever === 'api' ? (u.softoffDelayS + 1) * 1000 : s.withholdGraceS * 1000;
    const top = u.modes[topModeIndex(u.modes)]!.kw;
    if (u.on) {
      if (leadMs <= deadlineMs) shed += Math.max(0, currentKw(u) - u.standbyKw);
      // A Stratum-only unit cannot be told a mode.
      const gain = u.lever === 'api' ? Math.max(0, top - u.modes[u.mode]!.kw) : 0;
      const readyMs = u.rampUpS * 1000;
      if (gain > 0 && readyMs <= 60_000) add1 += gain;
      if (gain > 0 && readyMs <= 300_000) add5 += gain;
    } else {
      const used = cyclesUsed(u, nowMs);
      if (used >= pace.maxCycles) continue;
      const paceReadyMs = paceReadyFor(pace, used, firstOnMs(u, nowMs));
      const offMs = offFloorMs(pace, s.minOffS * 1000, used, paceReadyMs, nowMs);
      const freeAtMs = Number.isFinite(u.sinceMs) ? Math.max(0, u.sinceMs + offMs - nowMs) : 0;
      // Room from now on: the unit goes on once its off floor is over and the room has lasted its hold.
      const onAtMs = s.holds === undefined ? freeAtMs : Math.max(freeAtMs, switchOnHoldMs(used, paceReadyMs, nowMs, s.holds));
      const startLeadMs = u.lever === 'api' ? (u.softoffDelayS + 1) * 1000 : 0;
      const readyMs = onAtMs + startLeadMs + u.rampUpS * 1000;
      const gain = Math.max(0, top - u.standbyKw);
      if (readyMs <= 60_000) add1 += gain;
      if (readyMs <= 300_000) add5 += gain;
    }
  }
  const ramp = s.rampKwPerMin ?? Infinity;
  return { shedKw: round(shed), shedWithinS: s.cutDeadlineS, add1MinKw: round(Math.min(add1, ramp)), add5MinKw: round(Math.min(add5, ramp * 5)) };
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
