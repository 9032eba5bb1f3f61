/**
 * What one miner is told to work on and at which difficulty: its job book,
 * its vardiff state and floors, job delivery (a clean copy for the first job
 * of a slot) and difficulty changes (set_difficulty, then the current job
 * again under a new id, since the new difficulty applies from the next job).
 * The session owns the handshake and sets `slot`, `share` and `ready`; this
 * owns what flows once it is done. Pure: lines go into the `out` actions,
 * time is an argument.
 */
import type { ResolvedConfig } from '../config/load.js';
import { encodeNotification } from '../wire/json-rpc.js';
import { JobBook } from '../shares/job-book.js';
import type { MinerShareState } from '../shares/share-policy.js';
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
import type { MinerAction } from './events.js';
import type { MinerSlot, MinerWork, WorkOrigin } from './work.js';

export class WorkFeed {
  readonly book: JobBook<WorkOrigin>;
  /** suggest_difficulty / suggest_target and BIP310 minimum-difficulty. */
  readonly floors: VardiffFloors = {};
  /** The slot the miner holds (set by the session). */
  slot: MinerSlot | undefined;
  /** Share checks for the miner's extranonce and mask (set by the session at subscribe). */
  share: MinerShareState | undefined;
  /** Subscribed, authorized, neither closed nor leaving (kept by the session). */
  ready = false;
  private vd: VardiffState | undefined;
  private readonly vdCfg: VardiffSettings;
  private readonly initial: number;
  private jobsSent = 0;
  private withheld = false;
  /** The difficulty of the last mining.set_difficulty sent: jobs are noted at what the miner was told. */
  private told: number | undefined;

  constructor(config: Pick<ResolvedConfig, 'difficulty' | 'shares'>) {
    const d = config.difficulty;
    this.vdCfg = { targetSharesPerMinute: d.targetSharesPerMinute, retargetS: d.retargetS, min: d.min, max: d.max };
    this.initial = d.initial;
    this.book = new JobBook<WorkOrigin>({ history: config.shares.jobHistory });
  }

  get difficulty(): number {
    return this.vd?.difficulty ?? this.initial;
  }

  /**
   * First authorize: vardiff starts at the planned difficulty (expectHashrate), else where a
   * resumed session left off (no ramp: the miner is the same), else the configured one.
   */
  begin(planned: number | undefined, resumed: number | undefined, nowMs: number): void {
    const clamp = (d: number): number => clampDifficulty(d, this.vdCfg, this.floors, this.poolDifficulty());
    if (planned === undefined && resumed !== undefined) this.vd = resumeVardiff(clamp(resumed), nowMs);
    else this.vd = startVardiff(clamp(planned ?? this.initial), nowMs);
  }

  /** Once subscribed and authorized: difficulty, then the current job (clean). */
  start(out: MinerAction[], nowMs: number): void {
    const slot = this.slot;
    if (!this.ready || !slot || this.withheld) return;
    this.retarget(out, nowMs, false);
    this.tellDifficulty(this.difficulty, out);
    const cur = slot.channel.current;
    if (cur) this.send(cur, true, out);
  }

  /** A new slot or the end of a withhold: the next job starts the miner over (clean). */
  restart(out: MinerAction[], nowMs: number): void {
    this.jobsSent = 0;
    this.start(out, nowMs);
  }

  deliver(work: MinerWork, out: MinerAction[]): void {
    this.send(work, this.jobsSent === 0, out);
  }

  /** Every job sent so far is void (new slot, lost upstream). */
  invalidate(): void {
    this.book.invalidateAll();
  }

  /** Fail-safe lever: no more jobs until released. */
  withhold(): void {
    this.withheld = true;
  }

  release(out: MinerAction[], nowMs: number): void {
    if (!this.withheld) return;
    this.withheld = false;
    this.restart(out, nowMs);
  }

  /** An accepted share at the difficulty it was judged at. */
  counted(judgedAt: number): void {
    if (this.vd) this.vd = recordShare(this.vd, judgedAt);
  }

  retarget(out: MinerAction[], nowMs: number, apply = true): void {
    if (!this.vd) return;
    const r = retarget(this.vd, this.vdCfg, this.floors, this.poolDifficulty(), nowMs);
    this.vd = r.state;
    if (r.newDifficulty !== undefined && apply && this.jobsSent > 0) this.apply(r.newDifficulty, out);
  }

  /** expectHashrate: jump to a planned difficulty ahead of the shares. */
  plan(d: number, out: MinerAction[], nowMs: number): void {
    if (!this.vd) return;
    const next = clampDifficulty(d, this.vdCfg, this.floors, this.poolDifficulty());
    this.vd = startVardiff(next, nowMs);
    if (this.jobsSent > 0) this.apply(next, out);
  }

  private poolDifficulty(): number | undefined {
    return this.slot?.channel.difficulty;
  }

  private send(work: MinerWork, forceClean: boolean, out: MinerAction[]): void {
    const share = this.share;
    const slot = this.slot;
    if (!this.ready || this.withheld || !share || !slot) return;
    let sent = work;
    if (forceClean && !work.job.cleanJobs) {
      sent = slot.channel.cleanCopy(work);
      // Already had that copy (back from being withheld): a fresh id, so the work restarts under the difficulty in force now.
      if (this.book.has(sent.job.jobId)) sent = slot.channel.alias(work, true);
    }
    // A difficulty that moved while no job could carry it (a floor or a plan before the pool's
    // first notify, or while withheld) goes out ahead of the job, or shares would be judged at
    // a difficulty the miner never heard of (set_difficulty applies from the next job).
    if (this.told !== this.difficulty) this.tellDifficulty(this.difficulty, out);
    this.book.add(sent.job, sent.job.cleanJobs, sent.origin, sent.prepared);
    share.noteJobSent(sent.job.jobId, this.difficulty);
    this.jobsSent++;
    out.push({ type: 'send', line: sent.line });
  }

  /**
   * A new difficulty applies from the next job: set_difficulty, then the current job again
   * under a new id with clean_jobs false, so the miner switches when it likes and throws
   * nothing away (issue 13: a clean notify per retarget discarded its work). Shares on the
   * older ids are still judged at the difficulty those ids went out with (noteJobSent).
   */
  private apply(d: number, out: MinerAction[]): void {
    const slot = this.slot;
    if (!this.ready || !slot || this.withheld) return;
    this.tellDifficulty(d, out);
    const cur = slot.channel.current;
    const share = this.share;
    if (!cur || !share) return;
    const alias = slot.channel.alias(cur, false);
    // In our book the alias does not supersede older jobs: work found on them is still
    // valid and is judged at the difficulty they were sent with.
    // (No copy of the job with cleanJobs false: that cost an object and a second parse per miner per retarget.)
    // Same upstream work as the id it re-issues: a share sent under both is credited once.
    this.book.add(alias.job, false, alias.origin, alias.prepared);
    share.noteJobSent(alias.job.jobId, d);
    this.jobsSent++;
    out.push({ type: 'send', line: alias.line });
  }

  private tellDifficulty(d: number, out: MinerAction[]): void {
    this.told = d;
    out.push({ type: 'send', line: encodeNotification('mining.set_difficulty', [d]) });
  }
}
