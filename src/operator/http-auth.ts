import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Bearer-token check for state-changing endpoints. Both sides are hashed
 * first so `timingSafeEqual` always compares equal-length digests: neither
 * the token's content nor its length leaks through response timing.
 */
export class BearerAuth {
  private readonly digest: Buffer | null;

  constructor(token: string | undefined) {
    this.digest = token ? sha256(token) : null;
  }

  get configured(): boolean {
    return this.digest !== null;
  }

  /** True when the Authorization header carries the configured token. Always false without a token. */
  check(authorization: string | undefined): boolean {
    if (!this.digest || !authorization) return false;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!m) return false;
    return timingSafeEqual(sha256(m[1]!), this.digest);
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}


/** Splits "host:port" (IPv6 in brackets) as validated by the config schema. */
export function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  return { host, port: Number(listen.slice(i + 1)) };
}

/**
 * The key a client's limits are counted under: its IPv4 address (also when
 * IPv4-mapped), or the /64 of an IPv6 address, since one IPv6 host commonly
 * holds a whole /64 and could otherwise appear as 2^64 clients.
 */
export function addressKey(remote: string): string {
  const a = remote.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (isIP(a) !== 6) return a;
  const [head = '', tail = ''] = a.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = a.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** Failure-bucket sizes: a burst of `burst` failures, then one more every `refillMs`. */
export interface FailureLimits {
  perAddress: { burst: number; refillMs: number };
  /** Across all addresses, so that failures spread over many addresses meet a bound too. */
  global: { burst: number; refillMs: number };
  /** Addresses tracked; beyond it the least recently failing is forgotten (the global bucket is not). */
  maxAddresses: number;
}

export const DEFAULT_FAILURE_LIMITS: FailureLimits = {
  perAddress: { burst: 10, refillMs: 6_000 },
  global: { burst: 100, refillMs: 1_000 },
  maxAddresses: 1024,
};

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * Budget for *failed* token checks. Each failure takes one token from its
 * address's bucket and one from a global bucket. While either is empty
 * (`isLimited`), the server paces every check through a PenaltyGate instead
 * of refusing: a limiter that refused the right token after wrong ones let
 * anyone sharing the EMS's address lock it out (issue 11). Forgetting an
 * address (memory is bounded by `maxAddresses`) never refills the global
 * bucket, so address churn cannot reopen guessing.
 */
export class FailureLimiter {
  /** Insertion order is recency order: a failing address is moved to the end. */
  private readonly perAddress = new Map<string, Bucket>();
  private readonly global: Bucket;

  constructor(
    private readonly limits: FailureLimits = DEFAULT_FAILURE_LIMITS,
    nowMs = 0,
  ) {
    this.global = { tokens: limits.global.burst, atMs: nowMs };
  }

  /** Counts a failed check from `remote`; `limited` when its address or the site as a whole is over budget. */
  fail(remote: string, nowMs: number): { limited: boolean; retryAfterMs: number } {
    const key = addressKey(remote);
    const mine = this.perAddress.get(key) ?? { tokens: this.limits.perAddress.burst, atMs: nowMs };
    this.perAddress.delete(key);
    this.perAddress.set(key, mine);
    if (this.perAddress.size > this.limits.maxAddresses) this.perAddress.delete(this.perAddress.keys().next().value!);
    const a = take(mine, this.limits.perAddress, nowMs);
    const g = take(this.global, this.limits.global, nowMs);
    return { limited: a > 0 || g > 0, retryAfterMs: Math.max(a, g) };
  }

  /** True while failures from `remote`'s address, or from everywhere, are over budget (consumes nothing). */
  isLimited(remote: string, nowMs: number): boolean {
    const mine = this.perAddress.get(addressKey(remote));
    return (mine !== undefined && !has(mine, this.limits.perAddress, nowMs)) || !has(this.global, this.limits.global, nowMs);
  }

  /** Addresses currently tracked (bounded by maxAddresses). */
  get trackedAddresses(): number {
    return this.perAddress.size;
  }
}

/** True when `b` would have a token at `nowMs`. */
function has(b: Bucket, limits: { burst: number; refillMs: number }, nowMs: number): boolean {
  return Math.min(limits.burst, b.tokens + Math.max(0, nowMs - b.atMs) / limits.refillMs) >= 1;
}

/** Refills `b`, then takes a token; returns 0 when there was one, else ms until there will be. */
function take(b: Bucket, limits: { burst: number; refillMs: number }, nowMs: number): number {
  const elapsed = Math.max(0, nowMs - b.atMs);
  b.tokens = Math.min(limits.burst, b.tokens + elapsed / limits.refillMs);
  b.atMs = nowMs;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return Math.ceil((1 - b.tokens) * limits.refillMs);
}
