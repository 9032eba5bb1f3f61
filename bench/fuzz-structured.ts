/**
 * Structure-aware fuzz lines (issue 11): every method miners and pools send,
 * with every field replaced by any JSON value written as text (so big
 * integers, exponents and `-0` reach the parser exactly as a peer would send
 * them): deep nesting in every position, every JSON type, huge, negative,
 * fractional, exponent and big-integer numbers, long strings, odd unicode.
 * Also ids of every type, and cgminer device replies built the same way.
 * Pure; driven by an injected Rand (xorshift in the bench, fast-check in tests).
 */
import { decodeMessage, type RpcId } from '../src/wire/json-rpc.js';
import {
  cleanJobsFlag,
  parseNotify,
  parseReconnect,
  parseSetDifficulty,
  parseSetExtranonce,
  parseSetTarget,
  parseSetVersionMask,
  parseSubscribeResult,
  readConfigureResult,
  authorizeVerdict,
  submitVerdict,
} from '../src/wire/pool-dialect.js';
import { describePeerValue } from '../src/wire/peer-value.js';
import type { Rand } from './fuzz-corpus.js';

const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** Numbers as a peer may write them: JSON allows any digits, V8 reads them as doubles. */
const NUMBERS = [
  '0', '-0', '1', '-1', '0.5', '-0.000001', '1e-300', '1e300', '1e309', '-1e309', '4.9e-324', '1.7976931348623157e308',
  '123456789012345678901234567890', '-98765432109876543210', '9007199254740993', '1E+2', '1.0', '2e0', '0.1e1', '4294967296', '-2147483649',
];

/** Strings: hex of the right and wrong lengths, long, control and odd unicode, names of things. */
const STRINGS = [
  '""', '"00000000"', '"ffffffff"', '"1fffe000"', '"0x1f"', `"${'ab'.repeat(32)}"`, `"${'f'.repeat(64)}"`, `"${'0'.repeat(63)}"`,
  '"true"', '"1"', '"1e-300"', '"-5"', '"NaN"', '"Infinity"', '"__proto__"', '"constructor"', '"\\u0000\\u001f"', '"\\ud800"', '"\\udfff\\ud800"',
  '"é€💥"', '"\u202e\u200b"', '"\\n\\r\\t"', '"\\""', '"mining.submit"', '"farm.rig01"',
];

/** Any JSON value as text, nesting at most `depth` (deep values come from `deep`). */
export function jsonValueText(r: Rand, depth = 3): string {
  const k = int(r, depth > 0 ? 12 : 9);
  switch (k) {
    case 0: case 1: return pick(r, NUMBERS);
    case 2: return `${(r() - 0.5) * 10 ** int(r, 40)}`;
    case 3: case 4: return pick(r, STRINGS);
    case 5: return `"${pick(r, ['a', 'f', '0', 'é', '💥', '\\u0041']).repeat(int(r, 3000))}"`;
    case 6: return pick(r, ['true', 'false', 'null']);
    case 7: return deep(r);
    case 8: return int(r, 2) ? '[]' : '{}';
    case 9: case 10: return `[${Array.from({ length: int(r, 5) }, () => jsonValueText(r, depth - 1)).join(',')}]`;
    default: return `{${Array.from({ length: int(r, 4) }, () => `${pick(r, STRINGS)}:${jsonValueText(r, depth - 1)}`).join(',')}}`;
  }
}

/** Nesting that a recursive walk would choke on: 10 to 6,000 levels of arrays or objects. */
export function deep(r: Rand): string {
  const n = pick(r, [10, 33, 200, 2000, 6000]);
  if (int(r, 2)) return '['.repeat(n) + pick(r, ['', '1', '"x"']) + ']'.repeat(n);
  return '{"a":'.repeat(n) + pick(r, ['1', '[]', 'null']) + '}'.repeat(n);
}

/** Valid-looking values per field, so the structure gets past the first checks now and then. */
const MINER_PARAMS: Record<string, readonly string[][]> = {
  'mining.subscribe': [['"cgminer/4.11.1"', '"deadbeef"', '"pool.example"', '3333']],
  'mining.authorize': [['"farm.rig01"', '"x"']],
  'mining.configure': [['["version-rolling","minimum-difficulty","subscribe-extranonce"]', '{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":2,"minimum-difficulty.value":2048}']],
  'mining.submit': [['"farm.rig01"', '"1a"', '"00000000"', '"65a1b2c3"', '"1f2e3d4c"', '"00a00000"']],
  'mining.suggest_difficulty': [['1024']],
  'mining.suggest_target': [[`"${'0'.repeat(8)}${'f'.repeat(56)}"`]],
  'mining.extranonce.subscribe': [[]],
  'mining.get_transactions': [['"1a"']],
  'mining.multi_version': [['4']],
  'x.unknown': [['1']],
};

const POOL_PARAMS: Record<string, readonly string[][]> = {
  'mining.notify': [[`"j1"`, `"${'ab'.repeat(32)}"`, '"01000000010000"', '"ffffffff00000000"', `["${'cd'.repeat(32)}"]`, '"20000000"', '"1d00ffff"', '"5f5e1000"', 'true']],
  'mining.set_difficulty': [['1024']],
  'mining.set_target': [[`"${'0'.repeat(8)}${'f'.repeat(56)}"`]],
  'mining.set_extranonce': [['"f0000002"', '8']],
  'mining.set_version_mask': [['"1fffe000"']],
  'client.show_message': [['"maintenance at noon"']],
  'client.get_version': [[]],
  'mining.ping': [[]],
  'x.unknown': [['1']],
};

