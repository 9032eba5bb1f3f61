/**
 * What the pure miner session knows of the upstream side: the work it is
 * handed and the slot it holds, as plain shapes. upstream/ and miner/ sit on
 * one layer and never import each other; upstream's Channel, MinerJob and
 * Slot fit these shapes, and server/ passes them through.
 */
import type { PreparedJob } from '../shares/validator.js';
import type { StratumJob } from '../wire/stratum-job.js';

/** Where a miner-facing job came from; opaque to the session except for the pool's difficulty then. */
export interface WorkOrigin {
  readonly poolDifficulty: number;
}

/** One job as miners see it: the parsed job and its notify line, serialised once for every miner. */
export interface MinerWork {
  readonly job: StratumJob;
  readonly line: Buffer;
  /** The job's hex parsed once, for every miner it goes to (the share checks read its ntime and version). */
  readonly prepared: PreparedJob;
  readonly origin: WorkOrigin;
}

/** The upstream connection a slot belongs to, as far as job delivery needs it. */
export interface WorkSource {
  /** The newest job, undefined before the pool's first notify. */
  readonly current: MinerWork | undefined;
  /** The pool's share difficulty (caps the miner's). */
  readonly difficulty: number;
  /** BIP310: the bits the pool lets miners roll. */
  readonly versionMask: number;
  /** The same work under a fresh miner-facing id. */
  alias(work: MinerWork, cleanJobs: boolean): MinerWork;
  /** The work as a clean job, one copy shared by every miner that joins while it is current. */
  cleanCopy(work: MinerWork): MinerWork;
}

/** An extranonce slot on one upstream connection. */
export interface MinerSlot {
  readonly channel: WorkSource;
  /** Prepended to the miner's extranonce2 when its share goes upstream. */
  readonly prefixHex: string;
  /** The miner's extranonce1. */
  readonly extranonce1: string;
  readonly extranonce2Size: number;
}
