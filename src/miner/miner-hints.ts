/**
 * The methods firmwares send besides the handshake, `mining.configure` and
 * `mining.submit` (pure: method and params in, what to do out). Hints about
 * the miner (extranonce.subscribe, suggest_difficulty, suggest_target) and
 * methods some firmware sends that get a fixed answer. Each one is answered,
 * never fatal: cgminer-family firmwares carry on after an error reply, while
 * a dropped connection only makes them retry the same request.
 */
import { StratumError } from '../wire/error-codes.js';
import { guardExtranonceSubscribe, guardSuggestDifficulty, guardSuggestTarget } from '../wire/guards.js';

export type MinerHint =
  /** NiceHash `mining.extranonce.subscribe`: the miner takes mining.set_extranonce. Answer true. */
  | { kind: 'extranonce-subscribe' }
  /** suggest_difficulty / suggest_target: a floor for this miner's difficulty. Answer true. */
  | { kind: 'difficulty-floor'; difficulty: number }
  /** A fixed answer, nothing to change. */
  | { kind: 'answer'; result: unknown }
  /** An error reply (bad params, or a method we deliberately do not serve); the connection stays. */
  | { kind: 'error'; code: number; message: string };

/** What to do with `method`; undefined when it is not one of these (the session answers "unknown method"). */
export function readHint(method: string, params: unknown[]): MinerHint | undefined {
  switch (method) {
    case 'mining.extranonce.subscribe': {
      const g = guardExtranonceSubscribe(params);
      return g.ok ? { kind: 'extranonce-subscribe' } : bad(g.message);
    }
    case 'mining.suggest_difficulty': {
      const g = guardSuggestDifficulty(params);
      return g.ok ? { kind: 'difficulty-floor', difficulty: g.value } : bad(g.message);
    }
    case 'mining.suggest_target': {
      const g = guardSuggestTarget(params);
      return g.ok ? { kind: 'difficulty-floor', difficulty: g.value } : bad(g.message);
    }
    case 'mining.multi_version':
      // Old Antminer firmware's pre-BIP310 AsicBoost handshake. Refusing it makes bmminer
      // fall back to plain work (or to mining.configure); accepting would let it roll
      // version bits no pool agreed to.
      return bad('mining.multi_version is not supported; negotiate version rolling with mining.configure (BIP310)');
    case 'mining.get_transactions':
      // The proxy sees only coinb1/coinb2 and the merkle branch; an empty list would claim
      // the block has no transactions.
      return bad('mining.get_transactions is not supported: the proxy does not hold the block transactions');
    case 'mining.capabilities':
      // Informational (the Stratum capabilities draft); nothing in it changes what we send.
      return { kind: 'answer', result: true };
    default:
      return undefined;
  }
}

function bad(message: string): MinerHint {
  return { kind: 'error', code: StratumError.OTHER, message };
}
