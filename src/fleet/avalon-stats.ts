import type { DeviceDetails, DeviceStatus } from './control.js';
import type { JsonObject, JsonValue } from './cgminer-reply.js';
import { parseAvalonKv } from './avalon-kv.js';
import { interpretModule, type DeviceState, type ModuleStats, type PowerLayout } from './avalon-module.js';

/**
 * Avalon `estats` / `stats` / `litestats` replies -> device state. Pure.
 * The state of each module is one `MM ID<n>` string (avalon-module.ts). A
 * controller may list several: MM ID0..n in one STATS entry (`MM Count`
 * says how many), or one entry per chain (AVA100, AVA101). Each is a module
 * with its own power supply, so the device's draw is the sum, and a sum with
 * a module missing is not a measurement.
 */

export type { DeviceState, ModuleStats, PowerLayout } from './avalon-module.js';

/**
 * The device: the first module's fields at the top level (the unit itself on
 * single-module models, which is every model since the A10), every module in
 * `modules`, and the device-wide view in the `total*`/`device*` fields.
 */
export interface AvalonStats extends ModuleStats {
  /** Every module found, the first one first. */
  modules: ModuleStats[];
  /** `MM Count` summed over the STATS entries that state it. */
  moduleCount?: number;
  /** Sum of every module's wall power; undefined unless every module (and every counted one) reported it. */
  totalWallPowerW?: number;
  /** Sum of the modules' current hashrates that are known. */
  totalHashrateThs?: number;
  /** Working if any module works; soft-off only if every module is. */
  deviceState: DeviceState;
  deviceSoftOff: boolean;
  /** `Elapsed` of the first STATS entry: seconds since cgminer started (drops after a reboot). */
  elapsedS?: number;
}

export type StatsResult = { ok: true; stats: AvalonStats } | { ok: false; reason: string };

const STATE_KEY = /^MM ID(\d+)(:Summary)?$/;

interface Found {
  key: string;
  value: string;
  id: number;
  entry: number;
  hbinfo?: string;
}

/** Find the device-state strings in a stats-type reply body and parse them. */
export function parseAvalonStats(body: JsonObject, layout: PowerLayout = {}): StatsResult {
  const list = body['STATS'];
  const entries = Array.isArray(list) ? list.filter(isObject) : [];
  const found = findStateStrings(entries);
  const first = found[0];
  if (!first) return { ok: false, reason: 'no "MM ID<n>" device-state string in the STATS section' };
  const modules: ModuleStats[] = [];
  const dnas = new Set<string>();
  const warnings: string[] = [];
  for (const f of found) {
    const fields = parseAvalonKv(f.value);
    if (f.hbinfo !== undefined) {
      for (const [k, v] of parseAvalonKv(f.hbinfo)) if (!fields.has(k)) fields.set(k, v);
    }
    if (fields.size === 0) {
      if (f === first) return { ok: false, reason: `"${f.key}" holds no Key[value] items` };
      warnings.push(`${f.key}: holds no Key[value] items, ignored`);
      continue;
    }
    const m = interpretModule(fields, f.key, layout);
    // The same module listed twice (its DNA repeats) is one module, not two draws.
    if (m.dna !== undefined && dnas.has(m.dna)) continue;
    if (m.dna !== undefined) dnas.add(m.dna);
    modules.push(m);
  }
  return { ok: true, stats: aggregate(modules, entries, warnings) };
}

/** Every `MM ID<n>` string, ordered by module id then STATS entry; the first one per (entry, id). */
function findStateStrings(entries: JsonObject[]): Found[] {
  const out: Found[] = [];
  entries.forEach((entry, index) => {
    const seen = new Set<number>();
    const mine: Found[] = [];
    for (const [key, value] of Object.entries(entry)) {
      const m = STATE_KEY.exec(key);
      if (!m || typeof value !== 'string') continue;
      const id = Number(m[1]);
      if (seen.has(id)) continue;
      seen.add(id);
      mine.push({ key, value, id, entry: index });
    }
    // HBinfo (the Q's per-chip arrays) belongs to the entry's lowest module.
    const hb = entry['HBinfo'];
    mine.sort((a, b) => a.id - b.id);
    if (typeof hb === 'string' && mine[0]) mine[0].hbinfo = hb;
    out.push(...mine);
  });
  return out.sort((a, b) => a.id - b.id || a.entry - b.entry);
}

