/**
 * Runs a surplus command line in this process through the CLI's own `run`
 * (the same argv parsing, commands and one-line error printing as
 * dist/cli.js), capturing what it writes to stdout and stderr. A spawned
 * `node dist/cli.js` costs a Node start and a cold import (~0.3 s); the
 * CLI tests keep a few real spawns for what only a process shows (its exit
 * status, a port left bound).
 *
 * Runs are serialized: the capture swaps process.stdout/stderr.write.
 */
import { run } from '../../src/cli.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Write = typeof process.stdout.write;

let queue: Promise<unknown> = Promise.resolve();

function capture(into: { text: string }): Write {
  return ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): boolean => {
    into.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
    const done = typeof encoding === 'function' ? encoding : cb;
    if (done) queueMicrotask(() => done());
    return true;
  }) as Write;
}

export function runCliInProcess(args: string[]): Promise<CliResult> {
  const result = queue.then(async () => {
    const out = { text: '' };
    const err = { text: '' };
    const stdoutWrite = process.stdout.write;
    const stderrWrite = process.stderr.write;
    process.stdout.write = capture(out);
    process.stderr.write = capture(err);
    try {
      const code = await run(args);
      return { code, stdout: out.text, stderr: err.text };
    } finally {
      process.stdout.write = stdoutWrite;
      process.stderr.write = stderrWrite;
    }
  });
  queue = result.catch(() => undefined);
  return result;
}
