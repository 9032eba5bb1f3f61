/**
 * The pure miner session's vocabulary (issue 14 item 1): the events it is
 * fed and the actions it returns, all plain data. The model is the Stratum
 * Reference Implementation's role handlers: a message in, what to do out.
 * server/miner-connection.ts executes the actions on a socket and feeds the
 * results back in as events; tests read them as values.
 */
import type { RpcId, RpcMessage } from '../wire/json-rpc.js';
import type { SubmitParams } from '../wire/guards.js';
import type { HashRequest, HashResult } from '../shares/types.js';
import type { MinerSlot, MinerWork, WorkOrigin } from './work.js';

export type MinerEvent =
  /**
   * One decoded line from the miner, in arrival order. `poolMask`: the version mask of the
   * upstream a miner without a slot will most likely land on (what mining.configure offers then).
   */
  | { readonly type: 'message'; readonly message: RpcMessage; readonly poolMask?: number }
  /** A line that is not JSON-RPC (id when it could be recovered), or an over-long one. */
  | { readonly type: 'malformed'; readonly reason: string; readonly line: string; readonly id?: RpcId }
  /**
   * The `acquire` action succeeded: the miner holds this slot under this session id, and
   * `resumedDifficulty` is where the session it resumed left off (a miner back after client.reconnect).
   */
  | { readonly type: 'slot'; readonly slot: MinerSlot; readonly sessionId: string; readonly resumedDifficulty?: number }
  /**
   * The `admit` action's answer: what the proxy knows of this worker. Withheld by the power plan,
   * banned (until when, ms) for invalid shares, and the difficulty planned for it (expectHashrate).
   */
  | {
      readonly type: 'admission';
      readonly id: RpcId;
      readonly worker: string;
      readonly withheld: boolean;
      readonly bannedUntilMs?: number;
      readonly plannedDifficulty?: number;
    }
  /** The `acquire` action failed (no upstream in time). */
  | { readonly type: 'slot-failed'; readonly message: string }
  /** The `hash` action's result. */
  | { readonly type: 'hashed'; readonly result: HashResult }
  /** The `hash` action failed: the hash queue is full (`overloaded`) or the worker broke. */
  | { readonly type: 'hash-failed'; readonly overloaded: boolean; readonly message: string }
  /** A new job on the miner's upstream connection. */
  | { readonly type: 'job'; readonly work: MinerWork }
  /** The slot changed (pool set_extranonce, failover, fallback): every job sent so far is void. */
  | { readonly type: 'moved'; readonly slot: MinerSlot }
  /** The slot is gone and no other is free yet: the miner stays, its jobs are void. */
  | { readonly type: 'orphaned' }
  /** The pool's difficulty or version mask changed. */
  | { readonly type: 'upstream-changed' }
  /** About once a second: the handshake deadline, vardiff for quiet miners. */
  | { readonly type: 'tick' }
  /** The power plan's fail-safe lever: no more jobs until `release`. */
  | { readonly type: 'withhold' }
  | { readonly type: 'release' }
  /** expectHashrate: jump to a planned difficulty ahead of the shares. */
  | { readonly type: 'plan'; readonly difficulty: number }
  /** The connection is gone. */
  | { readonly type: 'closed'; readonly reason: string };

/** A share to send upstream: prefix ‖ the miner's extranonce2 under the pool account. */
export interface ForwardShare {
  readonly worker: string;
  readonly origin: WorkOrigin;
  readonly prefixHex: string;
  readonly submit: SubmitParams;
  /** A block candidate: what the block watch needs to rebuild it. */
  readonly block?: { readonly request: HashRequest; readonly hash: string };
}

export type MinerAction =
  /** Write one encoded line (a Buffer: a notify serialised once for every miner). */
  | { readonly type: 'send'; readonly line: string | Buffer }
  /** Find an upstream slot (resume `sessionId` when it is free); answer with `slot` or `slot-failed`. */
  | { readonly type: 'acquire'; readonly sessionId: string | undefined }
  /** A well-formed mining.authorize: look the worker up; answer with `admission`. */
  | { readonly type: 'admit'; readonly id: RpcId; readonly worker: string }
  /** Give the slot back. */
  | { readonly type: 'release' }
  /** Hash this share; answer with `hashed` or `hash-failed`. The miner's next line waits. */
  | { readonly type: 'hash'; readonly request: HashRequest }
  | { readonly type: 'forward'; readonly share: ForwardShare }
  /** Share accounting (the ledger): a submit arrived, was refused (by kind), was accepted. */
  | { readonly type: 'received'; readonly worker: string }
  | { readonly type: 'rejected'; readonly worker: string; readonly kind: string }
  | { readonly type: 'accepted'; readonly worker: string; readonly difficulty: number; readonly block: boolean }
  /** A worker is authorized on this connection (the lever finds it by name). */
  | { readonly type: 'authorized'; readonly worker: string }
  /** Keep these workers, from this miner's address, out for `limits.banS`. */
  | { readonly type: 'ban'; readonly workers: readonly string[] }
  /** Flush what was sent, then close. */
  | { readonly type: 'close'; readonly reason: string }
  /** Answer the lines already read, then close (after client.reconnect). */
  | { readonly type: 'leave'; readonly reason: string }
  /** A malformed line: counted, and warned about at a limited rate per address. */
  | { readonly type: 'malformed'; readonly reason: string; readonly line: string; readonly strikes: number }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'error'; readonly msg: string; readonly fields: Record<string, unknown> };
