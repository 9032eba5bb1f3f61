/**
 * Per-miner share policy (pure, bounded): everything decided about a
 * submission before and after it is hashed. Rejections are values with the
 * Stratum code the session sends back (`[code, reason, null]`), never
 * exceptions.
 *
 * Flow for the proxy:
 *   const pre = miner.precheck(submit, book);      // job (staleness), ntime, BIP310 mask, duplicate
 *                                                  // (params were parsed once, by wire/guards guardSubmit)
 *   if (!pre.ok) reply(pre.code, pre.reason);
 *   else hasher.hash(pre.request).then(
 *     (r) => miner.judge(pre, r, poolDifficulty),   // low difficulty, pool target, block
 *     (e) => { miner.forget(pre, book); reply(20, 'overloaded') });
 */
import { StratumError, type StratumErrorCode } from '../wire/error-codes.js';
import type { HashRequest, HashResult } from './types.js';
import type { SubmitParams } from '../wire/guards.js';
import type { JobBook } from './job-book.js';
import { isHex } from './hex.js';
import { targetForDifficulty, targetHex } from '../wire/target.js';

/** Why a share was rejected, finer than the Stratum code (21 covers both unknown and stale), for counting. */
export type RejectKind =
  | 'bad-ntime'
  | 'bad-version-bits'
  | 'unknown-job'
  | 'stale-job'
  | 'duplicate'
  | 'job-share-cap'
  | 'low-difficulty';

export interface ShareRejection {
  ok: false;
  code: StratumErrorCode;
  kind: RejectKind;
  reason: string;
  /** The share's difficulty when it was hashed (low-difficulty rejections). */
  difficulty?: number;
  hash?: string;
}

/** A submission that passed every check that needs no hashing; hand `request` to the ShareHasher. */
export interface PrecheckPass<W = unknown> {
  ok: true;
  request: HashRequest;
  /** The work the job book recorded with the job (the proxy: its upstream origin). */
  work: W | undefined;
  /** The difficulty this miner must meet on this job (the one in force when the job was sent). */
  difficulty: number;
  /** Duplicate key, already recorded on the job in the book. */
  key: string;
}

export type ShareAccepted = {
  ok: true;
  /** The share's own difficulty (bdiff). */
  difficulty: number;
  /** The difficulty the miner had to meet. */
  minerDifficulty: number;
  /** Meets the upstream pool's target: forward it. */
  meetsPool: boolean;
  /** Meets the network target from nbits: a block candidate. */
  block: boolean;
  /** Display-order hash hex. */
  hash: string;
};

export type ShareVerdict = ShareAccepted | ShareRejection;

export interface MinerShareOptions {
  /** The miner's full extranonce1 (hex). */
  extranonce1: string;
  /** Bytes of extranonce2 the miner must send. */
  extranonce2Size: number;
  /** BIP310 mask agreed in mining.configure; 0 = no version rolling. */
  versionMask?: number;
  /** ntime accepted in [job ntime, job ntime + ntimeWindowS] (config `shares.ntimeWindowS`). */
  ntimeWindowS: number;
  /**
   * Most shares one miner may submit on one job (config `shares.duplicateWindow`):
   * every share on a live job is remembered for duplicate detection, so the
   * bound is per job; more are refused with error 20 and counted as 'job-share-cap'.
   */
  duplicateWindow: number;
  /** Jobs whose send-time difficulty is remembered (default 64); older ones are judged at the current difficulty. */
  jobMemory?: number;
  /** Difficulty before any job was noted (default 1). */
  difficulty?: number;
}

const UNKNOWN_JOB: ShareRejection = Object.freeze({ ok: false, code: StratumError.JOB_NOT_FOUND, kind: 'unknown-job', reason: 'job not found' });
const STALE_JOB: ShareRejection = Object.freeze({ ok: false, code: StratumError.JOB_NOT_FOUND, kind: 'stale-job', reason: 'stale job' });

/**
 * Whether a share's job can still be submitted: the one place staleness is
 * decided (issue 14 item 3). Not in the book (never sent, or pushed out by
 * newer jobs): unknown. Marked stale (a later clean_jobs, or a new slot,
 * failover or lost upstream, which invalidate the whole book): stale. The
 * session asks again once the share is hashed, with the same answer rules.
 */
export function staleness(found: { readonly stale: boolean } | undefined): ShareRejection | undefined {
  if (found === undefined) return UNKNOWN_JOB;
  return found.stale ? STALE_JOB : undefined;
}