function aggregate(modules: ModuleStats[], entries: JsonObject[], warnings: string[]): AvalonStats {
  const first = modules[0]!;
  const stats: AvalonStats = { ...first, warnings: [...first.warnings], modules, deviceState: first.state, deviceSoftOff: first.softOff !== undefined && first.softOff !== 0 };
  for (const m of modules.slice(1)) stats.warnings.push(...m.warnings);
  stats.warnings.push(...warnings);
  // litestats has no Elapsed entry; the A1246's MM ID0 carries its own Elapsed[n].
  const elapsed = entries[0]?.['Elapsed'];
  const own = Number(first.fields.get('Elapsed') ?? NaN);
  if (typeof elapsed === 'number' && Number.isFinite(elapsed)) stats.elapsedS = elapsed;
  else if (Number.isFinite(own)) stats.elapsedS = own;
  let counted: number | undefined;
  for (const e of entries) {
    const c = e['MM Count'];
    if (typeof c === 'number' && Number.isInteger(c) && c >= 0) counted = (counted ?? 0) + c;
  }
  if (counted !== undefined) stats.moduleCount = counted;
  const missing = counted !== undefined && counted > modules.length ? counted - modules.length : 0;
  if (missing > 0) stats.warnings.push(`MM Count is ${counted} but ${modules.length} module state string(s) came: the device's draw is not fully measured`);
  const walls = modules.map((m) => m.wallPowerW);
  if (missing === 0 && walls.every((w): w is number => w !== undefined)) stats.totalWallPowerW = walls.reduce((a, w) => a + w, 0);
  const rates = modules.map((m) => m.hashrateThs).filter((r): r is number => r !== undefined);
  if (rates.length > 0) stats.totalHashrateThs = rates.reduce((a, r) => a + r, 0);
  if (modules.length > 1) {
    const states = new Set(modules.map((m) => m.state));
    stats.deviceState = (['working', 'init', 'fault', 'idle'] as const).find((s) => states.has(s)) ?? 'unknown';
    stats.deviceSoftOff = modules.every((m) => m.softOff !== undefined && m.softOff !== 0);
  }
  return stats;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The contract view the scheduler uses: the whole device. Wall power only
 * when measured for every module; otherwise absent, and the scheduler counts
 * the unit at its model's nominal draw (the notes say why).
 */
export function toDeviceStatus(s: AvalonStats): DeviceStatus {
  const out: DeviceStatus = { softOff: s.deviceSoftOff, state: s.deviceState };
  if (s.totalWallPowerW !== undefined) out.wallPowerW = s.totalWallPowerW;
  if (s.workmode !== undefined) out.workmode = s.workmode;
  if (s.totalHashrateThs !== undefined) out.hashrateThs = s.totalHashrateThs;
  if (s.warnings.length > 0) out.notes = [...s.warnings];
  return out;
}

/** Temperatures, fans, uptime and firmware for the operator; only what the device reported. */
export function deviceDetails(s: AvalonStats): DeviceDetails {
  const out: DeviceDetails = {};
  // An idle or soft-off Avalon reports TMax[0] (the Q capture): no reading, not 0 °C.
  const tmax = s.modules.map((m) => m.tMaxC).filter((t): t is number => t !== undefined && Number.isFinite(t) && t > 0);
  if (tmax.length > 0) out.tempMaxC = Math.max(...tmax);
  const inlet = Number(s.fields.get('Temp') ?? s.fields.get('ITemp') ?? NaN);
  if (Number.isFinite(inlet) && inlet > 0) out.inletC = inlet;
  // Bounded: a device cannot make the operator surface carry more than 16 fans.
  const fans = s.modules.flatMap((m) => m.fansRpm).filter((f) => Number.isFinite(f)).slice(0, 16);
  if (fans.length > 0) out.fansRpm = fans;
  if (s.elapsedS !== undefined && s.elapsedS >= 0) out.uptimeS = s.elapsedS;
  if (s.version !== undefined) out.firmware = s.version.slice(0, 80);
  return out;
}
