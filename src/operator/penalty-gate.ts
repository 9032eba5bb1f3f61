import type { Clock, TimerHandle } from '../clock.js';

/** What the gate needs of a waiting request's connection. */
export interface GateClient {
  readonly destroyed: boolean;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

interface Waiter {
  client: GateClient;
  resolve: (turn: boolean) => void;
  onClose: () => void;
}

/**
 * Paces token checks while failures are over budget (http-auth.ts
 * FailureLimiter). Each waiter gets its turn in arrival order, at most
 * `concurrency` at a time, and a turn lasts `holdMs` before the token is
 * checked at all. So a right token is still accepted, only later, and a
 * guesser learns nothing sooner by closing early: a client that leaves while
 * queued is dropped, one that leaves during its hold keeps the slot until the
 * hold ends. Checks per second while limited: at most concurrency / holdMs,
 * however many connections or addresses the guesser has.
 */
export class PenaltyGate {
  private running = 0;
  /** Insertion-ordered: FIFO with O(1) removal of a client that left. */
  private readonly queue = new Set<Waiter>();
  private readonly timers = new Set<TimerHandle>();
  private closed = false;

  constructor(
    private readonly concurrency: number,
    private readonly holdMs: number,
    private readonly clock: Clock,
  ) {}

  /** Resolves true when the caller may check its token now; false when its client left or the gate closed. */
  wait(client: GateClient): Promise<boolean> {
    if (this.closed || client.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        client,
        resolve,
        onClose: () => {
          if (this.queue.delete(waiter)) resolve(false);
        },
      };
      client.once('close', waiter.onClose);
      this.queue.add(waiter);
      this.pump();
    });
  }

  /** Requests waiting for a turn (not counting those in their hold). */
  get waiting(): number {
    return this.queue.size;
  }

  /** Requests in their hold. */
  get holding(): number {
    return this.running;
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const w of this.queue) {
      w.client.off('close', w.onClose);
      w.resolve(false);
    }
    this.queue.clear();
  }

  private pump(): void {
    while (!this.closed && this.running < this.concurrency) {
      const next = this.queue.values().next();
      if (next.done) return;
      const w = next.value;
      this.queue.delete(w);
      w.client.off('close', w.onClose);
      this.running++;
      const t = this.clock.setTimeout(() => {
        this.timers.delete(t);
        this.running--;
        w.resolve(!w.client.destroyed);
        this.pump();
      }, this.holdMs);
      this.timers.add(t);
    }
  }
}
