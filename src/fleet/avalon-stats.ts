import type { DeviceStatus } from './control.js';
import type { JsonObject, JsonValue } from './cgminer-reply.js';
import { kvNumber, kvNumbers, parseAvalonKv } from './avalon-kv.js';

/**
 * Avalon `estats` / `stats` / `litestats` replies -> device state. Pure.
 * Field meanings and their sources are in test/fixtures/avalon/SOURCES.md
 * ("Behaviours these captures show"); the numbers below refer to that list.
 */

export type DeviceState = DeviceStatus['state'];

export interface AvalonStats {
  /** Every `Key[value]` of the device-state string (MM ID0 [+ HBinfo]). */
  fields: ReadonlyMap<string, string>;
  /** Which STATS key held the state string (`MM ID0`, `MM ID0:Summary`). */
  sourceKey: string;
  /** Watts at the wall: WALLPOWER, else the 7th PS field (A1246 has no WALLPOWER) (3, 4). */
  wallPowerW?: number;
  wallPowerSource?: 'WALLPOWER' | 'PS[6]';
  ps?: number[];
  workmode?: number;
  worklevel?: number;
  /** SoftOFF[n]: 0 while mining, otherwise a soft-off reason (7). */
  softOff?: number;
  /** STATE[n] on the Q: 0 init, 1 work, 2 idle, 3 fault (8). */
  stateCode?: number;
  /** SYSTEMSTATU `Work: In Work, Hash Board: 3` split into its parts (8). */
  systemStatus?: { work: string; hashBoards?: number };
  state: DeviceState;
  /** MPO: maximum power output, W; pyasic reports it as the wattage limit (9). */
  mpoW?: number;
  /** Current hashrate, TH/s: GHSspd, or GHSmm only when nothing current exists and the unit works (10). */
  hashrateThs?: number;
  hashrateSource?: 'GHSspd' | 'GHSmm' | 'idle';
  /** GHSavg in TH/s: an average over uptime, never used to decide running/idle. */
  averageThs?: number;
  tMaxC?: number;
  /** Fan1..FanN, rpm. */
  fansRpm: number[];
  /** SoftOffTime / SoftOnTime (Q), Unix seconds. */
  softOffTime?: number;
  softOnTime?: number;
}

export type StatsResult = { ok: true; stats: AvalonStats } | { ok: false; reason: string };

const STATE_KEY = /^MM ID(\d+)(:Summary)?$/;
const WORK_STATES: Record<string, DeviceState> = { 'In Init': 'init', 'In Work': 'working', 'In Idle': 'idle', 'In Fault': 'fault' };
const STATE_CODES: DeviceState[] = ['init', 'working', 'idle', 'fault'];

/** Find the device-state string in a stats-type reply body and parse it. */
export function parseAvalonStats(body: JsonObject): StatsResult {
  const found = findStateString(body);
  if (!found) return { ok: false, reason: 'no "MM ID<n>" device-state string in the STATS section' };
  const fields = parseAvalonKv(found.value);
  if (found.hbinfo !== undefined) {
    for (const [k, v] of parseAvalonKv(found.hbinfo)) if (!fields.has(k)) fields.set(k, v);
  }
  if (fields.size === 0) return { ok: false, reason: `"${found.key}" holds no Key[value] items` };
  return { ok: true, stats: interpret(fields, found.key) };
}

