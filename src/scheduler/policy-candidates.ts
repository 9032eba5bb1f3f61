import { unitGroupsOf, worstCaseKw, type FleetUnit, type UnitKind } from './fleet-state.js';
import { EPS, allowedModes, inOrder, orderedGroups } from './policy-hull.js';
import type { PlanLimit } from './policy-types.js';

/**
 * Adding load: greedy over hull steps plus a fill pass, from any starting
 * levels (the current state to grow it, all-off to plan from scratch). Pure;
 * they write levels (-1 off, else a sorted-mode index) into the arrays they
 * are given. Cuts are in policy-shed.ts.
 */

export function sumThs(units: readonly FleetUnit[], level: Int16Array): number {
  let t = 0;
  for (let i = 0; i < units.length; i++) if (level[i]! >= 0 && units[i]!.available) t += units[i]!.modes[level[i]!]!.ths;
  return t;
}

/** Hull pass then fill pass from `level` (mutated); returns the planned draw and what stopped it. */
export function greedy(
  units: readonly FleetUnit[],
  level: Int16Array,
  skip: Uint8Array,
  pinned: Uint8Array,
  scale: Float64Array,
  limit: number,
  base: number,
  budgetKw: number,
  ceiling: number,
  upOnly = false,
  used?: Int32Array,
): { planned: number; limitedBy: PlanLimit } {
  let planned = base;
  let limitedBy: PlanLimit = 'fleet';
  for (const g of orderedGroups(units, level, skip, pinned, scale, used)) {
    const s = g.step;
    // Every unit of a group takes the same step: once one does not fit, none after it does
    // (planned stands still), so the group ends there and its order is read no further.
    // When not even the first fits, the order does not matter: any unit still at the step's start
    // stops the group (and sets what limited the plan), so none is ordered.
    let full = false;
    if (planned + s.dkw > limit + EPS) {
      const at = (i: number): boolean => level[i] === s.from;
      if (g.sticky.some(at) || g.others.some(at)) {
        if (limitedBy === 'fleet') limitedBy = planned + s.dkw <= budgetKw + EPS ? (planned + s.dkw <= ceiling + EPS ? 'hysteresis' : 'ramp') : 'budget';
      }
      continue;
    }
    for (let pass = 0; pass < 2 && !full; pass++) {
      for (const i of inOrder(g, pass === 0 ? 0 : 1)) {
        if (level[i] !== s.from) continue;
        if (planned + s.dkw <= limit + EPS) {
          level[i] = s.to;
          planned += s.dkw;
        } else {
          if (limitedBy === 'fleet') limitedBy = planned + s.dkw <= budgetKw + EPS ? (planned + s.dkw <= ceiling + EPS ? 'hysteresis' : 'ramp') : 'budget';
          full = true;
          break;
        }
      }
    }
  }
  return { planned: fill(units, level, skip, pinned, scale, limit, planned, upOnly), limitedBy };
}

/**
 * Puts what the hull pass left to use: each round takes the most efficient
 * single-unit change (TH/s gained per kW added) that fits, e.g. an off unit in
 * its eco mode. A few rounds suffice: what is left is below one unit's step.
 * `upOnly` (growing the running fleet): never a mode of lower kW, even one
 * that hashes more (an operator expects no unit to step down while the
 * budget rises).
 */
export function fill(
  units: readonly FleetUnit[],
  level: Int16Array,
  skip: Uint8Array,
  pinned: Uint8Array,
  scale: Float64Array,
  limit: number,
  planned: number,
  upOnly = false,
): number {
  // allowedModes(u, pinned).includes(j) for a mode j of the unit, without reading the unit object
  // where the fleet's arrays have it: any mode, or only the one it runs (stratum or pinned).
  const groups = unitGroupsOf(units);
  const allowed = (i: number, j: number): boolean => {
    if (groups === undefined || (units !== groups.units && units[i] !== groups.units[i]) || groups.states === undefined) return allowedModes(units[i]!, pinned[i]!).includes(j);
    return (groups.kinds[groups.kind[i]!]!.lever !== 'stratum' && !pinned[i]) || groups.states.mode[i] === j;
  };
  // On the fleet's own list, a pinned unit may only stay at the mode it runs: at that level it has
  // no move (j !== l), which bestMovesFill sees without a walk over its modes.
  const stuck = groups !== undefined && units === groups.units && groups.states !== undefined ? { pinned, mode: groups.states.mode } : undefined;
  return bestMovesFill(units, level, scale, limit, planned, 4, (i, l, j, dkw) => !skip[i] && j !== l && !(upOnly && dkw < -EPS) && allowed(i, j), skip, stuck);
}

