import type { StratumJob } from '../wire/stratum-job.js';
import { prepareJob, type PreparedJob } from './validator.js';

/** What the book knows about a job id. */
export interface JobLookup<W = unknown> {
  job: StratumJob;
  /** The job's hex, parsed. */
  prepared: PreparedJob;
  /** A later notify with clean_jobs=true superseded it: shares on it are stale (Stratum error 21). */
  stale: boolean;
  /** The work this id carries, as given to `add` (the proxy: where the job came from upstream). */
  work: W | undefined;
}

/** What `recordShare` found: a first submission, a resubmission, or a job that already holds its cap of shares. */
export type ShareRecord = 'new' | 'duplicate' | 'full' | 'no-job';

interface Entry<W> {
  job: StratumJob;
  prepared: PreparedJob;
  stale: boolean;
  /**
   * Keys of the shares submitted on this job, created on the first share.
   * A duplicate can only happen within a job that is still live here: once
   * the job leaves the book (or goes stale) every submit on it is refused as
   * unknown/stale before the duplicate check, so its keys die with it. This
   * bounds duplicate memory by live jobs × shares per job, not by a global
   * window that outlives the jobs it covers.
   */
  seen: Set<string> | undefined;
  /** The work this id carries (`add`'s `work`): live ids of one work share one `seen`. */
  work: W | undefined;
}

/**
 * The last N jobs sent to one miner (config `shares.jobHistory`), with the
 * keys of the shares submitted on each (duplicate detection, Stratum error
 * 22). Jobs superseded by a clean_jobs notify stay in the book, marked
 * stale, so a late share is told "stale job" rather than "job not found" and
 * the two are counted apart; jobs older than the history window are unknown.
 * `W` is what the owner records with each id as its work (the proxy: the
 * job's typed upstream origin), so the share path reads it from the entry it
 * looked up, not from a side table.
 */
export class JobBook<W = unknown> {
  readonly #history: number;
  readonly #jobs = new Map<string, Entry<W>>();
  #current: StratumJob | undefined;

  constructor(opts: { history: number }) {
    if (!Number.isInteger(opts.history) || opts.history < 1) {
      throw new RangeError(`JobBook history must be an integer >= 1, got ${opts.history}`);
    }
    this.#history = opts.history;
  }

  /**
   * Record a notify. `prepared` is the job's hex parsed once for every miner
   * it goes to (the proxy's channel does it per upstream job); without it the
   * job is parsed here (throws InputError naming the field for a malformed
   * job), so no share pays for it later.
   * `supersedes` (default: the job's clean_jobs) marks every older job stale;
   * false for a job the miner is told is clean only so it restarts work (a
   * difficulty change), while work on older jobs stays valid here.
   * `work` names the work the job carries when other ids may carry the same
   * (a proxy re-issuing one upstream job under a fresh id at a new
   * difficulty): every live id of one work shares one set of share keys, so
   * a share sent again under the other id is a duplicate, not a second credit.
   */
  add(job: StratumJob, supersedes: boolean = job.cleanJobs, work?: W, prepared: PreparedJob = prepareJob(job)): void {
    const jobs = this.#jobs;
    // A re-sent job id moves to the newest position; the same id is the same
    // work, so the shares already seen on it stay duplicates. Taken before a
    // supersede clears them: a clean re-issue of work the miner already had
    // (a restart after a withhold) carries the same headers, and a share sent
    // again under it must not be credited twice.
    const before = jobs.get(job.jobId);
    let seen = before?.seen;
    const inherit = work !== undefined && seen === undefined;
    if (inherit || supersedes) {
      // One pass: inherit the keys of a live id of the same work, then (a clean job) mark
      // every older id stale; stale shares are refused before the duplicate check.
      for (const entry of jobs.values()) {
        if (inherit && seen === undefined && entry.work === work && !entry.stale) seen = entry.seen ??= new Set();
        if (supersedes) {
          entry.stale = true;
          entry.seen = undefined;
        }
      }
    }
    if (before !== undefined) jobs.delete(job.jobId);
    jobs.set(job.jobId, { job, prepared, stale: false, seen, work: work ?? before?.work });
    if (jobs.size > this.#history) jobs.delete(jobs.keys().next().value as string);
    this.#current = job;
  }

  lookup(jobId: string): JobLookup<W> | undefined {
    const entry = this.#jobs.get(jobId);
    return entry && { job: entry.job, prepared: entry.prepared, stale: entry.stale, work: entry.work };
  }

  /** Whether this id was sent to the miner and is still in the book (stale or not). */
  has(jobId: string): boolean {
    return this.#jobs.has(jobId);
  }

  /**
   * Notes a share key on a live job: 'new' (now recorded), 'duplicate'
   * (already recorded), 'full' (the job already holds `max` keys: refuse the
   * share rather than forget older keys, which would let a duplicate through)
   * or 'no-job' (not in the book or stale).
   */
  recordShare(jobId: string, key: string, max: number): ShareRecord {
    const entry = this.#jobs.get(jobId);
    if (entry === undefined || entry.stale) return 'no-job';
    let seen = entry.seen;
    if (seen === undefined) entry.seen = seen = new Set();
    else if (seen.has(key)) return 'duplicate';
    else if (seen.size >= max) return 'full';
    seen.add(key);
    return 'new';
  }

  /** Forgets a recorded key (a share that could not be hashed may be sent again). */
  forgetShare(jobId: string, key: string): void {
    this.#jobs.get(jobId)?.seen?.delete(key);
  }

  /** Share keys held for one job (0 when it is gone or stale; ids of one work count the same keys). */
  sharesOn(jobId: string): number {
    return this.#jobs.get(jobId)?.seen?.size ?? 0;
  }

  /** The newest job, the one a newly connected miner should get. */
  current(): StratumJob | undefined {
    return this.#current;
  }

  /** Mark every job stale, e.g. when the upstream connection is lost and its jobs can no longer be submitted. */
  invalidateAll(): void {
    for (const entry of this.#jobs.values()) {
      entry.stale = true;
      entry.seen = undefined;
    }
    this.#current = undefined;
  }

  get size(): number {
    return this.#jobs.size;
  }
}
