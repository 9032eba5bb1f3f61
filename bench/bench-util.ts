/** Small helpers every bench script shares: flags, child-process messages, units. */
import type { ChildProcess } from 'node:child_process';
import type { StratumJob } from '../src/wire/stratum-job.js';

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

/** A big-endian u32 as 8 hex digits, as Stratum sends ntime, nonce and version. */
export const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** A synthetic job (no branches, a fixed coinbase) for benches that measure the share path, not its inputs. */
export function syntheticJob(jobId: number, ntime: number, cleanJobs: boolean): StratumJob {
  return {
    jobId: jobId.toString(16),
    prevhash: '00'.repeat(32),
    coinb1: '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20',
    coinb2: 'ffffffff0100f2052a010000001976a914000000000000000000000000000000000000000088ac00000000',
    merkleBranch: [],
    version: '20000000',
    nbits: '1d00ffff',
    ntime: hex8(ntime),
    cleanJobs,
  };
}
