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

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (where === '(root)' ? k : `${where}.${k}`));
    return `unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
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
    const lines = result.error.issues.map(describeIssue);
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
