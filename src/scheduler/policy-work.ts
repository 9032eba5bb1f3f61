import type { FleetUnit, UnitGroups } from './fleet-state.js';
import { UnitScan, newScanArrays, type ScanArrays } from './policy-scan.js';
import { UnitStates } from './unit-states.js';

/**
 * A plan's per-unit working arrays (`Work`), kept in its memory and reused by the next plan,
 * and the unit states the plan reads (`statesOf`). Policy.ts makes one and hands it to its
 * passes (policy-scan.ts, policy-holds.ts, policy-grow.ts, policy-targets.ts).
 */

/** Per-unit working arrays of one plan, handed on to the next through its memory. */
export interface Work extends ScanArrays {}

export class Work {
  /** A plan's copies of `skip` (addSkip, swapSkip) and of `pinned` (grow's held), refilled per plan. */
  readonly addSkip: Uint8Array;
  readonly swapSkip: Uint8Array;
  readonly held: Uint8Array;
  /**
   * Two buffers for the plans' `seen` (3 per unit), used in turn, and the memory record each
   * belongs to now: a plan writes the one its last plan does not read, and reuses a record's
   * targets only while the record still owns its buffer (a plan made from an older memory
   * takes it over). 120 kB a plan at 5,000 units was most of what plans allocated.
   */
  readonly seenBufs: [Float64Array | undefined, Float64Array | undefined] = [undefined, undefined];
  readonly seenOwners: [object | undefined, object | undefined] = [undefined, undefined];
  /** The units' state copied out of a hand-built unit list (a fleet's own units keep theirs in typed arrays). */
  scratch: UnitStates | undefined;
  /** The first pass's results per unit, for the next plan's first pass (policy-scan.ts). */
  readonly scan: UnitScan;
  /** The reasons of minimum on/off holds by buildTargets' key (which floor, seconds left), at most HELD_REASONS. */
  readonly heldReasons = new Map<number, string>();
  constructor(readonly n: number) {
    // The first pass's arrays (ScanArrays) are made where they are declared (policy-scan.ts).
    Object.assign(this, newScanArrays(n));
    this.addSkip = new Uint8Array(n);
    this.swapSkip = new Uint8Array(n);
    this.held = new Uint8Array(n);
    this.scan = new UnitScan(n);
  }
}

/**
 * The typed arrays the units keep their state in (fleet-state.ts): the fleet's own while
 * `units` is its unit list, else `work`'s scratch filled from the unit objects, so the plan
 * reads one way whatever it is given.
 */
export function statesOf(units: readonly FleetUnit[], groups: UnitGroups | undefined, work: Work): UnitStates {
  const own = groups?.states;
  // The fleet's own (frozen) list holds its units by construction; any other list is checked.
  let same = own !== undefined;
  for (let i = 0; i < units.length && same && units !== groups!.units; i++) same = units[i] === groups!.units[i];
  if (same) return own!;
  const s = (work.scratch ??= new UnitStates(units.length));
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!;
    s.on[i] = u.on ? 1 : 0;
    s.mode[i] = u.mode;
    s.sinceMs[i] = u.sinceMs;
    s.changedAtMs[i] = u.changedAtMs;
    s.hasRampFrom[i] = u.rampFromMs === undefined ? 0 : 1;
    s.rampFromMs[i] = u.rampFromMs ?? 0;
    s.available[i] = u.available ? 1 : 0;
    s.hasMeasured[i] = u.measuredKw === undefined ? 0 : 1;
    s.measuredKw[i] = u.measuredKw ?? 0;
    s.measuredAtMs[i] = u.measuredAtMs;
    s.setOns(i, u.onsMs);
  }
  return s;
}
