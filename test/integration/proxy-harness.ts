/** Shared setup for the proxy integration tests: sim pool(s) → surplus → sim miners, all on loopback. */
import { resolveConfig } from '../../src/config/load.js';
import { Proxy } from '../../src/proxy.js';
import { SimPool, type SimPoolOptions } from '../../src/demo/sim-pool.js';
import { SimMiner, type SimMinerOptions } from '../../src/demo/sim-miner.js';

export const POOL_DIFF = 1e-5;
export const MINER_DIFF = 2e-6;

export async function startPools(n: number, opts: SimPoolOptions = {}): Promise<SimPool[]> {
  const pools: SimPool[] = [];
  for (let i = 0; i < n; i++) {
    const p = new SimPool({ difficulty: POOL_DIFF, ...opts });
    await p.start();
    pools.push(p);
  }
  return pools;
}

export function testConfig(pools: SimPool[], overrides: Record<string, unknown> = {}): ReturnType<typeof resolveConfig> {
  const base: Record<string, unknown> = {
    listen: '127.0.0.1:0',
    pools: pools.map((p, i) => ({ url: p.url, user: `farm${i}` })),
    // Difficulty pinned low so CPU miners find shares every few hundred ms.
    difficulty: { initial: MINER_DIFF, min: MINER_DIFF, max: MINER_DIFF, targetSharesPerMinute: 600, retargetS: 5 },
    // Generous upstream timeouts: the simulated pool sends no periodic jobs, so with a 5 s silence
    // watchdog a loaded machine whose CPU miners found no pool share for 5 s saw the pool "go silent",
    // reconnect, and stale the shares in flight. Tests of the watchdog and timeouts set their own.
    upstream: { handshakeTimeoutS: 10, requestTimeoutS: 10, silenceTimeoutS: 60, fallbackStableS: 1, backoffInitialMs: 100, backoffMaxMs: 500 },
    shares: { hashThreads: 1 },
    log: { level: 'silent' },
  };
  for (const [k, v] of Object.entries(overrides)) {
    base[k] = typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...(base[k] as object), ...v } : v;
  }
  return resolveConfig(base);
}

export async function startMiners(port: number, n: number, opts: Partial<SimMinerOptions> = {}): Promise<SimMiner[]> {
  const miners = Array.from({ length: n }, (_, i) => new SimMiner({ host: '127.0.0.1', port, worker: `rig${i}`, hashesPerSecond: 20_000, ...opts }));
  await Promise.all(miners.map((m) => m.start()));
  return miners;
}

export async function waitFor(cond: () => boolean, timeoutMs = 8000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { Proxy, SimPool, SimMiner };