/** The rejection for a share whose job went stale while it was being hashed. */
export const STALE_SHARE: ShareRejection = STALE_JOB;

function reject(code: StratumErrorCode, kind: RejectKind, reason: string): ShareRejection {
  return { ok: false, code, kind, reason };
}

/** Evict the oldest entries of an insertion-ordered map down to `max`. */
function trim(coll: Map<string, unknown>, max: number): void {
  while (coll.size > max) coll.delete(coll.keys().next().value as string);
}

/**
 * The duplicate key of a share within its job: ntime ‖ nonce ‖ version ‖
 * extranonce2 as 16-bit code units in one flat string (8 units, a 32-byte
 * heap string, for a 4-byte extranonce2), instead of the ~70-character hex
 * text. It covers every header input the miner controls (the extranonce1 is
 * fixed per job), so the same nonce with other version bits is another
 * share. Hex case does not matter: the numbers are compared, not the text.
 * Within one job the extranonce2 length is fixed, so the units are unambiguous.
 */
export function shareKey(extranonce2: string, ntime: number, nonce: number, version: number): string {
  const u = [ntime >>> 16, ntime & 0xffff, nonce >>> 16, nonce & 0xffff, version >>> 16, version & 0xffff];
  for (let i = 0; i < extranonce2.length; i += 4) u.push(Number.parseInt(extranonce2.slice(i, i + 4), 16));
  return String.fromCharCode.apply(null, u);
}

export class MinerShareState {
  #poolDifficulty = Number.NaN;
  #poolTarget = '';
  #extranonce1: string;
  #versionMask: number;
  readonly #ntimeWindowS: number;
  readonly #duplicateWindow: number;
  readonly #jobMemory: number;
  #difficulty: number;
  readonly #jobDifficulty = new Map<string, number>();

  constructor(opts: MinerShareOptions) {
    this.#extranonce1 = opts.extranonce1;
    this.#versionMask = (opts.versionMask ?? 0) >>> 0;
    this.#ntimeWindowS = opts.ntimeWindowS;
    this.#duplicateWindow = opts.duplicateWindow;
    this.#jobMemory = opts.jobMemory ?? 64;
    this.#difficulty = opts.difficulty ?? 1;
    if (!isHex(opts.extranonce1)) throw new RangeError('extranonce1 must be hex');
    if (!Number.isInteger(opts.extranonce2Size) || opts.extranonce2Size < 0) {
      throw new RangeError(`extranonce2Size must be a non-negative integer, got ${opts.extranonce2Size}`);
    }
    if (!Number.isInteger(opts.duplicateWindow) || opts.duplicateWindow < 1) {
      throw new RangeError(`duplicateWindow (shares per job) must be an integer >= 1, got ${opts.duplicateWindow}`);
    }
    this.#targetHex(this.#difficulty); // validates it
  }

  /** BIP310: the mask agreed in mining.configure (already intersected with the pool's). */
  setVersionMask(mask: number): void {
    this.#versionMask = mask >>> 0;
  }

  get versionMask(): number {
    return this.#versionMask;
  }

  /** A new extranonce1 (e.g. after the upstream changed); later shares are built with it (the guard checks extranonce2's size). */
  setExtranonce(extranonce1: string): void {
    if (!isHex(extranonce1)) throw new RangeError('extranonce1 must be hex');
    this.#extranonce1 = extranonce1;
  }

