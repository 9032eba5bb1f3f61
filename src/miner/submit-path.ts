/**
 * The path of one `mining.submit` through the pure session, as actions:
 * count it; check the session (subscribed, an authorized worker), parse the
 * params once (wire/guards guardSubmit), apply the rate cap; precheck (job
 * staleness, ntime, BIP310 bits, duplicate); `hash`; judge; answer; and
 * `forward` what meets the pool's target (or is a block candidate). Every
 * refusal is a coded Stratum error counted by kind; the ones that are the
 * miner's fault count toward the ban, and one bad share never disconnects.
 */
import { StratumError } from '../wire/error-codes.js';
import { guardSubmit, type SubmitParams } from '../wire/guards.js';
import { encodeError, encodeResult, type RpcId } from '../wire/json-rpc.js';
import { STALE_SHARE, staleness, type PrecheckPass } from '../shares/share-policy.js';
import type { HashResult } from '../shares/types.js';
import type { MinerAction } from './events.js';
import type { MinerSession, MinerSettings } from './miner-session.js';
import type { WorkOrigin } from './work.js';

/** The share being hashed (at most one per connection: its line holds the next). */
interface Hashing {
  id: RpcId;
  worker: string;
  submit: SubmitParams;
  pre: PrecheckPass<WorkOrigin>;
  /** The slot's prefix when it was sent: the share goes up with it. */
  prefixHex: string;
}

/** The ledger's name for a submit: its worker if authorized here, else the connection's first worker. */
function accountName(s: MinerSession, params: unknown[]): string {
  const w = params[0];
  if (typeof w === 'string' && s.workers.has(w)) return w;
  return s.worker ?? '(unauthorized)';
}

export class SubmitPath {
  private pending: Hashing | undefined;

  constructor(private readonly limits: MinerSettings['limits']) {}

  get hashing(): boolean {
    return this.pending !== undefined;
  }

  submit(s: MinerSession, id: RpcId, params: unknown[], out: MinerAction[], nowMs: number): void {
    const worker = accountName(s, params);
    out.push({ type: 'received', worker });
    const slot = s.slot;
    const share = s.feed.share;
    if (!share || !slot) return this.reject(s, id, worker, StratumError.NOT_SUBSCRIBED, 'not-subscribed', 'not subscribed', false, out, nowMs);
    if (s.workers.size === 0) return this.reject(s, id, worker, StratumError.UNAUTHORIZED_WORKER, 'unauthorized', 'unauthorized worker', false, out, nowMs);
    const g = guardSubmit(params, slot.extranonce2Size);
    if (!g.ok) return this.reject(s, id, worker, StratumError.OTHER, 'bad-params', g.message, true, out, nowMs);
    if (!s.workers.has(g.value.worker)) {
      return this.reject(s, id, worker, StratumError.UNAUTHORIZED_WORKER, 'unauthorized', `worker ${g.value.worker} is not authorized on this connection`, false, out, nowMs);
    }
    if (!s.limits.allowSubmit(nowMs)) return this.reject(s, id, worker, StratumError.OTHER, 'rate-limited', 'too many submits per second', false, out, nowMs);
    const pre = share.precheck(g.value, s.feed.book);
    if (!pre.ok) {
      // A stale job or a full per-job share cap is not the miner's fault: neither counts toward the ban.
      this.reject(s, id, worker, pre.code, pre.kind, pre.reason, pre.kind !== 'stale-job' && pre.kind !== 'job-share-cap', out, nowMs);
      return s.feed.retarget(out, nowMs);
    }
    this.pending = { id, worker, submit: g.value, pre, prefixHex: slot.prefixHex };
    out.push({ type: 'hash', request: pre.request });
  }

  hashed(s: MinerSession, result: HashResult, out: MinerAction[], nowMs: number): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    const share = s.feed.share!;
    // Every job the feed puts in the book carries its origin.
    const origin = p.pre.work!;
    const verdict = share.judge(p.pre, result, origin.poolDifficulty);
    if (!verdict.ok) {
      this.reject(s, p.id, p.worker, verdict.code, verdict.kind, verdict.reason, true, out, nowMs);
      return s.feed.retarget(out, nowMs);
    }
    // A clean_jobs (or a failover) that arrived while the share was hashing makes it stale now:
    // say so to the miner rather than forward work the pool will refuse. A block candidate
    // still goes up, since only the pool can tell whether its block is still worth anything.
    if (!verdict.block && staleness(s.feed.book.lookup(p.submit.jobId)) !== undefined) {
      this.reject(s, p.id, p.worker, STALE_SHARE.code, STALE_SHARE.kind, STALE_SHARE.reason, false, out, nowMs);
      return s.feed.retarget(out, nowMs);
    }
    // Answered even if the miner left meanwhile: the work is valid and still goes upstream.
    out.push({ type: 'send', line: encodeResult(p.id, true) });
    out.push({ type: 'accepted', worker: p.worker, difficulty: verdict.minerDifficulty, block: verdict.block });
    s.feed.counted(verdict.minerDifficulty);
    if (verdict.meetsPool || verdict.block) {
      const block = verdict.block ? { request: p.pre.request, hash: verdict.hash } : undefined;
      out.push({ type: 'forward', share: { worker: p.worker, origin, prefixHex: p.prefixHex, submit: p.submit, ...(block ? { block } : {}) } });
    }
    s.feed.retarget(out, nowMs);
  }

  /** The share could not be hashed: the miner may send it again. */
  failed(s: MinerSession, overloaded: boolean, message: string, out: MinerAction[], nowMs: number): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    s.feed.share?.forget(p.pre, s.feed.book);
    if (overloaded) this.reject(s, p.id, p.worker, StratumError.OTHER, 'overloaded', 'proxy overloaded; share not checked, send again', false, out, nowMs);
    else {
      out.push({ type: 'log', level: 'error', msg: 'share hashing failed', fields: { worker: p.worker, err: message } });
      this.reject(s, p.id, p.worker, StratumError.OTHER, 'hash-failed', 'share could not be checked', false, out, nowMs);
    }
    s.feed.retarget(out, nowMs);
  }

  /** Answer with a Stratum error; `invalid` counts toward the ban. */
  private reject(s: MinerSession, id: RpcId, worker: string, code: number, kind: string, message: string, invalid: boolean, out: MinerAction[], nowMs: number): void {
    out.push({ type: 'rejected', worker, kind });
    out.push({ type: 'send', line: encodeError(id, code, message) });
    if (invalid && s.limits.noteInvalid(nowMs)) {
      const { banInvalidShares, banWindowS, banS } = this.limits;
      out.push({ type: 'ban', workers: s.workerNames() });
      s.close(`${banInvalidShares} invalid shares within ${banWindowS} s${banS > 0 ? `; banned for ${banS} s` : ''}`, out);
    }
  }
}
