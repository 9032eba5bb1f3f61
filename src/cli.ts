#!/usr/bin/env node
/**
 * argv -> command. The only place that sets the exit code: commands return an
 * exit code or throw; a ProxyError is printed as one clear line, anything else
 * as a bug with its stack.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ProxyError } from './errors.js';

/** Node's errors from a system call (ENOENT, EACCES, EADDRINUSE ...): they carry `code` and `syscall`. */
function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

interface Command {
  summary: string;
  usage: string;
  /** More than the usage line: inputs, formats, where to read further. */
  details?: string;
  load: () => Promise<{ run(args: string[]): Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  start: {
    summary: 'run the proxy for a real site',
    usage: 'surplus start --config FILE | --pool stratum+tcp://host:port [--pool ...] --user U [--password P] [--listen host:port] [--http host:port]',
    details: 'Every configuration key is described in config/example.yaml and in the README; flags override the file.',
    load: () => import('./commands/start.js'),
  },
  demo: {
    summary: 'run a whole simulated site (pool, fleet, solar day) with the dashboard (default for npm start)',
    usage: 'surplus demo [--config FILE] [--miners N] [--duration-s S] [--day-length-s S] [--http host:port]',
    details: 'The dashboard listens on --http (default 127.0.0.1:8080, from config/demo.yaml); the simulated pool, miners and devices on free loopback ports.',
    load: () => import('./commands/demo.js'),
  },
  'check-share': {
    summary: 'validate share vectors from a JSON file and explain each verdict',
    usage: 'surplus check-share FILE',
    details: [
      'FILE is JSON: one vector, or { "vectors": [...] } (see test/fixtures/share-vectors.json).',
      'A share vector has notify (the mining.notify params), extranonce1, extranonce2_size,',
      'submit (the mining.submit params) and optionally configure_mask, session_difficulty',
      '(default 1) and upstream_difficulty. A header vector has version, prev_block_display,',
      'merkle_root_display, time, bits and nonce. Prints one JSON verdict per vector: hash,',
      'difficulty, accepted at the session difficulty or the Stratum code and reason, and block.',
      'Exit status: 0 when every share is accepted, 1 when any is rejected, 2 for a bad file.',
    ].join('\n'),
    load: () => import('./commands/check-share.js'),
  },
  'check-config': {
    summary: 'check a configuration file without starting anything; lists every problem',
    usage: 'surplus check-config FILE',
    details: [
      'Reads FILE as `surplus start --config FILE` would, with its fleet.import CSV and its budget',
      'schedule file, and prints every problem (key, value, what is allowed), one a line, then exits 1.',
      'A valid file prints one summary line and exits 0. Nothing is bound or dialled.',
    ].join('\n'),
    load: () => import('./commands/check-config.js'),
  },
  discover: {
    summary: 'find cgminer-API miners (Avalon) in an address range and print a fleet list',
    usage: 'surplus discover --range CIDR [--port 4028] [--timeout-ms 1500] [--concurrency 64] [--csv]',
    details: [
      'Probes every address of CIDR (at most a /16) on the cgminer API port, asks each answering',
      'device its version, and prints fleet.miners YAML (or, with --csv, the CSV that fleet.import',
      'reads) with the model each device reports. Only reads: no command changes a device.',
    ].join('\n'),
    load: () => import('./commands/discover.js'),
  },
  bench: {
    summary: 'measure share-validation throughput through the worker pool',
    usage: 'surplus bench [--json] [--shares N] [--batch N]',
    load: () => import('./commands/bench.js'),
  },
  simulate: {
    summary: 'simulate a fleet following a surplus-power trace, fast, with no sockets',
    usage: 'surplus simulate --trace FILE (--config FILE | --units N --model M) [--site-kw KW] [--step-s S] [--json] [--plot FILE.svg] [--series FILE.csv] [--bound [--bound-interval-s S]] [--look-ahead S [--look-ahead-error P]]',
    details: [
      'The trace is CSV (minute,kw / timestamp,kw / minute,pv_frac with --site-kw; also MW or W columns,',
      '; or tab separators, ISO or unix times) or JSON points; the README lists every accepted form.',
      'The config is the one surplus start reads (its fleet, models and scheduler are used).',
      '--look-ahead S gives every reading the trace\'s lowest value over the next S seconds, as a perfect',
      'nowcast would send it (lowAhead, aheadS): what a sky camera or an EMS that knows its loads could buy;',
      '--look-ahead-error P makes it err by P % (one standard deviation, drawn per minute, reproducible).',
    ].join('\n'),
    load: () => import('./commands/simulate.js'),
  },
};

export function helpText(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = ['surplus: a power-aware Stratum V1 mining proxy', '', 'Usage: surplus <command> [options]', '', 'Commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(width)}  ${c.summary}`);
  lines.push('', 'Run "surplus help <command>" (or "surplus <command> --help") for the options of one command;', '"surplus --version" prints the version.');
  return lines.join('\n');
}

export function commandHelp(name: string): string | undefined {
  const command = COMMANDS[name];
  if (!command) return undefined;
  return `${command.summary}\n\nUsage: ${command.usage}\n${command.details ? `\n${command.details}\n` : ''}`;
}

/** The version in package.json (dist/cli.js and src/cli.ts both sit one folder below it). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

const unknownCommand = (name: string): string => `surplus: unknown command "${name}"; allowed: ${Object.keys(COMMANDS).join(', ')}\n`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`surplus ${version()}\n`);
    return 0;
  }
  if (name === 'help' && rest[0] !== undefined) {
    const text = commandHelp(rest[0]);
    if (text === undefined) {
      process.stderr.write(unknownCommand(rest[0]));
      return 2;
    }
    process.stdout.write(text);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(helpText() + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(unknownCommand(name));
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(name)!);
    return 0;
  }
  const mod = await command.load();
  return mod.run(rest);
}

/**
 * Runs one command line and returns the exit code, printing a ProxyError or
 * a system call's error as one line and anything else as a bug with its
 * stack. Exported so tests can run a command in-process.
 */
export async function run(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (err) {
    if (err instanceof ProxyError) {
      process.stderr.write(`surplus: ${err.message}\n`);
      return 2;
    }
    if (isSystemError(err)) {
      // An I/O failure the commands did not word themselves (a file, a port): its
      // message names the path or address; a stack would only hide that line.
      process.stderr.write(`surplus: ${err.message.split('\n')[0]}\n`);
      return 1;
    }
    process.stderr.write(`surplus: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

/** True when this file is the process's entry script (node dist/cli.js, or the npm bin link to it), not an import. */
function isEntry(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) {
  void run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
