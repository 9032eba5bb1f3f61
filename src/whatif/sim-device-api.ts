import type { Clock } from '../clock.js';
import type { DeviceApi, DeviceStatus, StratumLever } from '../fleet/control.js';
import type { FleetState } from '../scheduler/fleet-state.js';
import type { DevicePowerModel } from '../fleet/device-model.js';

/**
 * The live loop's levers over pure DevicePowerModels (`surplus simulate`):
 * a DeviceApi per unit that applies softoff / softon / workmode to the model
 * at the simulated clock's time, and a Stratum lever that turns a withhold
 * into a stop `graceS` later (the miner is disconnected) and a release into
 * a start now. Every call marks its unit as changing, so the simulator
 * samples only the units whose output can move.
 */

const DONE: Promise<void> = Promise.resolve();

export class SimLevers {
  /** Units touched since the simulator last looked (it samples and clears). */
  readonly active = new Set<number>();
  /**
   * Per unit, the next time its output can change (the simulator's to keep): a call on the
   * unit sets it to -Infinity, as the call may change the unit's output from now on.
   */
  readonly dueAtMs: Float64Array;
  /** True when a device call was made since the last `take()`: its command's async tail must run. */
  private touched = false;

  constructor(
    private readonly fleet: FleetState,
    private readonly devices: readonly DevicePowerModel[],
    private readonly clock: Clock,
  ) {
    this.dueAtMs = new Float64Array(devices.length).fill(-Infinity);
  }

  /** True (once) when a device or lever call happened since the last call. */
  take(): boolean {
    const t = this.touched;
    this.touched = false;
    return t;
  }

  private mark(i: number): DevicePowerModel {
    this.touched = true;
    this.active.add(i);
    this.dueAtMs[i] = -Infinity;
    return this.devices[i]!;
  }

  /** The DeviceApi for the unit at fleet index `i`. */
  api(i: number): DeviceApi {
    const u = this.fleet.units[i]!;
    return {
      softOff: (atUnixS) => {
        this.mark(i).softOff(atUnixS * 1000, this.clock.now());
        return DONE;
      },
      softOn: (atUnixS) => {
        this.mark(i).softOn(atUnixS * 1000, this.clock.now());
        return DONE;
      },
      setWorkmode: (workmode) => {
        const configIndex = u.modes.find((m) => (m.workmode ?? m.configIndex) === workmode)?.configIndex;
        if (configIndex === undefined) return Promise.reject(new Error(`workmode ${workmode} unknown`));
        this.mark(i).setMode(configIndex, this.clock.now());
        return DONE;
      },
      readStatus: async (): Promise<DeviceStatus> => {
        const s = this.devices[i]!.sample(this.clock.now());
        const mode = u.modes.find((m) => m.configIndex === s.modeIndex);
        return { softOff: s.phase === 'standby', state: s.phase === 'standby' ? 'idle' : 'working', wallPowerW: s.kw * 1000, hashrateThs: s.ths, ...(mode ? { workmode: mode.workmode ?? mode.configIndex } : {}) };
      },
      close: () => undefined,
    };
  }

  lever(): StratumLever {
    const index = new Map(this.fleet.units.map((u, i) => [u.worker, i]));
    return {
      withhold: (worker, graceS) => {
        const i = index.get(worker);
        if (i === undefined) return;
        const now = this.clock.now();
        this.mark(i).softOff(now + graceS * 1000, now);
      },
      release: (worker) => {
        const i = index.get(worker);
        if (i === undefined) return;
        const now = this.clock.now();
        const d = this.mark(i);
        // A release cancels a withhold whose grace has not run out.
        d.cancel('softOff', now);
        d.softOn(now, now);
      },
      expectHashrate: () => undefined,
      isConnected: () => true,
    };
  }
}
