import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { configSchema, type Config } from './schema.js';
import { mergeFleet, parseFleetCsv } from './fleet-import.js';
import { BUILTIN_MODELS } from './models.js';
import { isLoopbackHost } from '../net/host.js';
import { yamlDepth } from './yaml-depth.js';

/** Deepest nesting a config file may have; the deepest real key is a handful of levels down. */
const MAX_CONFIG_DEPTH = 64;
import { redactText } from '../redact.js';

export type ResolvedConfig = Readonly<Config>;

/** `pools[1].url` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}

/**
 * The keys the schema allows at `path` (through defaults, optionals and
 * arrays), so an unknown key's message can say what is allowed; undefined
 * where that cannot be known (a union whose branch the input does not name).
 */
export function allowedKeysAt(schema: z.ZodType, path: readonly PropertyKey[], input?: unknown): string[] | undefined {
  let s: unknown = schema;
  let i = 0;
  for (;;) {
    const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return undefined;
    const type = def['type'];
    if (type === 'default' || type === 'optional' || type === 'nullable' || type === 'prefault' || type === 'readonly') s = def['innerType'];
    else if (type === 'pipe') s = def['in'];
    else if (type === 'array' && typeof path[i] === 'number') (s = def['element']), i++;
    else if (type === 'object') {
      const shape = def['shape'] as Record<string, unknown>;
      if (i === path.length) return Object.keys(shape);
      s = shape[String(path[i++])];
    } else if (type === 'union' && typeof def['discriminator'] === 'string') {
      // A discriminated union (budget.source): the branch the input names.
      const tag = valueAt(input, path.slice(0, i))?.[def['discriminator']];
      s = (def['options'] as Array<{ _zod: { def: { shape: Record<string, { _zod: { def: { values?: unknown[] } } }> } } }>).find((o) =>
        o._zod.def.shape[def['discriminator'] as string]?._zod.def.values?.includes(tag),
      );
    } else return undefined;
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): Record<string, unknown> | undefined {
  let v = input;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
}

/** Keys whose values are never echoed back (a config error must not print a secret). */
const SECRET_KEY = /token|password|secret/i;

/** The offending value, short and safe to print: `, got "http://x"`. */
function gotValue(path: readonly PropertyKey[], input: unknown): string {
  if (path.some((p) => typeof p === 'string' && SECRET_KEY.test(p))) return '';
  let v = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return '';
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  if (v === undefined || (typeof v === 'object' && v !== null)) return '';
  // A URL value can carry credentials (mqtt://user:pass@host): echo it redacted.
  const text = typeof v === 'string' ? JSON.stringify(redactText(v)) : String(v);
  return `, got ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown, hints: ConfigHints): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (where === '(root)' ? k : `${where}.${k}`));
    const allowed = allowedKeysAt(configSchema, issue.path, input);
    const near = allowed && issue.keys.length === 1 ? allowed.find((a) => editDistance(a.toLowerCase(), issue.keys[0]!.toLowerCase()) <= 2) : undefined;
    return `unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}${near ? ` (did you mean ${near}?)` : ''}${allowed ? `; allowed${where === '(root)' ? '' : ` in ${where}`}: ${allowed.join(', ')}` : ''}`;
  }
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
    if (where === 'pools' && hints.noPools) return hints.noPools;
    return `${where}: is required (${issue.expected})`;
  }
  return `${where}: ${issue.message}${gotValue(issue.path, input)}`;
}

/** Levenshtein distance, for "did you mean" on short key names (bounded: keys are short). */
function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** How a caller words what the schema alone cannot know (the flags that stand in for a key). */
export interface ConfigHints {
  /** Said instead of "pools: is required" (start: the --pool flag). */
  noPools?: string;
}

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * What the schema cannot say alone, checked on the raw input so that these
 * are listed beside the schema's own problems: a miner's model that no
 * profile names, duplicate miner ids and worker names (a second unit under
 * one id would be steered as the first), and an operator API reachable from
 * the network without a token (issue 13: these used to fail only after the
 * miner port was bound, or, for duplicates without a budget, not at all).
 */
export function crossFieldProblems(raw: unknown): string[] {
  const out: string[] = [];
  const root = asRecord(raw);
  const fleet = asRecord(root?.['fleet']);
  const models = new Set([...Object.keys(BUILTIN_MODELS), ...Object.keys(asRecord(fleet?.['models']) ?? {})]);
  const miners = Array.isArray(fleet?.['miners']) ? (fleet['miners'] as unknown[]) : [];
  const ids = new Map<string, number>();
  const workers = new Map<string, number>();
  miners.forEach((m, i) => {
    const r = asRecord(m);
    if (!r) return;
    const { id, worker, model } = r;
    if (typeof model === 'string' && model.length > 0 && !models.has(model)) {
      out.push(`fleet.miners[${i}].model: unknown model "${model}"; allowed: ${[...models].join(', ')}`);
    }
    if (typeof id === 'string') {
      const first = ids.get(id);
      if (first !== undefined) out.push(`fleet.miners[${i}].id: duplicate id "${id}" (first at fleet.miners[${first}]); every unit needs its own id`);
      else ids.set(id, i);
    }
    if (typeof worker === 'string') {
      const first = workers.get(worker);
      if (first !== undefined) out.push(`fleet.miners[${i}].worker: duplicate worker "${worker}" (first at fleet.miners[${first}]); every unit needs its own worker name`);
      else workers.set(worker, i);
    }
  });
  const http = asRecord(root?.['http']);
  const listen = http?.['listen'];
  if (typeof listen === 'string' && http?.['token'] === undefined) {
    const host = listen.slice(0, listen.lastIndexOf(':'));
    if (host && !isLoopbackHost(host)) {
      out.push(`http.listen: "${listen}" is not a loopback address; set http.token (at least 8 characters) so that PUT /api/budget is protected, or listen on 127.0.0.1`);
    }
  }
  return out;
}

/** Every problem with a raw configuration, one line each; empty when it resolves. */
export function configProblems(raw: unknown, hints: ConfigHints = {}): string[] {
  const result = configSchema.safeParse(raw);
  // Unknown keys first: a misspelt key often explains a "required" one further down (`pool:` for `pools:`).
  const issues = result.success ? [] : [...result.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  const schema = issues.map((issue) => describeIssue(issue, raw, hints));
  const cross = crossFieldProblems(raw).filter((p) => !schema.some((s) => s.startsWith(p.slice(0, p.indexOf(':') + 1))));
  return [...schema, ...cross];
}

/** One line for one problem; a header and one indented line each for several. */
export function formatProblems(problems: readonly string[]): string {
  if (problems.length === 1) return `invalid configuration: ${problems[0]}`;
  return `invalid configuration (${problems.length} problems):\n  ${problems.join('\n  ')}`;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}

/** Validates a plain object; throws ConfigError naming every bad key. */
export function resolveConfig(raw: unknown, hints: ConfigHints = {}): ResolvedConfig {
  const problems = configProblems(raw, hints);
  if (problems.length > 0) throw new ConfigError(formatProblems(problems));
  const cfg = configSchema.parse(raw);
  cfg.fleet.models = { ...BUILTIN_MODELS, ...cfg.fleet.models };
  return deepFreeze(cfg);
}

/** Parses YAML (a superset of JSON) so one loader reads both. */
export function parseConfigText(text: string, file: string): unknown {
  // Bounded before the recursive parse walks it: a config nests a few levels (fleet.miners[i].api).
  const depth = yamlDepth(text);
  if (depth > MAX_CONFIG_DEPTH) throw new ConfigError(`${file}: not valid YAML/JSON: nested too deep (${depth} levels; at most ${MAX_CONFIG_DEPTH})`);
  try {
    return parseYaml(text);
  } catch (err) {
    // The YAML library's message continues with a code frame over several lines: the first names the place.
    throw new ConfigError(`${file}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

/** A config file read and parsed, with `fleet.import` merged in, and what went wrong on the way. */
export interface ConfigSource {
  /** The parsed document (undefined when the file could not be read or parsed). */
  raw: unknown;
  problems: string[];
  /** Units that came from `fleet.import`. */
  imported: number;
}

/**
 * Reads a config file and merges its `fleet.import` CSV (relative to the
 * file) into `fleet.miners`; every problem is collected, none thrown, so that
 * `check-config` can list them all.
 */
export async function readConfigSource(file: string): Promise<ConfigSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { raw: undefined, problems: [`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`], imported: 0 };
  }
  let raw: unknown;
  try {
    raw = parseConfigText(text, file);
  } catch (err) {
    return { raw: undefined, problems: [(err as Error).message], imported: 0 };
  }
  const fleet = (raw as { fleet?: unknown } | null)?.fleet;
  const source = fleet !== null && typeof fleet === 'object' ? (fleet as Record<string, unknown>)['import'] : undefined;
  if (typeof source !== 'string' || source.length === 0) return { raw, problems: [], imported: 0 };
  const csvPath = resolvePath(dirname(file), source);
  let csvText: string;
  try {
    csvText = await readFile(csvPath, 'utf8');
  } catch (err) {
    return { raw, problems: [`fleet.import: cannot read ${csvPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`], imported: 0 };
  }
  const f = fleet as Record<string, unknown>;
  const existing = Array.isArray(f['miners']) ? (f['miners'] as unknown[]) : [];
  const csv = parseFleetCsv(csvText, source);
  const merged = mergeFleet(existing, csv, source);
  const out = { ...(raw as Record<string, unknown>), fleet: { ...f, miners: merged.miners } };
  return { raw: out, problems: merged.problems.map((p) => `fleet.import: ${p}`), imported: merged.miners.length - existing.length };
}

/** Reads a config file (YAML or JSON) with its `fleet.import`; throws a ConfigError naming every problem. */
export async function loadConfigFile(file: string): Promise<unknown> {
  const src = await readConfigSource(file);
  if (src.problems.length === 1 && src.raw === undefined) throw new ConfigError(src.problems[0]!);
  if (src.problems.length > 0) throw new ConfigError(formatProblems(src.problems));
  return src.raw;
}
