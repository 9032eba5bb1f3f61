import type { JsonObject, JsonValue } from './cgminer-reply.js';
import type { DeviceModelMatch } from './control.js';
import { BUILTIN_MODELS } from '../config/models.js';

/**
 * Which Avalon a device is, from its `version` reply (or the `Ver[...]` of its
 * state string), and which profile fits it. Pure.
 *
 * The keys differ by generation (SOURCES.md 12): the A1566 sends `VERSION`,
 * the Q `CGVERSION`/`LVERSION`/`BVERSION`; `PROD` is "AvalonMiner 15-194",
 * "Avalon Q", "Avalonnano"; `MODEL` is "15-194", "Q", "nano3"; the A1246's
 * state string has `Ver[1246-83-21072802_...]`. Keys are matched without
 * regard to case (`CGVersion`, `LVersion`).
 */

export interface DeviceIdentity {
  /** `PROD`: the product name as sent. */
  product?: string;
  /** `MODEL`, or the model part of `Ver[...]`. */
  model?: string;
  hwType?: string;
  swType?: string;
  /** Firmware build: VERSION, else LVERSION, CGVERSION, BVERSION, or `Ver[...]`. */
  firmware?: string;
  /** `CGMiner` version. */
  cgminer?: string;
  api?: string;
}

export type ProfileMatch = DeviceModelMatch;

/** The identity in a `version` reply body (JSON or text form); undefined without a VERSION section. */
export function parseVersionReply(body: JsonObject): DeviceIdentity | undefined {
  const list = body['VERSION'];
  const section = Array.isArray(list) ? list.find(isObject) : isObject(list) ? list : undefined;
  if (!section) return undefined;
  const get = lookup(section);
  const id: DeviceIdentity = {};
  set(id, 'product', get('PROD'));
  set(id, 'model', get('MODEL'));
  set(id, 'hwType', get('HWTYPE'));
  set(id, 'swType', get('SWTYPE'));
  set(id, 'firmware', get('VERSION') ?? get('LVERSION') ?? get('CGVERSION') ?? get('BVERSION'));
  set(id, 'cgminer', get('CGMiner'));
  set(id, 'api', get('API'));
  return id;
}

/**
 * The identity in a state string's `Ver[...]`: `1246-83-21072802_4ec6bb0_211fc46`
 * (A1246), `15-194-24102401_...` (A1566), `Q-25052801_14a19a2` (Q).
 */
export function identityFromVer(ver: string | undefined): DeviceIdentity | undefined {
  const v = ver?.trim();
  if (!v) return undefined;
  // Firmware builds are <yyyymmdd><nn>_<hash>: the model is whatever precedes that.
  const m = /^(?:(.+?)-)?(\d{8}_\S+)$/.exec(v);
  if (!m) return { model: v };
  return m[1] === undefined ? { firmware: m[2]! } : { model: m[1], firmware: m[2]! };
}

interface Family {
  name: string;
  profile: string;
}

/**
 * The model family from PROD/MODEL: Nano 3/3s, Mini 3, Q, or an A-series
 * number, as `1566`, `A1566HA`, `15-194` (series-TH/s) or `1246-83`.
 */
export function familyOf(id: DeviceIdentity): Family | undefined {
  const text = `${id.product ?? ''} ${id.model ?? ''}`.toLowerCase();
  if (/nano\s*-?\s*3\s*s/.test(text)) return { name: 'Nano 3s', profile: 'avalon-nano3s' };
  if (/nano/.test(text)) return { name: 'Nano 3', profile: 'avalon-nano3' };
  if (/mini\s*-?\s*3/.test(text)) return { name: 'Mini 3', profile: 'avalon-mini3' };
  if ((id.model ?? '').trim().toLowerCase() === 'q' || /avalon\s*q\b/.test(text)) return { name: 'Q', profile: 'avalon-q' };
  const four = /(?:^|[^0-9])a?(1[0-9])([0-9]{2})\s*(ha|hydro|hy)?(?=$|[^0-9])/.exec(text);
  if (four) return seriesFamily(Number(four[1]), `${four[1]}${four[2]}`, four[3] !== undefined);
  const dash = /(?:^|[^0-9])(1[0-9])-([0-9]{2,3})(?=$|[^0-9])/.exec(text);
  if (dash) {
    const series = Number(dash[1]);
    const ths = Number(dash[2]);
    // The TH/s class tells the A13's 1346 from its 1366, and an A15 hydro (~480 TH/s) from the air unit.
    const digits = series === 13 ? (ths >= 120 ? '1366' : '1346') : `${series}${series === 12 ? '46' : '66'}`;
    return seriesFamily(series, digits, series === 15 && ths >= 300);
  }
  return undefined;
}

const SERIES_PROFILE: Record<string, string> = {
  '1246': 'avalon-a1246',
  '1346': 'avalon-a1346',
  '1366': 'avalon-a1366',
  '1466': 'avalon-a1466',
  '1566': 'avalon-a1566',
};

function seriesFamily(series: number, digits: string, hydro: boolean): Family {
  if (series === 15 && hydro) return { name: 'A1566HA', profile: 'avalon-a1566ha' };
  const profile = SERIES_PROFILE[digits] ?? `avalon-a${digits}`;
  return { name: `A${digits}${hydro ? 'HA' : ''}`, profile };
}

/**
 * The profile for a device among `available` profile names (default: the
 * built-ins). Unknown or unavailable: `generic`, with a warning that says what
 * the device sent and how to add a profile. Never throws.
 */
export function matchProfile(id: DeviceIdentity | undefined, available: readonly string[] = Object.keys(BUILTIN_MODELS)): ProfileMatch {
  const said = describe(id);
  const family = id ? familyOf(id) : undefined;
  if (family && available.includes(family.profile)) return { profile: family.profile, family: family.name, exact: true };
  if (family) {
    return {
      profile: 'generic',
      family: family.name,
      exact: false,
      warning: `recognised an Avalon ${family.name} (${said}) but no "${family.profile}" profile is configured: using the generic profile; add "${family.profile}" under fleet.models`,
    };
  }
  return { profile: 'generic', exact: false, warning: `unknown miner model (${said}): using the generic profile; add one under fleet.models with its measured kW and TH/s` };
}

function describe(id: DeviceIdentity | undefined): string {
  if (!id) return 'no version information';
  const parts: string[] = [];
  if (id.product !== undefined) parts.push(`PROD ${JSON.stringify(id.product.slice(0, 60))}`);
  if (id.model !== undefined) parts.push(`MODEL ${JSON.stringify(id.model.slice(0, 60))}`);
  if (id.firmware !== undefined) parts.push(`firmware ${JSON.stringify(id.firmware.slice(0, 60))}`);
  return parts.length > 0 ? parts.join(', ') : 'no PROD or MODEL';
}

function lookup(section: JsonObject): (key: string) => string | undefined {
  const byUpper = new Map<string, JsonValue>();
  for (const [k, v] of Object.entries(section)) if (!byUpper.has(k.toUpperCase())) byUpper.set(k.toUpperCase(), v);
  return (key) => {
    const v = byUpper.get(key.toUpperCase());
    if (typeof v === 'string') return v.trim() || undefined;
    return typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
  };
}

function set<K extends keyof DeviceIdentity>(id: DeviceIdentity, key: K, value: string | undefined): void {
  if (value !== undefined) id[key] = value;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
