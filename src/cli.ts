#!/usr/bin/env node
/**
 * argv -> command. The only place that exits the process: commands return an
 * exit code or throw; a ProxyError is printed as one clear line, anything else
 * as a bug with its stack.
 */
import { ProxyError } from './errors.js';

interface Command {
  summary: string;
  usage: string;
  load: () => Promise<{ run(args: string[]): Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  start: {
    summary: 'run the proxy for a real site',
    usage: 'surplus start --config FILE | --pool stratum+tcp://host:port [--pool ...] --user U [--password P] [--listen host:port] [--http host:port]',
    load: () => import('./commands/start.js'),
  },
  demo: {
    summary: 'run a whole simulated site (pool, fleet, solar day) with the dashboard (default for npm start)',
    usage: 'surplus demo [--config FILE] [--miners N] [--duration-s S]',
    load: () => import('./commands/demo.js'),
  },
  'check-share': {
    summary: 'validate share vectors from a JSON file and explain each verdict',
    usage: 'surplus check-share FILE',
    load: () => import('./commands/check-share.js'),
  },
  bench: {
    summary: 'measure share-validation throughput through the worker pool',
    usage: 'surplus bench [--json] [--shares N] [--batch N]',
    load: () => import('./commands/bench.js'),
  },
  simulate: {
    summary: 'simulate a fleet following a surplus-power trace, fast, with no sockets',
    usage: 'surplus simulate --trace FILE (--config FILE | --units N --model M) [--site-kw KW] [--step-s S] [--json] [--plot FILE.svg]',
    load: () => import('./commands/simulate.js'),
  },
};

export function helpText(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = ['surplus: a power-aware Stratum V1 mining proxy', '', 'Usage: surplus <command> [options]', '', 'Commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(width)}  ${c.summary}`);
  lines.push('', 'Run "surplus <command> --help" for the options of one command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(helpText() + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`surplus: unknown command "${name}"; allowed: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.summary}\n\nUsage: ${command.usage}\n`);
    return 0;
  }
  const mod = await command.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ProxyError) {
      process.stderr.write(`surplus: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`surplus: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
