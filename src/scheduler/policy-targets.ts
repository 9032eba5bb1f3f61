import { worstCaseKw, type FleetUnit } from './fleet-state.js';
import { KIND_UNAVAILABLE } from './policy-scan.js';
import type { UnitTarget } from './policy-types.js';
import type { Work } from './policy-work.js';
import type { UnitStates } from './unit-states.js';

/**
 * The plan's last pass (policy.ts): each unit's target and the reason it gives, reusing the
 * last plan's unchanged target objects.
 */

const UNCHANGED = 'unchanged';

const POOL = 16;

/** Hold reasons kept from plan to plan (two per second of the longest minimum on/off time covers them). */
const HELD_REASONS = 4096;

/**
 * An unchanged target reading (on, mode, kw, ths) with `reason`: one from `pool` (one pool per
 * reason) when an identical unit made it, else a new one kept there.
 */
function shared(pool: UnitTarget[], on: boolean, mode: number, kw: number, ths: number, reason = UNCHANGED): UnitTarget {
  for (const o of pool) if (o.kw === kw && o.mode === mode && o.on === on && o.ths === ths) return o;
  const t: UnitTarget = { on, mode, kw, ths, changed: false, reason };
  if (pool.length < POOL) pool.push(t);
  else pool[(kw * 7919 + mode) % POOL | 0] = t;
  return t;
}

/** What buildTargets needs of the plan besides the units and its working arrays. */
export interface TargetContext {
  relaxed: boolean;
  infeasible: boolean;
  cut: boolean;
  rebalance: boolean;
  budgetKw: number;
  minOnMs: number;
  minOffMs: number;
  /** The off floor of a unit ahead of its wear pace (policy-scan.ts marks those mustOff 2). */
  paceOffMs: number;
  nowMs: number;
}

/**
 * The plan's last pass: each unit's target from its level (`work`), into `targets`, with what
 * each reads into `seen`; `last` (the last plan's, when reusable) lends its unchanged targets
 * (`targets` then arrives as a copy of `last.targets`).
 * Sums the planned draw and hashrate, counts changes, and gives the earliest end of a hold
 * (revisitAtMs). A function of its own so the optimiser compiles it alone (see policy-scan.ts).
 */
