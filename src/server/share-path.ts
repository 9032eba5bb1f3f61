/**
 * The path of one well-formed submit from an authorized miner: precheck (job,
 * duplicate, ntime, BIP310 bits), hash on the worker pool, judge, answer, and
 * forward what meets the pool's target (or is a block candidate) on the
 * upstream connection the job came from, as prefix ‖ miner extranonce2.
 */
import { OverloadError, TimeoutError } from '../errors.js';
import { StratumError } from '../wire/error-codes.js';
import type { SubmitParams } from '../wire/guards.js';
import type { JobBook } from '../shares/job-book.js';
import type { MinerShareState } from '../shares/share-policy.js';
import type { ShareHasher } from '../shares/types.js';
import type { JobOrigin, Slot } from '../upstream/channel.js';
import type { Logger } from '../observability/logger.js';
import type { ShareLedger } from './worker-stats.js';

export interface ShareScope {
  readonly hasher: ShareHasher;
  readonly ledger: ShareLedger;
  readonly logger: Logger;
  readonly share: MinerShareState;
  readonly book: JobBook<JobOrigin>;
  /** The slot the miner holds now; a job from another upstream connection is stale. */
  readonly slot: Slot;
  nowMs(): number;
  /** Answer with a Stratum error; `invalid` counts toward the ban. */
  reject(code: number, kind: string, message: string, invalid: boolean): void;
  /** Answer `true`. */
  accept(): void;
  /** Feed vardiff with the difficulty the share was judged at. */
  counted(judgedAt: number): void;
}

export async function processShare(s: ShareScope, worker: string, submit: SubmitParams): Promise<void> {
  const pre = s.share.precheck(submit, s.book);
  // A stale job or a full per-job share cap is not the miner's fault: neither counts toward the ban.
  if (!pre.ok) return s.reject(pre.code, pre.kind, pre.reason, pre.kind !== 'stale-job' && pre.kind !== 'job-share-cap');
  const origin = pre.work;
  const slot = s.slot;
  if (!origin || origin.channel !== slot.channel) return s.reject(StratumError.JOB_NOT_FOUND, 'stale-job', 'stale job', false);
  let result;
  try {
    result = await s.hasher.hash(pre.request);
  } catch (err) {
    s.share.forget(pre, s.book);
    if (err instanceof OverloadError) return s.reject(StratumError.OTHER, 'overloaded', 'proxy overloaded; share not checked, send again', false);
    s.logger.error({ worker, err: (err as Error).message }, 'share hashing failed');
    return s.reject(StratumError.OTHER, 'hash-failed', 'share could not be checked', false);
  }
  const verdict = s.share.judge(pre, result, origin.poolDifficulty);
  if (!verdict.ok) return s.reject(verdict.code, verdict.kind, verdict.reason, true);
  // A clean_jobs (or a failover) that arrived while the share was hashing makes it stale now:
  // say so to the miner rather than forward work the pool will refuse. A block candidate
  // still goes up, since only the pool can tell whether its block is still worth anything.
  const still = s.book.lookup(submit.jobId);
  if (!verdict.block && (!still || still.stale || s.slot.channel !== origin.channel)) {
    return s.reject(StratumError.JOB_NOT_FOUND, 'stale-job', 'stale job', false);
  }
  // Answered even if the miner left meanwhile: the work is valid and still goes upstream.
  s.accept();
  s.ledger.accepted(worker, verdict.minerDifficulty, s.nowMs(), verdict.block);
  s.counted(verdict.minerDifficulty);
  if (verdict.meetsPool || verdict.block) {
    if (verdict.block) s.logger.info({ worker, hash: verdict.hash }, 'block candidate: forwarding at once');
    s.ledger.forwarded(worker);
    const block = verdict.block ? { request: pre.request, hash: verdict.hash, worker } : undefined;
    origin.channel.submit(origin, slot.prefixHex, submit.extranonce2, submit.ntime, submit.nonce, submit.versionBits, block).then(
      (a) => s.ledger.poolAnswer(worker, a.accepted ? 'accepted' : 'rejected'),
      (err: unknown) => s.ledger.poolAnswer(worker, err instanceof TimeoutError ? 'timeout' : 'lost'),
    );
  }
}
