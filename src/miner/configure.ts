/**
 * BIP310 `mining.configure` negotiation for a miner (pure). The answer lists
 * every requested extension: the ones we support with their result, unknown
 * ones as `false` so the miner does not wait for them.
 */
import type { ConfigureParams } from '../wire/guards.js';
import { hex32 } from '../wire/guards.js';

export interface ConfigureOutcome {
  result: Record<string, unknown>;
  /** Agreed mask (miner's ∧ pool's); undefined when version rolling was not requested. */
  versionMask?: number;
  /** BIP310 minimum-difficulty: a floor for this miner's difficulty. */
  minimumDifficulty?: number;
  /** BIP310 subscribe-extranonce: the miner accepts mining.set_extranonce. */
  subscribeExtranonce?: boolean;
}

function popcount(n: number): number {
  let c = 0;
  for (let x = n >>> 0; x; x &= x - 1) c++;
  return c;
}

/** `poolMask`: what the upstream allows (BIP320 general-purpose bits when unknown). */
export function negotiateConfigure(p: ConfigureParams, poolMask: number): ConfigureOutcome {
  const out: ConfigureOutcome = { result: {} };
  for (const ext of p.extensions) {
    switch (ext) {
      case 'version-rolling': {
        const asked = p.options['version-rolling.mask'] !== undefined ? parseInt(String(p.options['version-rolling.mask']), 16) >>> 0 : 0xffffffff;
        const mask = (asked & poolMask) >>> 0;
        const minBits = typeof p.options['version-rolling.min-bit-count'] === 'number' ? p.options['version-rolling.min-bit-count'] : 0;
        // BIP310: min-bit-count is what the miner needs to be useful; fewer bits = refuse.
        const ok = mask !== 0 && popcount(mask) >= minBits;
        out.result['version-rolling'] = ok;
        out.result['version-rolling.mask'] = hex32(ok ? mask : 0);
        out.versionMask = ok ? mask : 0;
        break;
      }
      case 'minimum-difficulty': {
        const v = p.options['minimum-difficulty.value'];
        if (typeof v === 'number' && v > 0) out.minimumDifficulty = v;
        out.result['minimum-difficulty'] = true;
        break;
      }
      case 'subscribe-extranonce':
        out.subscribeExtranonce = true;
        out.result['subscribe-extranonce'] = true;
        break;
      default:
        out.result[ext] = false;
    }
  }
  return out;
}
