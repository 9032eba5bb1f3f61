/**
 * Fake time for tests whose parts also do real I/O (loopback sockets): the
 * clock moves only when a timer is due soon and nothing else is left to run,
 * so a real socket's answer is always seen before a timeout that would race
 * it, and no test waits for wall time.
 */
import type { ManualClock } from '../../src/clock.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Waits for `p`, firing the timers due within `withinMs` of the clock one at
 * a time whenever the event loop has gone round `idleTurns` times without `p`
 * settling (default 3: enough for a loopback write and its read). Timers
 * further off (connection timeouts, say) never fire here. Gives up after
 * `maxTurns` turns.
 */
export async function settleOn<T>(clock: ManualClock, p: Promise<T>, opts: { withinMs: number; idleTurns?: number; maxTurns?: number }): Promise<T> {
  let settled = false;
  const done = p.then(
    (v) => ((settled = true), v),
    (e: unknown) => {
      settled = true;
      throw e;
    },
  );
  done.catch(() => undefined);
  const idle = opts.idleTurns ?? 3;
  const max = opts.maxTurns ?? 100_000;
  for (let n = 0; !settled; n++) {
    if (n >= max) throw new Error(`settleOn: not settled after ${max} event-loop turns (clock at ${clock.now()} ms)`);
    await turn();
    if (settled || (n + 1) % idle !== 0) continue;
    const next = clock.nextAtMs();
    if (next !== undefined && next - clock.now() <= opts.withinMs) clock.runUntil(next);
  }
  return done;
}

/**
 * Fake time for a whole loopback rig (proxy, simulated pools and miners all
 * given `clock`): `waitFor` moves the clock `stepMs` at a time, each step
 * after the event loop has gone round `turns` times (the socket reads and
 * writes and the hash workers' answers that the last step started), until
 * the condition holds. A wait of N ms of site time costs as much as the work
 * in it, not N ms.
 *
 * Site time runs at most `maxSpeedup` times faster than wall time: a new TCP
 * connection or a worker thread's answer takes real time that no number of
 * event-loop turns stands in for, and a clock racing ahead of it would turn
 * a reconnect into a timeout no real site could see. Within that bound the
 * rig runs as fast as its work allows.
 */
export interface FakeTime {
  readonly clock: ManualClock;
  /** Moves the clock until `cond` holds; fails after `limitMs` of site time. */
  waitFor(cond: () => boolean, limitMs?: number, what?: string): Promise<void>;
  /** Lets `ms` of site time pass (stepwise, the rig running on the way). */
  pass(ms: number): Promise<void>;
}

export function fakeTime(clock: ManualClock, opts: { stepMs?: number; turns?: number; maxSpeedup?: number } = {}): FakeTime {
  const stepMs = opts.stepMs ?? 20;
  const turns = opts.turns ?? 8;
  const maxSpeedup = opts.maxSpeedup ?? 20;
  /** One step of a wait that began at site time `site0`, wall time `wall0`. */
  const step = async (site0: number, wall0: number): Promise<void> => {
    for (let i = 0; i < turns; i++) await turn();
    // Hold the clock while this wait is more than maxSpeedup x ahead of the wall clock.
    while ((clock.now() + stepMs - site0) / maxSpeedup > performance.now() - wall0) await turn();
    clock.advance(stepMs);
  };
  return {
    clock,
    async waitFor(cond, limitMs = 8000, what = 'condition') {
      const t0 = clock.now();
      const w0 = performance.now();
      for (;;) {
        for (let i = 0; i < turns && !cond(); i++) await turn();
        if (cond()) return;
        if (clock.now() - t0 > limitMs) throw new Error(`timed out waiting for ${what} (${limitMs} ms of site time)`);
        await step(t0, w0);
      }
    },
    async pass(ms) {
      const t0 = clock.now();
      const w0 = performance.now();
      while (clock.now() < t0 + ms) await step(t0, w0);
    },
  };
}
