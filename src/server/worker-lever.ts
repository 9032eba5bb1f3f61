/**
 * The Stratum fail-safe lever the scheduler pulls for miners without a
 * working device API (StratumLever in src/fleet/control.ts): stop feeding a
 * worker jobs, disconnect it after a grace period (staggered across workers
 * so a budget cut does not drop the whole site in one instant) and refuse it
 * until released; retarget difficulty ahead of a planned hashrate change.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { StratumLever } from '../fleet/control.js';
import { difficultyForHashrate } from '../vardiff/vardiff.js';
import type { MinerConnection } from './miner-connection.js';

export interface LeverSessions {
  sessionsOf(worker: string): Iterable<MinerConnection>;
}

export class WorkerLever implements StratumLever {
  private readonly withheldWorkers = new Map<string, { disconnectAtMs: number; done: boolean }>();
  private readonly planned = new Map<string, number>();
  private nextDisconnectMs = 0;
  private readonly timers = new Set<TimerHandle>();

  constructor(
    private readonly sessions: LeverSessions,
    private readonly clock: Clock,
    private readonly opts: { targetSharesPerMinute: number; staggerMs: number },
  ) {}

  withhold(worker: string, graceS: number): void {
    const existing = this.withheldWorkers.get(worker);
    if (existing) return;
    this.withheldWorkers.set(worker, { disconnectAtMs: this.clock.now() + Math.max(0, graceS) * 1000, done: false });
    for (const s of this.sessions.sessionsOf(worker)) s.withhold();
  }

  release(worker: string): void {
    if (!this.withheldWorkers.delete(worker)) return;
    for (const s of this.sessions.sessionsOf(worker)) s.release();
  }

  expectHashrate(worker: string, ths: number): void {
    if (!(ths > 0) || !Number.isFinite(ths)) {
      this.planned.delete(worker);
      return;
    }
    const list = [...this.sessions.sessionsOf(worker)];
    // Several connections for one worker (e.g. multi-board units) split its hashrate.
    const d = difficultyForHashrate((ths * 1e12) / Math.max(1, list.length), this.opts.targetSharesPerMinute);
    this.planned.set(worker, d);
    for (const s of list) s.setPlannedDifficulty(d);
  }

  isConnected(worker: string): boolean {
    for (const s of this.sessions.sessionsOf(worker)) if (s.ready) return true;
    return false;
  }

  isWithheld(worker: string): boolean {
    return this.withheldWorkers.has(worker);
  }

  plannedDifficulty(worker: string): number | undefined {
    return this.planned.get(worker);
  }

  withheldWorkerNames(): string[] {
    return [...this.withheldWorkers.keys()];
  }

  /** Called about once a second: disconnect withheld workers whose grace ran out, one stagger step apart. */
  tick(nowMs: number): void {
    for (const [worker, w] of this.withheldWorkers) {
      if (w.done || nowMs < w.disconnectAtMs) continue;
      w.done = true;
      for (const s of this.sessions.sessionsOf(worker)) {
        const at = Math.max(nowMs, this.nextDisconnectMs);
        this.nextDisconnectMs = at + this.opts.staggerMs;
        const t = this.clock.setTimeout(() => {
          this.timers.delete(t);
          if (this.withheldWorkers.has(worker)) s.close('withheld by the power plan');
        }, at - nowMs);
        this.timers.add(t);
      }
    }
  }

  close(): void {
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
  }
}
