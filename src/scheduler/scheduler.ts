import type { Clock, TimerHandle } from '../clock.js';
import type { SchedulerConfig } from '../config/schema.js';
import type { DeviceApi, StratumLever } from '../fleet/control.js';
import type { Logger } from '../observability/logger.js';
import type { BudgetReading, BudgetSource } from '../power/budget-source.js';
import type { BudgetStatus, GuardOptions } from '../power/budget-guard.js';
import { supersedeCommand, type UnitCommand } from './commands.js';
import { topModeIndex, type FleetState, type FleetUnit } from './fleet-state.js';
import { holdSettings, rampLimitKwPerMin } from './policy.js';
import { wearPace } from './policy-wear.js';
import { BudgetMemory } from './budget-memory.js';
import { DeviceCommander, effectiveAtMs } from './device-commander.js';
import { RECONCILE_DEFAULTS, type ReconcileSettings } from './reconcile.js';
import { SchedulerCore, type Decision, type SchedulerSnapshot, type StepResult } from './scheduler-core.js';
import { applyState, captureState, restoredReading, type StateStore } from './state-store.js';
import { fleetFlexibility, type Flexibility } from './flexibility.js';
import { StatusPoller } from './status-poller.js';
import { LossEstimates } from './loss-estimates.js';
import { WearCount, type WearFigures } from './wear-count.js';


/**
 * The scheduler loop (issue 4): the thin I/O edge around SchedulerCore. It
 * re-plans on every budget reading and on a tick, issues the plan's commands
 * through each unit's DeviceApi at their staggered times (cuts first), falls
 * back to the Stratum lever when a unit has no API or a command fails, and
 * polls device status for measured power and availability.
 *
 * The loop owns time: re-plans, the per-unit issue timers, the tick and the
 * budget-guard wake-up. Issuing commands is DeviceCommander's part
 * (device-commander.ts), reading and reconciling status StatusPoller's
 * (status-poller.ts).
 */

export interface SchedulerOptions {
  /** Time and every timer of the loop (issue, tick, guard, cut acknowledgement). */
  clock: Clock;
  logger: Logger;
  settings: SchedulerConfig;
  fleet: FleetState;
  budget: BudgetSource;
  guard: GuardOptions;
  /**
   * Builds a device client for a unit with an `api`; called up to twice per unit: one
   * client for status reads, re-sends and increases, one for cuts only (issue 11 item 4).
   */
  drivers: (unit: FleetUnit) => DeviceApi;
  lever: StratumLever;
  /** Decisions kept for the snapshot. */
  maxDecisions?: number;
  /** Status reads in flight at once. */
  pollConcurrency?: number;
  /** Config `stateFile` (issue 7): restored before the first plan, saved after every change. */
  stateStore?: StateStore;
  /** Reported vs planned on/off state (reconcile.ts); defaults RECONCILE_DEFAULTS. */
  reconcile?: Partial<ReconcileSettings>;
  /**
   * Read device status on every tick (default true). `surplus simulate` turns it off: its
   * simulated devices always obey, and reading 5,000 of them every tick would be most of a
   * day's simulation time. Plans then count nominal draws, as before the first read.
   */
  statusPoll?: boolean;
}

export class Scheduler {
  private readonly core: SchedulerCore;
  private readonly commander: DeviceCommander;
  private readonly poller: StatusPoller;
  private readonly pending = new Set<TimerHandle>();
  /** Per unit index: the command waiting for its issue time, and its timer. */
  private readonly unitTimers = new Map<number, { handle: TimerHandle; command: UnitCommand }>();
  private readonly listeners = new Set<(d: Decision) => void>();
  private readonly stepListeners = new Set<(s: StepResult) => void>();
  private readonly commandListeners = new Set<(c: UnitCommand) => void>();
  private readonly wearCount: WearCount;
  private readonly losses: LossEstimates;
  private tickHandle: TimerHandle | undefined;
  private guardHandle: TimerHandle | undefined;
  private running = false;
  private lastStatus: BudgetStatus | undefined;
  private lastInfeasible = false;
  /** Boot hold, restored reading, when to save a reading (issue 12 item 5). */
  private readonly memory: BudgetMemory;
  private readonly onReading = (r: BudgetReading): void => {
    const { first, save } = this.memory.received(r);
    if (first) this.opts.logger.info({ kw: r.kw, source: r.source }, 'first budget reading since start');
    if (save) this.persist();
    // A refresh of an unchanged budget plans nothing new (a meter or a 1 s trace repeats its value).
    if (this.core.needsPlan(this.reading(), this.opts.clock.now())) this.replan('budget');
  };

