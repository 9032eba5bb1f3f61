import type { DeviceStatus } from './control.js';
import { kvNumber, kvNumbers } from './avalon-kv.js';

/**
 * One Avalon module's `Key[value]` state string (`MM ID<n>`) -> its state.
 * Pure. Field meanings and sources: test/fixtures/avalon/SOURCES.md
 * ("Behaviours these captures show"); the numbers below refer to that list.
 *
 * Keys are matched without regard to case, spaces and underscores, because
 * firmware generations spell them differently (`WORKMODE`, `WorkMode`,
 * `Work Mode`; `SoftOFF`, `softoff`); the first occurrence of a key wins.
 */

export type DeviceState = DeviceStatus['state'];

/** Where a model keeps wall power in `PS[]`; `null`: its PS[] holds none (read WALLPOWER only). */
export interface PowerLayout {
  /** Index of the wall-power field in `PS[]`. Default 6 (A12..A15, Q, Mini 3: SOURCES.md 3). */
  psWallIndex?: number | null;
}

export type WallPowerSource = 'WALLPOWER' | `PS[${number}]`;

export interface ModuleStats {
  /** Every `Key[value]` of the state string (MM ID<n> [+ HBinfo]), keys as sent. */
  fields: ReadonlyMap<string, string>;
  /** Which STATS key held the state string (`MM ID0`, `MM ID0:Summary`). */
  sourceKey: string;
  /** Watts at the wall: WALLPOWER, else the layout's PS field when it is plausible (3, 4). */
  wallPowerW?: number;
  wallPowerSource?: WallPowerSource;
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
  /** `Ver[1246-83-21072802_4ec6bb0_211fc46]`: model and firmware as the module reports them. */
  version?: string;
  /** `DNA[...]`: the module's unique id (tells a module listed twice from two modules). */
  dna?: string;
  /** What could not be read, for the operator (already phrased). */
  warnings: string[];
}

const WORK_STATES: Record<string, DeviceState> = { 'in init': 'init', 'in work': 'working', 'in idle': 'idle', 'in fault': 'fault' };
const STATE_CODES: DeviceState[] = ['init', 'working', 'idle', 'fault'];
/** No single Avalon draws more; a larger PS figure is not watts. */
const MAX_PLAUSIBLE_W = 30_000;

const norm = (key: string): string => key.toLowerCase().replace(/[\s_-]+/g, '');

