/**
 * The front of the share path for one connection: a `mining.submit` is
 * counted, checked against the session (subscribed, an authorized worker,
 * well-formed params, the rate cap) and either answered with a coded Stratum
 * error or handed to processShare. Every rejection is counted by kind; the
 * ones that are the miner's fault count toward the ban, and one bad share
 * never disconnects.
 */
import type { Clock } from '../clock.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Logger } from '../observability/logger.js';
import { StratumError } from '../wire/error-codes.js';
import { guardSubmit } from '../wire/guards.js';
import { encodeError, encodeResult, type RpcId } from '../wire/json-rpc.js';
import type { MinerShareState } from '../shares/share-policy.js';
import type { ShareHasher } from '../shares/types.js';
import type { Slot } from '../upstream/channel.js';
import type { MinerLimits } from './miner-limits.js';
import { processShare } from './share-path.js';
import type { WorkFeed } from './work-feed.js';
import type { ShareLedger } from './worker-stats.js';

/** What the gate reads from a session (MinerSession has all of it). */
export interface SubmitSession {
  readonly hub: { readonly config: ResolvedConfig; readonly clock: Clock; readonly logger: Logger; readonly hasher: ShareHasher; readonly ledger: ShareLedger; ban(workers: Iterable<string>, address: string): void };
  /** The miner's IP address (bans are per address and worker name). */
  readonly address: string;
  readonly subscribed: boolean;
  readonly share: MinerShareState | undefined;
  readonly slot: Slot | undefined;
  readonly worker: string | undefined;
  readonly workers: ReadonlySet<string>;
  readonly limits: MinerLimits;
  readonly feed: Pick<WorkFeed, 'book' | 'counted' | 'retarget'>;
  readonly line: { send(line: string): boolean };
  close(reason: string): void;
}

/** The ledger's name for a submit: its worker if authorized here, else the connection's first worker. */
function accountName(s: SubmitSession, params: unknown[]): string {
  const w = params[0];
  if (typeof w === 'string' && s.workers.has(w)) return w;
  return s.worker ?? '(unauthorized)';
}

function reject(s: SubmitSession, id: RpcId, worker: string, code: number, kind: string, message: string, invalid: boolean): void {
  s.hub.ledger.rejected(worker, kind);
  s.line.send(encodeError(id, code, message));
  if (invalid && s.limits.noteInvalid(s.hub.clock.now())) {
    const { banInvalidShares, banWindowS, banS } = s.hub.config.limits;
    s.hub.ban(s.workers, s.address);
    s.close(`${banInvalidShares} invalid shares within ${banWindowS} s${banS > 0 ? `; banned for ${banS} s` : ''}`);
  }
}

export async function handleSubmit(s: SubmitSession, id: RpcId, params: unknown[]): Promise<void> {
  const { hub } = s;
  const worker = accountName(s, params);
  hub.ledger.received(worker);
  if (!s.subscribed || !s.share || !s.slot) return reject(s, id, worker, StratumError.NOT_SUBSCRIBED, 'not-subscribed', 'not subscribed', false);
  if (s.workers.size === 0) return reject(s, id, worker, StratumError.UNAUTHORIZED_WORKER, 'unauthorized', 'unauthorized worker', false);
  const g = guardSubmit(params, s.slot.extranonce2Size);
  if (!g.ok) return reject(s, id, worker, StratumError.OTHER, 'bad-params', g.message, true);
  if (!s.workers.has(g.value.worker)) {
    return reject(s, id, worker, StratumError.UNAUTHORIZED_WORKER, 'unauthorized', `worker ${g.value.worker} is not authorized on this connection`, false);
  }
  if (!s.limits.allowSubmit(hub.clock.now())) return reject(s, id, worker, StratumError.OTHER, 'rate-limited', 'too many submits per second', false);
  await processShare(
    {
      hasher: hub.hasher,
      ledger: hub.ledger,
      logger: hub.logger,
      share: s.share,
      book: s.feed.book,
      slot: s.slot,
      nowMs: () => hub.clock.now(),
      reject: (code, kind, message, invalid) => reject(s, id, worker, code, kind, message, invalid),
      accept: () => void s.line.send(encodeResult(id, true)),
      counted: (d) => s.feed.counted(d),
    },
    worker,
    g.value,
  );
  s.feed.retarget();
}
