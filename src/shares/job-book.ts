import type { StratumJob } from './types.js';
import { preparedJob } from './validator.js';

/** What the book knows about a job id. */
export interface JobLookup {
  job: StratumJob;
  /** A later notify with clean_jobs=true superseded it: shares on it are stale (Stratum error 21). */
  stale: boolean;
}

/**
 * The last N jobs of one upstream connection (config `shares.jobHistory`).
 * Jobs superseded by a clean_jobs notify stay in the book, marked stale, so
 * a late share is told "stale job" rather than "job not found" and the two
 * are counted apart; jobs older than the history window are unknown.
 */
export class JobBook {
  readonly #history: number;
  readonly #jobs = new Map<string, JobLookup>();
  #current: StratumJob | undefined;

  constructor(opts: { history: number }) {
    if (!Number.isInteger(opts.history) || opts.history < 1) {
      throw new RangeError(`JobBook history must be an integer >= 1, got ${opts.history}`);
    }
    this.#history = opts.history;
  }

  /**
   * Record a notify. Parses the job's hex once here (throws InputError naming
   * the field for a malformed job), so no share pays for it later.
   */
  add(job: StratumJob): void {
    preparedJob(job);
    if (job.cleanJobs) for (const entry of this.#jobs.values()) entry.stale = true;
    // A re-sent job id moves to the newest position.
    this.#jobs.delete(job.jobId);
    this.#jobs.set(job.jobId, { job, stale: false });
    while (this.#jobs.size > this.#history) {
      const oldest = this.#jobs.keys().next().value as string;
      this.#jobs.delete(oldest);
    }
    this.#current = job;
  }

  lookup(jobId: string): JobLookup | undefined {
    const entry = this.#jobs.get(jobId);
    return entry && { job: entry.job, stale: entry.stale };
  }

  /** The newest job, the one a newly connected miner should get. */
  current(): StratumJob | undefined {
    return this.#current;
  }

  /** Mark every job stale, e.g. when the upstream connection is lost and its jobs can no longer be submitted. */
  invalidateAll(): void {
    for (const entry of this.#jobs.values()) entry.stale = true;
    this.#current = undefined;
  }

  get size(): number {
    return this.#jobs.size;
  }
}
