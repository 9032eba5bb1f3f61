import { kindAt, type FleetUnit, type UnitGroups, type UnitKind } from './fleet-state.js';
import { EPS, allowedModes, lowestKwMode } from './policy-hull.js';
import { sustainedStep, type SustainedSteps } from './policy-sustained.js';
import { POW2_NEAR_REL, holdMs, pow2Near } from './policy-wear.js';
import type { Work } from './policy-work.js';

/**
 * The wear budget's holds in a plan (issue 12, policy.ts): which off units may go on now, the
 * shortest hold among them, and when a held one's room may rise.
 */

/** How far back the sustained budget is kept, and so the longest hold (a paced unit far ahead). */
export const SUSTAINED_KEEP_MS = 3_600_000;

/**
 * The slowest budget reading a paced unit's hold is counted in (WearContext `readingMs`): a
 * minute, the cadence of a schedule or of a utility's per-minute setpoint. A slower budget is
 * not waited for: a hold of several minutes on every paced switch-on costs more than the cycles
 * it saves.
 */
export const PACE_READING_MAX_MS = 60_000;

/**
 * The most a paced hold waits past the reading it counts on, as a share of the reading interval
 * (WearContext `readingSlackMs`: twice the jitter seen, at most this).
 */
export const READING_SLACK_MAX = 0.1;

/**
 * A paced unit's hold, ms, from the pace's `pacedMs` (its hold doubled per cycle ahead), in whole
 * readings of the budget when `readingMs` is set: at least one, and rounded down, since a hold
 * that ends between two readings has learned nothing more than the one before it and only
 * delays the switch-on; `slackMs` past it, so a reading that comes late still counts. No paced
 * hold (`wearPaceHoldS` 0) waits for nothing. Never shorter than the unit's unpaced hold
 * `baseMs`, never longer than the history kept.
 */
function pacedHold(baseMs: number, pacedMs: number, readingMs: number, slackMs: number): number {
  const ms = readingMs > 0 && pacedMs > 0 ? readingMs * Math.floor(Math.max(pacedMs, readingMs) / readingMs) + slackMs : pacedMs;
  return Math.min(Math.max(baseMs, ms), SUSTAINED_KEEP_MS);
}

/** A paced unit's hold with the exact power of two: `paceHold` doubled for each of the `ahead` cycles ahead. */
function exactPacedHold(baseMs: number, paceHold: number, ahead: number, readingMs: number, slackMs: number): number {
  return pacedHold(baseMs, paceHold * Math.pow(2, ahead), readingMs, slackMs);
}

/** An off unit's unpaced hold, ms: a live meter's flicker, and nothing before its first switch-on of the day. */
function baseHoldMs(used: number, maxCycles: number, holdS: number, flickerMs: number): number {
  // A unit's first switch-on in 24 h waits for nothing but the top-mode rule (and a live
  // meter's flicker): every sunny day spends that cycle; the hold guards the ones after it.
  return Math.max(flickerMs, used === 0 ? 0 : holdMs(used, maxCycles, holdS));
}

/** Cycles a unit whose next one is due at `readyMs` under the even spend is ahead of it at `nowMs`. */
function cyclesAhead(readyMs: number, nowMs: number, maxCycles: number, paceBurst: number, paceMs: number): number {
  return ((readyMs - nowMs) * (maxCycles - paceBurst)) / paceMs;
}

/** What a switch-on hold reads (WearContext's settings). */
export type HoldSettings = Pick<WearContext, 'maxCycles' | 'holdS' | 'flickerMs' | 'paceMs' | 'paceBurst' | 'paceHoldS' | 'readingMs' | 'readingSlackMs'>;

/**
 * How long room must last before an off unit that has used `used` cycles (its next one due at
 * `readyMs` under the even spend: paceReadyFor) may go on into it, ms, as wearHolds decides it
 * (there bracketed for speed); Infinity when it has no cycle left. The live flexibility figures
 * read it: a unit that must hold is not one the fleet can add within a minute.
 */
export function switchOnHoldMs(used: number, readyMs: number, nowMs: number, s: HoldSettings): number {
  if (used >= s.maxCycles) return Infinity;
  if (s.holdS === undefined) return 0;
  const baseMs = baseHoldMs(used, s.maxCycles, s.holdS, s.flickerMs);
  if (!(s.paceMs > 0 && used > 0 && nowMs < readyMs)) return Math.min(baseMs, SUSTAINED_KEEP_MS);
  const ahead = cyclesAhead(readyMs, nowMs, s.maxCycles, s.paceBurst, s.paceMs);
  return exactPacedHold(baseMs, holdMs(used, s.maxCycles, s.paceHoldS), ahead, s.readingMs, s.readingSlackMs);
}

