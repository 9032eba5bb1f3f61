/**
 * Capped exponential backoff with jitter (pure: the random draw is an
 * argument). Jitter spreads the reconnects of many proxies after a pool
 * outage instead of having them arrive in lockstep.
 */
export interface BackoffPolicy {
  /** Delay before the first retry, ms. */
  initialMs: number;
  /** Upper bound on any delay, ms. */
  maxMs: number;
  /** Growth per failed attempt (default 2). */
  factor?: number;
  /** Fraction of the delay that is randomised, 0..1 (default 0.5: "equal jitter"). */
  jitter?: number;
}

/**
 * Delay before retry number `attempt` (0 = first retry).
 * `random` is a draw in [0, 1); the result lies in [d·(1−jitter), d] with d = min(max, initial·factor^attempt).
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: number): number {
  const factor = policy.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0.5));
  const n = Math.max(0, Math.floor(attempt));
  // Cap the exponent first so huge attempt counts cannot overflow to Infinity.
  const raw = policy.initialMs * Math.pow(factor, Math.min(n, 64));
  const d = Math.min(policy.maxMs, Number.isFinite(raw) ? raw : policy.maxMs);
  const r = Math.min(1, Math.max(0, random));
  return Math.round(d * (1 - jitter) + d * jitter * r);
}
