/**
 * `surplus start`: run the proxy for a real site. The configuration comes
 * from `--config FILE` (YAML or JSON) with command-line overrides on top;
 * every bad key fails here, before any socket opens, with a message naming it.
 * Ctrl-C / SIGTERM closes everything cleanly and exits 0.
 */
import { loadConfigFile, resolveConfig, type ResolvedConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { systemClock } from '../clock.js';
import { readFileSync } from 'node:fs';
import { fdLimitWarning, softOpenFileLimit } from '../net/fd-limit.js';
import { createLogger } from '../observability/logger.js';
import { parseArgs } from './args.js';

const FLAGS = {
  config: { type: 'string' },
  listen: { type: 'string' },
  pool: { type: 'string', repeat: true },
  user: { type: 'string' },
  password: { type: 'string' },
  http: { type: 'string' },
} as const;

/**
 * The resolved configuration for `start`: file (if any), then flags.
 * `--pool` (repeatable, failover order) replaces the file's pools and needs a
 * user (from `--user` or the file's first pool); `--user` / `--password`
 * alone apply to every configured pool; `--http` sets `http.listen` (the
 * operator API, metrics and dashboard).
 */
export async function startConfig(args: string[]): Promise<ResolvedConfig> {
  const { flags, positional } = parseArgs(args, FLAGS);
  if (positional.length > 0) throw new ConfigError(`unexpected argument "${positional[0]}"; options: ${Object.keys(FLAGS).map((f) => `--${f}`).join(', ')}`);
  const raw = (flags['config'] ? await loadConfigFile(String(flags['config'])) : {}) ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${String(flags['config'])}: the top level must be a mapping of keys`);
  const cfg = { ...(raw as Record<string, unknown>) };
  if (flags['listen'] !== undefined) cfg['listen'] = flags['listen'];
  const filePools = Array.isArray(cfg['pools']) ? (cfg['pools'] as Array<Record<string, unknown>>) : [];
  const user = flags['user'] as string | undefined;
  const password = flags['password'] as string | undefined;
  const urls = flags['pool'] as string[] | undefined;
  if (urls && urls.length > 0) {
    const u = user ?? (filePools[0]?.['user'] as string | undefined);
    if (!u) throw new ConfigError('--pool needs --user (the pool account miners hash for)');
    cfg['pools'] = urls.map((url) => ({ url, user: u, ...(password !== undefined ? { password } : {}) }));
  } else if (user !== undefined || password !== undefined) {
    if (filePools.length === 0) throw new ConfigError('--user/--password need a pool: pass --pool stratum+tcp://host:port or a config file with pools');
    cfg['pools'] = filePools.map((p) => ({ ...p, ...(user !== undefined ? { user } : {}), ...(password !== undefined ? { password } : {}) }));
  }
  if (flags['http'] !== undefined) cfg['http'] = { ...((cfg['http'] as object | undefined) ?? {}), listen: flags['http'] };
  // No early return for missing pools: a `pool:` typo is then named beside it.
  return resolveConfig(cfg, { noPools: 'no pool configured: pass --pool stratum+tcp://host:port --user NAME, or --config FILE with pools' });
}

/**
 * A port that cannot be bound is the operator's to fix: one line naming the
 * address and the key (or flag) that set it, not a stack (issue 13).
 */
export function listenError(err: unknown, config: Pick<ResolvedConfig, 'listen' | 'http'>): ConfigError | undefined {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  const why: Record<string, string> = {
    EADDRINUSE: 'address already in use (another surplus, or another program, listens there)',
    EADDRNOTAVAIL: 'address not available on this machine',
    EACCES: 'permission denied (ports below 1024 need privileges)',
  };
  if (!e || typeof e.code !== 'string' || !why[e.code] || e.syscall !== 'listen') return undefined;
  const portOf = (hp: string): number => Number(hp.slice(hp.lastIndexOf(':') + 1));
  const key =
    e.port === portOf(config.listen) ? { key: 'listen', flag: '--listen', value: config.listen }
    : e.port === portOf(config.http.listen) ? { key: 'http.listen', flag: '--http', value: config.http.listen }
    : undefined;
  const where = key ? `${key.key} ${key.value}` : `${e.address ?? '?'}:${e.port ?? '?'}`;
  const fix = key ? `: choose another with ${key.key} in the config or ${key.flag} host:port` : '';
  return new ConfigError(`${where}: cannot listen (${e.code}): ${why[e.code]}${fix}`, { cause: err });
}

/** The process's soft open-file limit (Linux; undefined elsewhere). */
function openFileLimit(): number | undefined {
  try {
    return softOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

/** Resolves when the process is asked to stop (Ctrl-C, SIGTERM). */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export async function run(args: string[]): Promise<number> {
  const config = await startConfig(args);
  // Loaded once the arguments and the file are known to be good: a mistake is
  // answered without first loading the proxy, the workers and the MQTT client.
  const [{ Site }, { createBudgetSource }] = await Promise.all([import('../site.js'), import('../power/create-budget-source.js')]);
  const logger = createLogger({ level: config.log.level });
  // The budget source is built (its file read and parsed) before anything is
  // bound or dialled: a missing or garbage schedule is a config error, not a
  // failure after the miner port is open (issue 13).
  const budgetSource = config.budget ? (await createBudgetSource(config.budget, systemClock, logger.child({ part: 'budget' }))).source : undefined;
  // The site is the proxy plus, when configured, the budget source and
  // scheduler, and always the operator surface on http.listen.
  const site = await Site.start({ config, logger, ...(budgetSource ? { budgetSource } : {}) }).catch((err: unknown) => {
    throw listenError(err, config) ?? err;
  });
  const fdWarning = fdLimitWarning(openFileLimit(), config.fleet.miners.length);
  if (fdWarning) logger.warn(fdWarning);
  logger.info({ miners: config.listen, minerPort: site.minerPort, http: site.httpUrl, pools: config.pools.map((p) => p.url) }, 'surplus started');
  const sig = await untilSignal();
  logger.info({ signal: sig }, 'shutting down');
  await site.close();
  return 0;
}
