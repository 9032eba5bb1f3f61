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
    usage: 'surplus demo [--config FILE] [--miners N] [--duration-s S]',
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
    ].join('\n'),
    load: () => import('./commands/check-share.js'),
  },
  bench: {
    summary: 'measure share-validation throughput through the worker pool',
    usage: 'surplus bench [--json] [--shares N] [--batch N]',
    load: () => import('./commands/bench.js'),
  },
  simulate: {
    summary: 'simulate a fleet following a surplus-power trace, fast, with no sockets',
    usage: 'surplus simulate --trace FILE (--config FILE | --units N --model M) [--site-kw KW] [--step-s S] [--json] [--plot FILE.svg] [--series FILE.csv] [--bound [--bound-interval-s S]]',
    details: [
      'The trace is CSV (minute,kw / timestamp,kw / minute,pv_frac with --site-kw; also MW or W columns,',
      '; or tab separators, ISO or unix times) or JSON points; the README lists every accepted form.',
      'The config is the one surplus start reads (its fleet, models and scheduler are used).',
    ].join('\n'),
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
    process.stdout.write(`${command.summary}\n\nUsage: ${command.usage}\n${command.details ? `\n${command.details}\n` : ''}`);
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
