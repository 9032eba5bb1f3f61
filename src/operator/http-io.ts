import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseBoundedJson } from '../wire/bounded-json.js';

/** An HTTP-level refusal: status code plus a message safe to show the client. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...COMMON_HEADERS,
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendBody(res: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: err.message }, err.headers);
}

/**
 * Content types under which a body is read as JSON. curl's `-d` sends
 * application/x-www-form-urlencoded unless told otherwise, and the README's
 * budget command is what operators copy, so that type (and none at all) is
 * read as JSON too. This opens no cross-site path: PUT is not a method an
 * HTML form can send, and the bearer header forces a CORS preflight that this
 * server never passes. A form-encoded body (`kw=420`) still fails as "not JSON".
 */
const JSON_BODY_TYPES: ReadonlySet<string> = new Set(['', 'application/json', 'application/x-www-form-urlencoded']);

/**
 * Reads a JSON request body of at most `maxBytes`. A declared or actual
 * size above the cap is a 413 (and the connection closes, so the rest is never
 * read); a content type that cannot carry JSON (text/plain, multipart) is a
 * 415; anything that is not JSON is a 400 naming the problem.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!JSON_BODY_TYPES.has(type) && !/^application\/[a-z0-9.+-]*\+json$/.test(type)) {
    throw new HttpError(415, `request body must be JSON (content-type application/json), got content-type "${type}"`, { connection: 'close' });
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw new HttpError(413, `request body is limited to ${maxBytes} bytes`, { connection: 'close' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpError(413, `request body is limited to ${maxBytes} bytes`, { connection: 'close' });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'request body is empty; expected JSON like {"kw": 120, "ttlS": 300}');
  // Depth-bounded before any handler walks it (issue 11); the reason never quotes the body.
  const parsed = parseBoundedJson(text, { maxDepth: 8 });
  if (!parsed.ok) throw new HttpError(400, `request body is not valid JSON (expected like {"kw": 120, "ttlS": 300}): ${parsed.reason.replace(/^invalid JSON: /, '')}`);
  return parsed.value;
}
