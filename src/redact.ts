/**
 * Secrets out of everything the operator surface serves and everything the
 * logger writes: by key (pool and MQTT passwords, the HTTP token) and inside
 * text (credentials in URLs, secret query parameters, Authorization values).
 *
 * Text is scanned token by token with indexOf and one linear regex, never a
 * backtracking pattern over the whole string: log text can carry peer data.
 */

export const REDACTED = '[redacted]';

/** Keys whose values are secrets wherever they appear: exact names, `*_password` style and `mqttPassword` style. */
const SECRET_KEY = /^(password|pass|passwd|pwd|token|secret|authorization|apikey|api_key|access_token|credentials?)$|[_-](password|passwd|secret|token|apikey)$|[a-z](Password|Passwd|Secret|Token|ApiKey)$/i;
/** Query or form parameter names whose values are secrets (`?token=`, `&access_token=`, `;password=`). */
const SECRET_PARAM = /(pass(word|wd)?|pwd|secret|token|api[_-]?key|auth|signature|sig|credential|session)s?$/i;
/** Splits text into tokens, keeping the separators: URLs end at whitespace, quotes and angle brackets. */
const SEPARATORS = /([\s"'<>`]+)/;
/** `Bearer <token>` / `Basic <credentials>` anywhere in text. */
const AUTH_SCHEME = /\b(Bearer|Basic)([ \t]+)[^\s"'<>`,;]+/gi;
/** Deeper than this, a value is replaced, not walked (peer data could nest without end). */
const MAX_DEPTH = 32;

/**
 * `text` with every credential replaced by `[redacted]`:
 * - URL user information, whatever it holds (`mqtt://user:p@ss:w/rd%40@host` ->
 *   `mqtt://[redacted]@host`): everything between `//` and the token's last `@`;
 * - the same without a scheme (`user:pass@host`; a colon before the `@` tells
 *   it from an e-mail address, which is kept);
 * - a whole URL percent-encoded inside another (`mqtt%3A%2F%2Fu%3Ap%40host`);
 * - secret query and form parameters (`?token=…`, `&password=…`);
 * - `Bearer …` and `Basic …` values.
 * Over-redaction (an `@` in a URL path) is accepted; a leak is not.
 */
export function redactText(text: string): string {
  if (!mayHoldSecret(text)) return text;
  const parts = text.split(SEPARATORS);
  for (let i = 0; i < parts.length; i += 2) parts[i] = redactToken(parts[i]!);
  return parts.join('').replace(AUTH_SCHEME, `$1$2${REDACTED}`);
}

function mayHoldSecret(text: string): boolean {
  if (text.includes('@') || text.includes('=')) return true;
  const lower = text.toLowerCase();
  return lower.includes('%40') || lower.includes('bearer') || lower.includes('basic');
}

function redactToken(token: string): string {
  let t = token;
  const at = t.lastIndexOf('@');
  if (at > 0) {
    const slashes = t.indexOf('//');
    if (slashes >= 0 && slashes < at) {
      t = `${t.slice(0, slashes + 2)}${REDACTED}${t.slice(at)}`;
    } else {
      // No scheme: the user information starts after the last `=` `(` `,` `;` before its colon.
      const colon = t.indexOf(':');
      if (colon >= 0 && colon < at) {
        let start = 0;
        for (const sep of ['=', '(', ',', ';']) start = Math.max(start, t.lastIndexOf(sep, colon) + 1);
        t = `${t.slice(0, start)}${REDACTED}${t.slice(at)}`;
      }
    }
  }
  const lower = t.toLowerCase();
  const encodedScheme = lower.indexOf('%3a%2f%2f');
  const encodedAt = lower.lastIndexOf('%40');
  if (encodedScheme >= 0 && encodedAt > encodedScheme) t = `${t.slice(0, encodedScheme + 9)}${REDACTED}${t.slice(encodedAt)}`;
  if (t.includes('=')) t = redactParams(t);
  return t;
}

/** `a?token=x&b=y` -> `a?token=[redacted]&b=y`; a parameter ends at `&`, `;`, `#` or `?`. */
function redactParams(token: string): string {
  let out = '';
  let i = 0;
  while (i < token.length) {
    const eq = token.indexOf('=', i);
    if (eq < 0) break;
    // The name runs back from `=` to the previous separator.
    let nameStart = eq;
    while (nameStart > i && !'?&;#/,'.includes(token[nameStart - 1]!)) nameStart--;
    let valueEnd = eq + 1;
    while (valueEnd < token.length && !'&;#?'.includes(token[valueEnd]!)) valueEnd++;
    const name = token.slice(nameStart, eq);
    out += token.slice(i, eq + 1);
    out += name.length <= 64 && SECRET_PARAM.test(name) && valueEnd > eq + 1 ? REDACTED : token.slice(eq + 1, valueEnd);
    i = valueEnd;
  }
  return out + token.slice(i);
}

/**
 * `value` with every secret replaced, for anything the operator surface
 * serves (the effective configuration) and every log record. The input is
 * never changed; parts with nothing to replace are shared, not copied. Works on
 * JSON-like data; an Error is copied with the same prototype (so loggers still
 * name its class) and its message, stack, cause and own fields redacted.
 */
export function redactSecrets<T>(value: T): T {
  return walk(value, undefined, 0) as T;
}

function walk(v: unknown, key: string | undefined, depth: number): unknown {
  if (key !== undefined && SECRET_KEY.test(key) && v !== undefined && v !== null && typeof v !== 'boolean') return REDACTED;
  if (typeof v === 'string') return redactText(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Array.isArray(v)) {
    const out = v.map((x) => walk(x, undefined, depth + 1));
    return out.every((x, i) => x === v[i]) ? v : out;
  }
  if (v instanceof Error) return redactError(v, depth);
  // Only plain data is walked: a class instance (a socket, a timer) may be a large or cyclic graph.
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return v;
  // Copy on write: a record with nothing to hide (most log lines) is passed on as it is.
  let out: Record<string, unknown> | undefined;
  const entries = Object.entries(v);
  for (let i = 0; i < entries.length; i++) {
    const [k, x] = entries[i]!;
    const y = walk(x, k, depth + 1);
    if (y !== x && !out) {
      out = {};
      for (let j = 0; j < i; j++) out[entries[j]![0]] = entries[j]![1];
    }
    if (out) out[k] = y;
  }
  return out ?? v;
}

function redactError(e: Error, depth: number): Error {
  const copy = Object.create(Object.getPrototypeOf(e) as object) as Error;
  for (const [k, x] of Object.entries(e)) (copy as unknown as Record<string, unknown>)[k] = walk(x, k, depth + 1);
  Object.defineProperty(copy, 'message', { value: redactText(e.message), enumerable: false, writable: true, configurable: true });
  if (e.stack !== undefined) Object.defineProperty(copy, 'stack', { value: redactText(e.stack), enumerable: false, writable: true, configurable: true });
  if (e.cause !== undefined) Object.defineProperty(copy, 'cause', { value: walk(e.cause, undefined, depth + 1), enumerable: false, writable: true, configurable: true });
  return copy;
}
