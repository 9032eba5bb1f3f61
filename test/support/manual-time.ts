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
