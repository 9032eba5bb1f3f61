/**
 * What a miner session needs from the proxy around it: the resolved config,
 * clock, logger, share hasher and ledger, upstream slots, and the lever's
 * view of a worker. Narrow on purpose: tests and the server build it.
 */
import type { Clock } from '../clock.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Logger } from '../observability/logger.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import type { ShareHasher } from '../shares/types.js';
import type { ChannelMember, Slot } from '../upstream/channel.js';
import type { MinerSession } from './miner-session.js';
import type { ShareLedger } from './worker-stats.js';

/** What a session needs from the proxy around it. */
export interface SessionHub {
  readonly config: ResolvedConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Repeated warnings about one miner address, rate-limited per address and cause (issue 11). */
  readonly logLimiter: LogLimiter;
  readonly hasher: ShareHasher;
  readonly ledger: ShareLedger;
  acquire(member: ChannelMember, resumeSessionId?: string): Promise<{ slot: Slot; sessionId: string }>;
  release(member: ChannelMember): void;
  /** Version mask of the upstream the miner will most likely land on. */
  poolVersionMask(): number;
  /** Fail-safe lever: a withheld worker may not (re)connect. */
  isWithheld(worker: string): boolean;
  /** Difficulty planned for this worker by expectHashrate, if any. */
  plannedDifficulty(worker: string): number | undefined;
  /** The difficulty a closed session had, for a miner that resumes it. */
  resumedDifficulty(sessionId: string): number | undefined;
  authorized(session: MinerSession, worker: string): void;
  /** Keeps these workers, from this address, out for `limits.banS` (invalid shares). */
  ban(workers: Iterable<string>, address: string): void;
  /** When the ban of this worker from this address ends (ms), or undefined. */
  bannedUntil(worker: string, address: string): number | undefined;
  closed(session: MinerSession): void;
  malformed(): void;
}
