import type { Clock } from '../clock.js';
import type { SchedulerConfig } from '../config/schema.js';
import type { DeviceApi, DeviceStatus, StratumLever } from '../fleet/control.js';
import type { Logger } from '../observability/logger.js';
import type { BudgetSource } from '../power/budget-source.js';
import type { BudgetStatus, GuardOptions } from '../power/budget-guard.js';
import { supersedeCommand, type UnitCommand } from './commands.js';
import type { FleetState, FleetUnit } from './fleet-state.js';
import { mismatchOf, RECONCILE_DEFAULTS, reconcileStep, settledAtMs, type Mismatch, type ReconcileSettings, type ReconcileTrack } from './reconcile.js';
import { SchedulerCore, type Decision, type SchedulerSnapshot, type StepResult } from './scheduler-core.js';
import { applyState, captureState, type StateStore } from './state-store.js';

/**
 * The scheduler loop (issue 4): the thin I/O edge around SchedulerCore. It
 * re-plans on every budget reading and on a tick, issues the plan's commands
 * through each unit's DeviceApi at their staggered times (cuts first), falls
 * back to the Stratum lever when a unit has no API or a command fails, and
 * polls device status for measured power and availability.
 */

/** Timer functions, injectable so the loop runs under fake timers or simulated time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

// Resolved at call time so vi.useFakeTimers() installed after import still applies.
export const globalTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface SchedulerOptions {
  clock: Clock;
  logger: Logger;
  settings: SchedulerConfig;
  fleet: FleetState;
  budget: BudgetSource;
  guard: GuardOptions;
  /** Builds the device client for a unit with an `api`; called once per unit. */
  drivers: (unit: FleetUnit) => DeviceApi;
  lever: StratumLever;
  timers?: Timers;
  /** Decisions kept for the snapshot. */
  maxDecisions?: number;
  /** Status reads in flight at once. */
  pollConcurrency?: number;
  /** Config `stateFile` (issue 7): restored before the first plan, saved after every change. */
  stateStore?: StateStore;
  /** Reported vs planned on/off state (reconcile.ts); defaults RECONCILE_DEFAULTS. */
  reconcile?: Partial<ReconcileSettings>;
}

export class Scheduler {
  private readonly core: SchedulerCore;
  private readonly timers: Timers;
  private readonly apis = new Map<string, DeviceApi>();
  private readonly withheld = new Set<string>();
  private readonly pending = new Set<unknown>();
  /** Per unit index: the command waiting for its issue time, and its timer. */
  private readonly unitTimers = new Map<number, { handle: unknown; command: UnitCommand }>();
  private readonly listeners = new Set<(d: Decision) => void>();
  private tickHandle: unknown;
  private guardHandle: unknown;
  private running = false;
  private polling = false;
  private lastStatus: BudgetStatus | undefined;
  private lastInfeasible = false;
  private readonly lastCommands = new Map<string, { action: string; atMs: number }>();
  private readonly indexById: ReadonlyMap<string, number>;
  private readonly reconcile: ReconcileSettings;
  /** Open reconciliation episodes by unit id: the device reports the opposite of the plan. */
  private readonly tracks = new Map<string, ReconcileTrack>();
  private readonly onReading = (): void => {
    this.replan('budget');
  };

  constructor(private readonly opts: SchedulerOptions) {
    this.timers = opts.timers ?? globalTimers;
    this.indexById = new Map(opts.fleet.units.map((u, i) => [u.id, i]));
    this.reconcile = { ...RECONCILE_DEFAULTS, ...opts.reconcile };
    this.core = new SchedulerCore(opts.fleet, opts.settings, opts.guard, opts.maxDecisions ?? 200, (d) => {
      for (const l of this.listeners) l(d);
    });
  }

