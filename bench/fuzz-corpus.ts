/**
 * Fuzz inputs for the Stratum front door, shared by the fast property tests
 * (test/unit/fuzz-*.test.ts) and the million-line run (bench/fuzz.ts): a
 * corpus of valid miner lines, mutators driven by an injected random source
 * (fast-check in tests, a seeded xorshift in the bench), and a classifier
 * that runs one line through JSON-RPC decoding and the method's guard.
 * Pure: no I/O.
 */
import { decodeMessage, type RpcId } from '../src/wire/json-rpc.js';
import {
  guardAuthorize,
  guardConfigure,
  guardExtranonceSubscribe,
  guardSubmit,
  guardSubscribe,
  guardSuggestDifficulty,
  type Guarded,
} from '../src/wire/guards.js';

/** Valid lines as real miners send them (cgminer, bmminer, Bitaxe/ESP-Miner, NerdMiner). */
export const VALID_LINES: readonly string[] = [
  '{"id":1,"method":"mining.subscribe","params":["cgminer/4.11.1"]}',
  '{"id":1,"method":"mining.subscribe","params":["bitaxe/BM1370/v2.4.0","deadbeef"]}',
  '{"id":1,"method":"mining.subscribe","params":[]}',
  '{"id":2,"method":"mining.authorize","params":["farm.rig01","x"]}',
  '{"id":"auth","method":"mining.authorize","params":["bc1qexample.worker",null]}',
  '{"id":3,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":2}]}',
  '{"id":3,"method":"mining.configure","params":[["minimum-difficulty","subscribe-extranonce"],{"minimum-difficulty.value":2048}]}',
  '{"id":4,"method":"mining.suggest_difficulty","params":[1024]}',
  '{"id":5,"method":"mining.extranonce.subscribe","params":[]}',
  '{"id":6,"method":"mining.submit","params":["farm.rig01","1a","00000000","65a1b2c3","1f2e3d4c"]}',
  '{"id":7,"method":"mining.submit","params":["farm.rig01","1a","0000002a","65a1b2c3","1f2e3d4c","00a00000"]}',
  '{"params":["farm.rig01","2b","ffffffff","65a1b2c4","00000001"],"id":8,"method":"mining.submit"}',
  '{"id":null,"method":"mining.suggest_difficulty","params":[512]}',
  '{"id":9,"result":true,"error":null}',
];

export const METHODS = [
  'mining.subscribe',
  'mining.authorize',
  'mining.configure',
  'mining.suggest_difficulty',
  'mining.extranonce.subscribe',
  'mining.submit',
] as const;

/** Returns a float in [0, 1); tests back it with fast-check values, the bench with xorshift. */
export type Rand = () => number;

export function xorshift(seed: number): Rand {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

/** A Rand that replays fast-check's numbers, cycling (so shrinking still works). */
export function replay(values: readonly number[]): Rand {
  let i = 0;
  return () => (values.length === 0 ? 0 : (values[i++ % values.length]! >>> 0) / 0x1_0000_0000);
}

const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** Values of the wrong type, huge, odd or hostile. */
const ODD_VALUES: readonly string[] = [
  'null', 'true', 'false', '0', '-1', '1e308', '1e309', '-1e309', '123456789012345678901234567890', '0.000000001', '-0',
  '""', '"x"', '"zz"', '"0x1f"', '[]', '{}', '[[[[[[[[[[]]]]]]]]]]', '{"__proto__":{"polluted":1}}', '"__proto__"',
  '{"constructor":{"prototype":{"x":1}}}', '"\\u0000"', '"\\ud800"', '"💥🔥"', '"é"', `"${'a'.repeat(300)}"`, `"${'f'.repeat(70)}"`,
];

const MUTATORS: ReadonlyArray<(s: string, r: Rand) => string> = [
  // byte flip
  (s, r) => {
    if (s.length === 0) return s;
    const i = int(r, s.length);
    return s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << int(r, 7))) + s.slice(i + 1);
  },
  // truncate
  (s, r) => s.slice(0, int(r, s.length + 1)),
  // duplicate a slice
  (s, r) => {
    const a = int(r, s.length + 1);
    const b = a + int(r, s.length - a + 1);
    return s.slice(0, b) + s.slice(a, b) + s.slice(b);
  },
  // delete a slice
  (s, r) => {
    const a = int(r, s.length + 1);
    return s.slice(0, a) + s.slice(a + int(r, 8));
  },
  // insert an odd value at a random position
  (s, r) => {
    const i = int(r, s.length + 1);
    return s.slice(0, i) + pick(r, ODD_VALUES) + s.slice(i);
  },
  // replace one JSON scalar (number, string, literal) with an odd value
  (s, r) => {
    const tokens = [...s.matchAll(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|true|false|null/gi)];
    if (tokens.length === 0) return s;
    const t = pick(r, tokens);
    return s.slice(0, t.index) + pick(r, ODD_VALUES) + s.slice(t.index + t[0].length);
  },
  // swap the method for another (params stay: wrong arity and types for the new one)
  (s, r) => s.replace(/"mining\.[a-z_.]+"/, `"${pick(r, METHODS)}"`),
  // a stray quote, brace, comma or control byte
  (s, r) => {
    const i = int(r, s.length + 1);
    return s.slice(0, i) + pick(r, ['"', '{', '}', '[', ']', ',', ':', '\\', '\t', '\r', '\u0000', '\u2028']) + s.slice(i);
  },
  // nest the whole thing
  (s, r) => (r() < 0.5 ? `[${s}]` : `{"id":${int(r, 100)},"method":"mining.submit","params":[${s}]}`),
];