/**
 * The single-unit greedy both fill passes share (growing here, giving back
 * after a cut in policy-shed.ts): each round applies the one change of one
 * unit to mode `j` with the most TH/s gained per kW added that fits under
 * `limit` and that `allow(i, currentLevel, j, dkw)` accepts. Units marked in `skip` are ones
 * `allow` refuses every move: they are passed over without a walk over their modes (thousands
 * of units waiting out a wear hold were most of this walk, issue 12 item 10; what a unit passed
 * over would have recorded only spares later walks, never changes a choice). Likewise a unit
 * marked in `stuck.pinned` while its level is `stuck.mode` (a running unit held at its mode:
 * thousands while an off unit waits to be added).
 */
export function bestMovesFill(
  units: readonly FleetUnit[],
  level: Int16Array,
  scale: Float64Array,
  limit: number,
  planned: number,
  rounds: number,
  allow: (i: number, l: number, j: number, dkw: number) => boolean,
  skip?: Uint8Array,
  stuck?: { readonly pinned: Uint8Array; readonly mode: Int32Array },
): number {
  // Identical units (same modes, standby and scale) at the same level have the same moves:
  // once one of them has no move that gains hashrate within the room, none of them has, and the
  // rest are passed over without a walk over their modes (issue 12 item 10). With the fleet's
  // groups (fleet-state.ts) the signature comes from typed arrays (a unit object is read only
  // when it has a move that fits) and each kind keeps its own record, so a fleet whose kinds
  // alternate keeps them all; without, one record for the last signature seen. A record is
  // `slot * 65 + level + 1`: found without a move in round `noneRound` of generation `noneGen`
  // (a slot's generation moves on when its signature changes: no clearing).
  const groups = unitGroupsOf(units);
  // Held in locals: the walk calls `allow`, after which fields would be read again per unit.
  const gUnits = groups?.units;
  const gKind = groups?.kind;
  const gKinds = groups?.kinds;
  const slots = groups === undefined ? 1 : groups.kinds.length;
  // Plain arrays, not typed ones: a typed array of more than 64 bytes is a malloc and a finaliser
  // for the collector, and these are made per call (several per plan, issue 12 item 10).
  const noneRound = new Array<number>(slots * 65).fill(-1);
  const noneGen = new Array<number>(slots * 65).fill(0);
  const slotGen = new Array<number>(slots).fill(0);
  const slotModes: (FleetUnit['modes'] | undefined)[] = new Array<FleetUnit['modes'] | undefined>(slots).fill(undefined);
  const slotScale = new Array<number>(slots).fill(NaN);
  const slotStandby = new Array<number>(slots).fill(NaN);
  // The units that had a move within the room `candRem` (in fleet order): a move that does not
  // fit in some room fits in no smaller one, and only the unit a round moves changes its moves,
  // so while the room does not grow a round walks these, not the fleet.
  let cand: number[] | undefined;
  let candRem = -Infinity;
  for (let round = 0; round < rounds; round++) {
    const rem = limit - planned;
    if (rem <= EPS) break;
    let bestUnit = -1;
    let bestMode = -1;
    let bestScore = 0;
    let bestDkw = 0;
    const walk = cand === undefined || rem > candRem ? undefined : cand;
    const found: number[] | undefined = walk === undefined ? [] : undefined;
    const count = walk === undefined ? units.length : walk.length;
    for (let c = 0; c < count; c++) {
      const i = walk === undefined ? c : walk[c]!;
      if (skip !== undefined && skip[i]) continue;
      if (stuck !== undefined && stuck.pinned[i] && level[i] === stuck.mode[i]) continue;
      const same = gUnits !== undefined && (gUnits === units || units[i] === gUnits[i]);
      const slot = same ? gKind![i]! : 0;
      const k: UnitKind | FleetUnit = same ? gKinds![slot]! : units[i]!;
      const modes = k.modes;
      const standbyKw = k.standbyKw;
      const l = level[i]!;
      const sc = scale[i]!;
      const rec = slot * 65 + l + 1;
      if (modes !== slotModes[slot] || sc !== slotScale[slot] || standbyKw !== slotStandby[slot]) {
        slotModes[slot] = modes;
        slotScale[slot] = sc;
        slotStandby[slot] = standbyKw;
        slotGen[slot]!++;
      } else if (l < 64 && noneRound[rec] === round && noneGen[rec] === slotGen[slot]) continue;
      const kw0 = l < 0 ? standbyKw : modes[l]!.kw * sc;
      const ths0 = l < 0 ? 0 : modes[l]!.ths;
      let fits = false;
      for (let j = 0; j < modes.length; j++) {
        const m = modes[j]!;
        const dkw = m.kw * sc - kw0;
        const dths = m.ths - ths0;
        if (dths <= 0 || dkw > rem + EPS) continue;
        if (!fits) found?.push(i);
        fits = true;
        if (!allow(i, l, j, dkw)) continue;
        const score = dkw <= EPS ? Infinity : dths / dkw;
        if (score > bestScore || (score === bestScore && l < 0 && bestUnit >= 0 && level[bestUnit]! < 0 && wearFirst(units[i]!, units[bestUnit]!))) {
          bestScore = score;
          bestUnit = i;
          bestMode = j;
          bestDkw = dkw;
        }
      }
      if (!fits && l < 64) {
        noneRound[rec] = round;
        noneGen[rec] = slotGen[slot]!;
      }
    }
    if (found !== undefined) {
      cand = found;
      candRem = rem;
    }
    if (bestUnit < 0) break;
    level[bestUnit] = bestMode;
    planned += bestDkw;
  }
  return planned;
}

