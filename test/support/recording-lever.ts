import type { StratumLever } from '../../src/fleet/control.js';

/**
 * A Stratum lever for tests that drive the scheduler without a proxy: it
 * records "withhold <worker>" / "release <worker>" in order, and every
 * worker is connected and has no planned hashrate.
 */
export function recordingLever(): { lever: StratumLever; calls: string[] } {
  const calls: string[] = [];
  const lever: StratumLever = {
    withhold: (w) => void calls.push(`withhold ${w}`),
    release: (w) => void calls.push(`release ${w}`),
    expectHashrate: () => undefined,
    isConnected: () => true,
  };
  return { lever, calls };
}
