/** Keys whose values are secrets wherever they appear (pool and MQTT passwords, the HTTP token). */
const SECRET_KEY = /^(password|pass|passwd|token|secret|authorization|apikey|api_key)$/i;

/** `scheme://user:pass@host` -> `scheme://[redacted]@host`. */
const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/i;

export const REDACTED = '[redacted]';

/**
 * A deep copy with every secret replaced, for anything the operator surface
 * serves (e.g. the effective configuration). Works on plain JSON-like data.
 */
export function redactSecrets<T>(value: T): T {
  return walk(value, undefined) as T;
}

function walk(v: unknown, key: string | undefined): unknown {
  if (key !== undefined && SECRET_KEY.test(key) && v !== undefined && v !== null) return REDACTED;
  if (typeof v === 'string') return v.replace(URL_USERINFO, `$1${REDACTED}@`);
  if (Array.isArray(v)) return v.map((x) => walk(x, undefined));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, k);
    return out;
  }
  return v;
}
