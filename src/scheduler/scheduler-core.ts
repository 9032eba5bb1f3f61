import type { SchedulerConfig } from '../config/schema.js';
import type { BudgetReading, LowAhead } from '../power/budget-source.js';
import { guardBudget, type BudgetVerdict, type GuardOptions } from '../power/budget-guard.js';
import { buildCommands, type UnitCommand } from './commands.js';
import { currentKw, type FleetState, type FleetUnit } from './fleet-state.js';
import { freshTargets, plan, type Plan, type RampMemory } from './policy.js';
import { recordOn } from './policy-wear.js';
import type { BudgetHistory } from './policy-anticipate.js';

/**
 * The scheduler's state machine without I/O: budget verdict -> plan ->
 * committed fleet state -> commands and decision records. The live loop
 * (scheduler.ts) and the simulator drive it with their own clocks and device
 * layers, so both run exactly this code.
 */

/**
 * What became of a plan decision's command: every decision ends as a command
 * issued, a command superseded by a newer plan before its issue time, a
 * fail-safe (the device command failed: the unit is withheld on the Stratum
 * side instead), or cancelled because the scheduler stopped first.
 */
export type DecisionOutcome = 'pending' | 'issued' | 'superseded' | 'failsafe' | 'cancelled';

export interface Decision {
  unitId: string;
  worker: string;
  /** "off" or the mode name. */
  from: string;
  to: string;
  reason: string;
  atMs: number;
  /** Plan decisions only (not availability changes): what became of the command. */
  outcome?: DecisionOutcome;
  /** Why, for a superseded or fail-safe outcome. */
  outcomeNote?: string;
}

/** Plan decisions by outcome, cumulative; `decided` = the sum of the others. */
export interface DecisionOutcomes {
  decided: number;
  pending: number;
  issued: number;
  superseded: number;
  failsafe: number;
  cancelled: number;
}

export interface UnitSnapshot {
  id: string;
  worker: string;
  state: 'on' | 'off';
  mode: string;
  /** Draw counted for the unit (measured when steady, nominal otherwise, worst case when unavailable). */
  kw: number;
  measured?: number;
  available: boolean;
  /** ISO time the unit last switched on/off; null when unknown. */
  since: string | null;
  reason: string;
}

export interface SchedulerSnapshot {
  budget: { kw: number; status: BudgetVerdict['status']; source: string | null; reason: string; lowAhead?: LowAhead };
  plannedKw: number;
  measuredKw: number;
  plannedThs: number;
  cut: boolean;
  infeasible: boolean;
  limitedBy: Plan['limitedBy'] | null;
  atMs: number | null;
  units: UnitSnapshot[];
  decisions: Decision[];
  /** Plan decisions by outcome (optional for hand-built snapshots). */
  outcomes?: DecisionOutcomes;
}

export interface StepResult {
  verdict: BudgetVerdict;
  plan: Plan;
  commands: UnitCommand[];
}

const modeLabel = (u: FleetUnit, on: boolean, mode: number): string => (on ? u.modes[mode]!.name : 'off');

export class SchedulerCore {
  private ramp: RampMemory | undefined;
  private lastPlan: Plan | undefined;
  private lastVerdict: BudgetVerdict | undefined;
  private readonly decisions: Decision[] = [];
  /**
   * Per unit, a reason that stands in for the last plan's (before any plan, or set outside a
   * plan such as `unavailable: ...`) until a plan gives the unit a new target; undefined: the
   * last plan's target reason. Kept this way so a plan stores nothing for the thousands of
   * units whose reason it only re-words ("held on: ... 41 s left"): storing each new string
   * into a long-lived array was a write barrier per unit and plan (issue 12 item 10).
   */
  private readonly reasons: (string | undefined)[];
  private readonly tally: DecisionOutcomes = { decided: 0, pending: 0, issued: 0, superseded: 0, failsafe: 0, cancelled: 0 };
  private dirty = true;

  constructor(
    readonly fleet: FleetState,
    private readonly settings: SchedulerConfig,
    private readonly guard: GuardOptions,
    private readonly maxDecisions = 200,
    private readonly onDecision?: (d: Decision) => void,
  ) {
    this.reasons = fleet.units.map(() => 'not planned yet');
  }

  verdict(reading: BudgetReading | undefined, nowMs: number): BudgetVerdict {
    return guardBudget(reading, nowMs, this.guard);
  }