function findStateString(body: JsonObject): { key: string; value: string; hbinfo?: string } | undefined {
  const list = body['STATS'];
  if (!Array.isArray(list)) return undefined;
  let best: { key: string; value: string; id: number; hbinfo?: string } | undefined;
  for (const entry of list) {
    if (!isObject(entry)) continue;
    for (const [key, value] of Object.entries(entry)) {
      const m = STATE_KEY.exec(key);
      if (!m || typeof value !== 'string') continue;
      // Multi-module controllers list MM ID0..n; the lowest id is the unit itself.
      const id = Number(m[1]);
      if (best && best.id <= id) continue;
      best = { key, value, id };
      const hb = entry['HBinfo'];
      if (typeof hb === 'string') best.hbinfo = hb;
    }
  }
  if (!best) return undefined;
  return best.hbinfo === undefined ? { key: best.key, value: best.value } : { key: best.key, value: best.value, hbinfo: best.hbinfo };
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function interpret(fields: Map<string, string>, sourceKey: string): AvalonStats {
  const stats: AvalonStats = { fields, sourceKey, state: 'unknown', fansRpm: [] };
  const ps = kvNumbers(fields.get('PS'));
  if (ps) stats.ps = ps;
  const wall = kvNumber(fields.get('WALLPOWER'));
  if (wall !== undefined) {
    stats.wallPowerW = wall;
    stats.wallPowerSource = 'WALLPOWER';
  } else if (ps && ps.length >= 7 && Number.isFinite(ps[6])) {
    stats.wallPowerW = ps[6]!;
    stats.wallPowerSource = 'PS[6]';
  }
  assign(stats, 'workmode', kvNumber(fields.get('WORKMODE')));
  assign(stats, 'worklevel', kvNumber(fields.get('WORKLEVEL')));
  assign(stats, 'softOff', kvNumber(fields.get('SoftOFF')));
  assign(stats, 'stateCode', kvNumber(fields.get('STATE')));
  assign(stats, 'mpoW', kvNumber(fields.get('MPO')));
  assign(stats, 'tMaxC', kvNumber(fields.get('TMax')));
  assign(stats, 'softOffTime', kvNumber(fields.get('SoftOffTime')));
  assign(stats, 'softOnTime', kvNumber(fields.get('SoftOnTime')));
  const sys = fields.get('SYSTEMSTATU');
  if (sys !== undefined) stats.systemStatus = parseSystemStatus(sys);
  stats.state = decideState(stats);

  const avg = kvNumber(fields.get('GHSavg'));
  if (avg !== undefined) stats.averageThs = avg / 1000;
  const spd = kvNumber(fields.get('GHSspd'));
  const mm = kvNumber(fields.get('GHSmm'));
  if (spd !== undefined) {
    stats.hashrateThs = spd / 1000;
    stats.hashrateSource = 'GHSspd';
  } else if (stats.state === 'idle') {
    // GHSmm/GHSavg stay high on an idle unit (the Q capture): they say nothing about now.
    stats.hashrateThs = 0;
    stats.hashrateSource = 'idle';
  } else if (mm !== undefined && stats.state === 'working') {
    stats.hashrateThs = mm / 1000;
    stats.hashrateSource = 'GHSmm';
  }
  for (let n = 1; ; n++) {
    const rpm = fields.get(`Fan${n}`);
    if (rpm === undefined) break;
    const v = kvNumber(rpm);
    stats.fansRpm.push(v === undefined ? NaN : v);
  }
  return stats;
}

function assign<K extends keyof AvalonStats>(stats: AvalonStats, key: K, value: AvalonStats[K] | undefined): void {
  if (value !== undefined) stats[key] = value;
}

function parseSystemStatus(s: string): { work: string; hashBoards?: number } {
  const work = /Work:\s*([^,\]]*)/.exec(s)?.[1]?.trim() ?? '';
  const boards = /Hash Board:\s*(\d+)/.exec(s)?.[1];
  return boards === undefined ? { work } : { work, hashBoards: Number(boards) };
}

/**
 * SYSTEMSTATU is the device's own word; STATE[n] (Q) next; then SoftOFF != 0
 * means idle. Never from hashrate averages (SOURCES.md 10).
 */
function decideState(s: AvalonStats): DeviceState {
  const fromText = s.systemStatus ? WORK_STATES[s.systemStatus.work] : undefined;
  if (fromText) return fromText;
  if (s.stateCode !== undefined) {
    const fromCode = STATE_CODES[s.stateCode];
    if (fromCode) return fromCode;
  }
  if (s.softOff !== undefined && s.softOff !== 0) return 'idle';
  return 'unknown';
}

/** The contract view the scheduler uses. */
export function toDeviceStatus(s: AvalonStats): DeviceStatus {
  const out: DeviceStatus = { softOff: s.softOff !== undefined && s.softOff !== 0, state: s.state };
  if (s.wallPowerW !== undefined) out.wallPowerW = s.wallPowerW;
  if (s.workmode !== undefined) out.workmode = s.workmode;
  if (s.hashrateThs !== undefined) out.hashrateThs = s.hashrateThs;
  return out;
}

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
  return isObject(first) ? first : undefined;
}