export function buildTargets(
  units: readonly FleetUnit[],
  st: UnitStates,
  work: Work,
  targets: UnitTarget[],
  seen: Float64Array,
  last: { readonly targets: readonly UnitTarget[]; readonly seen: Float64Array } | undefined,
  ctx: TargetContext,
): { plannedThs: number; plannedKw: number; changes: number; revisitAtMs: number; fresh: number[] | undefined } {
  const { kind, level, startCode, mustOn, mustOff, nowKw, nowThs, scale } = work;
  // When each unit last went on or off, read where the plan's first pass did (no copy).
  const since = st.sinceMs;
  const { relaxed, infeasible, cut, rebalance, budgetKw, minOnMs, minOffMs, paceOffMs, nowMs } = ctx;
  const n = units.length;
  // Unchanged targets built in this plan, shared by identical units: without a last plan (or
  // after a cut) a fleet gets one object per group of identical units, not one per unit.
  const pool: UnitTarget[] = [];
  const reasons = new Map<FleetUnit['modes'], Map<number, string>>();
  const heldBy = new Map<number, { reason: string; pool: UnitTarget[] }>();
  // The last target shared() gave for `pool` and what it read: runs of identical units in fleet
  // order take it without a walk over the pool (only this walk hands out from `pool`, so shared()
  // would return the same object).
  let poolT: UnitTarget | undefined;
  let poolCode = -1;
  let poolKw = NaN;
  let poolThs = NaN;
  // Likewise for held units: the last hold (a unit's since and which floor holds it) and the
  // target handed out under it; units switched by one plan come in runs (issue 12 item 10).
  let holdH: { reason: string; pool: UnitTarget[] } | undefined;
  let holdSince = NaN;
  let holdHk = NaN;
  const ringHk = [NaN, NaN, NaN, NaN];
  const ringH: ({ reason: string; pool: UnitTarget[] } | undefined)[] = [undefined, undefined, undefined, undefined];
  let ringAt = 0;
  let holdOn = false;
  let holdPace = false;
  let holdT: UnitTarget | undefined;
  let holdCode = -1;
  let holdKw = NaN;
  let holdThs = NaN;
  let plannedThs = 0;
  let changes = 0;
  let plannedKw = 0;
  let revisitAtMs = Infinity;
  // The units whose target is not the last plan's object (all of them without a last plan): only
  // these can change anything for the loop (SchedulerCore.step walks them, not the fleet).
  const fresh: number[] | undefined = last === undefined ? undefined : [];
  // `seen` starts as the last plan's copy: a target reused below reads the same, so it is not
  // written again (`seen` holds [code, kw, ths] only behind a code other than -1).
  const lastSeen = last?.seen;
  const copied = lastSeen !== undefined && lastSeen.length === seen.length;
  if (copied) seen.set(lastSeen);
  const quiet = relaxed ? work.quietRelaxed : work.quiet;
  for (let i = 0; i < n; i++) {
    const k = 3 * i;
    // An unchanged unit with no hold to report: everything is in the typed arrays, and the
    // unit object is read only when its target has to be built anew. (quiet: the first pass's
    // answer to "available, at the level it runs, and not held", policy-scan.ts.)
    if (level[i] === quiet[i]) {
      const code = startCode[i]!;
      const kw = nowKw[i]!;
      const ths = nowThs[i]!;
      plannedThs += ths;
      plannedKw += kw;
      if (lastSeen !== undefined && lastSeen[k] === code && lastSeen[k + 1] === kw && lastSeen[k + 2] === ths) {
        // `targets` starts as a copy of last.targets (plan()).
        if (copied) continue;
      } else {
        fresh?.push(i);
        if (poolT === undefined || code !== poolCode || kw !== poolKw || ths !== poolThs) {
          poolT = shared(pool, (code & 1) === 1, code >> 1, kw, ths);
          poolCode = code;
          poolKw = kw;
          poolThs = ths;
        }
        targets[i] = poolT;
      }
      seen[k] = code;
      seen[k + 1] = kw;
      seen[k + 2] = ths;
      continue;
    }
    seen[k] = -1;
    // Unchanged but held by a minimum on/off time (thousands of units after a swing): built from
    // the typed arrays as well, without reading the unit object.
    if (kind[i] !== KIND_UNAVAILABLE && level[i] === (startCode[i]! & 1 ? startCode[i]! >> 1 : -1)) {
      const code = startCode[i]!;
      const kw = nowKw[i]!;
      const ths = nowThs[i]!;
      plannedThs += ths;
      plannedKw += kw;
      const onHeld = mustOn[i] === 1 && !relaxed;
      const paceHeld = !onHeld && mustOff[i] === 2;
      if (holdH === undefined || since[i] !== holdSince || onHeld !== holdOn || paceHeld !== holdPace) {
        const until = since[i]! + (onHeld ? minOnMs : paceHeld ? paceOffMs : minOffMs);
        revisitAtMs = Math.min(revisitAtMs, until);
        const left = Math.ceil((until - nowMs) / 1000);
        // Units switched by one plan are held alike: they share one reason and one target (never
        // mutated), so a swing of thousands allocates a handful per plan, not one per unit.
        const hk = 3 * left + (onHeld ? 0 : paceHeld ? 2 : 1);
        // Increases are staggered, so the units one plan switched differ in `since` by the
        // stagger, yet most are held the same whole seconds: the same hold as the last unit's is
        // taken without the lookups (its target too: shared() would hand out the same object).
        if (hk !== holdHk) {
          // Held units of two or three kinds interleave in fleet order: the last few holds are
          // looked at before the map.
          let h = hk === ringHk[0] ? ringH[0] : hk === ringHk[1] ? ringH[1] : hk === ringHk[2] ? ringH[2] : hk === ringHk[3] ? ringH[3] : heldBy.get(hk);
          if (!h) {
            // The wording of a hold is kept from plan to plan (a day of plans formats each once).
            let reason = work.heldReasons.get(hk);
            if (reason === undefined) {
              reason = onHeld
                ? `held on: minimum on-time, ${left} s left`
                : paceHeld
                  ? `held off: ahead of its wear pace, off at least wearPaceOffS, ${left} s left`
                  : `held off: minimum off-time, ${left} s left`;
              if (work.heldReasons.size >= HELD_REASONS) work.heldReasons.clear();
              work.heldReasons.set(hk, reason);
            }
            heldBy.set(hk, (h = { reason, pool: [] }));
          }
          if (hk !== ringHk[0] && hk !== ringHk[1] && hk !== ringHk[2] && hk !== ringHk[3]) {
            ringHk[ringAt] = hk;
            ringH[ringAt] = h;
            ringAt = (ringAt + 1) & 3;
          }
          holdH = h;
          holdHk = hk;
          holdT = undefined;
        }
        holdSince = since[i]!;
        holdOn = onHeld;
        holdPace = paceHeld;
      }
      fresh?.push(i);
      if (holdT === undefined || code !== holdCode || kw !== holdKw || ths !== holdThs) {
        holdT = shared(holdH!.pool, (code & 1) === 1, code >> 1, kw, ths, holdH!.reason);
        holdCode = code;
        holdKw = kw;
        holdThs = ths;
      }
      targets[i] = holdT;
      continue;
    }
    fresh?.push(i);
    const u = units[i]!;
    if (!u.available) {
      const on = infeasible ? false : u.on;
      const kw = worstCaseKw(u);
      targets[i] = { on, mode: u.mode, kw, ths: 0, changed: on !== u.on, reason: `unavailable: counted at worst-case ${fmt(kw)} kW` };
      if (on !== u.on) changes++;
      plannedKw += kw;
      continue;
    }
    const l = level[i]!;
    const on = l >= 0;
    const mode = on ? l : u.mode;
    const kw = on ? u.modes[l]!.kw * scale[i]! : u.standbyKw;
    const ths = on ? u.modes[l]!.ths : 0;
    plannedThs += ths;
    plannedKw += kw;
    // Every unit left here changes (unchanged ones, held or not, were built above).
    changes++;
    // The reason depends only on the unit's model, from and to: built once per group of
    // identical moves (a cut of thousands of units formats a handful of strings).
    let byMove = reasons.get(u.modes);
    if (!byMove) reasons.set(u.modes, (byMove = new Map()));
    const move = (((u.on ? 1 : 0) * 64 + u.mode) * 2 + (on ? 1 : 0)) * 64 + mode;
    let reason = byMove.get(move);
    if (reason === undefined) {
      reason = reasonFor(u, on, mode, cut, relaxed, infeasible, rebalance, budgetKw);
      // The key packs mode indices below 64 (models have a handful of modes).
      if (u.mode < 64 && mode < 64) byMove.set(move, reason);
    }
    targets[i] = { on, mode, kw, ths, changed: true, reason };
  }
  return { plannedThs, plannedKw, changes, revisitAtMs, fresh };
}

