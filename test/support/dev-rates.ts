/**
 * Hash rates from a cgminer `devs` or `summary` reply. The product reads rates
 * from `estats` (fleet/avalon-stats.ts); tests use this to check what the
 * simulated Avalon (demo/avalon-device-replies.ts) answers to the other two.
 */
import type { JsonObject, JsonValue } from '../../src/fleet/cgminer-reply.js';

export interface DevRates {
  /** Current rolling rate, TH/s, from the shortest window present (`MHS 5s` on the Q, `MHS 30s` on A10/A15, then `MHS 1m`). */
  currentThs?: number;
  currentKey?: string;
  /** `MHS av`: average over uptime; stays high on an idle unit. */
  averageThs?: number;
}

const RATE_KEYS = ['MHS 5s', 'MHS 30s', 'MHS 1m'] as const;

/** Rates from a `devs` (DEVS[0]) or `summary` (SUMMARY[0]) reply; MH/s on the wire. */
export function parseDevRates(body: JsonObject): DevRates | undefined {
  const section = firstObject(body['DEVS']) ?? firstObject(body['SUMMARY']);
  if (!section) return undefined;
  const out: DevRates = {};
  for (const key of RATE_KEYS) {
    const v = section[key];
    if (typeof v === 'number' && Number.isFinite(v)) {
      out.currentThs = v / 1e6;
      out.currentKey = key;
      break;
    }
  }
  const av = section['MHS av'];
  if (typeof av === 'number' && Number.isFinite(av)) out.averageThs = av / 1e6;
  return out;
}

function firstObject(v: JsonValue | undefined): JsonObject | undefined {
  if (!Array.isArray(v)) return undefined;
  const first = v[0];
  return first !== null && typeof first === 'object' && !Array.isArray(first) ? first : undefined;
}
