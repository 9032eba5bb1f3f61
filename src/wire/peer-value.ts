/**
 * The one way to turn a value a peer sent (miner, pool, device, HTTP or MQTT
 * client, config file) into text for an error message or a log line. Pure.
 *
 * JSON.stringify, String() and template strings all recurse through nested
 * arrays and objects: a 16 KiB line of `[[[[…]]]]` throws RangeError (call
 * stack) from inside an error path, and a wide value can make a huge string.
 * This walks at most `MAX_DEPTH` levels and stops as soon as the text is
 * `maxChars` long, so its cost is bounded by `maxChars`, never by the value
 * (issue 11). It never throws, not even on getters or proxies.
 */

const MAX_DEPTH = 3;

/** Longest text a caller may ask for: log lines stay short whatever they ask. */
const MAX_CHARS = 1000;

class Out {
  text = '';
  constructor(readonly max: number) {}
  get full(): boolean {
    return this.text.length >= this.max;
  }
  add(s: string): void {
    if (!this.full) this.text += s.length > this.max ? s.slice(0, this.max + 1) : s;
  }
}

function quote(s: string, out: Out): void {
  // JSON.stringify of a bounded slice: escapes control and lone-surrogate characters.
  const room = Math.max(0, out.max - out.text.length) + 1;
  out.add(JSON.stringify(s.length > room ? s.slice(0, room) : s));
}

function walk(v: unknown, depth: number, out: Out): void {
  if (out.full) return;
  switch (typeof v) {
    case 'string':
      return quote(v, out);
    case 'number':
      return out.add(Number.isFinite(v) ? `${v}` : v > 0 ? 'Infinity' : v < 0 ? '-Infinity' : 'NaN');
    case 'bigint':
      return out.add(`${v}n`.length > out.max ? `${v}`.slice(0, out.max) : `${v}n`);
    case 'boolean':
      return out.add(v ? 'true' : 'false');
    case 'undefined':
      return out.add('undefined');
    case 'symbol':
      return out.add('a symbol');
    case 'function':
      return out.add('a function');
  }
  if (v === null) return out.add('null');
  if (Array.isArray(v)) {
    if (depth >= MAX_DEPTH) return out.add(v.length === 0 ? '[]' : '[…]');
    out.add('[');
    for (let i = 0; i < v.length && !out.full; i++) {
      if (i > 0) out.add(',');
      walk(v[i], depth + 1, out);
    }
    return out.add(']');
  }
  if (v instanceof Uint8Array) return out.add(`<${v.length} bytes>`);
  if (depth >= MAX_DEPTH) return out.add('{…}');
  out.add('{');
  let first = true;
  // for…in stops early: Object.keys would list every key of a huge object first.
  for (const k in v as Record<string, unknown>) {
    if (out.full) break;
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    if (!first) out.add(',');
    first = false;
    quote(k, out);
    out.add(':');
    walk((v as Record<string, unknown>)[k], depth + 1, out);
  }
  out.add('}');
}

/**
 * A peer's value as short JSON-like text: at most `maxChars` characters
 * (then `…`), nesting below three levels shown as `[…]` / `{…}`.
 */
export function describePeerValue(v: unknown, maxChars = 80): string {
  const max = Math.max(8, Math.min(MAX_CHARS, Math.floor(maxChars)));
  const out = new Out(max);
  try {
    walk(v, 0, out);
  } catch {
    // A getter or proxy that throws: say so rather than let an error path fail.
    return out.text.length > 0 ? `${out.text.slice(0, max)}…` : 'an unreadable value';
  }
  return out.text.length <= max ? out.text : `${out.text.slice(0, max)}…`;
}