const fmt = (x: number): string => (Math.round(x * 100) / 100).toString();

function reasonFor(u: FleetUnit, on: boolean, mode: number, cut: boolean, relaxed: boolean, infeasible: boolean, rebalance: boolean, budgetKw: number): string {
  if (infeasible) return `off: even all-off exceeds the ${fmt(budgetKw)} kW budget`;
  if (!on) {
    const j = fmt(u.modes[u.mode]!.jPerTh);
    if (cut) return `shed: ${j} J/TH, least efficient, budget cut to ${fmt(budgetKw)} kW${relaxed ? ' (overrides minimum on-time)' : ''}`;
    return `shed: ${j} J/TH, swapped for more efficient units`;
  }
  const m = u.modes[mode]!;
  if (!u.on) return rebalance ? `swapped in, ${m.name}: ${fmt(m.jPerTh)} J/TH` : `restored in ${m.name}: ${fmt(m.jPerTh)} J/TH, most efficient first`;
  const from = u.modes[u.mode]!;
  if (rebalance) return `mode ${from.name} -> ${m.name}: rebalanced within ${fmt(budgetKw)} kW`;
  return m.kw < from.kw ? `mode ${from.name} -> ${m.name} to fit ${fmt(budgetKw)} kW` : `mode ${from.name} -> ${m.name}: more hashrate within ${fmt(budgetKw)} kW`;
}
