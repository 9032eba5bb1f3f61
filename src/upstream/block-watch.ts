/**
 * Block candidates on their way to the pool (issue 11 item 3). A candidate
 * the pool does not acknowledge within `ackTimeoutMs` (the pool hung, the
 * connection dropped, it timed out) is logged at error level with all an
 * operator needs to submit it by hand: the exact mining.submit params, the
 * pool's extranonce1, the full header and the coinbase and merkle branches to
 * rebuild the block. Each is counted; none is dropped without a trace.
 *
 * Resubmitting it to another pool is not possible: the coinbase pays the
 * first pool's payout under its job id and extranonce1, so the next pool
 * would refuse it. A node (submitblock) can still take it, which is what the
 * logged fields are for.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import { explainShare } from '../shares/validator.js';
import type { HashRequest } from '../shares/types.js';
import type { SubmitAnswer } from './pool-client.js';

/** What the share path knows of a block candidate when it forwards it. */
export interface BlockFound {
  request: HashRequest;
  /** sha256d of the header, display order. */
  hash: string;
  worker: string;
}

/** Everything needed to submit one block candidate by hand. */
export interface BlockCandidateRecord {
  pool: string;
  worker: string;
  hash: string;
  /** The mining.submit params as sent upstream: [user, job id, extranonce2, ntime, nonce(, version bits)]. */
  submitParams: unknown[];
  upstreamJobId: string;
  /** The pool's extranonce1 (the coinbase holds extranonce1 ‖ extranonce2). */
  extranonce1: string;
  /** As sent upstream: the miner's prefix ‖ the miner's extranonce2. */
  extranonce2: string;
  ntime: string;
  nonce: string;
  /** Final header version (after BIP310 rolling), big-endian hex. */
  version: string;
  headerHex: string;
  coinbaseHex: string;
  merkleBranches: string[];
  /** As mining.notify sent it. */
  prevhash: string;
  nbits: string;
}

export interface BlockCounters {
  /** Block candidates forwarded to a pool. */
  submitted: number;
  /** The pool accepted it. */
  accepted: number;
  /** The pool answered with an error. */
  rejected: number;
  /** No answer within ackTimeoutMs (logged at error level for submission by hand). */
  unacknowledged: number;
}

export function blockRecord(found: BlockFound, pool: string, poolExtranonce1: string, submitParams: unknown[]): BlockCandidateRecord {
  const r = found.request;
  const d = explainShare(r);
  return {
    pool,
    worker: found.worker,
    hash: found.hash,
    submitParams,
    upstreamJobId: String(submitParams[1]),
    extranonce1: poolExtranonce1,
    extranonce2: String(submitParams[2]),
    ntime: r.ntime,
    nonce: r.nonce,
    version: (r.version >>> 0).toString(16).padStart(8, '0'),
    headerHex: d.header.toString('hex'),
    coinbaseHex: d.coinbase.toString('hex'),
    merkleBranches: [...r.job.merkleBranch],
    prevhash: r.job.prevhash,
    nbits: r.job.nbits,
  };
}

export interface BlockWatchOptions {
  ackTimeoutMs: number;
  logger: Logger;
  clock: Clock;
}

export class BlockWatch {
  readonly counters: BlockCounters = { submitted: 0, accepted: 0, rejected: 0, unacknowledged: 0 };

  constructor(private readonly o: BlockWatchOptions) {}

  /** Follows one candidate's submit until the pool answers or the ack timeout passes. */
  watch(record: BlockCandidateRecord, answer: Promise<SubmitAnswer>): void {
    const c = this.counters;
    const log = this.o.logger;
    c.submitted++;
    log.info({ pool: record.pool, worker: record.worker, hash: record.hash }, 'block candidate sent to the pool');
    let settled = false;
    let reported = false;
    const unacknowledged = (why: string): void => {
      if (reported) return;
      reported = true;
      c.unacknowledged++;
      log.error({ ...record, why }, 'block candidate not acknowledged by the pool: submit it by hand (header, coinbase and merkle branches logged)');
    };
    const timer = this.o.clock.setTimeout(() => {
      if (!settled) unacknowledged(`no answer within ${this.o.ackTimeoutMs} ms`);
    }, this.o.ackTimeoutMs);
    answer.then(
      (a) => {
        settled = true;
        this.o.clock.clearTimeout(timer);
        if (a.accepted) {
          c.accepted++;
          log.info({ pool: record.pool, hash: record.hash, late: reported }, 'block candidate accepted by the pool');
        } else {
          c.rejected++;
          log.error({ ...record, poolError: a.error }, 'block candidate rejected by the pool');
        }
      },
      (err: unknown) => {
        settled = true;
        this.o.clock.clearTimeout(timer);
        unacknowledged((err as Error).message);
      },
    );
  }
}
