import { LenientJsonError, LenientJsonReader, setKey, type JsonObject, type JsonValue, type Repair } from './lenient-json.js';

/**
 * Parser for replies of the cgminer API (TCP 4028) as Avalon firmware sends
 * them. Pure: bytes in, a verdict out; a parse failure is a value with a
 * reason, never an exception.
 *
 * Framing: the firmware's send_result() writes strlen+1 bytes, so every reply
 * ends in a NUL; stripped here with any trailing whitespace. Known damage
 * (test/fixtures/avalon/SOURCES.md): replies beginning with a `,"id":1}`
 * fragment, objects concatenated as `}{`, bare `inf`/`nan` values, trailing
 * commas. The plain-text form (`STATUS=S,When=..|SECTION,Key=value|`) is
 * accepted too.
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
  const text = stripFraming(decoded);
  if (text.length === 0) return { ok: false, reason: 'empty reply' };
  if (/^STATUS=/.test(text)) return parseText(text);
  return parseJson(text);
}

function parseJson(text: string): ParseResult {
  const reader = new LenientJsonReader(text);
  const extra = new Set<ReplyRepair>();
  const objects: JsonObject[] = [];
  let failure: string | undefined;
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
      // The damaged object may be garbage in front of a good one: resync at the next brace.
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
  const body = objects.find(hasStatus) ?? objects[0];
  if (!body) return { ok: false, reason: failure ?? `no JSON object in reply starting ${JSON.stringify(text.slice(0, 40))}` };
  if (!hasStatus(body) && failure) return { ok: false, reason: failure };
  return { ok: true, reply: { form: 'json', body, repairs: [...reader.repairs, ...extra] } };
}

function hasStatus(o: JsonObject): boolean {
  return Array.isArray(o['STATUS']);
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

/** The first STATUS entry, or undefined when the reply has none. */
export function replyStatus(body: JsonObject): ReplyStatus | undefined {
  const list = body['STATUS'];
  const first = Array.isArray(list) ? list[0] : undefined;
  if (!first || typeof first !== 'object' || Array.isArray(first)) return undefined;
  const status = first['STATUS'];
  if (typeof status !== 'string') return undefined;
  const out: ReplyStatus = { status };
  const code = first['Code'];
  if (typeof code === 'number') out.code = code;
  const msg = first['Msg'];
  if (typeof msg === 'string') out.msg = msg;
  const when = first['When'];
  if (typeof when === 'number') out.when = when;
  return out;
}

/** S and I are both success on Avalon (`ascset` answers I/118 "set info" or S/119 "set OK"). */
export function isSuccessStatus(s: ReplyStatus): boolean {
  return s.status === 'S' || s.status === 'I';
}