  /** True when a plan now could differ from the last one (budget, fleet or a min-time/ramp horizon). */
  needsPlan(reading: BudgetReading | undefined, nowMs: number): boolean {
    if (this.dirty || !this.lastPlan || !this.lastVerdict) return true;
    const v = this.verdict(reading, nowMs);
    if (v.kw !== this.lastVerdict.kw || v.status !== this.lastVerdict.status || v.lowAhead?.kw !== this.lastVerdict.lowAhead?.kw) return true;
    return nowMs >= this.lastPlan.revisitAtMs;
  }

  /** Plans, commits the targets to the fleet state and returns the commands to issue. */
  step(reading: BudgetReading | undefined, nowMs: number): StepResult {
    const verdict = this.verdict(reading, nowMs);
    const p = plan(verdict.kw, this.fleet, nowMs, this.settings, this.ramp, verdict.lowAhead?.kw);
    const commands = p.changes > 0 ? buildCommands(p, this.fleet, this.settings) : [];
    const byIndex = commands.length > 0 ? new Map(commands.map((c) => [c.index, c])) : undefined;
    // A target the policy reused from the last plan is unchanged and its reason already stored:
    // skipping it by identity spares a walk over every unit's target (issue 12 item 10). A plain
    // indexed loop: this runs over every unit on every plan (5,000 units, ~50,000 plans a day).
    const last = this.lastPlan?.targets;
    const targets = p.targets;
    const units = this.fleet.units;
    const reasons = this.reasons;
    const same = last !== undefined && last.length === targets.length;
    // Only the targets that are not the last plan's objects, when the plan says which (the walk
    // below skips the others anyway).
    const fresh = same ? freshTargets(p, last) : undefined;
    const count = fresh !== undefined ? fresh.length : targets.length;
    for (let w = 0; w < count; w++) {
      const i = fresh !== undefined ? fresh[w]! : w;
      const t = targets[i]!;
      if (same && last[i] === t) continue;
      if (reasons[i] !== undefined) reasons[i] = undefined;
      if (!t.changed) continue;
      const u = units[i]!;
      const d: Decision = { unitId: u.id, worker: u.worker, from: modeLabel(u, u.on, u.mode), to: modeLabel(u, t.on, t.mode), reason: t.reason, atMs: nowMs, outcome: 'pending' };
      this.tally.decided++;
      this.tally.pending++;
      const c = byIndex?.get(i);
      if (c) c.decisions = [d];
      this.record(d);
      if (t.on !== u.on) u.sinceMs = nowMs;
      u.on = t.on;
      u.mode = t.mode;
      u.changedAtMs = nowMs;
    }
    this.ramp = p.ramp;
    this.lastPlan = p;
    this.lastVerdict = verdict;
    this.dirty = false;
    return { verdict, plan: p, commands };
  }

  /**
   * Settles the decisions `c` realises (once each): issued, superseded by a
   * newer plan's command, fail-safe, or cancelled.
   */
  settle(c: UnitCommand, outcome: Exclude<DecisionOutcome, 'pending'>, note?: string): void {
    // The wear budget counts switch-ons that reached the device, not plans a newer plan superseded.
    if (outcome === 'issued' && c.action === 'on') {
      const u = this.fleet.units[c.index];
      if (u) recordOn(u, c.atMs);
    }
    for (const d of c.decisions ?? []) {
      if (d.outcome !== 'pending') continue;
      d.outcome = outcome;
      if (note !== undefined) d.outcomeNote = note;
      this.tally.pending--;
      this.tally[outcome]++;
    }
  }

  /** Plan decisions by outcome so far. */
  get outcomes(): DecisionOutcomes {
    return { ...this.tally };
  }

  /** A command or status read failed: count the unit at worst case until it reports again. */
  markUnavailable(unitId: string, nowMs: number, why: string): boolean {
    const u = this.fleet.byId.get(unitId);
    if (!u || !u.available) return false;
    u.available = false;
    this.dirty = true;
    const i = this.fleet.units.indexOf(u);
    this.reasons[i] = `unavailable: ${why}`;
    this.record({ unitId: u.id, worker: u.worker, from: modeLabel(u, u.on, u.mode), to: 'unavailable', reason: why, atMs: nowMs });
    return true;
  }