  constructor(private readonly opts: SchedulerOptions) {
    this.memory = new BudgetMemory(opts.guard, opts.fleet);
    this.wearCount = new WearCount(opts.fleet.units.length, opts.fleet.units.map((u) => u.on));
    this.losses = new LossEstimates(opts.fleet);
    this.core = new SchedulerCore(opts.fleet, opts.settings, this.memory.guard, opts.maxDecisions ?? 200, (d) => {
      for (const l of this.listeners) l(d);
    });
    const isRunning = (): boolean => this.running;
    const isPending = (index: number): boolean => this.unitTimers.has(index);
    const { clock, logger, fleet } = opts;
    this.commander = new DeviceCommander({
      clock,
      logger,
      fleet,
      core: this.core,
      lever: opts.lever,
      drivers: opts.drivers,
      withholdGraceS: opts.settings.withholdGraceS,
      onIssue: (c) => {
        // Plan commands only: a re-assertion after a restart carries no decision and is no wear.
        if ((c.decisions?.length ?? 0) > 0) this.wearCount.add(c.index, c.action);
        if (c.action !== 'off') this.losses.started(c.index);
        for (const l of this.commandListeners) l(c);
      },
      // The wear budget spent (a switch-on, counted at issue) must survive a restart.
      onSwitchedOn: () => this.persist(),
      cutDeadlineS: opts.settings.cutDeadlineS,
      // Issue 11 item 4: a unit given up on counts at worst case now; the plan sheds others at once.
      onFault: () => void this.opts.clock.setTimeout(() => this.replan('device-fault'), 0),
      isRunning,
      isPending,
    });
    this.poller = new StatusPoller({
      clock,
      logger,
      fleet,
      core: this.core,
      commander: this.commander,
      reconcile: { ...RECONCILE_DEFAULTS, ...opts.reconcile },
      ...(opts.pollConcurrency === undefined ? {} : { pollConcurrency: opts.pollConcurrency }),
      isRunning,
      isPending,
      persist: () => this.persist(),
      adoptReported: () => this.memory.holding && this.core.verdict(this.reading(), this.opts.clock.now()).boot === true,
    });
  }

  /** Every decision (unit, from, to, reason, at) as it is made. */
  onDecision(listener: (d: Decision) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every plan (verdict, plan, commands before superseding) as it is made. */
  onStep(listener: (s: StepResult) => void): () => void {
    this.stepListeners.add(listener);
    return () => this.stepListeners.delete(listener);
  }

  /** Every command at the moment it is issued (to the device API or the Stratum lever). */
  onCommand(listener: (c: UnitCommand) => void): () => void {
    this.commandListeners.add(listener);
    return () => this.commandListeners.delete(listener);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.restore();
    this.withholdAssumedOff();
    this.opts.budget.on('reading', this.onReading);
    await this.opts.budget.start();
    if (!this.opts.budget.latest()) {
      // Issue 12 item 5: nobody could have posted a budget yet. A reading persisted before a
      // restart is resumed (live, then held); without one, or once it has run out, the devices
      // are held as they are for holdLastS (nothing is switched; the first status poll adopts
      // what they report), then the fail-safe applies as for a source gone silent.
      this.memory.beginHold(this.opts.clock.now());
      if (this.core.verdict(this.reading(), this.opts.clock.now()).boot) {
        const { holdLastS, failsafeKw } = this.memory.guard;
        this.opts.logger.warn({ holdLastS, failsafeKw }, 'no budget reading yet: holding the devices as they are until one arrives or the hold ends');
      }
      if (this.opts.statusPoll !== false) void this.pollStatus().finally(() => this.memory.refreshHeld());
    }
    this.replan('start');
    this.scheduleTick();
  }

  /** The reading the plan rests on: the source's latest, else the one persisted before a restart. */
  private reading(): BudgetReading | undefined {
    return this.memory.reading(this.opts.budget.latest());
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.opts.budget.off('reading', this.onReading);
    if (this.tickHandle !== undefined) this.opts.clock.clearTimeout(this.tickHandle);
    if (this.guardHandle !== undefined) this.opts.clock.clearTimeout(this.guardHandle);
    for (const h of this.pending) this.opts.clock.clearTimeout(h);
    this.pending.clear();
    for (const { command } of this.unitTimers.values()) this.core.settle(command, 'cancelled', 'scheduler stopped before its issue time');
    this.unitTimers.clear();
    await this.opts.budget.stop();
    this.commander.closeAll();
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
    const reading = restoredReading(state);
    this.memory.restore(reading);
    if (reading) this.opts.logger.info({ kw: reading.kw, source: reading.source, atMs: reading.atMs }, 'last budget reading restored');
    const r = applyState(this.opts.fleet, state, now);
    this.opts.logger.info({ restored: r.restored.length, off: r.off.length, skipped: r.skipped }, 'scheduler state restored');
    for (const id of r.off) {
      const u = this.opts.fleet.byId.get(id)!;
      const index = this.opts.fleet.units.indexOf(u);
      void this.commander.execute({ index, unitId: u.id, worker: u.worker, action: 'off', mode: u.mode, fromMode: u.mode, via: u.lever, atMs: now, decrease: true, ths: 0, reason: 'off before restart' });
    }
  }

  /**
   * A unit without a device API that the loop counts as off (a fleet built off, or restored
   * off) is withheld at start: otherwise it hashes on while counted at standby, and a later
   * "on" (a release) would change nothing.
   */
  private withholdAssumedOff(): void {
    const now = this.opts.clock.now();
    this.opts.fleet.units.forEach((u, index) => {
      if (u.on || u.lever !== 'stratum' || this.commander.lastCommands.has(u.id)) return;
      void this.commander.execute({ index, unitId: u.id, worker: u.worker, action: 'off', mode: u.mode, fromMode: u.mode, via: 'stratum', atMs: now, decrease: true, ths: 0, reason: 'counted off at start' });
    });
  }

  private persist(): void {
    const store = this.opts.stateStore;
    if (store) void store.save(captureState(this.opts.fleet, this.opts.clock.now(), this.commander.lastCommands, this.reading()));
  }

  /**
   * On/off cycles and mode changes per unit since start, and the modelled energy lost to
   * ramp-up and held back by the ramp limit, kWh (issue 12 item 7).
   */
  wear(): WearFigures & { rampUpLossKwh: number; rampLimitCostKwh: number; wearHeldKwh: number; wearHeldKw: number } {
    this.losses.advance(this.opts.clock.now());
    const l = this.losses;
    return { ...this.wearCount.figures(), rampUpLossKwh: l.rampUpKwh, rampLimitCostKwh: l.rampLimitKwh, wearHeldKwh: l.wearHeldKwh, wearHeldKw: l.wearHeldKw };
  }

  /** What the fleet can shed within the cut deadline and add within 1 and 5 minutes (issue 12 item 9). */
  flexibility(): Flexibility {
    const st = this.opts.settings;
    const fleetTopKw = this.opts.fleet.units.reduce((sum, u) => sum + u.modes[topModeIndex(u.modes)]!.kw, 0);
    return fleetFlexibility(this.opts.fleet, this.opts.clock.now(), {
      cutDeadlineS: st.cutDeadlineS,
      minOffS: st.minOffS,
      withholdGraceS: st.withholdGraceS,
      rampKwPerMin: rampLimitKwPerMin(st, fleetTopKw),
      maxCyclesPerDay: st.maxCyclesPerDay,
      wearPaceH: st.wearPaceH,
      wearPaceBurst: st.wearPaceBurst,
      wearPaceOffS: st.wearPaceOffS,
      holds: holdSettings(wearPace(st), this.core.budgetHistory(), st),
    });
  }

  snapshot(): SchedulerSnapshot {
    return this.core.snapshot(this.reading(), this.opts.clock.now());
  }

  /** Plans now and schedules the resulting commands. Returns the step (undefined when stopped). */
  replan(trigger: string): StepResult | undefined {
    if (!this.running) return undefined;
    const now = this.opts.clock.now();
    const reading = this.reading();
    const held = this.core.verdict(reading, now);
    if (held.boot) {
      // Before the first reading: no plan, no command (issue 12 item 5); re-plan when the hold ends.
      if (held.status !== this.lastStatus) this.lastStatus = held.status;
      this.watchGuard(held.changesAtMs);
      return undefined;
    }
    const step = this.core.step(reading, now);
    this.losses.planned(step.plan);
    for (const l of this.stepListeners) l(step);
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
        this.opts.clock.clearTimeout(stale.handle);
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
      this.poller.forget(command.unitId);
      const c = command;
      const h = this.at(c.atMs, () => {
        this.unitTimers.delete(c.index);
        void this.commander.execute(c);
      });
      this.unitTimers.set(c.index, { handle: h, command: c });
    }
    this.watchGuard(verdict.changesAtMs);
    this.commander.releaseRecovered();
    if (plan.changes > 0) this.persist();
    return step;
  }

