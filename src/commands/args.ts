import { InputError } from '../errors.js';

/**
 * A small, strict argv parser: every flag must be declared, values are typed,
 * and an unknown flag names itself and the allowed ones.
 */
export interface FlagSpec {
  type: 'string' | 'number' | 'boolean';
  repeat?: boolean;
}

export type ParsedArgs = {
  flags: Record<string, string | number | boolean | Array<string | number>>;
  positional: string[];
};

export function parseArgs(args: string[], spec: Record<string, FlagSpec>): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    let name = a.slice(2);
    let inline: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      inline = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const s = spec[name];
    if (!s) {
      const allowed = Object.keys(spec).map((k) => `--${k}`).join(', ');
      throw new InputError(`unknown option --${name}; allowed: ${allowed || '(none)'}`);
    }
    let value: string | number | boolean;
    if (s.type === 'boolean') {
      value = inline === undefined ? true : inline !== 'false';
    } else {
      const raw = inline ?? args[++i];
      if (raw === undefined) throw new InputError(`option --${name} needs a value`);
      if (s.type === 'number') {
        const n = Number(raw);
        if (!Number.isFinite(n)) throw new InputError(`option --${name} must be a number, got "${raw}"`);
        value = n;
      } else value = raw;
    }
    if (s.repeat) {
      const list = (flags[name] as Array<string | number> | undefined) ?? [];
      list.push(value as string | number);
      flags[name] = list;
    } else flags[name] = value;
  }
  return { flags, positional };
}