  /** Every decision (unit, from, to, reason, at) as it is made. */
  onDecision(listener: (d: Decision) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.restore();
    this.opts.budget.on('reading', this.onReading);
    await this.opts.budget.start();
    this.replan('start');
    this.scheduleTick();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.opts.budget.off('reading', this.onReading);
    if (this.tickHandle !== undefined) this.timers.clearTimeout(this.tickHandle);
    if (this.guardHandle !== undefined) this.timers.clearTimeout(this.guardHandle);
    for (const h of this.pending) this.timers.clearTimeout(h);
    this.pending.clear();
    for (const { command } of this.unitTimers.values()) this.core.settle(command, 'cancelled', 'scheduler stopped before its issue time');
    this.unitTimers.clear();
    await this.opts.budget.stop();
    for (const api of this.apis.values()) api.close();
    this.apis.clear();
    await this.opts.stateStore?.flush();
  }

  /**
   * Restores persisted unit state before the first plan: a unit that was off
   * stays off since its recorded time (minOffS and the ramp still apply), and
   * its lever is re-asserted, since neither this process's Stratum side nor a
   * device that rebooted remembers it.
   */
  private async restore(): Promise<void> {
    const store = this.opts.stateStore;
    if (!store) return;
    const state = await store.load();
    if (!state) return;
    const now = this.opts.clock.now();
    const r = applyState(this.opts.fleet, state, now);
    this.opts.logger.info({ restored: r.restored.length, off: r.off.length, skipped: r.skipped }, 'scheduler state restored');
    for (const id of r.off) {
      const u = this.opts.fleet.byId.get(id)!;
      const index = this.opts.fleet.units.indexOf(u);
      void this.execute({ index, unitId: u.id, worker: u.worker, action: 'off', mode: u.mode, fromMode: u.mode, via: u.lever, atMs: now, decrease: true, ths: 0, reason: 'off before restart' });
    }
  }

  private persist(): void {
    const store = this.opts.stateStore;
    if (store) void store.save(captureState(this.opts.fleet, this.opts.clock.now(), this.lastCommands));
  }

  snapshot(): SchedulerSnapshot {
    return this.core.snapshot(this.opts.budget.latest(), this.opts.clock.now());
  }

  /** Plans now and schedules the resulting commands. Returns the step (undefined when stopped). */
  replan(trigger: string): StepResult | undefined {
    if (!this.running) return undefined;
    const now = this.opts.clock.now();
    const step = this.core.step(this.opts.budget.latest(), now);
    const { verdict, plan, commands } = step;
    if (verdict.status !== this.lastStatus) {
      const log = verdict.status === 'live' ? this.opts.logger.info : this.opts.logger.warn;
      log.call(this.opts.logger, { budgetStatus: verdict.status, kw: verdict.kw, source: verdict.source }, verdict.reason);
      this.lastStatus = verdict.status;
    }
    // Logged when it starts and when it ends, not on every re-plan (a schedule source re-plans every 250 ms).
    if (plan.infeasible !== this.lastInfeasible) {
      this.lastInfeasible = plan.infeasible;
      if (plan.infeasible) this.opts.logger.warn({ budgetKw: plan.budgetKw, plannedKw: round(plan.plannedKw) }, 'budget below the all-off draw: everything off');
      else this.opts.logger.info({ budgetKw: plan.budgetKw }, 'budget above the all-off draw again');
    }
    if (commands.length > 0) {
      this.opts.logger.info(
        { trigger, budgetKw: plan.budgetKw, plannedKw: round(plan.plannedKw), plannedThs: round(plan.plannedThs), cut: plan.cut, commands: commands.length, limitedBy: plan.limitedBy },
        plan.cut ? 'budget cut: shedding' : 'plan changed',
      );
    }
    for (const next of commands) {
      // A newer plan supersedes the unit's command that has not been issued yet.
      let command = next;
      const stale = this.unitTimers.get(next.index);
      if (stale !== undefined) {
        this.timers.clearTimeout(stale.handle);
        this.pending.delete(stale.handle);
        const merged = supersedeCommand(stale.command, next);
        command = merged.command;
        // Off, the unit keeps the mode its device still has selected (what its next softon starts from).
        if (command.action === 'off') this.opts.fleet.units[command.index]!.mode = command.fromMode;
        if (!merged.carried) {
          this.core.settle(stale.command, 'superseded', `by ${next.action} before its issue time`);
          this.opts.logger.debug({ unit: next.unitId, was: stale.command.action, now: next.action }, 'pending command superseded');
        }
      }
      // Until the command takes effect and the unit has ramped, its wall-power reading
      // (standby, or part of a ramp) is not its steady draw (measuredIsSteady): the ramp
      // starts when the device sees the command; execute() moves it again if issued late.
      if (command.action !== 'off') {
        const u = this.opts.fleet.units[command.index]!;
        u.rampFromMs = effectiveAtMs(command, u, command.atMs);
      }
      // A new plan for the unit starts its reconciliation afresh.
      this.tracks.delete(command.unitId);
      const c = command;
      const h = this.at(c.atMs, () => {
        this.unitTimers.delete(c.index);
        void this.execute(c);
      });
      this.unitTimers.set(c.index, { handle: h, command: c });
    }
    this.watchGuard(verdict.changesAtMs);
    this.releaseRecovered();
    if (plan.changes > 0) this.persist();
    return step;
  }

