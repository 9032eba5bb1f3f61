/** Small helpers every bench script shares: flags, child-process messages, units. */
import type { ChildProcess } from 'node:child_process';

/** `--name N` from argv, or `dflt`; a value that is not a number stops the bench with its name. */
export function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) {
    process.stderr.write(`--${name} must be a number, got "${process.argv[i + 1] ?? ''}"\n`);
    process.exit(2);
  }
  return v;
}

/** The next IPC message of `kind` from a child process. */
export function next<T>(cp: ChildProcess, kind: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { kind: string }): void => {
      if (m.kind === kind) {
        cp.off('message', on);
        resolve(m as T);
      }
    };
    cp.on('message', on);
  });
}

export const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