/** The wear budget's settings as a plan reads them (wearHolds). */
export interface WearContext {
  maxCycles: number;
  holdS: number | undefined;
  flickerMs: number;
  paceMs: number;
  paceBurst: number;
  paceHoldS: number;
  /**
   * The budget's reading interval when it is read at least once a minute (PACE_READING_MAX_MS),
   * else 0: a unit ahead of the pace holds whole readings, at least one, so the next reading
   * confirms a rise before a paced cycle goes to it. On one-minute days a paced unit used to
   * switch on 15-45 s into a one-minute sun-break, ramp for 30 s and be cut at the next reading:
   * a cycle for almost no energy (BENCHMARKS.md, "Session power6").
   */
  readingMs: number;
  /**
   * How long past a reading a paced hold waits for it: twice the jitter of the budget's last two
   * intervals, at most READING_SLACK_MAX of one. A live source posting on a timer (HTTP, MQTT)
   * jitters by a second or so, and a hold ending exactly one interval after the rise would end
   * before a late reading and go on unconfirmed. 0 on a schedule or a simulated day.
   */
  readingSlackMs: number;
  nowMs: number;
  runningTopKw: number;
  /** The budget's lowest values (policy-sustained.ts) and the plan's aim: sustainedFor's inputs. */
  sustained: SustainedSteps;
  aimKw: number;
}

/**
 * Which off units may go on (issue 12): marks in `addSkip`/`swapSkip` the units out
 * of cycles or inside their hold, and gives the shortest hold among those that may go on now
 * and when a held one's room may rise (revisitAtMs). A function of its own so the optimiser
 * compiles it alone (see policy-scan.ts).
 */
