/**
 * The Avalon device-state string (`MM ID0` on A10/A12/A15, `MM ID0:Summary`
 * and `HBinfo` on the Q): a flat run of `Key[value]` items inside one JSON
 * string. Not JSON and not the cgminer text form. Shapes seen in real captures
 * (test/fixtures/avalon/SOURCES.md, "Behaviours" 2):
 * - values with spaces, commas, colons, `%`: `SYSTEMSTATU[Work: In Work, Hash Board: 3 ]`
 * - keys with a space: `Nonce Mask[25]`
 * - space-padded arrays: `PVT_T0[ 66  65 ...]`
 * - the whole run wrapped as `'STATS':{...}` or `'HB0':{...}` (single quotes)
 * Pure: a string in, a map out; junk is skipped, never thrown.
 */

/** Unwrap `'NAME':{...}` (the Q's wrapper); other strings pass through. */
export function unwrapAvalonBlock(s: string): string {
  const m = /^\s*'[^']*'\s*:\s*\{([\s\S]*)\}\s*$/.exec(s);
  return m ? m[1]! : s;
}

/**
 * Parse `Key[value] Key2[value two]` into a map. A key is the trimmed text
 * between the previous `]` and the next `[`; a value runs to the matching `]`
 * (brackets nest). The first occurrence of a key wins. An unterminated value
 * runs to the end of the string.
 */
export function parseAvalonKv(input: string): Map<string, string> {
  const s = unwrapAvalonBlock(input);
  const out = new Map<string, string>();
  let i = 0;
  while (i < s.length) {
    const open = s.indexOf('[', i);
    if (open < 0) break;
    const key = s.slice(i, open).trim();
    let depth = 1;
    let j = open + 1;
    while (j < s.length && depth > 0) {
      const c = s[j];
      if (c === '[') depth++;
      else if (c === ']') depth--;
      j++;
    }
    const value = depth === 0 ? s.slice(open + 1, j - 1) : s.slice(open + 1);
    if (key.length > 0 && !out.has(key)) out.set(key, value);
    i = j;
  }
  return out;
}

/** A finite number from a value like `3731`, `199241.07`, `49%`, `1.299%`; undefined otherwise (`nan`, `inf`, text). */
export function kvNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*%?\s*$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}

/** A space-separated numeric array like `0 1209 1187 297 3526 1188 3731`; non-numbers become NaN. */
export function kvNumbers(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.trim().split(/\s+/).filter((p) => p.length > 0);
  if (parts.length === 0) return [];
  return parts.map((p) => {
    const n = kvNumber(p);
    return n === undefined ? NaN : n;
  });
}
