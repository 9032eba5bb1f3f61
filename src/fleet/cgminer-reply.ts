import { LenientJsonError, LenientJsonReader, setKey, type JsonObject, type JsonValue, type Repair } from './lenient-json.js';
import { describePeerValue } from '../wire/peer-value.js';

/**
 * Parser for replies of the cgminer API (TCP 4028) as Avalon firmware sends
 * them. Pure: bytes in, a verdict out; a parse failure is a value with a
 * reason, never an exception.
 *
 * Framing: the firmware's send_result() writes strlen+1 bytes, so every reply
 * ends in a NUL: the reply is what comes before the first NUL, and anything
 * after it is garbage (noted, ignored). Known damage
 * (test/fixtures/avalon/SOURCES.md): replies beginning with a `,"id":1}`
 * fragment, objects concatenated as `}{`, bare `inf`/`nan` values, trailing
 * commas. A joined command (`estats+version`) answers
 * `{"estats":[{STATUS..}],"version":[{STATUS..}],"id":1}`, and some builds
 * send the parts as separate `}{`-joined objects: those are merged into one
 * body (see joinedPart). The plain-text form
 * (`STATUS=S,When=..|SECTION,Key=value|`) is accepted too.
 */

export type { JsonObject, JsonValue } from './lenient-json.js';

export type ReplyRepair = Repair | 'garbage-prefix' | 'leading-fragment' | 'concatenated' | 'trailing-garbage' | 'text-glued';

export interface CgminerReply {
  form: 'json' | 'text';
  /** The reply object (for concatenated objects: the first one that carries STATUS). */
  body: JsonObject;
  /** What had to be repaired to read it; empty for a clean reply. */
  repairs: ReplyRepair[];
}

export type ParseResult = { ok: true; reply: CgminerReply } | { ok: false; reason: string };

/** One entry of a reply's STATUS array. */
export interface ReplyStatus {
  /** S success, I info (also success), W warning, E error, F fatal. */
  status: string;
  code?: number;
  msg?: string;
  /** Seconds; Unix time on Q/Nano, seconds since boot on A10..A15. */
  when?: number;
}

/** Largest reply the parser looks at; the biggest real capture (A1566 stats) is ~9 KB. */
export const MAX_REPLY_CHARS = 1 << 20;

/** Strip the trailing NUL byte(s) and whitespace the firmware appends. */
export function stripFraming(text: string): string {
  return text.replace(/^[\s\0]+/, '').replace(/[\s\0]+$/, '');
}

export function parseCgminerReply(raw: Uint8Array | string): ParseResult {
  const decoded = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  if (decoded.length > MAX_REPLY_CHARS) return { ok: false, reason: `reply longer than ${MAX_REPLY_CHARS} characters` };
  const framed = decoded.replace(/^[\s\0]+/, '');
  // The reply ends at its NUL terminator; bytes after it are not part of it.
  const nul = framed.indexOf('\0');
  const text = stripFraming(nul < 0 ? framed : framed.slice(0, nul));
  const afterNul = nul >= 0 && /[^\s\0]/.test(framed.slice(nul));
  if (text.length === 0) return { ok: false, reason: afterNul ? 'empty reply (only bytes after the NUL terminator)' : 'empty reply' };
  const result = /^STATUS=/.test(text) ? parseText(text) : parseJson(text);
  if (result.ok && afterNul && !result.reply.repairs.includes('trailing-garbage')) result.reply.repairs.push('trailing-garbage');
  return result;
}

/** Damaged objects skipped before a reply is given up (real firmware needs one or two). */
const MAX_RESYNCS = 16;

function parseJson(text: string): ParseResult {
  const reader = new LenientJsonReader(text);
  const extra = new Set<ReplyRepair>();
  const objects: JsonObject[] = [];
  let failure: string | undefined;
  let resyncs = 0;
  while (reader.pos < text.length) {
    reader.skipWs();
    const c = reader.peek();
    if (c === undefined) break;
    try {
      if (c === '{') {
        reader.pos++;
        if (objects.length > 0) extra.add('concatenated');
        objects.push(reader.readMembers(1));
        continue;
      }
      if (c === ',' && reader.pos === 0) {
        // `,"id":1}`: the tail of an object whose start was lost (pyasic repairs the same).
        reader.pos++;
        extra.add('leading-fragment');
        objects.push(reader.readMembers(1));
        continue;
      }
    } catch (err) {
      if (!(err instanceof LenientJsonError)) throw err;
      failure = err.message;
      if (objects.some(hasStatus)) {
        extra.add('trailing-garbage');
        break;
      }
      // The damaged object may be garbage in front of a good one: resync at the next brace. A few
      // times only: a reply of 500,000 '{' resynced at each one held the event loop for 7 s (issue 11).
      if (++resyncs > MAX_RESYNCS) {
        failure = `${failure} (gave up after ${MAX_RESYNCS} damaged objects)`;
        break;
      }
      const next = text.indexOf('{', reader.pos > 0 ? reader.pos : 1);
      if (next < 0) break;
      extra.add('garbage-prefix');
      reader.pos = next;
      continue;
    }
    // Anything else between objects: `,` from a `},{` repair, or noise. Skip to the next object.
    const next = text.indexOf('{', reader.pos);
    if (c !== ',') extra.add(objects.length === 0 ? 'garbage-prefix' : 'trailing-garbage');
    if (next < 0) break;
    reader.pos = next;
  }
  const body = objects.find(hasStatus) ?? mergeJoined(objects) ?? objects[0];
  if (!body) return { ok: false, reason: failure ?? `no JSON object in reply starting ${describePeerValue(text, 40)}` };
  if (!hasStatus(body) && !isJoinedWrapper(body) && failure) return { ok: false, reason: failure };
  return { ok: true, reply: { form: 'json', body, repairs: [...reader.repairs, ...extra] } };
}