export function interpretModule(fields: Map<string, string>, sourceKey: string, layout: PowerLayout = {}): ModuleStats {
  const byNorm = new Map<string, string>();
  for (const [k, v] of fields) if (!byNorm.has(norm(k))) byNorm.set(norm(k), v);
  const get = (...names: string[]): string | undefined => {
    for (const n of names) {
      const v = byNorm.get(n);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const num = (...names: string[]): number | undefined => kvNumber(get(...names));
  const m: ModuleStats = { fields, sourceKey, state: 'unknown', fansRpm: [], warnings: [] };
  const ps = kvNumbers(get('ps'));
  if (ps) m.ps = ps;
  readWallPower(m, num('wallpower'), ps, layout);
  assign(m, 'workmode', num('workmode'));
  assign(m, 'worklevel', num('worklevel'));
  assign(m, 'softOff', num('softoff'));
  assign(m, 'stateCode', num('state'));
  assign(m, 'mpoW', num('mpo'));
  assign(m, 'tMaxC', num('tmax'));
  assign(m, 'softOffTime', num('softofftime'));
  assign(m, 'softOnTime', num('softontime'));
  const ver = get('ver')?.trim();
  if (ver) m.version = ver;
  const dna = get('dna')?.trim();
  if (dna) m.dna = dna;
  const sys = get('systemstatu', 'systemstatus');
  if (sys !== undefined) m.systemStatus = parseSystemStatus(sys);
  m.state = decideState(m);

  const avg = num('ghsavg');
  if (avg !== undefined) m.averageThs = avg / 1000;
  const spd = num('ghsspd');
  const mm = num('ghsmm');
  if (spd !== undefined) {
    m.hashrateThs = spd / 1000;
    m.hashrateSource = 'GHSspd';
  } else if (m.state === 'idle') {
    // GHSmm/GHSavg stay high on an idle unit (the Q capture): they say nothing about now.
    m.hashrateThs = 0;
    m.hashrateSource = 'idle';
  } else if (mm !== undefined && m.state === 'working') {
    m.hashrateThs = mm / 1000;
    m.hashrateSource = 'GHSmm';
  }
  for (let n = 1; ; n++) {
    const rpm = get(`fan${n}`);
    if (rpm === undefined) break;
    const v = kvNumber(rpm);
    m.fansRpm.push(v === undefined ? NaN : v);
  }
  return m;
}

/**
 * WALLPOWER when present (A1566); else the layout's PS field, but only when it
 * can be wall power: at least the DC output to the hash boards (PS[4]) and
 * below any single unit's draw. The Nano 3 capture (miner-sentinel#16)
 * `PS[0 0 0 3 2792 89 324]` fails that test: its PS[] is laid out otherwise.
 */
function readWallPower(m: ModuleStats, wall: number | undefined, ps: number[] | undefined, layout: PowerLayout): void {
  // A device that answers draws something: 0 (or less) is "not measured", as is an absurd figure.
  if (wall !== undefined && wall > 0 && wall <= MAX_PLAUSIBLE_W) {
    m.wallPowerW = wall;
    m.wallPowerSource = 'WALLPOWER';
    return;
  }
  if (wall !== undefined) m.warnings.push(`${m.sourceKey}: WALLPOWER[${wall}] is not a plausible draw, ignored`);
  const index = layout.psWallIndex === undefined ? 6 : layout.psWallIndex;
  if (index === null || !ps) {
    m.warnings.push(`${m.sourceKey}: no wall-power reading (no WALLPOWER${ps ? '; PS[] is not read on this model' : ', no PS[]'}): the unit counts at its model's nominal draw`);
    return;
  }
  const v = ps[index];
  if (v === undefined || !Number.isFinite(v)) {
    m.warnings.push(`${m.sourceKey}: no wall-power reading (no WALLPOWER, PS[] has ${ps.length} fields, none at index ${index}): the unit counts at its model's nominal draw`);
    return;
  }
  const dc = ps[4];
  const belowDc = index !== 4 && dc !== undefined && Number.isFinite(dc) && v < dc;
  if (v <= 0 || v > MAX_PLAUSIBLE_W || belowDc) {
    const why = belowDc ? `below the hash-board output PS[4]=${dc}` : v <= 0 ? 'not a positive draw' : `above ${MAX_PLAUSIBLE_W} W`;
    m.warnings.push(`${m.sourceKey}: PS[${index}]=${v} is ${why}, so this firmware's PS[] is laid out otherwise: no wall-power reading, the unit counts at its model's nominal draw`);
    return;
  }
  m.wallPowerW = v;
  m.wallPowerSource = `PS[${index}]`;
}

function assign<K extends keyof ModuleStats>(m: ModuleStats, key: K, value: ModuleStats[K] | undefined): void {
  if (value !== undefined) m[key] = value;
}

function parseSystemStatus(s: string): { work: string; hashBoards?: number } {
  const work = /Work:\s*([^,\]]*)/i.exec(s)?.[1]?.trim() ?? '';
  const boards = /Hash\s*Board:\s*(\d+)/i.exec(s)?.[1];
  return boards === undefined ? { work } : { work, hashBoards: Number(boards) };
}

/**
 * SYSTEMSTATU is the device's own word; STATE[n] (Q) next; then SoftOFF != 0
 * means idle. Never from hashrate averages (SOURCES.md 10).
 */
function decideState(s: ModuleStats): DeviceState {
  const fromText = s.systemStatus ? WORK_STATES[s.systemStatus.work.toLowerCase().replace(/\s+/g, ' ')] : undefined;
  if (fromText) return fromText;
  if (s.stateCode !== undefined) {
    const fromCode = STATE_CODES[s.stateCode];
    if (fromCode) return fromCode;
  }
  if (s.softOff !== undefined && s.softOff !== 0) return 'idle';
  return 'unknown';
}
