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

/**
 * True for addresses only this machine can reach: 127.0.0.0/8, ::1 (also
 * IPv4-mapped), and the name `localhost`. Any other name counts as exposed,
 * since it may resolve to a public interface.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  const v = isIP(h);
  if (v === 4) return h.startsWith('127.');
  if (v === 6) {
    // The WHATWG URL parser compresses IPv6, so every spelling of ::1 compares equal.
    const canonical = new URL(`http://[${h}]/`).hostname;
    return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:/.test(canonical);
  }
  return false;
}

/** Splits "host:port" (IPv6 in brackets) as validated by the config schema. */
export function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  return { host, port: Number(listen.slice(i + 1)) };
}

/**
 * Slows token guessing: after `maxFailures` wrong tokens from one address
 * within `windowMs`, that address is refused (even with the right token) until
 * the window since its first failure has passed. Tracks at most `maxAddresses`
 * addresses, dropping the oldest, so a flood of sources cannot grow memory.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, { firstMs: number; count: number }>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 60_000,
    private readonly maxAddresses = 1024,
  ) {}

  /** Milliseconds until `address` may try again; 0 when it may try now. */
  blockedForMs(address: string, nowMs: number): number {
    const f = this.failures.get(address);
    if (!f) return 0;
    const left = f.firstMs + this.windowMs - nowMs;
    if (left <= 0) {
      this.failures.delete(address);
      return 0;
    }
    return f.count >= this.maxFailures ? left : 0;
  }

  fail(address: string, nowMs: number): void {
    const f = this.failures.get(address);
    if (f && nowMs - f.firstMs < this.windowMs) {
      f.count += 1;
      return;
    }
    this.failures.delete(address);
    this.failures.set(address, { firstMs: nowMs, count: 1 });
    if (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }
}
