import type { ModeConfig } from '../config/schema.js';

/**
 * Pure power model of one miner driven through its control API (Avalon
 * softoff / softon / workmode). No timers, no clock: every method takes the
 * caller's `nowMs`, and `sample(nowMs)` is a function of the recorded command
 * history and `nowMs` only, so a simulator can run a day in a second and tests
 * can name exact instants.
 *
 * Semantics (chosen to match what the A1566/Q captures show, see
 * test/fixtures/avalon/SOURCES.md):
 * - `softOff(atMs)` schedules the stop: the unit keeps drawing its current
 *   power until `atMs`, then drops to `standbyKw` (a step: the Q reports
 *   "In Idle" with ~146 W at the wall right after its SoftOffTime).
 * - `softOn(atMs)` schedules the start: from `atMs` the unit ramps linearly from
 *   standby to the mode's kW and TH/s over `rampUpS`.
 * - The firmware keeps one SoftOffTime and one SoftOnTime slot, so a new
 *   softoff replaces a softoff that has not happened yet (same for softon);
 *   a pending softoff and a pending softon both stand and apply in time order.
 * - A time in the past means "now": history is never rewritten.
 * - `setMode` while working restarts the hash boards (the A10 manual says a
 *   workmode takes effect only after a restart): output drops to standby at
 *   once and re-ramps to the new mode over `rampUpS`. This is the conservative
 *   transient for a power budget: the draw never exceeds max(old, new).
 *   Setting the current mode again is a no-op; setting a mode while off only
 *   selects the mode used by the next softon.
 */

/** Parameters of one unit; `modes` come from the fleet config (`src/config/schema.ts`). */
export interface DeviceModelParams {
  /** Draw while soft-off, kW. */
  standbyKw: number;
  modes: ModeConfig[];
  /** Seconds from a softon (or mode restart) to full output. */
  rampUpS: number;
  /**
   * Lead a driver puts between "now" and the softoff time it sends (Avalon
   * wants a time a few seconds ahead). The model itself steps at the scheduled
   * time; this is carried so a simulator can schedule like a driver does.
   */
  softoffDelayS: number;
  /**
   * `restart` (default): a mode change while working restarts the boards (see
   * the module doc). `instant`: firmware that changes the mode in place; the
   * draw moves to the new mode at once (issue 12, model `modeChange`).
   */
  modeChange?: 'restart' | 'instant';
}

export type DevicePhase = 'standby' | 'starting' | 'working' | 'stopping';

export interface DeviceSample {
  phase: DevicePhase;
  /** Wall power, kW. */
  kw: number;
  /** Hashrate, TH/s. */
  ths: number;
  /** Selected mode (index into `params.modes`), also while in standby. */
  modeIndex: number;
}

type EventKind = 'off' | 'on' | 'mode';

interface DeviceEvent {
  kind: EventKind;
  /** When the event takes effect. */
  atMs: number;
  /** Order of issue, to break ties between events at the same instant. */
  seq: number;
  modeIndex?: number;
}

interface ReplayState {
  on: boolean;
  modeIndex: number;
  /** Start of the current ramp; -Infinity when fully up since construction. */
  rampStartMs: number;
}

export class DevicePowerModel {
  readonly params: DeviceModelParams;
  /** State with every event up to `baseMs` folded in (keeps `events` short over a long run). */
  private base: ReplayState;
  private baseMs: number;
  /** Effective-time ordered; events at or before the last command's `nowMs` are folded into `base`. */
  private events: DeviceEvent[] = [];
  private seq = 0;
  private lastOffAt: number | undefined;
  private lastOnAt: number | undefined;

  constructor(params: DeviceModelParams, initial: { on: boolean; modeIndex: number }, nowMs: number) {
    if (params.modes.length === 0) throw new RangeError('DevicePowerModel: params.modes must not be empty');
    if (!(params.standbyKw >= 0)) throw new RangeError('DevicePowerModel: params.standbyKw must be >= 0');
    if (!(params.rampUpS >= 0)) throw new RangeError('DevicePowerModel: params.rampUpS must be >= 0');
    this.params = params;
    this.checkMode(initial.modeIndex);
    this.base = { on: initial.on, modeIndex: initial.modeIndex, rampStartMs: -Infinity };
    this.baseMs = nowMs;
  }

  /** Schedule a soft-off at `atMs` (a past time means now). Full power until then, then standby. */
  softOff(atMs: number, nowMs: number): void {
    this.schedule('off', Math.max(atMs, nowMs), nowMs);
    this.lastOffAt = Math.max(atMs, nowMs);
  }

  /** Schedule a soft-on at `atMs`; from then the unit ramps up over `rampUpS`. */
  softOn(atMs: number, nowMs: number): void {
    this.schedule('on', Math.max(atMs, nowMs), nowMs);
    this.lastOnAt = Math.max(atMs, nowMs);
  }

  /**
   * Drop a pending (not yet effective at `nowMs`) softoff or softon. Not a
   * firmware command: for simulators that model other levers with this model
   * (e.g. a Stratum withhold released before its grace ran out).
   */
  cancel(kind: 'softOff' | 'softOn', nowMs: number): void {
    if (!Number.isFinite(nowMs)) throw new RangeError(`DevicePowerModel: nowMs must be finite, got ${nowMs}`);
    this.fold(nowMs);
    const k: EventKind = kind === 'softOff' ? 'off' : 'on';
    this.events = this.events.filter((e) => !(e.kind === k && e.atMs > nowMs));
  }

