/**
 * What to do with each notification or request a pool sends (responses are
 * the pool client's). A bad message is counted and logged and the
 * connection kept: one malformed job must not cost the miners their pool.
 * Every pool request that carries an id gets an answer (an error 20 for
 * methods we do not know), never silence.
 */
import type { Logger } from '../observability/logger.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import type { RpcId, RpcNotification, RpcRequest } from '../wire/json-rpc.js';
import { StratumError } from '../wire/error-codes.js';
import type { Guarded } from '../wire/guard-kit.js';
import { DIFF1_TARGET } from '../wire/target.js';
import type { StratumJob } from '../wire/stratum-job.js';
import {
  parseNotify,
  parseReconnect,
  parseSetDifficulty,
  parseSetExtranonce,
  parseSetTarget,
  parseSetVersionMask,
  readShowMessage,
  type ReconnectAsk,
} from '../wire/pool-dialect.js';
import type { PoolClientEvents, PoolProtocolCounters, PoolSession } from './pool-client.js';

/** The part of a pool client the handlers need. */
export interface PoolWire {
  readonly url: string;
  readonly userAgent: string;
  readonly logger: Logger;
  readonly session: PoolSession;
  readonly counters: PoolProtocolCounters;
  readonly logLimiter: LogLimiter;
  readonly difficultyBounds: { min: number; max: number } | undefined;
  /** The consumer, once the handshake gate has passed. */
  readonly emitting: PoolClientEvents | undefined;
  reconnectAsk: ReconnectAsk | undefined;
  payoutOk(job: StratumJob): boolean;
  narrowMask(mask: number): number;
  answer(id: RpcId, result: unknown): void;
  answerError(id: RpcId, code: number, message: string): void;
  close(reason: string): void;
}

/**
 * Whether a parsed message can be used; a bad one is counted and logged and,
 * when the pool sent it as a request (with an id), refused with error 20.
 */
function usable<T>(c: PoolWire, g: Guarded<T>, what: string, id?: RpcId): g is { ok: true; value: T } {
  if (g.ok) return true;
  if (id !== undefined) c.answerError(id, StratumError.OTHER, g.message);
  c.counters.badMessages++;
  c.logLimiter.log(c.logger, 'warn', c.url, `bad ${what}`, { pool: c.url, reason: g.message }, `bad ${what} from pool (ignored)`);
  return false;
}

/** These are notifications in Stratum; a pool that sends one with an id still gets its one answer. */
function done(c: PoolWire, id: RpcId | undefined): void {
  if (id !== undefined) c.answer(id, true);
}

/**
 * The difficulty of the easiest possible target, 1: no hash can meet a pool difficulty above it.
 * A pool above `difficulty.max` but below this is routine (a pool gives a proxy's aggregated
 * connection a high difficulty; miners stay at max and only shares meeting the pool's target go up).
 */
const UNREACHABLE_DIFFICULTY = Number(DIFF1_TARGET);

function setDifficulty(c: PoolWire, d: number): void {
  // Miners are clamped to the bounds whatever the pool says (vardiff's clampDifficulty); the
  // operator hears of a pool the miners cannot follow, once in a while (issue 11: 1e-300 reached
  // miners): below difficulty.min, or so high that no share could ever reach the pool.
  const b = c.difficultyBounds;
  if (b && (d < b.min || d > UNREACHABLE_DIFFICULTY)) {
    c.counters.difficultyOutOfRange++;
    c.logLimiter.log(c.logger, 'warn', c.url, 'difficulty out of range', { pool: c.url, difficulty: d, min: b.min, max: b.max }, 'pool difficulty below difficulty.min or beyond any share; miners stay within the bounds, shares below the pool target are not forwarded');
  }
  c.session.difficulty = d;
  c.emitting?.onDifficulty(d);
}

export function handlePoolMessage(c: PoolWire, m: RpcRequest | RpcNotification): void {
  const id = m.kind === 'request' ? m.id : undefined;
  switch (m.method) {
    case 'mining.notify': {
      const g = parseNotify(m.params);
      if (!usable(c, g, 'job', id)) return;
      if (!c.payoutOk(g.value)) {
        if (id !== undefined) c.answerError(id, StratumError.OTHER, 'job refused: its coinbase does not pay the expected payout');
        return;
      }
      c.session.job = g.value;
      done(c, id);
      c.emitting?.onJob(g.value);
      return;
    }
    case 'mining.set_difficulty': {
      const g = parseSetDifficulty(m.params);
      if (!usable(c, g, 'difficulty', id)) return;
      done(c, id);
      setDifficulty(c, g.value);
      return;
    }
    case 'mining.set_target': {
      // NiceHash and some altcoin pools send the share target instead of a difficulty.
      const g = parseSetTarget(m.params);
      if (!usable(c, g, 'target', id)) return;
      done(c, id);
      setDifficulty(c, g.value);
      return;
    }
    case 'mining.set_extranonce': {
      const g = parseSetExtranonce(m.params);
      if (!usable(c, g, 'extranonce', id)) return;
      done(c, id);
      c.session.extranonce1 = g.value.extranonce1;
      c.session.extranonce2Size = g.value.extranonce2Size;
      // Jobs before the change were built for the old extranonce; the pool follows with a clean job.
      c.emitting?.onExtranonce(g.value.extranonce1, g.value.extranonce2Size);
      return;
    }
    case 'mining.set_version_mask': {
      const g = parseSetVersionMask(m.params);
      if (!usable(c, g, 'version mask', id)) return;
      done(c, id);
      c.session.versionMask = c.narrowMask(g.value);
      c.emitting?.onVersionMask(c.session.versionMask);
      return;
    }
    case 'client.reconnect': {
      // Where and when to reconnect is the upstream manager's decision (it
      // only follows a redirect to another host when the config allows it).
      const g = parseReconnect(m.params);
      c.counters.reconnectRequests++;
      const ask = usable(c, g, 'client.reconnect') ? g.value : {};
      c.logger.info({ pool: c.url, ask }, 'pool asked us to reconnect');
      if (id !== undefined) c.answer(id, true);
      c.reconnectAsk = ask;
      c.close(`pool asked to reconnect${ask.host || ask.port ? ` to ${ask.host ?? '(same host)'}:${ask.port ?? '(same port)'}` : ''}${ask.waitS ? ` after ${ask.waitS} s` : ''}`);
      return;
    }
    case 'client.show_message': {
      c.logger.info({ pool: c.url, message: readShowMessage(m.params) }, 'message from pool');
      if (id !== undefined) c.answer(id, true);
      return;
    }
    case 'client.get_version':
      if (id !== undefined) c.answer(id, c.userAgent);
      return;
    case 'mining.ping':
      if (id !== undefined) c.answer(id, 'pong');
      return;
    default:
      if (id !== undefined) c.answerError(id, StratumError.OTHER, `unsupported method ${m.method.slice(0, 64)}`);
      c.logger.debug({ pool: c.url, method: m.method.slice(0, 64) }, 'ignored message from pool');
  }
}
