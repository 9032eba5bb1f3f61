/**
 * JSON-RPC 1.0 as Stratum V1 uses it: requests carry an id, notifications
 * carry `"id": null` (or none), responses carry `result` and `error`. Pure.
 * A decode failure is a value with a reason (and the id when it could be
 * recovered, so the caller can still answer).
 */

export type RpcId = number | string;

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

function isId(v: unknown): v is RpcId {
  return (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string';
}

/** Stratum sends errors as `[code, message, traceback]`; some pools send `{code, message}`. */
export function normalizeError(e: unknown): RpcErrorValue | null {
  if (e === null || e === undefined || e === false) return null;
  if (Array.isArray(e)) {
    const code = typeof e[0] === 'number' ? e[0] : 20;
    return { code, message: typeof e[1] === 'string' ? e[1] : JSON.stringify(e) };
  }
  if (typeof e === 'object') {
    const o = e as Record<string, unknown>;
    return { code: typeof o['code'] === 'number' ? o['code'] : 20, message: typeof o['message'] === 'string' ? o['message'] : JSON.stringify(e) };
  }
  return { code: 20, message: String(e) };
}

export function decodeMessage(line: string): DecodeResult {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, reason: 'message must be a JSON object' };
  }
  const o = doc as Record<string, unknown>;
  const rawId = o['id'];
  const id = isId(rawId) ? rawId : undefined;
  if (rawId !== undefined && rawId !== null && id === undefined) {
    return { ok: false, reason: 'id must be a number, a string or null' };
  }
  const withId = (reason: string): DecodeResult => (id === undefined ? { ok: false, reason } : { ok: false, reason, id });
  if ('method' in o) {
    if (typeof o['method'] !== 'string' || o['method'] === '') return withId('method must be a non-empty string');
    const params = o['params'] === undefined || o['params'] === null ? [] : o['params'];
    if (!Array.isArray(params)) return withId(`${o['method']} params must be an array`);
    const method = o['method'];
    if (id === undefined) return { ok: true, message: { kind: 'notification', method, params } };
    return { ok: true, message: { kind: 'request', id, method, params } };
  }
  if ('result' in o || 'error' in o) {
    return { ok: true, message: { kind: 'response', id: id ?? null, result: o['result'] ?? null, error: normalizeError(o['error']) } };
  }
  return withId('message has neither method nor result/error');
}

export function encodeRequest(id: RpcId, method: string, params: unknown[]): string {
  return JSON.stringify({ id, method, params }) + '\n';
}

export function encodeNotification(method: string, params: unknown[]): string {
  return JSON.stringify({ id: null, method, params }) + '\n';
}

/** Success always carries `"error": null` (some miners check for the key). */
export function encodeResult(id: RpcId | null, result: unknown): string {
  return JSON.stringify({ id, result, error: null }) + '\n';
}

export function encodeError(id: RpcId | null, code: number, message: string): string {
  return JSON.stringify({ id, result: null, error: [code, message, null] }) + '\n';
}

/** For logs: a bad line, cut so a hostile peer cannot flood them. */
export function truncateForLog(line: string, max = 200): string {
  return line.length <= max ? line : `${line.slice(0, max)}…(${line.length} chars)`;
}
