import { isIP } from 'node:net';

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
