import type { Clock, TimerHandle } from '../clock.js';
import type { DeviceApi, DeviceStatus, StratumLever } from '../fleet/control.js';
import type { Logger } from '../observability/logger.js';
import type { UnitCommand } from './commands.js';
import { workmodeNumber, type FleetState, type FleetUnit } from './fleet-state.js';
import { plannedWorkmode, type Mismatch } from './reconcile.js';
import type { SchedulerCore } from './scheduler-core.js';

/**
 * The scheduler's hands: issues a unit's command through its DeviceApi (or the
 * Stratum lever for units without one), re-sends what a device lost, and falls
 * back to withholding the worker when a device command fails. Owns the device
 * clients, the set of withheld workers and each unit's last command time.
 *
 * Cuts have their own client per device (issue 11 item 4): a device client
 * serialises its requests, so a softoff queued behind a status read of a
 * device that just stopped answering (and that read's retries) went out
 * 14.4 s after the cut. And a cut not acknowledged within half the cut
 * deadline is given up on at once: the unit counts at worst case, its jobs
 * are withheld, and the loop re-plans so other units are shed in time.
 */

export interface DeviceCommanderOptions {
  clock: Clock;
  logger: Logger;
  fleet: FleetState;
  core: SchedulerCore;
  lever: StratumLever;
  /** Builds the device client for a unit with an `api`; called once per unit. */
  drivers: (unit: FleetUnit) => DeviceApi;
  /** Config `scheduler.withholdGraceS`. */
  withholdGraceS: number;
  /** False once the scheduler stopped: commands still due are cancelled. */
  isRunning(): boolean;
  /** True while a command for the unit at `index` waits for its issue time. */
  isPending(index: number): boolean;
  /** Config `scheduler.cutDeadlineS`: a cut not acknowledged within half of it is given up on. */
  cutDeadlineS?: number;
  /** A unit was given up on (counted at worst case): re-plan now, not at the next tick. */
  onFault?(): void;
  /** Called with every command as it is issued (simulator books, tests). */
  onIssue?(c: UnitCommand): void;
  /** Called once a switch-on has been settled as issued (its wear counted): the state file saves it. */
  onSwitchedOn?(c: UnitCommand): void;
}

/** What the state file keeps of the last command per unit. */
export interface LastCommand {
  action: string;
  atMs: number;
}

export class DeviceCommander {
  private readonly apis = new Map<string, DeviceApi>();
  /** Per unit, the client that carries cuts only (never queued behind a read or a re-send). */
  private readonly cutApis = new Map<string, DeviceApi>();
  private readonly withheld = new Set<string>();
  /** Last command per unit id (state file, reconciliation's settle time). */
  readonly lastCommands = new Map<string, LastCommand>();

  constructor(private readonly opts: DeviceCommanderOptions) {}

  /** The unit's device client, built on first use. */
  api(u: FleetUnit): DeviceApi {
    return this.clientOf(this.apis, u);
  }

  /** The unit's client for cuts, built on first use. */
  cutApi(u: FleetUnit): DeviceApi {
    return this.clientOf(this.cutApis, u);
  }

  private clientOf(clients: Map<string, DeviceApi>, u: FleetUnit): DeviceApi {
    let api = clients.get(u.id);
    if (!api) {
      api = this.opts.drivers(u);
      clients.set(u.id, api);
    }
    return api;
  }

  /** Closes every device client (scheduler stop). */
  closeAll(): void {
    for (const api of this.apis.values()) api.close();
    for (const api of this.cutApis.values()) api.close();
    this.apis.clear();
    this.cutApis.clear();
  }

  async execute(c: UnitCommand): Promise<void> {
    const { core, clock, logger: log, lever } = this.opts;
    if (!this.opts.isRunning()) {
      core.settle(c, 'cancelled', 'scheduler stopped');
      return;
    }
    const u = this.opts.fleet.units[c.index]!;
    this.lastCommands.set(u.id, { action: c.action, atMs: clock.now() });
    this.opts.onIssue?.(c);
    if (c.action !== 'off' && c.ths > 0) lever.expectHashrate(u.worker, c.ths);
    if (c.via === 'stratum') {
      if (c.action === 'off') this.withhold(u, c.reason);
      else if (c.action === 'on') this.release(u);
      core.settle(c, 'issued');
      if (c.action === 'on') this.opts.onSwitchedOn?.(c);
      return;
    }
    // Avalon wants the softoff/softon time a few seconds ahead of its own clock.
    const atUnixS = aheadUnixS(clock.now(), u);
    const mode = u.modes[c.mode]!;
    const ack = c.decrease ? this.watchAck(c, u) : undefined;
    try {
      const api = c.decrease ? this.cutApi(u) : this.api(u);
      if (c.action === 'off') await api.softOff(atUnixS);
      else {
        if (c.action === 'mode' || c.mode !== c.fromMode) await api.setWorkmode(workmodeNumber(mode));
        if (c.action === 'on') await api.softOn(atUnixS);
      }
      log.debug({ unit: u.id, action: c.action, mode: mode.name }, 'command sent');
      if (ack) clock.clearTimeout(ack);
      core.settle(c, 'issued');
      if (c.action === 'on') this.opts.onSwitchedOn?.(c);
      // A workmode change applies before the device answers; a softon at the second it names.
      // (A newer command already waiting for this unit has set its own time.)
      if (c.action !== 'off' && !this.opts.isPending(c.index)) u.rampFromMs = c.action === 'on' ? atUnixS * 1000 : clock.now();
      if (c.action === 'on') this.release(u);
    } catch (err) {
      if (ack) clock.clearTimeout(ack);
      log.warn({ unit: u.id, action: c.action, err: (err as Error).message }, 'device command failed: Stratum fail-safe');
      core.settle(c, 'failsafe', `${c.action} failed: ${(err as Error).message}; withheld on the Stratum side`);
      const first = core.markUnavailable(u.id, clock.now(), `${c.action} failed: ${(err as Error).message}`);
      this.withhold(u, `${c.action} failed`);
      if (first) this.opts.onFault?.();
    }
  }