function hasStatus(o: JsonObject): boolean {
  return statusEntry(o) !== undefined;
}

/** `{"estats":[{"STATUS":..}]}`: one part of a joined command's reply. */
function isJoinedWrapper(o: JsonObject): boolean {
  return Object.entries(o).some(([k, v]) => k !== 'id' && joinedPartOf(v) !== undefined);
}

/** Objects of a joined reply sent as `}{`-concatenated parts, merged (the first of a repeated key wins). */
function mergeJoined(objects: JsonObject[]): JsonObject | undefined {
  const parts = objects.filter(isJoinedWrapper);
  if (parts.length === 0) return undefined;
  const merged: JsonObject = {};
  for (const part of parts) for (const [k, v] of Object.entries(part)) if (!Object.hasOwn(merged, k)) setKey(merged, k, v);
  return merged;
}

function joinedPartOf(v: JsonValue | undefined): JsonObject | undefined {
  const first = Array.isArray(v) ? v[0] : undefined;
  return isObject(first) && hasStatus(first) ? first : undefined;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The reply to `command` inside a body: the body itself when it carries
 * STATUS, else its joined-command part (`{"estats":[{STATUS..}]}`, the shape
 * of `estats+version`). Undefined when neither is there.
 */
export function joinedPart(body: JsonObject, command: string): JsonObject | undefined {
  if (hasStatus(body)) return body;
  return joinedPartOf(body[command]);
}

/** Plain-text section names that the JSON form calls differently. */
const TEXT_SECTION_ALIASES: Record<string, string> = { ASC: 'DEVS', PGA: 'DEVS', GPU: 'DEVS' };

/**
 * `STATUS=S,When=986,Code=22,Msg=..,Description=..|VERSION,CGMiner=4.11.1,..|`.
 * A section starts with its name (`SUMMARY`) or `NAME=index` (`STATS=0`, `ASC=0`).
 * Values may contain `,` inside `[...]` (the Avalon `MM ID0` string), so pairs
 * are split only outside brackets. A `|` inside a value cannot be told from a
 * separator; pieces that cannot start a section are glued back (textSections).
 */
function parseText(text: string): ParseResult {
  const body: JsonObject = {};
  const repairs: ReplyRepair[] = [];
  for (const section of textSections(text)) {
    if (section.glued) repairs.push('text-glued');
    const pairs = splitOutsideBrackets(section.text);
    const first = pairs[0] ?? '';
    const eq = first.indexOf('=');
    const rawName = eq < 0 ? first : first.slice(0, eq);
    const name = TEXT_SECTION_ALIASES[rawName] ?? rawName;
    const obj: JsonObject = {};
    for (const pair of eq < 0 ? pairs.slice(1) : pairs) {
      const i = pair.indexOf('=');
      if (i < 0) continue;
      setKey(obj, pair.slice(0, i), textValue(pair.slice(i + 1)));
    }
    const list = body[name];
    if (Array.isArray(list)) list.push(obj);
    else setKey(body, name, [obj]);
  }
  if (!hasStatus(body)) return { ok: false, reason: 'text reply has no STATUS section' };
  return { ok: true, reply: { form: 'text', body, repairs: [...new Set(repairs)] } };
}

const SECTION_START = /^[A-Z][A-Z0-9 ]*(?:[=,]|$)/;

/**
 * Split at `|`, then glue back pieces that cannot start a section: a `|`
 * inside a value (the Avalon ascset help list "help|voltage|fan-spd|...")
 * is indistinguishable from a separator, but the piece after it starts with
 * a lowercase word or a `,` instead of a section name.
 */
function textSections(text: string): Array<{ text: string; glued: boolean }> {
  const out: Array<{ text: string; glued: boolean }> = [];
  const pieces = text.split('|');
  while (pieces.length > 0 && pieces[pieces.length - 1] === '') pieces.pop();
  for (const piece of pieces) {
    const last = out[out.length - 1];
    if (last && !SECTION_START.test(piece)) {
      last.text += `|${piece}`;
      last.glued = true;
    } else {
      out.push({ text: piece, glued: false });
    }
  }
  return out;
}

function splitOutsideBrackets(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '[') depth++;
    else if (c === ']' && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function textValue(v: string): JsonValue {
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v)) return Number(v);
  if (v === 'true') return true;
  if (v === 'false') return false;
  return v;
}

/** `STATUS: [{..}]` as cgminer sends it, or a bare `STATUS: {..}` object. */
function statusEntry(body: JsonObject): JsonObject | undefined {
  const list = body['STATUS'];
  const first = Array.isArray(list) ? list[0] : list;
  if (!isObject(first) || typeof first['STATUS'] !== 'string') return undefined;
  return first;
}

/** A number, or the text of one (`"Code":"14"` from a firmware that quotes everything). */
function numeric(v: JsonValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

/** The first STATUS entry, or undefined when the reply has none. */
export function replyStatus(body: JsonObject): ReplyStatus | undefined {
  const first = statusEntry(body);
  if (!first) return undefined;
  // Trimmed and upper-cased: "s" or "S " would otherwise read as a refusal.
  const out: ReplyStatus = { status: (first['STATUS'] as string).trim().toUpperCase() };
  const code = numeric(first['Code']);
  if (code !== undefined) out.code = code;
  const msg = first['Msg'];
  if (typeof msg === 'string') out.msg = msg;
  const when = numeric(first['When']);
  if (when !== undefined) out.when = when;
  return out;
}

/** S and I are both success on Avalon (`ascset` answers I/118 "set info" or S/119 "set OK"). */
export function isSuccessStatus(s: ReplyStatus): boolean {
  return s.status === 'S' || s.status === 'I';
}
