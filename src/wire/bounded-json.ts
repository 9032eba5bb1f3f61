/**
 * JSON from a peer, bounded before anything walks it (issue 11). Pure.
 *
 * JSON.parse itself copes with deep nesting, but every later walk of the
 * value (JSON.stringify, String(), a recursive validator, a logger) recurses
 * and a line of `[[[[…]]]]` ends the process with RangeError. So the text is
 * scanned once (no recursion, O(length)) for its nesting depth and size
 * before it is parsed, like ws' maxPayload: a bound applies before the data
 * is touched. The same scan finds the raw text of the top-level `"id"`
 * member, so a JSON-RPC answer can echo any id exactly as it was sent
 * (`123456789012345678901234567890`, not `1.2345678901234568e+29`).
 */

/** Deepest nesting any peer message needs: Stratum uses 3 (object, params, merkle branch), cgminer replies 4. */
export const MAX_PEER_JSON_DEPTH = 32;

export interface JsonScan {
  /** Deepest nesting of arrays and objects. */
  depth: number;
  /** The top level is an object. */
  object: boolean;
  /** Raw text of the last top-level `"id"` member's value (trimmed), when the top level is an object. */
  idText?: string;
  /** The top-level object has a `"method"` member (a request or notification, not an answer). */
  method: boolean;
}

const WS = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** The key of a member, unescaped only when it has escapes (`"\u0069d"` is "id" too). */
function keyOf(text: string, from: number, to: number): string {
  const raw = text.slice(from + 1, to);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(text.slice(from, to + 1)) as string;
  } catch {
    return raw;
  }
}

/**
 * One pass over `text`: depth, whether it is an object, the raw id text.
 * Stops counting depth past `stopAt` (the verdict is already known). The text
 * need not be valid JSON; the parse that follows decides that.
 */
export function scanJson(text: string, stopAt = Infinity): JsonScan {
  let depth = 0;
  let max = 0;
  let strStart = -1;
  let object = false;
  // Top-level object members: 'key' = expecting a key, 'colon' = after a key, 'value' = inside a value.
  let state: 'key' | 'colon' | 'value' | 'none' = 'none';
  let key = '';
  let valueStart = -1;
  let idText: string | undefined;
  let method = false;
  const first = text.length - text.trimStart().length;
  const endValue = (at: number): void => {
    if (key === 'id' && valueStart >= 0) idText = text.slice(valueStart, at).trim();
    valueStart = -1;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (depth === 1 && state === 'value' && valueStart < 0 && !WS(c)) valueStart = i;
    switch (c) {
      case 0x22: {
        // Jump to the closing quote (most of a Stratum line is strings): indexOf, then skip
        // quotes escaped by an odd run of backslashes. Unterminated: the rest is the string.
        strStart = i;
        let j = text.indexOf('"', i + 1);
        while (j > 0) {
          let k = j - 1;
          while (text.charCodeAt(k) === 0x5c) k--;
          if ((j - 1 - k) % 2 === 0) break;
          j = text.indexOf('"', j + 1);
        }
        if (j < 0) {
          i = text.length;
          break;
        }
        i = j;
        if (depth === 1 && state === 'key') {
          key = keyOf(text, strStart, i);
          if (key === 'method') method = true;
          state = 'colon';
        }
        break;
      }
      case 0x7b: // {
      case 0x5b: // [
        if (depth === 0 && i === first && c === 0x7b) {
          object = true;
          state = 'key';
        }
        if (++depth > max) {
          max = depth;
          if (max > stopAt) return { depth: max, object, method, ...(idText === undefined ? {} : { idText }) };
        }
        break;
      case 0x7d: // }
      case 0x5d: // ]
        if (depth === 1 && object && state === 'value') endValue(i);
        if (depth > 0) depth--;
        if (depth === 0) state = 'none';
        break;
      case 0x3a: // :
        if (depth === 1 && object && state === 'colon') state = 'value';
        break;
      case 0x2c: // ,
        if (depth === 1 && object && state === 'value') {
          endValue(i);
          state = 'key';
        }
        break;
    }
  }
  return { depth: max, object, method, ...(idText === undefined ? {} : { idText }) };
}

export type BoundedJson = { ok: true; value: unknown; scan: JsonScan } | { ok: false; reason: string; scan: JsonScan };

export interface JsonBounds {
  /** Deepest nesting taken (default MAX_PEER_JSON_DEPTH). */
  maxDepth?: number;
  /** Longest text taken, in characters (default: no bound here; callers with a line cap have one). */
  maxChars?: number;
}

/**
 * JSON.parse behind the bounds. Failures are values whose reason is short
 * and never quotes the text (V8's messages quote the input).
 */
export function parseBoundedJson(text: string, bounds: JsonBounds = {}): BoundedJson {
  const maxDepth = bounds.maxDepth ?? MAX_PEER_JSON_DEPTH;
  if (bounds.maxChars !== undefined && text.length > bounds.maxChars) {
    return { ok: false, reason: `JSON text over ${bounds.maxChars} characters`, scan: { depth: 0, object: false, method: false } };
  }
  const scan = scanJson(text, maxDepth);
  if (scan.depth > maxDepth) return { ok: false, reason: `JSON nested deeper than ${maxDepth} levels`, scan };
  try {
    return { ok: true, value: JSON.parse(text) as unknown, scan };
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${shortParseError(err)}`, scan };
  }
}

/** V8's JSON.parse message without the quoted input (`Unexpected token 'a', "aaaa"... is not valid JSON`). */
export function shortParseError(err: unknown): string {
  const m = err instanceof Error ? err.message : 'parse failed';
  return m.replace(/, ".*$/s, '').replace(/ in JSON at position (\d+).*$/s, ' at position $1').slice(0, 120);
}