/** One to four stacked mutations of a corpus line. */
export function mutateLine(r: Rand, base = pick(r, VALID_LINES)): string {
  let s = base;
  const n = 1 + int(r, 4);
  for (let i = 0; i < n; i++) s = pick(r, MUTATORS)(s, r);
  return s;
}

function randomScalar(r: Rand): unknown {
  switch (int(r, 7)) {
    case 0: return int(r, 2 ** 32);
    case 1: return (r() - 0.5) * 10 ** int(r, 20);
    case 2: return int(r, 16 ** 8).toString(16).padStart(2 * (1 + int(r, 4)), '0');
    case 3: return 'w'.repeat(int(r, 300));
    case 4: return r() < 0.5;
    case 5: return null;
    default: return [];
  }
}

/** A generated, structurally plausible request: known method, random params. */
export function generateRequest(r: Rand): string {
  const params = Array.from({ length: int(r, 8) }, () => randomScalar(r));
  const id = r() < 0.1 ? null : r() < 0.8 ? int(r, 1e6) : `id-${int(r, 1000)}`;
  return JSON.stringify({ id, method: pick(r, METHODS), params });
}

/** Either a mutated corpus line or a generated request. */
export function fuzzLine(r: Rand): string {
  return r() < 0.7 ? mutateLine(r) : generateRequest(r);
}

export type LineVerdict =
  | { kind: 'request-ok'; id: RpcId; method: string }
  | { kind: 'request-rejected'; id: RpcId; method: string; message: string }
  | { kind: 'unknown-method'; id: RpcId }
  | { kind: 'decode-error'; id?: RpcId; reason: string }
  | { kind: 'notification' | 'response' };

/** The pure part of what the proxy does with one miner line. Throws only on a bug. */
export function classifyLine(line: string, extranonce2Size = 4): LineVerdict {
  const d = decodeMessage(line);
  if (!d.ok) return d.id === undefined ? { kind: 'decode-error', reason: d.reason } : { kind: 'decode-error', id: d.id, reason: d.reason };
  const m = d.message;
  if (m.kind !== 'request') return { kind: m.kind };
  let g: Guarded<unknown>;
  switch (m.method) {
    case 'mining.subscribe': g = guardSubscribe(m.params); break;
    case 'mining.authorize': g = guardAuthorize(m.params); break;
    case 'mining.configure': g = guardConfigure(m.params); break;
    case 'mining.suggest_difficulty': g = guardSuggestDifficulty(m.params); break;
    case 'mining.extranonce.subscribe': g = guardExtranonceSubscribe(m.params); break;
    case 'mining.submit': g = guardSubmit(m.params, extranonce2Size); break;
    default: return { kind: 'unknown-method', id: m.id };
  }
  if (g.ok) return { kind: 'request-ok', id: m.id, method: m.method };
  if (typeof g.message !== 'string' || g.message === '') throw new Error(`guard for ${m.method} rejected without a message`);
  return { kind: 'request-rejected', id: m.id, method: m.method, message: g.message };
}

/** Whether the proxy owes this line exactly one answer. */
export function expectsAnswer(v: LineVerdict): boolean {
  return 'id' in v && v.id !== undefined;
}

/** Reason buckets for counting (decode messages carry JSON.parse detail; keep the head). */
export function reasonKey(v: LineVerdict): string {
  switch (v.kind) {
    case 'decode-error':
      return `decode: ${v.reason.startsWith('invalid JSON') ? 'invalid JSON' : v.reason.replace(/^[\s\S]* params must/, '<method> params must').replace(/, got [\s\S]*$/, '')}`;
    case 'request-rejected':
      return `guard: ${v.method}`;
    default:
      return v.kind;
  }
}
