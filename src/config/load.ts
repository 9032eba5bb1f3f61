import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { configSchema, type Config } from './schema.js';
import { BUILTIN_MODELS } from '../fleet/models.js';

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

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (where === '(root)' ? k : `${where}.${k}`));
    const allowed = allowedKeysAt(configSchema, issue.path, input);
    return `unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}${allowed ? `; allowed${where === '(root)' ? '' : ` in ${where}`}: ${allowed.join(', ')}` : ''}`;
  }
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
    return `${where}: is required (${issue.expected})`;
  }
  return `${where}: ${issue.message}`;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}

/** Validates a plain object; throws ConfigError naming every bad key. */
export function resolveConfig(raw: unknown): ResolvedConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => describeIssue(issue, raw));
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const cfg = result.data;
  cfg.fleet.models = { ...BUILTIN_MODELS, ...cfg.fleet.models };
  cfg.fleet.miners.forEach((m, i) => {
    if (!cfg.fleet.models[m.model]) {
      throw new ConfigError(
        `invalid configuration:\n  fleet.miners[${i}].model: unknown model "${m.model}"; allowed: ${Object.keys(cfg.fleet.models).join(', ')}`,
      );
    }
  });
  return deepFreeze(cfg);
}

/** Parses YAML (a superset of JSON) so one loader reads both. */
export function parseConfigText(text: string, file: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    // The yaml parser recurses: nesting thousands deep surfaces as a call-stack RangeError (issue 11).
    if (err instanceof RangeError || /Maximum call stack/.test((err as Error).message)) throw new ConfigError(`${file}: not valid YAML/JSON: nested too deep (keep it to a few levels)`, { cause: err });
    throw new ConfigError(`${file}: not valid YAML/JSON: ${(err as Error).message}`, { cause: err });
  }
}

export async function loadConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConfigText(text, file);
}