  /** Select a work mode now; while working this restarts the ramp (see the module doc). */
  setMode(modeIndex: number, nowMs: number): void {
    this.checkMode(modeIndex);
    if (!Number.isFinite(nowMs)) throw new RangeError(`DevicePowerModel: nowMs must be finite, got ${nowMs}`);
    this.fold(nowMs);
    this.events.push({ kind: 'mode', atMs: nowMs, seq: this.seq++, modeIndex });
    this.sortEvents();
  }

  /** Output at `nowMs`. */
  sample(nowMs: number): DeviceSample {
    const state = this.replay(nowMs);
    const mode = this.params.modes[state.modeIndex]!;
    if (!state.on) {
      return { phase: 'standby', kw: this.params.standbyKw, ths: 0, modeIndex: state.modeIndex };
    }
    const rampMs = this.params.rampUpS * 1000;
    const elapsed = nowMs - state.rampStartMs;
    const fraction = rampMs <= 0 || elapsed >= rampMs ? 1 : Math.max(0, elapsed / rampMs);
    const kw = this.params.standbyKw + (mode.kw - this.params.standbyKw) * fraction;
    const ths = mode.ths * fraction;
    const stopping = this.events.some((e) => e.kind === 'off' && e.atMs > nowMs);
    const phase: DevicePhase = stopping ? 'stopping' : fraction < 1 ? 'starting' : 'working';
    return { phase, kw, ths, modeIndex: state.modeIndex };
  }

  /**
   * When the output next changes after `nowMs`: the next scheduled event, or
   * the end of a running ramp. During a ramp the output changes continuously;
   * pass `rampStepMs` to get sample points every `rampStepMs` inside it.
   * Undefined when nothing will change without a new command.
   */
  nextChangeMs(nowMs: number, rampStepMs?: number): number | undefined {
    let next: number | undefined;
    for (const e of this.events) {
      if (e.atMs > nowMs) {
        next = e.atMs;
        break;
      }
    }
    const state = this.replay(nowMs);
    if (state.on) {
      const rampEnd = state.rampStartMs + this.params.rampUpS * 1000;
      if (rampEnd > nowMs) {
        let candidate = rampEnd;
        if (rampStepMs !== undefined && rampStepMs > 0) candidate = Math.min(rampEnd, nowMs + rampStepMs);
        if (next === undefined || candidate < next) next = candidate;
      }
    }
    return next;
  }

  /** Effective time of the latest softoff command (the firmware's SoftOffTime), if any. */
  get lastSoftOffAtMs(): number | undefined {
    return this.lastOffAt;
  }

  /** Effective time of the latest softon command (the firmware's SoftOnTime), if any. */
  get lastSoftOnAtMs(): number | undefined {
    return this.lastOnAt;
  }

  /** Pending (not yet effective at `nowMs`) softoff / softon times. */
  pending(nowMs: number): { softOffAtMs?: number; softOnAtMs?: number } {
    const out: { softOffAtMs?: number; softOnAtMs?: number } = {};
    for (const e of this.events) {
      if (e.atMs <= nowMs) continue;
      if (e.kind === 'off') out.softOffAtMs = e.atMs;
      else if (e.kind === 'on') out.softOnAtMs = e.atMs;
    }
    return out;
  }

  private checkMode(modeIndex: number): void {
    if (!Number.isInteger(modeIndex) || modeIndex < 0 || modeIndex >= this.params.modes.length) {
      throw new RangeError(`DevicePowerModel: modeIndex ${modeIndex} is not in 0..${this.params.modes.length - 1}`);
    }
  }

  private schedule(kind: 'off' | 'on', atMs: number, nowMs: number): void {
    if (!Number.isFinite(atMs) || !Number.isFinite(nowMs)) throw new RangeError(`DevicePowerModel: soft${kind} times must be finite, got atMs ${atMs}, nowMs ${nowMs}`);
    this.fold(nowMs);
    // One slot per kind: a command of the same kind that has not happened yet is replaced.
    this.events = this.events.filter((e) => !(e.kind === kind && e.atMs > nowMs));
    this.events.push({ kind, atMs, seq: this.seq++ });
    this.sortEvents();
  }

  private sortEvents(): void {
    this.events.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
  }

  /**
   * Fold events effective at or before `nowMs` into `base`. Commands arrive
   * with non-decreasing `nowMs`, so samples at or after the latest command are
   * unchanged; sampling before `baseMs` is not supported (it sees `base`).
   */
  private fold(nowMs: number): void {
    if (nowMs <= this.baseMs) return;
    let n = 0;
    while (n < this.events.length && this.events[n]!.atMs <= nowMs) n++;
    if (n === 0) {
      this.baseMs = nowMs;
      return;
    }
    this.base = this.apply({ ...this.base }, this.events.slice(0, n), nowMs);
    this.events = this.events.slice(n);
    this.baseMs = nowMs;
  }

  private replay(nowMs: number): ReplayState {
    return this.apply({ ...this.base }, this.events, nowMs);
  }

  private apply(s: ReplayState, events: readonly DeviceEvent[], nowMs: number): ReplayState {
    for (const e of events) {
      if (e.atMs > nowMs) break;
      if (e.kind === 'off') {
        s.on = false;
      } else if (e.kind === 'on') {
        if (!s.on) {
          s.on = true;
          s.rampStartMs = e.atMs;
        }
      } else if (e.modeIndex !== undefined && e.modeIndex !== s.modeIndex) {
        s.modeIndex = e.modeIndex;
        if (s.on && this.params.modeChange !== 'instant') s.rampStartMs = e.atMs;
      }
    }
    return s;
  }
}
