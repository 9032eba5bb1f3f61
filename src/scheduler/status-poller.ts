import type { Clock } from '../clock.js';
import type { DeviceApi, DeviceStatus } from '../fleet/control.js';
import { BUILTIN_MODELS } from '../config/models.js';
import type { Logger } from '../observability/logger.js';
import type { DeviceCommander } from './device-commander.js';
import { modeIndexOfWorkmode, type FleetState, type FleetUnit } from './fleet-state.js';
import { mismatchOf, reconcileStep, settledAtMs, type ReconcileSettings, type ReconcileTrack } from './reconcile.js';
import type { SchedulerCore } from './scheduler-core.js';

/**
 * The scheduler's eyes: reads every API unit's status (bounded concurrency),
 * feeds measured power and availability to the core, and reconciles what a
 * device reports with the plan (reconcile.ts): re-sends a lost softon/softoff
 * through the commander, gives up to the Stratum fail-safe when retries run out.
 */

export interface StatusPollerOptions {
  clock: Clock;
  logger: Logger;
  fleet: FleetState;
  core: SchedulerCore;
  commander: DeviceCommander;
  reconcile: ReconcileSettings;
  /** Status reads in flight at once (default 32). */
  pollConcurrency?: number;
  isRunning(): boolean;
  /** True while a command for the unit at `index` waits for its issue time. */
  isPending(index: number): boolean;
  /** Save the state file (a unit came back). */
  persist(): void;
  /**
   * True while the loop holds the devices as they are (no budget reading yet
   * since start, issue 12 item 5): a report is taken as the unit's state, not
   * reconciled against a plan that was only assumed.
   */
  adoptReported?(): boolean;
}

export class StatusPoller {
  private polling = false;
  private readonly indexById: ReadonlyMap<string, number>;
  /** Open reconciliation episodes by unit id: the device reports the opposite of the plan. */
  private readonly tracks = new Map<string, ReconcileTrack>();
  /** Per unit: the report notes already logged (digits masked), so a standing condition is logged once. */
  private readonly noted = new Map<string, Set<string>>();
  /** Units whose device was asked what it is (once per process, after its first good read). */
  private readonly identified = new Set<string>();
  /** Units read successfully at least once (the first reading may replace the start assumption). */
  private readonly read = new Set<string>();

  constructor(private readonly opts: StatusPollerOptions) {
    this.indexById = new Map(opts.fleet.units.map((u, i) => [u.id, i]));
  }

