import { every, type Clock, type Repeater } from '../clock.js';
import { AvalonSimDevice, type AvalonSimOptions } from './avalon-device.js';
import type { DeviceSample } from '../fleet/device-model.js';

/**
 * Many simulated Avalons in one process sharing one clock (600 units is one
 * listening socket each and a few hundred bytes of model state). The fleet
 * ticks them together: call `tick()` after moving a ManualClock, or pass
 * `autoTickMs` to tick on an interval of the same clock.
 */

export interface SimDeviceFleetOptions {
  clock: Clock;
  /** Tick every device on this interval of the clock (unref'd). Off by default. */
  autoTickMs?: number;
}

export type FleetChangeListener = (id: string, sample: DeviceSample) => void;

export class SimDeviceFleet {
  readonly clock: Clock;
  private readonly devices = new Map<string, AvalonSimDevice>();
  private readonly listeners = new Set<FleetChangeListener>();
  private timer: Repeater | undefined;

  constructor(options: SimDeviceFleetOptions) {
    this.clock = options.clock;
    if (options.autoTickMs !== undefined) {
      if (!(options.autoTickMs > 0)) throw new RangeError(`SimDeviceFleet: autoTickMs must be > 0, got ${options.autoTickMs}`);
      this.timer = every(this.clock, options.autoTickMs, () => this.tick()).unref();
    }
  }

  /** Start one more device on the shared clock. Ids are unique. */
  async add(options: Omit<AvalonSimOptions, 'clock'>): Promise<AvalonSimDevice> {
    if (this.devices.has(options.id)) throw new RangeError(`SimDeviceFleet: device id ${JSON.stringify(options.id)} already exists`);
    const dev = await AvalonSimDevice.start({ ...options, clock: this.clock });
    this.devices.set(options.id, dev);
    dev.onChange((sample) => {
      for (const fn of this.listeners) fn(dev.id, sample);
    });
    return dev;
  }

  get(id: string): AvalonSimDevice | undefined {
    return this.devices.get(id);
  }

  get size(): number {
    return this.devices.size;
  }

  all(): IterableIterator<AvalonSimDevice> {
    return this.devices.values();
  }

  /** Any device's output changed. Returns an unsubscribe. */
  onChange(listener: FleetChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-sample every device at `clock.now()`; listeners hear about changes. */
  tick(): void {
    for (const d of this.devices.values()) d.tick();
  }

  /** Earliest next output change over the fleet (see AvalonSimDevice.nextChangeMs). */
  nextChangeMs(rampStepMs = 1000): number | undefined {
    let next: number | undefined;
    for (const d of this.devices.values()) {
      const t = d.nextChangeMs(rampStepMs);
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    return next;
  }

  /** Sum of wall power and hashrate at `clock.now()`. */
  totals(): { kw: number; ths: number } {
    let kw = 0;
    let ths = 0;
    for (const d of this.devices.values()) {
      const s = d.sample();
      kw += s.kw;
      ths += s.ths;
    }
    return { kw, ths };
  }

  async close(): Promise<void> {
    this.timer?.stop();
    this.timer = undefined;
    this.listeners.clear();
    await Promise.all([...this.devices.values()].map((d) => d.close()));
    this.devices.clear();
  }
}
