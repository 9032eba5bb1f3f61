/**
 * Many simulated miners in one process (1,000 connections for the bench):
 * one timer shares a total hash budget among them, so each socket costs only
 * its buffers and the hashing is just enough to find shares at low difficulty.
 */
import { every, systemClock, type Clock, type Repeater } from '../clock.js';
import { SimMiner, type SimMinerOptions } from './sim-miner.js';

export interface SimMinerFleetOptions extends Omit<SimMinerOptions, 'worker' | 'external' | 'hashesPerSecond'> {
  count: number;
  /** Worker names are `${workerPrefix}${i}`. */
  workerPrefix?: string;
  /** Hashes per second for the whole fleet. */
  totalHashesPerSecond: number;
  /** Connections opened at once while starting. */
  connectConcurrency?: number;
}

export interface FleetTotals {
  miners: number;
  connected: number;
  submitted: number;
  answered: number;
  accepted: number;
  rejected: number;
  unexpectedReplies: number;
  hashes: number;
}

export class SimMinerFleet {
  readonly miners: SimMiner[];
  private timer: Repeater | undefined;
  private readonly clock: Clock;
  private cursor = 0;
  private last = 0;

  constructor(private readonly o: SimMinerFleetOptions) {
    this.clock = o.clock ?? systemClock;
    const { count, workerPrefix, totalHashesPerSecond: _rate, connectConcurrency: _cc, ...minerOpts } = o;
    this.miners = Array.from({ length: count }, (_, i) => new SimMiner({ ...minerOpts, worker: `${workerPrefix ?? 'sim'}${i}`, external: true }));
  }

  async start(): Promise<void> {
    const conc = this.o.connectConcurrency ?? 50;
    for (let i = 0; i < this.miners.length; i += conc) await Promise.all(this.miners.slice(i, i + conc).map((m) => m.start()));
    this.last = this.clock.now();
    this.timer = every(this.clock, 20, () => this.tick());
  }

  /** Round-robin a slice of the budget to each miner in turn; no catching up after a stall. */
  private tick(): void {
    const now = this.clock.now();
    let budget = Math.round((Math.min(now - this.last, 50) / 1000) * this.o.totalHashesPerSecond);
    this.last = now;
    const n = this.miners.length;
    const per = Math.max(64, Math.ceil(budget / n));
    for (let k = 0; k < n && budget > 0; k++) {
      const m = this.miners[this.cursor]!;
      this.cursor = (this.cursor + 1) % n;
      m.step(per);
      budget -= per;
    }
  }

  pause(): void {
    this.timer?.stop();
    this.timer = undefined;
  }

  totals(): FleetTotals {
    const t: FleetTotals = { miners: this.miners.length, connected: 0, submitted: 0, answered: 0, accepted: 0, rejected: 0, unexpectedReplies: 0, hashes: 0 };
    for (const m of this.miners) {
      if (m.connected) t.connected++;
      t.submitted += m.stats.submitted;
      t.answered += m.stats.answered;
      t.accepted += m.stats.accepted;
      for (const v of Object.values(m.stats.rejected)) t.rejected += v;
      t.unexpectedReplies += m.stats.unexpectedReplies;
      t.hashes += m.stats.hashes;
    }
    return t;
  }

  stop(): void {
    this.pause();
    for (const m of this.miners) m.stop();
  }
}
