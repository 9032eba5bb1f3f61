/**
 * A JSON reader that accepts the ways cgminer-based firmware breaks JSON, and
 * nothing wider. It is a real parser rather than text substitution because
 * substitution corrupts data: pyasic's old global `nan` -> `0` replacement
 * turned the product name "Avalonnano" into "Avalon0o" (pyasic#199, see
 * test/fixtures/avalon/SOURCES.md). Here the tokens `inf`/`-inf`/`nan` are
 * recognised only where a value is expected, so strings are never touched.
 *
 * Tolerated, each noted in `repairs`: bare non-finite numbers (cgminer prints
 * doubles with `%f`, which yields `inf`/`nan`; glibc may add a payload as in
 * `-nan(0x8000)`, MSVC builds print `1.#INF`/`-1.#IND`), trailing commas, a
 * missing comma between members or elements (`"STATS":[{..}{..}]`), raw
 * control characters inside strings. Pure: values in, values out; errors are values.
 */
import { describePeerValue } from '../wire/peer-value.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export type Repair = 'non-finite-number' | 'trailing-comma' | 'missing-comma' | 'raw-control-char';

export class LenientJsonError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = 'LenientJsonError';
  }
}

/** Deepest nesting accepted; cgminer replies are 3-4 levels deep. */
export const MAX_DEPTH = 32;

const NUMBER = /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const WORD = /[+-]?[A-Za-z_][A-Za-z0-9_]*/y;
const WS = /[ \t\r\n]*/y;
/** glibc's `nan(<chars>)` payload after a non-finite word. */
const NAN_PAYLOAD = /\([0-9A-Za-z_]*\)/y;
/** MSVC's printf spellings after the digits: `1.#INF`, `1.#QNAN`, `-1.#IND`, `1.#SNAN`. */
const MSVC_NON_FINITE = /#(INF|QNAN|SNAN|IND)[0-9]*/y;

const NON_FINITE: Record<string, number> = {
  inf: Infinity,
  '+inf': Infinity,
  infinity: Infinity,
  '+infinity': Infinity,
  '-inf': -Infinity,
  '-infinity': -Infinity,
  nan: NaN,
  '-nan': NaN,
  '+nan': NaN,
};

/** Set `obj[key]` without letting a `__proto__` key change the prototype. */
export function setKey(obj: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/**
 * Cursor-based reader over one text. `readValue` reads one value at `pos`;
 * `readMembers` reads object members after an opening brace (or after the
 * brace was lost, for the `,"id":1}` fragments some Avalons send).
 */
export class LenientJsonReader {
  pos = 0;
  readonly repairs = new Set<Repair>();

  constructor(readonly text: string) {}

  skipWs(): void {
    WS.lastIndex = this.pos;
    WS.exec(this.text);
    this.pos = WS.lastIndex;
  }

  peek(): string | undefined {
    return this.text[this.pos];
  }

  readValue(depth = 0): JsonValue {
    if (depth > MAX_DEPTH) throw new LenientJsonError(`nesting deeper than ${MAX_DEPTH}`, this.pos);
    this.skipWs();
    const c = this.peek();
    if (c === undefined) throw new LenientJsonError('unexpected end of reply, expected a value', this.pos);
    if (c === '{') {
      this.pos++;
      return this.readMembers(depth + 1);
    }
    if (c === '[') {
      this.pos++;
      return this.readElements(depth + 1);
    }
    if (c === '"') return this.readString();
    return this.readScalar();
  }

  /** Members up to and including the closing `}`; the opening `{` is already consumed. */
  readMembers(depth: number): JsonObject {
    const obj: JsonObject = {};
    let needComma = false;
    for (;;) {
      this.skipWs();
      const c = this.peek();
      if (c === '}') {
        this.pos++;
        return obj;
      }
      if (c === ',') {
        this.pos++;
        this.skipWs();
        if (this.peek() === '}') this.repairs.add('trailing-comma');
        needComma = false;
        continue;
      }
      if (c !== '"') {
        throw new LenientJsonError(c === undefined ? 'unexpected end of reply inside an object' : `expected a quoted key, found ${JSON.stringify(c)}`, this.pos);
      }
      if (needComma) this.repairs.add('missing-comma');
      const key = this.readString();
      this.skipWs();
      if (this.peek() !== ':') throw new LenientJsonError(`expected ':' after key ${describePeerValue(key, 40)}`, this.pos);
      this.pos++;
      setKey(obj, key, this.readValue(depth));
      needComma = true;
    }
  }

  private readElements(depth: number): JsonValue[] {
    const arr: JsonValue[] = [];
    let needComma = false;
    for (;;) {
      this.skipWs();
      const c = this.peek();
      if (c === ']') {
        this.pos++;
        return arr;
      }
      if (c === ',') {
        this.pos++;
        this.skipWs();
        if (this.peek() === ']') this.repairs.add('trailing-comma');
        needComma = false;
        continue;
      }
      if (c === undefined) throw new LenientJsonError('unexpected end of reply inside an array', this.pos);
      if (needComma) this.repairs.add('missing-comma');
      arr.push(this.readValue(depth));
      needComma = true;
    }
  }

  private readString(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    let run = this.pos;
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (Number.isNaN(c)) throw new LenientJsonError('unterminated string', start);
      if (c === 0x22) {
        out += t.slice(run, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.repairs.add('raw-control-char');
      if (c === 0x5c) {
        out += t.slice(run, this.pos);
        const e = t[this.pos + 1];
        if (e === undefined) throw new LenientJsonError('unterminated string', start);
        if (e === 'u') {
          const hex = t.slice(this.pos + 2, this.pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new LenientJsonError('bad \\u escape', this.pos);
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 6;
        } else {
          out += ESCAPES[e] ?? e;
          this.pos += 2;
        }
        run = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  private readScalar(): JsonValue {
    NUMBER.lastIndex = this.pos;
    const num = NUMBER.exec(this.text);
    WORD.lastIndex = this.pos;
    const word = WORD.exec(this.text);
    // A word wins when it is longer: "-inf" must not be read as a failed "-".
    if (num && (!word || num[0].length >= word[0].length)) {
      this.pos += num[0].length;
      MSVC_NON_FINITE.lastIndex = this.pos;
      const msvc = MSVC_NON_FINITE.exec(this.text);
      if (msvc) {
        this.pos += msvc[0].length;
        this.repairs.add('non-finite-number');
        if (msvc[1] === 'INF') return num[0].startsWith('-') ? -Infinity : Infinity;
        return NaN;
      }
      return Number(num[0]);
    }
    if (word) {
      const w = word[0];
      const lower = w.toLowerCase();
      let value: JsonValue;
      if (w === 'true') value = true;
      else if (w === 'false') value = false;
      else if (w === 'null') value = null;
      else if (lower in NON_FINITE) {
        value = NON_FINITE[lower]!;
        this.repairs.add('non-finite-number');
      } else {
        throw new LenientJsonError(`unexpected word ${describePeerValue(w, 20)}`, this.pos);
      }
      this.pos += w.length;
      if (typeof value === 'number' && Number.isNaN(value)) {
        NAN_PAYLOAD.lastIndex = this.pos;
        const payload = NAN_PAYLOAD.exec(this.text);
        if (payload) this.pos += payload[0].length;
      }
      return value;
    }
    throw new LenientJsonError(`unexpected character ${JSON.stringify(this.text[this.pos])}`, this.pos);
  }
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