/** Ids of every JSON type; null or absent makes a notification. */
export function idText(r: Rand): string | undefined {
  switch (int(r, 8)) {
    case 0: return undefined;
    case 1: return 'null';
    case 2: case 3: return `${int(r, 1e6)}`;
    case 4: return pick(r, STRINGS);
    default: return jsonValueText(r, 2);
  }
}

/** One field: the plausible value, or any value (deep, wrong type, odd number...). */
function field(r: Rand, plausible: string): string {
  return r() < 0.6 ? plausible : jsonValueText(r);
}

function requestLine(r: Rand, table: Record<string, readonly string[][]>): string {
  const method = pick(r, Object.keys(table));
  const shape = pick(r, table[method]!);
  let params = shape.map((p) => field(r, p));
  if (r() < 0.1) params = params.slice(0, int(r, params.length + 1));
  if (r() < 0.1) params.push(jsonValueText(r));
  const paramsText = r() < 0.05 ? jsonValueText(r) : `[${params.join(',')}]`;
  const methodText = r() < 0.05 ? jsonValueText(r) : JSON.stringify(method);
  const id = idText(r);
  const members = [`"method":${methodText}`, `"params":${paramsText}`];
  if (id !== undefined) members.push(`"id":${id}`);
  if (r() < 0.05) members.push(`${pick(r, STRINGS)}:${jsonValueText(r)}`);
  // Member order varies: some firmwares put the id last.
  if (r() < 0.3) members.reverse();
  return `{${members.join(',')}}`;
}

/** A line a miner might send: every method, any value in any field. */
export function structuredMinerLine(r: Rand): string {
  return requestLine(r, MINER_PARAMS);
}

/** A line a pool might send: a request/notification of every method, or an answer of any shape. */
export function structuredPoolLine(r: Rand, answers = true): string {
  if (answers && r() < 0.25) {
    const id = idText(r) ?? 'null';
    const result = pick(r, ['true', 'false', 'null', `[[["mining.notify","x"]],"f0000001",8]`, '{"version-rolling":true,"version-rolling.mask":"1fffe000"}', jsonValueText(r)]);
    const error = pick(r, ['null', '[23,"Low difficulty share",null]', '{"code":21,"message":"Job not found"}', '""', '[]', jsonValueText(r)]);
    return `{"id":${id},"result":${result},"error":${error}}`;
  }
  return requestLine(r, POOL_PARAMS);
}

export type PoolVerdict = { kind: 'decode-error'; owed: boolean } | { kind: 'request' | 'notification' | 'response'; owed: boolean; method?: string; id?: RpcId };

/**
 * The pure part of what surplus does with one pool line: decode, then the
 * dialect parser for the method (or the answer readers for a response).
 * Throws only on a bug. `owed`: surplus owes the pool exactly one answer.
 */
export function classifyPoolLine(line: string): PoolVerdict {
  const d = decodeMessage(line);
  if (!d.ok) return { kind: 'decode-error', owed: d.id !== undefined };
  const m = d.message;
  if (m.kind === 'response') {
    parseSubscribeResult(m.result);
    readConfigureResult(m.result, m.error);
    authorizeVerdict(m.result, m.error);
    submitVerdict(m.result, m.error);
    return { kind: 'response', owed: false };
  }
  const p = m.params;
  const check = (v: { ok: boolean; message?: string }): void => {
    if (!v.ok && !(typeof v.message === 'string' && v.message.length > 0 && v.message.length < 1000)) throw new Error(`${m.method}: rejection without a bounded message`);
  };
  switch (m.method) {
    case 'mining.notify': check(parseNotify(p)); cleanJobsFlag(p[8]); break;
    case 'mining.set_difficulty': check(parseSetDifficulty(p)); break;
    case 'mining.set_target': check(parseSetTarget(p)); break;
    case 'mining.set_extranonce': check(parseSetExtranonce(p)); break;
    case 'mining.set_version_mask': check(parseSetVersionMask(p)); break;
    case 'client.reconnect': check(parseReconnect(p)); break;
    case 'client.show_message': describePeerValue(p, 500); break;
  }
  return m.kind === 'request' ? { kind: 'request', owed: true, method: m.method, id: m.id } : { kind: 'notification', owed: false, method: m.method };
}

/** A cgminer/Avalon API reply built from the same values: STATUS, a command section, stats strings. */
export function structuredDeviceReply(r: Rand): string {
  const status = `{"STATUS":${field(r, '"S"')},"When":${field(r, '1700000000')},"Code":${field(r, '70')},"Msg":${field(r, '"CGMiner stats"')},"Description":${field(r, '"cgminer 4.11.1"')}}`;
  const stats = `"MM ID0":${field(r, '"Ver[1566-22] Elapsed[1000] MGHS[100000] PS[0 1210 1270 42 3110 1269 3120] WORKMODE[1] SoftOFF[0] State[In Work] Temp[30] TMax[80]"')}`;
  const section = pick(r, ['STATS', 'SUMMARY', 'DEVS', 'VERSION', 'estats', 'ascset']);
  const body = `{"STATUS":[${status}],"${section}":[{${stats},"ID":${field(r, '"AVA100"')},"MHS av":${field(r, '100000.5')}}],"id":${field(r, '1')}}`;
  switch (int(r, 8)) {
    case 0: return body.slice(0, int(r, body.length));
    case 1: return body + '\0' + jsonValueText(r);
    case 2: return `{"estats":[${body}]}{"summary":[${body}]}`;
    case 3: return pick(r, ['{', '[', ',"id":1}', '{"STATUS":[{"STATUS":"S"}]']).repeat(int(r, 5000));
    default: return body + '\0';
  }
}