/**
 * The plan built from scratch over the units free to move (available, past
 * their minimum on/off time and mode hold; the others stay as `grown` has
 * them), when it hashes at least `minGainPct` more than `grown` on the units
 * where the two differ. Undefined otherwise: the swaps would not pay for the
 * ramps they restart.
 */
export function rebalanced(
  units: readonly FleetUnit[],
  grown: Int16Array,
  skip: Uint8Array,
  mustOn: Uint8Array,
  pinned: Uint8Array,
  scale: Float64Array,
  limit: number,
  budgetKw: number,
  ceiling: number,
  minGainPct: number,
  used?: Int32Array,
): Int16Array | undefined {
  const n = units.length;
  const level = new Int16Array(n).fill(-1);
  const fixed = new Uint8Array(n);
  let base = 0;
  for (let i = 0; i < n; i++) {
    const u = units[i]!;
    if (!u.available) {
      fixed[i] = 1;
      base += worstCaseKw(u);
    } else if (skip[i] || mustOn[i] || pinned[i]) {
      fixed[i] = 1;
      level[i] = grown[i]!;
      base += level[i]! < 0 ? u.standbyKw : u.modes[level[i]!]!.kw * scale[i]!;
    } else base += u.standbyKw;
  }
  if (base > limit + EPS) return undefined;
  greedy(units, level, fixed, pinned, scale, limit, base, budgetKw, ceiling, false, used);
  let before = 0;
  let after = 0;
  for (let i = 0; i < n; i++) {
    if (level[i] === grown[i] || !units[i]!.available) continue;
    if (grown[i]! >= 0) before += units[i]!.modes[grown[i]!]!.ths;
    if (level[i]! >= 0) after += units[i]!.modes[level[i]!]!.ths;
  }
  if (!(after > before + EPS) || after < before * (1 + minGainPct / 100)) return undefined;
  return sumThs(units, level) > sumThs(units, grown) ? level : undefined;
}

/**
 * Of two equally good moves from off, the one that spreads switching wear: a
 * running unit (no cycle at all), of two running units the one switched on
 * last (policy-shed.ts turns the one on longest off), of two off units the one
 * off longest. Unknown times (-Infinity) compare equal: fleet order stands.
 */
function wearFirst(a: FleetUnit, b: FleetUnit): boolean {
  if (a.on !== b.on) return a.on;
  return a.on ? a.sinceMs > b.sinceMs : a.sinceMs < b.sinceMs;
}
