/**
 * One small API for batched share checks, whichever engine does the hashing:
 *
 *   native  the N-API addon (SHA-NI with two shares interleaved; portable C
 *           when forced on a CPU without SHA extensions)
 *   js      hand-written SHA-256 with a coinbase midstate (always available)
 *   node    node:crypto, the baseline
 *
 * `auto` picks native when the addon loads and the CPU has SHA-NI, else js.
 * The environment variable SURPLUS_HASH=auto|native|js|node forces a path
 * (tests and benchmarks); forcing native when the addon is missing is a
 * ConfigError rather than a silent fallback.
 */
import { ConfigError, InputError } from '../../errors.js';
import type { PreparedJob } from '../validator.js';
import { buildJobContext, checkBatchArgs } from './layout.js';
import { createJsBatchCheck } from './share-check-js.js';
import { checkBatchNode } from './share-check-node.js';
import { loadNativeAddon } from './native.js';

export type HashPath = 'native' | 'js' | 'node';
export type HashPathChoice = HashPath | 'auto';

export interface ShareChecker {
  readonly path: HashPath;
  /** Why this path was chosen, for the startup log line and `surplus bench`. */
  readonly reason: string;
  /**
   * Check `count` shares (48-byte records, see layout.ts) of one job context
   * and write 48-byte results to `out`. Throws InputError on malformed sizes.
   */
  checkBatch(ctx: Uint8Array, shares: Uint8Array, count: number, out: Uint8Array): void;
}

export interface ShareCheckerOptions {
  path?: HashPathChoice;
  /** Override the addon location (tests use a missing file to prove the fallback). */
  addonPath?: string;
}

const CHOICES: readonly HashPathChoice[] = ['auto', 'native', 'js', 'node'];

/** Read SURPLUS_HASH; unset or empty means auto. */
export function hashPathFromEnv(env: NodeJS.ProcessEnv = process.env): HashPathChoice {
  const raw = env['SURPLUS_HASH'];
  if (raw === undefined || raw === '') return 'auto';
  if ((CHOICES as readonly string[]).includes(raw)) return raw as HashPathChoice;
  throw new ConfigError(`SURPLUS_HASH must be one of ${CHOICES.join(', ')}; got ${JSON.stringify(raw)}`);
}

function guarded(
  path: HashPath,
  reason: string,
  fn: (ctx: Uint8Array, shares: Uint8Array, count: number, out: Uint8Array) => void,
): ShareChecker {
  return {
    path,
    reason,
    checkBatch(ctx, shares, count, out) {
      const err = checkBatchArgs(ctx, shares, count, out);
      if (err) throw new InputError(err);
      fn(ctx, shares, count, out);
    },
  };
}

/**
 * A checker on the path `opts.path` (default: SURPLUS_HASH, else auto). Each
 * holds its own caches; whoever needs one creates it and keeps it (a hash
 * worker keeps one for its life, see hash-batch.ts's HashBatcher).
 */
export function createShareChecker(opts: ShareCheckerOptions = {}): ShareChecker {
  const choice = opts.path ?? hashPathFromEnv();
  if (choice === 'js') return guarded('js', 'forced by SURPLUS_HASH=js', createJsBatchCheck());
  if (choice === 'node') return guarded('node', 'forced by SURPLUS_HASH=node', checkBatchNode);
  const loaded = loadNativeAddon(opts.addonPath);
  if ('error' in loaded) {
    if (choice === 'native') throw new ConfigError(`SURPLUS_HASH=native but the addon did not load: ${loaded.error}`);
    return guarded('js', `native addon unavailable (${loaded.error})`, createJsBatchCheck());
  }
  const { addon } = loaded;
  if (choice === 'auto' && !addon.shaNi) return guarded('js', 'CPU has no SHA-NI; pure JS is as fast as portable C', createJsBatchCheck());
  return {
    path: 'native',
    reason: addon.shaNi ? 'native addon with SHA-NI' : 'native addon, portable C (forced; CPU has no SHA-NI)',
    checkBatch(ctx, shares, count, out) {
      try {
        addon.checkBatch(ctx, shares, count, out);
      } catch (err) {
        throw new InputError((err as Error).message);
      }
    },
  };
}

/**
 * The job context for one prepared job and one miner session (its full
 * extranonce1 and extranonce2 size): build it once and reuse it for every
 * share of that job and session.
 */
export function jobContextFor(job: PreparedJob, extranonce1: Uint8Array, extranonce2Size: number): Uint8Array {
  return buildJobContext({
    coinb1: job.coinb1,
    extranonce1,
    extranonce2Size,
    coinb2: job.coinb2,
    branches: job.branches,
    prevHash: job.prevHash,
    nbits: job.nbits,
  });
}

export {
  RESULT_STRIDE,
  SHARE_STRIDE,
  buildJobContext,
  resultDifficulty,
  resultHashHex,
  resultIsBlock,
  writeShareRecord,
  type JobContextInput,
} from './layout.js';