  /**
   * A status read succeeded. An unavailable unit comes back with the state it
   * reports (softoff flag, workmode), unless `holdUnavailable`; measured wall
   * power is recorded.
   */
  reportStatus(unitId: string, status: { on?: boolean; mode?: number; measuredKw?: number }, nowMs: number, holdUnavailable = false): { cameBack: boolean } {
    const u = this.fleet.byId.get(unitId);
    if (!u) return { cameBack: false };
    let cameBack = false;
    // Held: the unit reports, but in a state the plan did not want (reconcile.ts); only its draw is taken.
    if (!u.available && !holdUnavailable) {
      cameBack = true;
      u.available = true;
      this.dirty = true;
      if (status.on !== undefined && status.on !== u.on) {
        u.on = status.on;
        u.sinceMs = nowMs;
        u.changedAtMs = nowMs;
      }
      if (status.mode !== undefined) u.mode = status.mode;
      this.record({ unitId: u.id, worker: u.worker, from: 'unavailable', to: modeLabel(u, u.on, u.mode), reason: 'reporting again', atMs: nowMs });
    }
    if (status.measuredKw !== undefined) {
      const before = currentKw(u);
      u.measuredKw = status.measuredKw;
      u.measuredAtMs = nowMs;
      // Only a meaningful change of the counted draw justifies a re-plan.
      if (Math.abs(currentKw(u) - before) > 0.05) this.dirty = true;
    }
    return { cameBack };
  }

  /**
   * The first reading of a unit that no command has touched yet: the mode it
   * was assumed to run in at start is replaced by the one it reports, and the
   * next plan starts from that (issue 13: the assumption was "reconciled" with
   * a WARN and a re-sent workmode on every healthy start). Returns false when
   * there was nothing to adopt.
   */
  adoptMode(unitId: string, mode: number): boolean {
    const u = this.fleet.byId.get(unitId);
    if (!u || !u.on || !u.available || mode < 0 || mode >= u.modes.length || mode === u.mode) return false;
    u.mode = mode;
    this.dirty = true;
    return true;
  }

  /** Records what the loop found and did about a unit outside a plan (device state reconciliation). */
  note(unitId: string, from: string, reason: string, nowMs: number): void {
    const u = this.fleet.byId.get(unitId);
    if (!u) return;
    this.record({ unitId: u.id, worker: u.worker, from, to: u.available ? modeLabel(u, u.on, u.mode) : 'unavailable', reason, atMs: nowMs });
  }

  /** The budget's history as the last plan kept it (undefined before any plan): what the switch-on holds read. */
  budgetHistory(): BudgetHistory | undefined {
    return this.ramp?.history;
  }

  snapshot(reading: BudgetReading | undefined, nowMs: number): SchedulerSnapshot {
    const v = this.verdict(reading, nowMs);
    const p = this.lastPlan;
    let measuredKw = 0;
    const units = this.fleet.units.map((u, i): UnitSnapshot => {
      if (u.measuredKw !== undefined) measuredKw += u.measuredKw;
      const s: UnitSnapshot = {
        id: u.id,
        worker: u.worker,
        state: u.on ? 'on' : 'off',
        mode: u.modes[u.mode]!.name,
        kw: currentKw(u),
        available: u.available,
        since: Number.isFinite(u.sinceMs) ? new Date(u.sinceMs).toISOString() : null,
        reason: this.reasons[i] ?? p!.targets[i]!.reason,
      };
      if (u.measuredKw !== undefined) s.measured = u.measuredKw;
      return s;
    });
    return {
      budget: { kw: v.kw, status: v.status, source: v.source ?? null, reason: v.reason, ...(v.lowAhead ? { lowAhead: v.lowAhead } : {}) },
      plannedKw: p?.plannedKw ?? 0,
      measuredKw,
      plannedThs: p?.plannedThs ?? 0,
      cut: p?.cut ?? false,
      infeasible: p?.infeasible ?? false,
      limitedBy: p?.limitedBy ?? null,
      atMs: p?.atMs ?? null,
      units,
      decisions: this.decisions.map((d) => ({ ...d })),
      outcomes: this.outcomes,
    };
  }

  private record(d: Decision): void {
    this.decisions.push(d);
    if (this.decisions.length > this.maxDecisions) this.decisions.splice(0, this.decisions.length - this.maxDecisions);
    this.onDecision?.(d);
  }
}