  /**
   * Record that `jobId` went to this miner while `difficulty` was in force
   * (Stratum: mining.set_difficulty applies from the next job on). Shares on
   * that job are judged at that difficulty even after a retarget. If the same
   * job is sent again at another difficulty, the lower one is kept: the miner
   * may still be submitting work found under the earlier send.
   */
  noteJobSent(jobId: string, difficulty: number): void {
    // Called once per miner per job on the fan-out path: a new id is one Map
    // insert (plus evicting the oldest past jobMemory), nothing else.
    if (difficulty !== this.#difficulty) this.#targetHex(difficulty); // validates it
    const m = this.#jobDifficulty;
    const before = m.get(jobId);
    if (before === undefined) {
      m.set(jobId, difficulty);
      if (m.size > this.#jobMemory) trim(m, this.#jobMemory);
    } else {
      m.delete(jobId);
      m.set(jobId, Math.min(before, difficulty));
    }
    this.#difficulty = difficulty;
  }

  /** The difficulty of the newest job sent. */
  get difficulty(): number {
    return this.#difficulty;
  }

  /**
   * Everything that can be decided without hashing. On success the share's
   * duplicate key is recorded on its job in `book` right away, so a
   * resubmission that arrives while the first copy is still being hashed is
   * already a duplicate; call `forget` if the share then cannot be hashed
   * (queue full), so the miner may send it again.
   */
  precheck<W>(submit: SubmitParams, book: JobBook<W>): ShareRejection | PrecheckPass<W> {
    // The fields' format (hex, lengths) is the guard's (wire/guards guardSubmit), checked once when the line is read.
    const { extranonce2, ntime, nonce, versionBits } = submit;
    const found = book.lookup(submit.jobId);
    const gone = staleness(found);
    if (gone !== undefined) return gone;
    const entry = found!; // staleness() refuses a missing job
    const job = entry.prepared;

    const time = Number.parseInt(ntime, 16);
    if (time < job.ntime) return reject(StratumError.OTHER, 'bad-ntime', 'ntime is earlier than the job');
    if (time > job.ntime + this.#ntimeWindowS) {
      return reject(StratumError.OTHER, 'bad-ntime', `ntime is more than ${this.#ntimeWindowS} s after the job`);
    }

    // BIP310: version = (job_version & ~mask) | (version_bits & mask); bits outside the mask are an error.
    let version = job.version;
    if (versionBits !== undefined) {
      const bits = Number.parseInt(versionBits, 16) >>> 0;
      if ((bits & ~this.#versionMask) >>> 0 !== 0) {
        return reject(StratumError.OTHER, 'bad-version-bits', 'version bits outside the negotiated mask');
      }
      version = ((job.version & ~this.#versionMask) | (bits & this.#versionMask)) >>> 0;
    }

    const key = shareKey(extranonce2, time, Number.parseInt(nonce, 16), version);
    const rec = book.recordShare(submit.jobId, key, this.#duplicateWindow);
    if (rec === 'duplicate') return reject(StratumError.DUPLICATE_SHARE, 'duplicate', 'duplicate share');
    // Cannot happen while the lookup above and this record run in one call; never credit a share the book does not hold.
    if (rec === 'no-job') return staleness(book.lookup(submit.jobId)) ?? staleness(undefined)!;
    if (rec === 'full') {
      return reject(StratumError.OTHER, 'job-share-cap', `more than ${this.#duplicateWindow} shares on one job; wait for the next job`);
    }

    return {
      ok: true,
      request: { job: entry.job, extranonce1: this.#extranonce1, extranonce2, ntime, nonce, version },
      work: entry.work,
      difficulty: this.#jobDifficulty.get(submit.jobId) ?? this.#difficulty,
      key,
    };
  }

  /** Undo the duplicate record of a share that could not be hashed (`book`: the one given to precheck). */
  forget<W>(pre: PrecheckPass<W>, book: JobBook<W>): void {
    book.forgetShare(pre.request.job.jobId, pre.key);
  }

  /**
   * The verdict once the hash is known: below the miner's target is error 23
   * (unless it is a block candidate, which is always kept); otherwise
   * accepted, with whether it also meets the pool's target and the network's.
   */
  judge(pre: PrecheckPass, result: HashResult, poolDifficulty: number): ShareVerdict {
    const hash = result.hash.toLowerCase();
    if (!result.block && hash > this.#targetHex(pre.difficulty)) {
      return {
        ok: false,
        code: StratumError.LOW_DIFFICULTY,
        kind: 'low-difficulty',
        reason: `low difficulty share (${formatDifficulty(result.difficulty)} < ${pre.difficulty})`,
        difficulty: result.difficulty,
        hash,
      };
    }
    return {
      ok: true,
      difficulty: result.difficulty,
      minerDifficulty: pre.difficulty,
      meetsPool: hash <= this.#targetHex(poolDifficulty),
      block: result.block,
      hash,
    };
  }

  /** The pool target as hex; a miner's shares all meet one pool difficulty at a time, so one pair is memo enough. */
  #targetHex(difficulty: number): string {
    if (difficulty !== this.#poolDifficulty) {
      this.#poolTarget = targetHex(targetForDifficulty(difficulty));
      this.#poolDifficulty = difficulty;
    }
    return this.#poolTarget;
  }
}

function formatDifficulty(d: number): string {
  return Number.isFinite(d) ? Number(d.toPrecision(6)).toString() : String(d);
}
