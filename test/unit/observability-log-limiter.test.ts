/** LogLimiter (issue 11 item 8): per peer and cause, burst then counted, the count always reported; read as NDJSON. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/observability/logger.js';
import { LogLimiter } from '../../src/observability/log-limiter.js';

function ndjson(): { logger: ReturnType<typeof createLogger>; records: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const out = new Writable({ write: (c, _e, cb) => void (chunks.push(String(c)), cb()) });
  return {
    logger: createLogger({ level: 'debug', destination: out }),
    records: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('LogLimiter', () => {
  it('lets `burst` lines through per peer and cause, counts the rest, and reports the count with the next window', () => {
    const clock = new ManualClock(0);
    const { logger, records } = ndjson();
    const l = new LogLimiter({ clock, burst: 3, windowMs: 10_000 });
    for (let i = 0; i < 100; i++) l.log(logger, 'warn', '10.0.0.1', 'malformed', { i }, 'malformed line');
    l.log(logger, 'warn', '10.0.0.2', 'malformed', {}, 'malformed line');
    l.log(logger, 'warn', '10.0.0.1', 'other', {}, 'other cause');
    expect(records()).toHaveLength(5);
    expect(l.suppressedTotal).toBe(97);
    clock.advance(10_000);
    l.log(logger, 'warn', '10.0.0.1', 'malformed', { i: 100 }, 'malformed line');
    // The 97 are reported once (a summary when the window ended), and the new window logs again.
    expect(records().filter((r) => r['suppressed'] === 97)).toMatchObject([{ peer: '10.0.0.1', cause: 'malformed', level: 40 }]);
    expect(records().at(-1)).toMatchObject({ peer: '10.0.0.1', i: 100 });
  });

  it('reports a burst that stopped in a summary once its window ended', () => {
    const clock = new ManualClock(0);
    const { logger, records } = ndjson();
    const l = new LogLimiter({ clock, burst: 1, windowMs: 5000 });
    for (let i = 0; i < 10; i++) l.log(logger, 'warn', 'pool-a', 'bad job', {}, 'bad job from pool');
    clock.advance(6000);
    l.log(logger, 'info', 'someone-else', 'x', {}, 'unrelated');
    const summary = records().find((r) => r['suppressed'] === 9);
    expect(summary).toMatchObject({ peer: 'pool-a', cause: 'bad job' });
    expect(String(summary!['msg'])).toMatch(/9 more "bad job" lines from pool-a/);
  });

  it('keeps at most maxKeys keys, reporting what an evicted key had suppressed', () => {
    const clock = new ManualClock(0);
    const { logger, records } = ndjson();
    const l = new LogLimiter({ clock, burst: 1, windowMs: 60_000, maxKeys: 2 });
    l.log(logger, 'warn', 'a', 'c', {}, 'm');
    l.log(logger, 'warn', 'a', 'c', {}, 'm');
    l.log(logger, 'warn', 'b', 'c', {}, 'm');
    l.log(logger, 'warn', 'd', 'c', {}, 'm');
    expect(records().some((r) => r['peer'] === 'a' && r['suppressed'] === 1)).toBe(true);
    expect(records().filter((r) => r['suppressed'] === undefined)).toHaveLength(3);
  });
});