  /** Reads every API unit's status (bounded concurrency); failures mark units unavailable. */
  async pollStatus(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const units = this.opts.fleet.units.filter((u) => u.lever === 'api');
      const width = Math.max(1, this.opts.pollConcurrency ?? 32);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < units.length && this.running) await this.pollOne(units[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(width, units.length) }, worker));
    } finally {
      this.polling = false;
    }
  }

  private async pollOne(u: FleetUnit): Promise<void> {
    let status: DeviceStatus;
    try {
      status = await this.api(u).readStatus();
    } catch (err) {
      if (this.core.markUnavailable(u.id, this.opts.clock.now(), `status read failed: ${(err as Error).message}`)) {
        this.opts.logger.warn({ unit: u.id, err: (err as Error).message }, 'unit not reporting: counted at worst-case draw');
      }
      return;
    }
    const held = this.reconcileUnit(u, status);
    const mode = status.workmode === undefined ? undefined : u.modes.findIndex((m) => (m.workmode ?? m.configIndex) === status.workmode);
    const { cameBack } = this.core.reportStatus(
      u.id,
      { on: !status.softOff, ...(mode !== undefined && mode >= 0 ? { mode } : {}), ...(status.wallPowerW !== undefined ? { measuredKw: status.wallPowerW / 1000 } : {}) },
      this.opts.clock.now(),
      held,
    );
    if (cameBack) {
      // Not released here: a unit whose softoff failed reports itself on, and the
      // next plan (due now: the fleet changed) decides whether it may hash again.
      this.opts.logger.info({ unit: u.id }, 'unit reporting again');
      this.persist();
    }
  }

  /**
   * Compares the report with the plan (reconcile.ts) and acts: re-sends the
   * lost softon/softoff, gives up like a failing command when the retries are
   * used up. A unit planned off that reports working is counted unavailable at
   * once (worst case, at least its measured draw), never silently as off.
   * Returns true while the unit must stay unavailable although it reports.
   */
  private reconcileUnit(u: FleetUnit, status: DeviceStatus): boolean {
    const track = this.tracks.get(u.id);
    // Unavailable for another reason (a failed command or read): it comes back with the state it reports.
    if (!u.available && !track) return false;
    const nowMs = this.opts.clock.now();
    const settings = this.reconcile;
    const r = reconcileStep(track, mismatchOf(u, status, settings.drawShare), {
      nowMs,
      settledAtMs: settledAtMs(u, this.lastCommands.get(u.id)?.atMs ?? -Infinity, settings.marginMs),
      pending: this.unitTimers.has(this.indexById.get(u.id)!),
    }, settings);
    if (r.track) this.tracks.set(u.id, r.track);
    else this.tracks.delete(u.id);
    const log = this.opts.logger;
    const reported = { softOff: status.softOff, state: status.state, ...(status.wallPowerW !== undefined ? { wallPowerW: status.wallPowerW } : {}) };
    if (r.action === 'cleared') log.info({ unit: u.id, reported }, 'device reports its planned state again');
    const t = r.track;
    if (!t) return false;
    const command = t.kind === 'reports-off' ? 'softon' : 'softoff';
    if (r.firstConfirm) {
      const reason = t.kind === 'reports-off' ? 'device reports off while planned on: re-sending softon' : 'device reports working while planned off: counted at its draw, re-sending softoff';
      log.warn({ unit: u.id, reported }, reason);
      // Under-counting is the dangerous side: a planned-off unit that draws counts at worst case from now on.
      if (t.kind === 'reports-on') this.core.markUnavailable(u.id, nowMs, reason);
      else this.core.note(u.id, 'off', reason, nowMs);
    }
    if (r.action === 'resend') void this.resend(u, t.kind, status);
    if (r.action === 'give-up') {
      const reported = t.kind === 'reports-off' ? 'off' : 'working';
      const why = `device still reports ${reported} after ${t.retries} re-sent ${command}s`;
      log.warn({ unit: u.id, retries: t.retries }, `${why}: unit unavailable, Stratum fail-safe`);
      if (!this.core.markUnavailable(u.id, nowMs, why)) this.core.note(u.id, reported, `${why}: Stratum fail-safe`, nowMs);
      this.withhold(u, why);
    }
    return !u.available;
  }

  /** Re-sends the command the device lost (and its workmode, when it came back in another one). */
  private async resend(u: FleetUnit, kind: Mismatch, status: DeviceStatus): Promise<void> {
    if (!this.running) return;
    const nowMs = this.opts.clock.now();
    const atUnixS = aheadUnixS(nowMs, u);
    const action = kind === 'reports-off' ? 'on' : 'off';
    this.lastCommands.set(u.id, { action, atMs: nowMs });
    try {
      const api = this.api(u);
      if (action === 'off') await api.softOff(atUnixS);
      else {
        const m = u.modes[u.mode]!;
        const workmode = m.workmode ?? m.configIndex;
        if (status.workmode !== undefined && status.workmode !== workmode) await api.setWorkmode(workmode);
        await api.softOn(atUnixS);
        // Its draw ramps again from the softon's second (measuredIsSteady).
        u.rampFromMs = atUnixS * 1000;
      }
      this.opts.logger.debug({ unit: u.id, action, retry: this.tracks.get(u.id)?.retries }, 'command re-sent');
    } catch (err) {
      this.opts.logger.warn({ unit: u.id, action, err: (err as Error).message }, 'device command failed: Stratum fail-safe');
      this.core.markUnavailable(u.id, this.opts.clock.now(), `re-sent ${action} failed: ${(err as Error).message}`);
      this.withhold(u, `re-sent ${action} failed`);
    }
  }

  private scheduleTick(): void {
    this.tickHandle = this.timers.setTimeout(() => {
      if (!this.running) return;
      void this.pollStatus().finally(() => {
        if (!this.running) return;
        if (this.core.needsPlan(this.opts.budget.latest(), this.opts.clock.now())) this.replan('tick');
      });
      this.scheduleTick();
    }, this.opts.settings.tickS * 1000);
  }

  /** Withheld API units that report again and are planned on, with no command pending, may hash again. */
  private releaseRecovered(): void {
    for (const worker of this.withheld) {
      const u = this.opts.fleet.byWorker.get(worker);
      if (!u || u.lever !== 'api' || !u.available || !u.on) continue;
      if (this.unitTimers.has(this.opts.fleet.units.indexOf(u))) continue;
      this.release(u);
    }
  }

  /** Re-plan the moment the budget verdict changes by itself (TTL expiry, end of hold), not a tick later. */
  private watchGuard(changesAtMs: number): void {
    if (this.guardHandle !== undefined) this.timers.clearTimeout(this.guardHandle);
    this.guardHandle = undefined;
    if (!Number.isFinite(changesAtMs)) return;
    const delay = Math.max(0, changesAtMs + 1 - this.opts.clock.now());
    // Timers cap at ~24.8 days; a longer TTL is caught by the tick.
    if (delay > 2 ** 31 - 1) return;
    this.guardHandle = this.timers.setTimeout(() => {
      this.guardHandle = undefined;
      this.replan('budget-guard');
    }, delay);
  }

  private at(atMs: number, fn: () => void): unknown {
    const h = this.timers.setTimeout(() => {
      this.pending.delete(h);
      fn();
    }, Math.max(0, atMs - this.opts.clock.now()));
    this.pending.add(h);
    return h;
  }

  private api(u: FleetUnit): DeviceApi {
    let api = this.apis.get(u.id);
    if (!api) {
      api = this.opts.drivers(u);
      this.apis.set(u.id, api);
    }
    return api;
  }

  private async execute(c: UnitCommand): Promise<void> {
    if (!this.running) {
      this.core.settle(c, 'cancelled', 'scheduler stopped');
      return;
    }
    const u = this.opts.fleet.units[c.index]!;
    const lever = this.opts.lever;
    const log = this.opts.logger;
    this.lastCommands.set(u.id, { action: c.action, atMs: this.opts.clock.now() });
    if (c.action !== 'off' && c.ths > 0) lever.expectHashrate(u.worker, c.ths);
    if (c.via === 'stratum') {
      if (c.action === 'off') this.withhold(u, c.reason);
      else if (c.action === 'on') this.release(u);
      this.core.settle(c, 'issued');
      return;
    }
    // Avalon wants the softoff/softon time a few seconds ahead of its own clock.
    const atUnixS = aheadUnixS(this.opts.clock.now(), u);
    const mode = u.modes[c.mode]!;
    try {
      const api = this.api(u);
      if (c.action === 'off') await api.softOff(atUnixS);
      else {
        if (c.action === 'mode' || c.mode !== c.fromMode) await api.setWorkmode(mode.workmode ?? mode.configIndex);
        if (c.action === 'on') await api.softOn(atUnixS);
      }
      log.debug({ unit: u.id, action: c.action, mode: mode.name }, 'command sent');
      this.core.settle(c, 'issued');
      // A workmode change applies before the device answers; a softon at the second it names.
      // (A newer command already waiting for this unit has set its own time.)
      if (c.action !== 'off' && !this.unitTimers.has(c.index)) u.rampFromMs = c.action === 'on' ? atUnixS * 1000 : this.opts.clock.now();
      if (c.action === 'on') this.release(u);
    } catch (err) {
      log.warn({ unit: u.id, action: c.action, err: (err as Error).message }, 'device command failed: Stratum fail-safe');
      this.core.settle(c, 'failsafe', `${c.action} failed: ${(err as Error).message}; withheld on the Stratum side`);
      this.core.markUnavailable(u.id, this.opts.clock.now(), `${c.action} failed: ${(err as Error).message}`);
      this.withhold(u, `${c.action} failed`);
    }
  }

  private withhold(u: FleetUnit, why: string): void {
    if (this.withheld.has(u.worker)) return;
    this.withheld.add(u.worker);
    this.opts.logger.info({ unit: u.id, worker: u.worker, why }, 'withholding jobs');
    this.opts.lever.withhold(u.worker, this.opts.settings.withholdGraceS);
  }

  private release(u: FleetUnit): void {
    if (!this.withheld.delete(u.worker)) return;
    this.opts.logger.info({ unit: u.id, worker: u.worker }, 'releasing worker');
    this.opts.lever.release(u.worker);
  }
}

const round = (x: number): number => Math.round(x * 100) / 100;

/** The whole Unix second, softoffDelayS ahead, that a softoff/softon issued at `nowMs` names. */
const aheadUnixS = (nowMs: number, u: FleetUnit): number => Math.ceil((nowMs + u.softoffDelayS * 1000) / 1000);

/** When a command issued at `issuedAtMs` changes the unit: a softon at its named second, anything else at once. */
function effectiveAtMs(c: UnitCommand, u: FleetUnit, issuedAtMs: number): number {
  return c.action === 'on' && c.via === 'api' ? aheadUnixS(issuedAtMs, u) * 1000 : issuedAtMs;
}

/** The command that replaces a pending `stale` one with `next` (see supersedeCommand in commands.ts). */
export function supersede(stale: UnitCommand, next: UnitCommand): UnitCommand {
  return supersedeCommand(stale, next).command;
}