export function wearHolds(
  units: readonly FleetUnit[],
  groups: UnitGroups | undefined,
  work: Work,
  addSkip: Uint8Array,
  swapSkip: Uint8Array,
  ctx: WearContext,
): { onHoldMs: number; revisitAtMs: number } {
  const { skip, level, used, scale, ready } = work;
  const { maxCycles, holdS, flickerMs, paceMs, paceBurst, paceHoldS, readingMs, readingSlackMs, nowMs, runningTopKw, sustained, aimKw } = ctx;
  const n = units.length;
  let onHoldMs = Infinity;
  let revisitAtMs = Infinity;
  // sustainedFor(needMs) of plan() as two numbers, by the step of the budget's history it
  // reports (sustainedStep): no object per paced unit.
  const stepKw = sustained.kw;
  const stepEndMs = sustained.endMs;
  const byNeed = new Map<number, { kw: number; risesAtMs: number }>();
  // Identical units share their lowest step: from the fleet's groups, no unit object read.
  let lowOf: UnitKind | FleetUnit | undefined;
  let lowScale = NaN;
  let lowMemoKw = 0;
  // An unpaced hold depends on the cycles used alone: the last one's, and its sustained room.
  let plainUsed = -1;
  let plainNeedMs = NaN;
  let plainKw = NaN;
  let plainRisesAtMs = NaN;
  for (let i = 0; i < n; i++) {
    // level still holds the current state here: >= 0 is a running unit.
    if (skip[i] || level[i]! >= 0) continue;
    const u = used[i]!;
    if (u >= maxCycles) {
      addSkip[i] = swapSkip[i] = 1;
      continue;
    }
    if (holdS === undefined) continue;
    // Added only into room the budget has held above the running units' top for the whole
    // hold; a swap at an unchanged budget asks only that the budget stood above that top.
    const k = kindAt(groups, units, i);
    let lowKw: number;
    if (k.lever === 'api') {
      // allowedModes(u, 0) of a unit with an API: every mode.
      if (k !== lowOf || scale[i] !== lowScale) {
        lowOf = k;
        lowScale = scale[i]!;
        lowMemoKw = k.modes[lowestKwMode(k, k.modeIndexes.all)]!.kw * lowScale - k.standbyKw;
      }
      lowKw = lowMemoKw;
    } else {
      const unit = units[i]!;
      lowKw = unit.modes[lowestKwMode(unit, allowedModes(unit, 0))]!.kw * scale[i]! - unit.standbyKw;
    }
    const onAboveKw = runningTopKw + lowKw - EPS;
    const baseMs = baseHoldMs(u, maxCycles, holdS, flickerMs);
    let needMs = baseMs;
    let paced = false;
    // When the unit's next cycle is due under an even spend (the first pass worked it out).
    const readyMs = ready[i]!;
    // Ahead of an even spend: the pace's own hold, doubled for every cycle ahead. It guards
    // a budget too small for the day (6 cycles on a highly variable day: 60-77 % absorbed
    // without it, 86 % with it), and costs little where cycles suffice, since it acts only
    // ahead of the pace (BENCHMARKS.md, "Power loop v2").
    if (paceMs > 0 && u > 0 && nowMs < readyMs) {
      const ahead = cyclesAhead(readyMs, nowMs, maxCycles, paceBurst, paceMs);
      const paceHold = holdMs(u, maxCycles, paceHoldS);
      // The exact power of two (Math.pow, most of this pass at thousands of paced units a
      // plan: issue 12 item 10) is worked out only where the answer needs it: a near one
      // brackets the hold, and where the whole bracket reads one step of the budget's history
      // the unit's verdict is known; its hold itself counts only when it may lower the
      // shortest hold, or when its room rises before the earliest so far.
      const near = pow2Near(ahead);
      if (near === near && paceHold > 0 && paceHold < Infinity) {
        const loMs = pacedHold(baseMs, paceHold * near * (1 - POW2_NEAR_REL), readingMs, readingSlackMs);
        const hiMs = pacedHold(baseMs, paceHold * near * (1 + POW2_NEAR_REL), readingMs, readingSlackMs);
        // sustainedStep is monotone in the window: the same step at both ends is the step between.
        const j = sustainedStep(sustained, nowMs, hiMs);
        if (loMs <= hiMs && (j < 0 || stepEndMs[j]! > nowMs - loMs)) {
          const sKw = Math.min(j >= 0 ? stepKw[j]! : -Infinity, aimKw);
          if (sKw > onAboveKw) {
            if (loMs < onHoldMs) onHoldMs = Math.min(onHoldMs, exactPacedHold(baseMs, paceHold, ahead, readingMs, readingSlackMs));
          } else {
            addSkip[i] = 1;
            // A swap spends a cycle for a few percent of hashrate: only a unit's first of the day (u > 0 here).
            swapSkip[i] = 1;
            if (j >= 0 && stepEndMs[j]! + loMs < revisitAtMs) {
              const risesAtMs = stepEndMs[j]! + exactPacedHold(baseMs, paceHold, ahead, readingMs, readingSlackMs);
              if (Number.isFinite(risesAtMs)) revisitAtMs = Math.min(revisitAtMs, risesAtMs);
            }
          }
          continue;
        }
      }
      needMs = exactPacedHold(baseMs, paceHold, ahead, readingMs, readingSlackMs);
      paced = true;
    }
    // The budget's history is kept for an hour: no hold is longer.
    needMs = Math.min(needMs, SUSTAINED_KEEP_MS);
    let sKw: number;
    let sRisesAtMs: number;
    // A paced hold is a unit's own (its first switch-on sets it): looked up, never shared, so
    // it is not kept (a map of thousands of one-off keys cost more than it saved).
    if (paced && needMs < SUSTAINED_KEEP_MS) {
      const j = sustainedStep(sustained, nowMs, needMs);
      sKw = Math.min(j >= 0 ? stepKw[j]! : -Infinity, aimKw);
      sRisesAtMs = j >= 0 ? stepEndMs[j]! + needMs : Infinity;
    } else if (!paced && u === plainUsed) {
      sKw = plainKw;
      sRisesAtMs = plainRisesAtMs;
      needMs = plainNeedMs;
    } else {
      let s = byNeed.get(needMs);
      if (!s) {
        const j = sustainedStep(sustained, nowMs, needMs);
        s = { kw: Math.min(j >= 0 ? stepKw[j]! : -Infinity, aimKw), risesAtMs: j >= 0 ? stepEndMs[j]! + needMs : Infinity };
        byNeed.set(needMs, s);
      }
      sKw = s.kw;
      sRisesAtMs = s.risesAtMs;
      if (!paced) {
        plainUsed = u;
        plainNeedMs = needMs;
        plainKw = sKw;
        plainRisesAtMs = sRisesAtMs;
      }
    }
    if (sKw > onAboveKw) onHoldMs = Math.min(onHoldMs, needMs);
    else {
      addSkip[i] = 1;
      // A swap spends a cycle for a few percent of hashrate: only a unit's first of the day.
      if (u > 0 || !(sKw > runningTopKw + EPS)) swapSkip[i] = 1;
      if (Number.isFinite(sRisesAtMs)) revisitAtMs = Math.min(revisitAtMs, sRisesAtMs);
    }
  }
  return { onHoldMs, revisitAtMs };
}