  /**
   * The acknowledgement deadline of a cut: half the cut deadline, so the
   * units shed in its place are still commanded within the deadline and off
   * within the deadline plus their lead; but at least ACK_FLOOR_MS, so a
   * healthy device on a busy network or host is not given up on for answering
   * in a second or two (a false alarm withholds its jobs and sheds another
   * unit for nothing). With the default 10 s deadline that is 5 s; a cut
   * deadline under 10 s is guaranteed against a silent device only from
   * ACK_FLOOR_MS plus the lead. Undefined without a cut deadline.
   */
  private watchAck(c: UnitCommand, u: FleetUnit): TimerHandle | undefined {
    const { clock, cutDeadlineS } = this.opts;
    if (cutDeadlineS === undefined) return undefined;
    const deadlineMs = cutDeadlineS * 1000;
    const ackMs = Math.max(deadlineMs / 2, ACK_FLOOR_MS);
    return clock.setTimeout(() => {
      if (!this.opts.isRunning()) return;
      const why = `${c.action} not acknowledged within ${ackMs / 1000} s`;
      this.opts.logger.warn({ unit: u.id, action: c.action }, `${why}: counted at worst-case draw, Stratum fail-safe`);
      this.opts.core.settle(c, 'failsafe', `${why}; withheld on the Stratum side`);
      const first = this.opts.core.markUnavailable(u.id, this.opts.clock.now(), why);
      this.withhold(u, why);
      if (first) this.opts.onFault?.();
    }, ackMs);
  }

  /**
   * Re-sends the command the device lost: the softoff or softon (with the
   * workmode, when it came back in another one), or the workmode alone for a
   * working unit in the wrong mode. `retries` reads the episode's retry count
   * for the log.
   */
  async resend(u: FleetUnit, kind: Mismatch, status: DeviceStatus, retries: () => number | undefined): Promise<void> {
    if (!this.opts.isRunning()) return;
    const { clock, logger } = this.opts;
    const nowMs = clock.now();
    const atUnixS = aheadUnixS(nowMs, u);
    const action = kind === 'reports-off' ? 'on' : kind === 'reports-on' ? 'off' : 'mode';
    this.lastCommands.set(u.id, { action, atMs: nowMs });
    try {
      const api = this.api(u);
      const workmode = plannedWorkmode(u);
      if (action === 'off') await api.softOff(atUnixS);
      else if (action === 'mode') {
        await api.setWorkmode(workmode!);
        u.rampFromMs = nowMs; // a workmode change applies at once; the draw settles from now
      } else {
        if (workmode !== undefined && status.workmode !== undefined && status.workmode !== workmode) await api.setWorkmode(workmode);
        await api.softOn(atUnixS);
        // Its draw ramps again from the softon's second (measuredIsSteady).
        u.rampFromMs = atUnixS * 1000;
      }
      logger.debug({ unit: u.id, action, retry: retries() }, 'command re-sent');
    } catch (err) {
      logger.warn({ unit: u.id, action, err: (err as Error).message }, 'device command failed: Stratum fail-safe');
      this.opts.core.markUnavailable(u.id, clock.now(), `re-sent ${action} failed: ${(err as Error).message}`);
      this.withhold(u, `re-sent ${action} failed`);
    }
  }

  withhold(u: FleetUnit, why: string): void {
    if (this.withheld.has(u.worker)) return;
    this.withheld.add(u.worker);
    this.opts.logger.info({ unit: u.id, worker: u.worker, why }, 'withholding jobs');
    this.opts.lever.withhold(u.worker, this.opts.withholdGraceS);
  }

  release(u: FleetUnit): void {
    if (!this.withheld.delete(u.worker)) return;
    this.opts.logger.info({ unit: u.id, worker: u.worker }, 'releasing worker');
    this.opts.lever.release(u.worker);
  }

  /** Withheld API units that report again and are planned on, with no command pending, may hash again. */
  releaseRecovered(): void {
    const fleet = this.opts.fleet;
    for (const worker of this.withheld) {
      const u = fleet.byWorker.get(worker);
      if (!u || u.lever !== 'api' || !u.available || !u.on) continue;
      if (this.opts.isPending(fleet.units.indexOf(u))) continue;
      this.release(u);
    }
  }
}

/** Shortest wait for a cut's acknowledgement, ms (see watchAck). */
const ACK_FLOOR_MS = 5000;

/** The whole Unix second, softoffDelayS ahead, that a softoff/softon issued at `nowMs` names. */
export const aheadUnixS = (nowMs: number, u: FleetUnit): number => Math.ceil((nowMs + u.softoffDelayS * 1000) / 1000);

/** When a command issued at `issuedAtMs` changes the unit: a softon at its named second, anything else at once. */
export function effectiveAtMs(c: UnitCommand, u: FleetUnit, issuedAtMs: number): number {
  return c.action === 'on' && c.via === 'api' ? aheadUnixS(issuedAtMs, u) * 1000 : issuedAtMs;
}