  /** Reads every API unit's status (bounded concurrency); failures mark units unavailable. */
  pollStatus(): Promise<void> {
    return this.poller.pollStatus();
  }

  private scheduleTick(): void {
    this.tickHandle = this.opts.clock.setTimeout(() => {
      if (!this.running) return;
      const afterPoll = (): void => {
        if (!this.running) return;
        this.memory.refreshHeld();
        this.losses.advance(this.opts.clock.now());
        if (this.core.needsPlan(this.reading(), this.opts.clock.now())) this.replan('tick');
      };
      if (this.opts.statusPoll === false) afterPoll();
      else void this.pollStatus().finally(afterPoll);
      this.scheduleTick();
    }, this.opts.settings.tickS * 1000);
  }

  /** Re-plan the moment the budget verdict changes by itself (TTL expiry, end of hold), not a tick later. */
  private watchGuard(changesAtMs: number): void {
    if (this.guardHandle !== undefined) this.opts.clock.clearTimeout(this.guardHandle);
    this.guardHandle = undefined;
    if (!Number.isFinite(changesAtMs)) return;
    const delay = Math.max(0, changesAtMs + 1 - this.opts.clock.now());
    // Timers cap at ~24.8 days; a longer TTL is caught by the tick.
    if (delay > 2 ** 31 - 1) return;
    this.guardHandle = this.opts.clock.setTimeout(() => {
      this.guardHandle = undefined;
      this.replan('budget-guard');
    }, delay);
  }

  private at(atMs: number, fn: () => void): TimerHandle {
    const h = this.opts.clock.setTimeout(() => {
      this.pending.delete(h);
      fn();
    }, Math.max(0, atMs - this.opts.clock.now()));
    this.pending.add(h);
    return h;
  }
}

const round = (x: number): number => Math.round(x * 100) / 100;

