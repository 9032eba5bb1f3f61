/**
 * JSON-RPC 1.0 as Stratum V1 uses it: requests carry an id, notifications
 * carry `"id": null` (or none), responses carry `result` and `error`. Pure.
 * A decode failure is a value with a reason (and the id when it could be
 * recovered, so the caller can still answer). Lines are bounded in depth
 * before anything walks them (bounded-json.ts), and ids are echoed exactly.
 */
import { parseBoundedJson } from './bounded-json.js';
import { describePeerValue } from './peer-value.js';

/**
 * A request id that JSON.stringify would not give back as sent: a number
 * that does not survive a round trip through a double
 * (`123456789012345678901234567890`, `1.0`, `1e3`), `true`, an object or an
 * array. JSON-RPC says the answer carries the same id, so the raw text from
 * the line is kept (bounded by MAX_ID_CHARS) and written back verbatim.
 */
export class RawJsonId {
  constructor(readonly json: string) {}
}

export type RpcId = number | string | RawJsonId;

/** Longest raw id text echoed; a longer id is answered with `"id": null` (no peer needs more). */
export const MAX_ID_CHARS = 1024;

export interface RpcErrorValue {
  code: number;
  message: string;
}

export interface RpcRequest {
  kind: 'request';
  id: RpcId;
  method: string;
  params: unknown[];
}

export interface RpcNotification {
  kind: 'notification';
  method: string;
  params: unknown[];
}

export interface RpcResponse {
  kind: 'response';
  id: RpcId | null;
  result: unknown;
  error: RpcErrorValue | null;
}

export type RpcMessage = RpcRequest | RpcNotification | RpcResponse;

export type DecodeResult = { ok: true; message: RpcMessage } | { ok: false; reason: string; id?: RpcId };

/** Longest error text kept from a peer's error value. */
const MAX_ERROR_MESSAGE_CHARS = 200;

/** Stratum sends errors as `[code, message, traceback]`; some pools send `{code, message}`. */
export function normalizeError(e: unknown): RpcErrorValue | null {
  if (e === null || e === undefined || e === false) return null;
  const text = (m: unknown): string => (typeof m === 'string' ? m.slice(0, MAX_ERROR_MESSAGE_CHARS) : describePeerValue(e, MAX_ERROR_MESSAGE_CHARS));
  const code = (c: unknown): number => (typeof c === 'number' && Number.isFinite(c) ? c : 20);
  if (Array.isArray(e)) return { code: code(e[0]), message: text(e[1]) };
  if (typeof e === 'object') {
    const o = e as Record<string, unknown>;
    return { code: code(o['code']), message: text(o['message']) };
  }
  return { code: 20, message: text(e) };
}

/** JSON whitespace outside strings removed (a raw id may not carry a CR into our answer line). */
function compact(json: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += json[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c !== ' ' && c !== '\t' && c !== '\r' && c !== '\n') out += c;
  }
  return out;
}

/**
 * The id to answer with: a string or a number that round-trips as itself,
 * else the raw text. `undefined` for a notification (absent or null id).
 */
function idOf(value: unknown, raw: string | undefined): RpcId | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (raw === undefined) return undefined;
  if (typeof value === 'number' && `${value}` === raw) return value;
  return raw.length <= MAX_ID_CHARS ? new RawJsonId(compact(raw)) : new RawJsonId('null');
}

/** A raw id recovered from a line that could not be decoded (too deep), when it is itself valid JSON. */
function recoveredId(raw: string | undefined): RpcId | undefined {
  if (raw === undefined || raw.length > MAX_ID_CHARS) return undefined;
  const p = parseBoundedJson(raw);
  return p.ok ? idOf(p.value, raw) : undefined;
}

export function decodeMessage(line: string): DecodeResult {
  const parsed = parseBoundedJson(line);
  if (!parsed.ok) {
    // A request we cannot read is still answered when its id can be read on its own.
    const id = parsed.scan.object && parsed.scan.method ? recoveredId(parsed.scan.idText) : undefined;
    return id === undefined ? { ok: false, reason: parsed.reason } : { ok: false, reason: parsed.reason, id };
  }
  const doc = parsed.value;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, reason: 'message must be a JSON object' };
  }
  const o = doc as Record<string, unknown>;
  const id = idOf(o['id'], parsed.scan.idText);
  const withId = (reason: string): DecodeResult => (id === undefined ? { ok: false, reason } : { ok: false, reason, id });
  if ('method' in o) {
    const method = o['method'];
    if (typeof method !== 'string' || method === '') return withId('method must be a non-empty string');
    if (method.length > 128) return withId(`method must be at most 128 characters, got ${describePeerValue(method, 40)}`);
    const params = o['params'] === undefined || o['params'] === null ? [] : o['params'];
    if (!Array.isArray(params)) return withId(`${method} params must be an array`);
    if (id === undefined) return { ok: true, message: { kind: 'notification', method, params } };
    return { ok: true, message: { kind: 'request', id, method, params } };
  }
  if ('result' in o || 'error' in o) {
    return { ok: true, message: { kind: 'response', id: id ?? null, result: o['result'] ?? null, error: normalizeError(o['error']) } };
  }
  return withId('message has neither method nor result/error');
}

/** An id as JSON: a raw id verbatim, the rest through JSON.stringify. */
function idJson(id: RpcId | null): string {
  return id instanceof RawJsonId ? id.json : JSON.stringify(id);
}

export function encodeRequest(id: RpcId, method: string, params: unknown[]): string {
  return `{"id":${idJson(id)},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}\n`;
}

export function encodeNotification(method: string, params: unknown[]): string {
  return JSON.stringify({ id: null, method, params }) + '\n';
}

/** Success always carries `"error": null` (some miners check for the key). */
export function encodeResult(id: RpcId | null, result: unknown): string {
  return `{"id":${idJson(id)},"result":${JSON.stringify(result) ?? 'null'},"error":null}\n`;
}

export function encodeError(id: RpcId | null, code: number, message: string): string {
  return `{"id":${idJson(id)},"result":null,"error":${JSON.stringify([code, message, null])}}\n`;
}

/** For logs: a bad line, cut so a hostile peer cannot flood them. */
export function truncateForLog(line: string, max = 200): string {
  return line.length <= max ? line : `${line.slice(0, max)}…(${line.length} chars)`;
}
