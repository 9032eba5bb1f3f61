import type { DeviceStatus } from '../fleet/control.js';
import { workmodeNumber, type FleetUnit } from './fleet-state.js';

/**
 * Reconciliation of what a device reports with what the plan counts, pure
 * (values in, values out; the loop owns the timers and the I/O). A softon or
 * softoff can be lost without the command failing: the device rebooted, a
 * button was pressed, the firmware ignored the command, the unit lost power.
 * The plan then counts the unit in the wrong state and the site over- or
 * under-draws silently. Once the command has had time to take effect, a
 * mismatch seen on `confirmPolls` consecutive polls makes the loop re-send
 * the command (bounded, with exponential backoff); when the retries are
 * exhausted the unit is given up on like a failing command.
 */

export interface ReconcileSettings {
  /** Consecutive mismatching polls before acting (one poll can race a command). */
  confirmPolls: number;
  /** Re-sends before the unit is given up on (marked unavailable, withheld). */
  maxRetries: number;
  /** Slack after the model's softoffDelayS / rampUpS before a report counts, ms. */
  marginMs: number;
  /** Wait after the first re-send, doubled after each further one, ms. */
  backoffMs: number;
  /**
   * A unit planned off counts as working when it draws more than its standby
   * plus this share of its lowest mode (a soft-off Avalon still draws standby).
   */
  drawShare: number;
}

export const RECONCILE_DEFAULTS: Readonly<ReconcileSettings> = Object.freeze({ confirmPolls: 2, maxRetries: 3, marginMs: 5000, backoffMs: 15_000, drawShare: 0.25 });

/**
 * `reports-off`: planned on, the device reports soft-off or idle. `reports-on`: planned off, it
 * reports working. `reports-mode`: planned on and working, in another workmode than planned (a
 * reboot brings an Avalon back in its default mode; a higher one draws over the plan).
 */
export type Mismatch = 'reports-off' | 'reports-on' | 'reports-mode';

/** Per-unit memory of one mismatch episode. */
export interface ReconcileTrack {
  kind: Mismatch;
  /** Consecutive mismatching polls, counted once the last command had time to act. */
  strikes: number;
  /** The mismatch reached `confirmPolls` once in this episode (recorded and logged then, once). */
  confirmed: boolean;
  /** Re-sends so far in this episode. */
  retries: number;
  /** No re-send before this time (backoff), ms. */
  notBeforeMs: number;
  /** Retries used up: the unit stays unavailable until it reports the planned state. */
  exhausted: boolean;
}

export interface ReconcileResult {
  /** The unit's episode after this poll; undefined when there is none (any more). */
  track: ReconcileTrack | undefined;
  /** `cleared`: a confirmed episode ended, the device reports the planned state again. */
  action: 'none' | 'resend' | 'give-up' | 'cleared';
  /** This poll confirmed the episode: record it and log it (once). */
  firstConfirm: boolean;
}

/**
 * The workmode number the plan wants the device in, or undefined when the
 * profile does not manage it: a single-mode profile without a `workmode`
 * (on the A10..A14 a change needs a reboot) leaves whatever the device runs.
 */
export function plannedWorkmode(u: FleetUnit): number | undefined {
  const m = u.modes[u.mode]!;
  if (m.workmode === undefined && u.modes.length < 2) return undefined;
  return workmodeNumber(m);
}

/** How the device's report contradicts the unit's planned (`u.on`, `u.mode`) state, if it does. */
export function mismatchOf(u: FleetUnit, s: DeviceStatus, share = RECONCILE_DEFAULTS.drawShare): Mismatch | undefined {
  if (u.on) {
    if (s.softOff || s.state === 'idle') return 'reports-off';
    const wanted = plannedWorkmode(u);
    return s.workmode !== undefined && wanted !== undefined && s.workmode !== wanted ? 'reports-mode' : undefined;
  }
  if (s.softOff || s.state !== 'working') return undefined;
  if (s.wallPowerW !== undefined) {
    const lowestKw = Math.min(...u.modes.map((m) => m.kw));
    return s.wallPowerW / 1000 > u.standbyKw + share * lowestKw ? 'reports-on' : undefined;
  }
  // No wall power reported: hashing is proof enough that it is not in standby.
  return (s.hashrateThs ?? 0) > 0 ? 'reports-on' : undefined;
}

/**
 * When a report about the unit's planned state becomes meaningful: its last
 * change (plan commit or the last command issued) plus the model's softoff
 * lead; when on, from the second its softon named (`rampFromMs`) plus the
 * ramp; plus the margin.
 */
export function settledAtMs(u: FleetUnit, lastIssuedAtMs: number, marginMs: number): number {
  // A softoff/softon names a whole second softoffDelayS ahead: one more second of slack.
  let at = Math.max(u.changedAtMs, lastIssuedAtMs) + u.softoffDelayS * 1000 + 1000;
  if (u.on) at = Math.max(at, u.rampFromMs ?? -Infinity) + u.rampUpS * 1000;
  return at + marginMs;
}

/**
 * The next step for one unit after a status read. `track` is the unit's open
 * episode (undefined when none); `pending` is true while a planned command
 * for the unit waits for its issue time (the report is about to be stale).
 */
export function reconcileStep(
  track: ReconcileTrack | undefined,
  mismatch: Mismatch | undefined,
  input: { nowMs: number; settledAtMs: number; pending: boolean },
  settings: ReconcileSettings = RECONCILE_DEFAULTS,
): ReconcileResult {
  if (mismatch === undefined || (track !== undefined && track.kind !== mismatch)) {
    return { track: undefined, action: track?.confirmed ? 'cleared' : 'none', firstConfirm: false };
  }
  // Not meaningful yet: the device may still be acting on the last command.
  if (track?.exhausted || input.pending || input.nowMs < input.settledAtMs) return { track, action: 'none', firstConfirm: false };
  const t: ReconcileTrack = track ? { ...track, strikes: track.strikes + 1 } : { kind: mismatch, strikes: 1, confirmed: false, retries: 0, notBeforeMs: -Infinity, exhausted: false };
  if (t.strikes < settings.confirmPolls) return { track: t, action: 'none', firstConfirm: false };
  const firstConfirm = !t.confirmed;
  t.confirmed = true;
  if (input.nowMs < t.notBeforeMs) return { track: t, action: 'none', firstConfirm };
  if (t.retries >= settings.maxRetries) return { track: { ...t, exhausted: true }, action: 'give-up', firstConfirm };
  // The next re-send waits backoffMs, 2x, 4x ... after this one (and for this one to take effect).
  return { track: { ...t, strikes: 0, retries: t.retries + 1, notBeforeMs: input.nowMs + settings.backoffMs * 2 ** t.retries }, action: 'resend', firstConfirm };
}
