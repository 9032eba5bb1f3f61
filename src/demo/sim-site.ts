/**
 * Pieces of a simulated site shared by `surplus demo` and the end-to-end power
 * tests: Stratum miners that really hash at the rate their simulated Avalon
 * currently outputs, and a lever that translates the scheduler's planned TH/s
 * into the CPU rate those miners hash at (so the proxy retargets difficulty
 * for the hashrate the miner will really have).
 */
import { every, systemClock, type Clock, type Repeater, type TimerHandle } from '../clock.js';
import type { StratumLever } from '../fleet/control.js';
import type { AvalonSimDevice } from './avalon-device.js';
import { SimMiner } from './sim-miner.js';

/** Scales the scheduler's planned TH/s to the CPU rate the simulated miners really hash at. */
export function scaledLever(inner: StratumLever, hashesPerTh: number): StratumLever {
  if (!(hashesPerTh > 0) || !Number.isFinite(hashesPerTh)) throw new RangeError(`scaledLever: hashesPerTh must be > 0, got ${hashesPerTh}`);
  return {
    withhold: (w, g) => inner.withhold(w, g),
    release: (w) => inner.release(w),
    expectHashrate: (w, ths) => inner.expectHashrate(w, (ths * hashesPerTh) / 1e12),
    isConnected: (w) => inner.isConnected(w),
  };
}

export interface DeviceMinersOptions {
  /** The proxy's miner port on 127.0.0.1. */
  port: number;
  host?: string;
  /** One miner per unit, authorizing as `worker`, hashing at `device`'s current TH/s. */
  units: ReadonlyArray<{ worker: string; device: AvalonSimDevice }>;
  /** CPU hashes per second of a miner whose device outputs `topThs`. */
  hashesPerSecond: number;
  topThs: number;
  /** Delay before reconnecting a miner whose connection closed or was refused, ms. Default 2000. */
  reconnectMs?: number;
  /** Hashing period, ms. Default 100. */
  driveMs?: number;
  /** Paces the hashing and the reconnects (default systemClock). */
  clock?: Clock;
}

/**
 * Simulated miners whose hashrate follows their device's power state: off or
 * in standby they hash nothing (and so submit nothing), ramping they hash a
 * fraction, working they hash at their mode's share of `hashesPerSecond`.
 * The device is sampled on its own clock at every step; fractional hashes
 * carry over, so a slow unit still hashes at its exact average rate.
 */
export class DeviceMiners {
  readonly miners: SimMiner[];
  private readonly devices = new Map<SimMiner, AvalonSimDevice>();
  private readonly carry = new Map<SimMiner, number>();
  private readonly timers = new Set<TimerHandle>();
  private drive: Repeater | undefined;
  private readonly clock: Clock;
  private started = false;
  private closing = false;

  constructor(private readonly o: DeviceMinersOptions) {
    this.clock = o.clock ?? systemClock;
    if (!(o.hashesPerSecond > 0) || !(o.topThs > 0)) throw new RangeError(`DeviceMiners: hashesPerSecond and topThs must be > 0, got ${o.hashesPerSecond}, ${o.topThs}`);
    this.miners = o.units.map((u) => {
      const m = new SimMiner({ host: o.host ?? '127.0.0.1', port: o.port, worker: u.worker, external: true, clock: this.clock });
      this.devices.set(m, u.device);
      return m;
    });
  }

  /** Connects every miner (reconnecting on close or refusal) and starts hashing. Once. */
  start(): void {
    if (this.started || this.closing) return;
    this.started = true;
    const reconnectMs = this.o.reconnectMs ?? 2000;
    for (const miner of this.miners) {
      const connect = (): void => {
        if (this.closing) return;
        miner.start().catch(() => this.later(connect, reconnectMs));
      };
      miner.onClose = () => this.later(connect, reconnectMs);
      connect();
    }
    let last = this.clock.now();
    this.drive = every(this.clock, this.o.driveMs ?? 100, () => {
      const now = this.clock.now();
      const dt = (now - last) / 1000;
      last = now;
      for (const miner of this.miners) {
        const ths = this.devices.get(miner)!.sample().ths;
        const want = (this.carry.get(miner) ?? 0) + (this.o.hashesPerSecond * ths * dt) / this.o.topThs;
        const n = Math.floor(want);
        this.carry.set(miner, want - n);
        if (n > 0) miner.step(n);
      }
    }).unref();
  }

  /** Stops hashing; the miners stay connected, so answers to their submits still arrive. */
  pause(): void {
    this.drive?.stop();
    this.drive = undefined;
  }

  /** The device a miner follows. */
  deviceOf(miner: SimMiner): AvalonSimDevice {
    return this.devices.get(miner)!;
  }

  /** Stops hashing and reconnecting and closes every miner. Idempotent. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.pause();
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const m of this.miners) {
      m.onClose = undefined;
      m.stop();
    }
  }

  private later(fn: () => void, ms: number): void {
    if (this.closing) return;
    const t = this.clock.setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }
}
