import { describePeerValue } from '../wire/peer-value.js';
import type { AheadInput } from './budget-source.js';
import { MAX_AHEAD_S, parseDecimal, toKw } from './budget-units.js';

/**
 * A sender's look-ahead on a budget reading, pure; the one validator for HTTP bodies and MQTT
 * payloads (BudgetReading.lowAhead says what the plan does with it): `lowAhead`, the lowest value
 * the sender expects from now over the next `aheadS` seconds, in the unit of the value (`v` in
 * `unit`), both or neither; a reason string when it is not one. It includes now, so it is never
 * above the value.
 */
export function parseAhead(low: unknown, forS: unknown, hasLow: boolean, hasFor: boolean, v: number, key: string, unit: 'kW' | 'MW' | 'W'): AheadInput | undefined | string {
  if (!hasLow && !hasFor) return undefined;
  if (!hasLow) return 'aheadS without lowAhead; send both (the lowest value expected over the next aheadS seconds) or neither';
  if (!hasFor) return 'lowAhead without aheadS; send both (the lowest value expected over the next aheadS seconds) or neither';
  const lv = typeof low === 'number' ? low : typeof low === 'string' ? parseDecimal(low) : NaN;
  if (!Number.isFinite(lv)) return `lowAhead must be a number (or a numeric string) in the unit of ${key}, got ${describePeerValue(low, 40)}`;
  if (lv > v) return `lowAhead ${lv} is above ${key} ${v}: it is the lowest value expected from now on, so at most the value itself`;
  const s = typeof forS === 'number' ? forS : typeof forS === 'string' ? parseDecimal(forS) : NaN;
  if (!(Number.isFinite(s) && s > 0 && s <= MAX_AHEAD_S)) return `aheadS must be a number of seconds in (0, ${MAX_AHEAD_S}], got ${describePeerValue(forS, 40)}`;
  return { kw: lv <= 0 ? 0 : toKw(lv, unit), forS: s };
}
