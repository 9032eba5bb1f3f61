/**
 * `surplus check-config FILE` (issue 13): everything `surplus start --config
 * FILE` would refuse, listed at once, without binding or dialling anything.
 * The file, its `fleet.import` CSV, the schema and the cross-field rules, and
 * the budget schedule file (read and parsed as the schedule source reads it).
 * Exit 0 with one summary line; 1 with one line per problem; 2 for bad usage.
 */
import { systemClock } from '../clock.js';
import { configProblems, readConfigSource, resolveConfig, type ResolvedConfig } from '../config/load.js';
import { InputError } from '../errors.js';
import { ScheduleBudgetSource } from '../power/schedule-budget-source.js';
import { parseArgs } from './args.js';

export interface ConfigCheck {
  problems: string[];
  /** The one-line summary of a valid file. */
  summary?: string;
}

/** The budget's own files, as `start` will read them; problems, not exceptions. */
async function budgetProblems(cfg: ResolvedConfig): Promise<{ problems: string[]; note?: string }> {
  const b = cfg.budget;
  if (!b) return { problems: [], note: 'no budget (proxy only)' };
  if (b.source !== 'schedule') return { problems: [], note: `budget ${b.source}` };
  try {
    const source = await ScheduleBudgetSource.fromFile(b.file, { interpolation: b.interpolation, speed: b.speed, loop: b.loop, ttlS: b.ttlS, timeZone: b.timezone }, systemClock);
    return { problems: [], note: `budget schedule ${b.file}${source.warnings.length > 0 ? ` (${source.warnings.length} warnings)` : ""}` };
  } catch (err) {
    const message = (err as Error).message.split('\n')[0]!;
    return { problems: [message.startsWith('budget.') ? message : `budget.file: ${message}`] };
  }
}

export async function checkConfig(file: string): Promise<ConfigCheck> {
  const src = await readConfigSource(file);
  if (src.raw === undefined) return { problems: src.problems };
  const problems = [...src.problems, ...configProblems(src.raw)];
  if (problems.length > 0) return { problems };
  const cfg = resolveConfig(src.raw);
  const budget = await budgetProblems(cfg);
  if (budget.problems.length > 0) return { problems: budget.problems };
  const units = cfg.fleet.miners.length;
  const withApi = cfg.fleet.miners.filter((m) => m.api).length;
  const summary = [
    `listen ${cfg.listen}`,
    `${cfg.pools.length} pool${cfg.pools.length === 1 ? '' : 's'}`,
    `${units} miner${units === 1 ? '' : 's'} (${withApi} with a device API${src.imported > 0 ? `, ${src.imported} from ${cfg.fleet.import}` : ''})`,
    budget.note!,
    `http ${cfg.http.listen}${cfg.http.token ? ' with token' : ''}`,
  ].join(', ');
  return { problems: [], summary };
}

export async function run(args: string[]): Promise<number> {
  const { positional } = parseArgs(args, {});
  if (positional.length !== 1) throw new InputError(`check-config needs exactly one FILE, got ${positional.length}`);
  const file = positional[0]!;
  const { problems, summary } = await checkConfig(file);
  if (problems.length === 0) {
    process.stdout.write(`${file}: OK: ${summary}\n`);
    return 0;
  }
  process.stderr.write(problems.map((p) => (p.includes(file) ? p : `${file}: ${p}`)).join('\n') + '\n');
  return 1;
}
