/**
 * Contract between the share core (validator, policy, hash pool) and the proxy.
 * Hex strings are exactly as they appear on the Stratum wire.
 */

import type { StratumJob } from '../wire/stratum-job.js';

/** What a worker thread needs to hash one submission. */
export interface HashRequest {
  job: StratumJob;
  /** The miner's full extranonce1 (for a proxied miner: upstream extranonce1 ‖ miner prefix). */
  extranonce1: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  /** Final header version after BIP310 rolling; computed by the policy. */
  version: number;
}

export interface HashResult {
  /** sha256d(header) in display order (reversed), hex. */
  hash: string;
  /** Share difficulty in bdiff units: (0xFFFF·2^208) / hash. */
  difficulty: number;
  /** hash <= network target from nbits: a block candidate. */
  block: boolean;
}

/** The worker-pool front the proxy calls; bounded, so `hash` may reject with OverloadError. */
/** The hashing engine a hasher's workers picked (SURPLUS_HASH, addon, CPU), and why. */
export interface HashEngineInfo {
  path: string;
  reason: string;
}

export interface ShareHasher {
  hash(req: HashRequest): Promise<HashResult>;
  /** Asks the workers themselves, so the caller's thread need not load the engine just to name it. */
  engine?(): Promise<HashEngineInfo>;
  /** Shares waiting for or inside a worker. */
  readonly queueDepth: number;
  close(): Promise<void>;
}

