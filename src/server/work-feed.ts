/**
 * What one miner is told to work on and at which difficulty: its job book,
 * its vardiff state and floors, job delivery (a clean copy for the first job
 * of a slot) and difficulty changes (set_difficulty, then the current job
 * again under a new id, since the new difficulty applies from the next job).
 * The session owns the handshake; this owns what flows once it is done.
 */
import type { Clock } from '../clock.js';
import type { ResolvedConfig } from '../config/load.js';
import { encodeNotification } from '../wire/json-rpc.js';
import { JobBook } from '../shares/job-book.js';
import type { MinerShareState } from '../shares/share-policy.js';
import type { JobOrigin, MinerJob, Slot } from '../upstream/channel.js';
import {
  clampDifficulty,
  recordShare,
  resumeVardiff,
  retarget,
  startVardiff,
  type VardiffFloors,
  type VardiffSettings,
  type VardiffState,
} from '../vardiff/vardiff.js';

/** The session as the feed sees it (read at each call: they change as the session moves). */
export interface FeedHost {
  /** Subscribed, authorized and not closed. */
  ready(): boolean;
  slot(): Slot | undefined;
  share(): MinerShareState | undefined;
  send(line: string | Buffer): void;
}

export class WorkFeed {
  readonly book: JobBook<JobOrigin>;
  /** suggest_difficulty / suggest_target and BIP310 minimum-difficulty. */
  readonly floors: VardiffFloors = {};
  private vd: VardiffState | undefined;
  private readonly vdCfg: VardiffSettings;
  private readonly initial: number;
  private jobsSent = 0;
  private withheld = false;
  /** The difficulty of the last mining.set_difficulty sent: jobs are noted at what the miner was told. */
  private told: number | undefined;

  constructor(
    config: ResolvedConfig,
    private readonly clock: Clock,
    private readonly host: FeedHost,
  ) {
    const d = config.difficulty;
    this.vdCfg = { targetSharesPerMinute: d.targetSharesPerMinute, retargetS: d.retargetS, min: d.min, max: d.max };
    this.initial = d.initial;
    this.book = new JobBook<JobOrigin>({ history: config.shares.jobHistory });
  }

  get difficulty(): number {
    return this.vd?.difficulty ?? this.initial;
  }

  /**
   * First authorize: vardiff starts at the planned difficulty (expectHashrate), else where a
   * resumed session left off (no ramp: the miner is the same), else the configured one.
   */
  begin(planned: number | undefined, resumed?: number): void {
    const clamp = (d: number): number => clampDifficulty(d, this.vdCfg, this.floors, this.poolDifficulty());
    if (planned === undefined && resumed !== undefined) this.vd = resumeVardiff(clamp(resumed), this.clock.now());
    else this.vd = startVardiff(clamp(planned ?? this.initial), this.clock.now());
  }

  /** Once subscribed and authorized: difficulty, then the current job (clean). */
  start(): void {
    const slot = this.host.slot();
    if (!this.host.ready() || !slot || this.withheld) return;
    this.retarget(false);
    this.tellDifficulty(this.difficulty);
    const cur = slot.channel.current;
    if (cur) this.send(cur, true);
  }

  /** A new slot or the end of a withhold: the next job starts the miner over (clean). */
  restart(): void {
    this.jobsSent = 0;
    this.start();
  }

  deliver(mj: MinerJob): void {
    this.send(mj, this.jobsSent === 0);
  }

  /** Every job sent so far is void (new slot, lost upstream). */
  invalidate(): void {
    this.book.invalidateAll();
  }

  /** Fail-safe lever: no more jobs until released. */
  withhold(): void {
    this.withheld = true;
  }

  release(): void {
    if (!this.withheld) return;
    this.withheld = false;
    this.restart();
  }

  /** An accepted share at the difficulty it was judged at. */
  counted(judgedAt: number): void {
    if (this.vd) this.vd = recordShare(this.vd, judgedAt);
  }

  retarget(apply = true): void {
    if (!this.vd) return;
    const r = retarget(this.vd, this.vdCfg, this.floors, this.poolDifficulty(), this.clock.now());
    this.vd = r.state;
    if (r.newDifficulty !== undefined && apply && this.jobsSent > 0) this.apply(r.newDifficulty);
  }

  /** expectHashrate: jump to a planned difficulty ahead of the shares. */
  plan(d: number): void {
    if (!this.vd) return;
    const next = clampDifficulty(d, this.vdCfg, this.floors, this.poolDifficulty());
    this.vd = startVardiff(next, this.clock.now());
    if (this.jobsSent > 0) this.apply(next);
  }

  private poolDifficulty(): number | undefined {
    return this.host.slot()?.channel.difficulty;
  }

  private send(mj: MinerJob, forceClean: boolean): void {
    const share = this.host.share();
    const slot = this.host.slot();
    if (!this.host.ready() || this.withheld || !share || !slot) return;
    let sent = mj;
    if (forceClean && !mj.job.cleanJobs) {
      sent = slot.channel.cleanCopy(mj);
      // Already had that copy (back from being withheld): a fresh id, so the work restarts under the difficulty in force now.
      if (this.book.has(sent.job.jobId)) sent = slot.channel.alias(mj, true);
    }
    // A difficulty that moved while no job could carry it (a floor or a plan before the pool's
    // first notify, or while withheld) goes out ahead of the job, or shares would be judged at
    // a difficulty the miner never heard of (set_difficulty applies from the next job).
    if (this.told !== this.difficulty) this.tellDifficulty(this.difficulty);
    this.book.add(sent.job, sent.job.cleanJobs, sent.origin);
    share.noteJobSent(sent.job.jobId, this.difficulty);
    this.jobsSent++;
    this.host.send(sent.line);
  }

  /**
   * A new difficulty applies from the next job: set_difficulty, then the current job again
   * under a new id with clean_jobs false, so the miner switches when it likes and throws
   * nothing away (issue 13: a clean notify per retarget discarded its work). Shares on the
   * older ids are still judged at the difficulty those ids went out with (noteJobSent).
   */
  private apply(d: number): void {
    const slot = this.host.slot();
    if (!this.host.ready() || !slot || this.withheld) return;
    this.tellDifficulty(d);
    const cur = slot.channel.current;
    const share = this.host.share();
    if (!cur || !share) return;
    const alias = slot.channel.alias(cur, false);
    // In our book the alias does not supersede older jobs: work found on them is still
    // valid and is judged at the difficulty they were sent with.
    // (No copy of the job with cleanJobs false: that cost an object and a second parse per miner per retarget.)
    // Same upstream work as the id it re-issues: a share sent under both is credited once.
    this.book.add(alias.job, false, alias.origin);
    share.noteJobSent(alias.job.jobId, d);
    this.jobsSent++;
    this.host.send(alias.line);
  }

  private tellDifficulty(d: number): void {
    this.told = d;
    this.host.send(encodeNotification('mining.set_difficulty', [d]));
  }
}