  /** A new plan for the unit starts its reconciliation afresh. */
  forget(unitId: string): void {
    this.tracks.delete(unitId);
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
        while (next < units.length && this.opts.isRunning()) await this.pollOne(units[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(width, units.length) }, worker));
    } finally {
      this.polling = false;
    }
  }

  private async pollOne(u: FleetUnit): Promise<void> {
    const { core, clock, logger } = this.opts;
    let status: DeviceStatus;
    const api = this.opts.commander.api(u);
    try {
      status = await api.readStatus();
    } catch (err) {
      if (core.markUnavailable(u.id, clock.now(), `status read failed: ${(err as Error).message}`)) {
        logger.warn({ unit: u.id, err: (err as Error).message }, 'unit not reporting: counted at worst-case draw');
      }
      return;
    }
    this.logNotes(u, status);
    if (api.identify && !this.identified.has(u.id)) {
      this.identified.add(u.id);
      void this.identify(u, api.identify.bind(api));
    }
    const mode = modeIndexOfWorkmode(u, status.workmode);
    if (this.opts.adoptReported?.() && u.available) {
      const on = !status.softOff && status.state !== 'idle';
      if (on !== u.on) {
        u.on = on;
        // When it last switched is not known: no minimum on/off time holds it.
        u.sinceMs = -Infinity;
      }
      if (mode >= 0) u.mode = mode;
    } else this.adoptFirstReading(u, status, mode);
    const held = this.opts.adoptReported?.() ? false : this.reconcileUnit(u, status, mode);
    const { cameBack } = core.reportStatus(
      u.id,
      { on: !status.softOff, ...(mode >= 0 ? { mode } : {}), ...(status.wallPowerW !== undefined ? { measuredKw: status.wallPowerW / 1000 } : {}) },
      clock.now(),
      held,
    );
    if (cameBack) {
      // Not released here: a unit whose softoff failed reports itself on, and the
      // next plan (due now: the fleet changed) decides whether it may hash again.
      logger.info({ unit: u.id }, 'unit reporting again');
      this.opts.persist();
    }
  }

  /**
   * At start a unit's mode is an assumption (the top mode), not a plan: the
   * first reading of a working unit no command has reached yet replaces it
   * (info, not a mismatch to reconcile), and the next plan commands whatever
   * mode it wants from there.
   */
  private adoptFirstReading(u: FleetUnit, status: DeviceStatus, mode: number): void {
    if (this.read.has(u.id)) return;
    this.read.add(u.id);
    if (this.opts.commander.lastCommands.has(u.id) || status.softOff || status.state !== 'working') return;
    const assumed = u.modes[u.mode]!.name;
    if (this.opts.core.adoptMode(u.id, mode)) {
      this.opts.logger.info({ unit: u.id, workmode: status.workmode, mode: u.modes[mode]!.name, assumed }, 'device runs in another mode than assumed at start: taken as its state');
    }
  }

  /**
   * Asks the device which model it is and warns when that does not fit the
   * configured profile: an unknown model (planned with the generic or a custom
   * profile's figures), or a built-in profile of another model. Advisory
   * only: the configured profile stays, and a failure here changes nothing.
   */
  private async identify(u: FleetUnit, identify: NonNullable<DeviceApi['identify']>): Promise<void> {
    const log = this.opts.logger;
    try {
      const { match } = await identify();
      if (match.warning) log.warn({ unit: u.id, model: u.model, warning: match.warning }, 'device model not recognised');
      // Air and hydro variants of one series (A1566 / A1566HA) are told apart only by a TH/s class: no warning.
      else if (match.profile.replace(/ha$/, '') !== u.model.replace(/ha$/, '') && Object.hasOwn(BUILTIN_MODELS, u.model)) {
        log.warn({ unit: u.id, model: u.model, device: match.family, profile: match.profile }, `device identifies as an Avalon ${match.family ?? '?'} (profile "${match.profile}") but is configured as "${u.model}": its power figures may be wrong`);
      } else log.debug({ unit: u.id, model: u.model, device: match.family }, 'device identified');
    } catch (err) {
      log.debug({ unit: u.id, err: (err as Error).message }, 'device identification failed');
    }
  }

  /**
   * Logs what the device report could not say (no wall-power reading: the unit
   * counts at its nominal draw; a module missing) once per condition, and a
   * restart every time: a rebooted Avalon may come back in another state.
   */
  private logNotes(u: FleetUnit, status: DeviceStatus): void {
    if (status.restarted) this.opts.logger.warn({ unit: u.id, notes: status.notes }, 'device restarted since the previous status read');
    const notes = status.notes ?? [];
    if (notes.length === 0) {
      this.noted.delete(u.id);
      return;
    }
    let seen = this.noted.get(u.id);
    if (!seen) this.noted.set(u.id, (seen = new Set()));
    for (const note of notes) {
      const key = note.replace(/\d+(\.\d+)?/g, '#');
      // Bounded: a device cannot grow this by varying its texts.
      if (seen.has(key) || seen.size >= 32) continue;
      seen.add(key);
      if (!status.restarted) this.opts.logger.warn({ unit: u.id, note }, 'device report incomplete');
    }
  }

  /**
   * Compares the report with the plan (reconcile.ts) and acts: re-sends the
   * lost softon/softoff, gives up like a failing command when the retries are
   * used up. A unit planned off that reports working is counted unavailable at
   * once (worst case, at least its measured draw), never silently as off.
   * Returns true while the unit must stay unavailable although it reports.
   */
  private reconcileUnit(u: FleetUnit, status: DeviceStatus, reportedMode: number): boolean {
    const track = this.tracks.get(u.id);
    // Unavailable for another reason (a failed command or read): it comes back with the state it reports.
    if (!u.available && !track) return false;
    const { core, commander, logger: log } = this.opts;
    const nowMs = this.opts.clock.now();
    const settings = this.opts.reconcile;
    const r = reconcileStep(track, mismatchOf(u, status, settings.drawShare), {
      nowMs,
      settledAtMs: settledAtMs(u, commander.lastCommands.get(u.id)?.atMs ?? -Infinity, settings.marginMs),
      pending: this.opts.isPending(this.indexById.get(u.id)!),
    }, settings);
    if (r.track) this.tracks.set(u.id, r.track);
    else this.tracks.delete(u.id);
    const reported = { softOff: status.softOff, state: status.state, ...(status.workmode !== undefined ? { workmode: status.workmode } : {}), ...(status.wallPowerW !== undefined ? { wallPowerW: status.wallPowerW } : {}) };
    if (r.action === 'cleared') log.info({ unit: u.id, reported }, 'device reports its planned state again');
    const t = r.track;
    if (!t) return false;
    const command = COMMAND[t.kind];
    if (r.firstConfirm) {
      const reason = REASON[t.kind];
      log.warn({ unit: u.id, reported }, reason);
      // Under-counting is the dangerous side: a planned-off unit that draws counts at worst case from
      // now on, and so does one in a hungrier mode than planned when it reports no draw to count
      // (a workmode its profile does not list may draw anything).
      if (t.kind === 'reports-on' || (t.kind === 'reports-mode' && status.wallPowerW === undefined && (u.modes[reportedMode]?.kw ?? Infinity) > u.modes[u.mode]!.kw)) {
        core.markUnavailable(u.id, nowMs, reason);
      } else core.note(u.id, t.kind === 'reports-off' ? 'off' : reportedModeLabel(u, status, reportedMode), reason, nowMs);
    }
    if (r.action === 'resend') void commander.resend(u, t.kind, status, () => this.tracks.get(u.id)?.retries);
    if (r.action === 'give-up') {
      const reported = t.kind === 'reports-off' ? 'off' : t.kind === 'reports-on' ? 'working' : `workmode ${status.workmode}`;
      const why = `device still reports ${reported} after ${t.retries} re-sent ${command}s`;
      log.warn({ unit: u.id, retries: t.retries }, `${why}: unit unavailable, Stratum fail-safe`);
      if (!core.markUnavailable(u.id, nowMs, why)) core.note(u.id, reported, `${why}: Stratum fail-safe`, nowMs);
      commander.withhold(u, why);
    }
    return !u.available;
  }
}

/** What the device runs, as decisions name modes ("eco"), or its raw workmode when no profile mode has it. */
function reportedModeLabel(u: FleetUnit, status: DeviceStatus, reportedMode: number): string {
  return reportedMode >= 0 ? u.modes[reportedMode]!.name : `workmode ${status.workmode}`;
}

/** The command that brings a device back to the plan, per mismatch. */
const COMMAND = { 'reports-off': 'softon', 'reports-on': 'softoff', 'reports-mode': 'workmode' } as const;

const REASON = {
  'reports-off': 'device reports off while planned on: re-sending softon',
  'reports-on': 'device reports working while planned off: counted at its draw, re-sending softoff',
  'reports-mode': 'device works in another workmode than planned: re-sending workmode',
} as const;
