import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAvalonStats, toDeviceStatus, type AvalonStats, type PowerLayout } from '../../src/fleet/avalon-stats.js';
import { familyOf, identityFromVer, matchProfile, parseVersionReply, type DeviceIdentity } from '../../src/fleet/avalon-version.js';
import { isAccessDenied } from '../../src/fleet/cgminer-client.js';
import { isSuccessStatus, joinedPart, parseCgminerReply, replyStatus, type JsonObject } from '../../src/fleet/cgminer-reply.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { mulberry32 } from '../support/prng.js';

/**
 * Firmware we have not seen: the real captures (test/fixtures/avalon) and
 * variants of them mutated the ways other firmware versions and models are
 * known or likely to differ (SOURCES.md "Behaviours", and the brief's list).
 */

const FIX = join(import.meta.dirname, '../fixtures/avalon');
const fixture = (p: string): string => readFileSync(join(FIX, p), 'utf8');
const json = (p: string): JsonObject => JSON.parse(fixture(p)) as JsonObject;
const FILES = readdirSync(FIX, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));

function body(raw: string | Buffer): JsonObject {
  const r = parseCgminerReply(raw);
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}`);
  return r.reply.body;
}

describe('framing variants of every real capture', () => {
  const variants: Array<[string, (s: string) => string, string[]]> = [
    ['NUL-terminated', (s) => `${s}\0`, []],
    ['NUL then trailing garbage', (s) => `${s}\0\x16\x03junk{"STATUS":[{"STATUS":"E"}]}`, ['trailing-garbage']],
    ['no terminator at all', (s) => s, []],
    ['leading NULs and whitespace, NUL and newline at the end', (s) => `\0\r\n ${s}\n\0`, []],
    ['minified', (s) => `${JSON.stringify(JSON.parse(s))}\0`, []],
  ];
  it('has the captures', () => expect(FILES.length).toBe(20));
  for (const f of FILES) {
    for (const [name, mutate, repairs] of variants) {
      it(`${f}: ${name}`, () => {
        const r = parseCgminerReply(mutate(fixture(f)));
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.reply.body).toEqual(JSON.parse(fixture(f)));
        expect(r.reply.repairs).toEqual(repairs);
      });
    }
  }
});

describe('invalid JSON real cgminer emits, injected into real captures', () => {
  const a1566 = fixture('a1566-24102401/stats.json');
  const q = fixture('avalon-q-25052801/summary.json');
  const cases: Array<{ name: string; raw: string; check: (b: JsonObject) => void; repairs: string[] }> = [
    {
      name: '`}{` between the objects of a STATS array (missing commas)',
      raw: JSON.stringify(JSON.parse(a1566)).replace(/\},\{"STATS":1/, '}{"STATS":1'),
      check: (b) => expect((b['STATS'] as JsonObject[]).length).toBe((json('a1566-24102401/stats.json')['STATS'] as JsonObject[]).length),
      repairs: ['missing-comma'],
    },
    {
      name: 'a missing comma between members',
      raw: JSON.stringify(JSON.parse(q)).replace(',"Code":11', ' "Code":11'),
      check: (b) => expect(replyStatus(b)?.code).toBe(11),
      repairs: ['missing-comma'],
    },
    {
      name: 'raw tab and newline inside a string',
      raw: JSON.stringify(JSON.parse(q)).replace('"Summary"', '"Sum\tma\nry"'),
      check: (b) => expect(replyStatus(b)?.msg).toBe('Sum\tma\nry'),
      repairs: ['raw-control-char'],
    },
    {
      name: 'bare nan, inf, -nan(0x8000) and MSVC 1.#INF / -1.#IND values',
      raw: JSON.stringify(JSON.parse(q))
        .replace(/"MHS 5s":[^,]+/, '"MHS 5s":nan')
        .replace(/"MHS 1m":[^,]+/, '"MHS 1m":inf')
        .replace(/"MHS 5m":[^,]+/, '"MHS 5m":-nan(0x8000)')
        .replace(/"MHS 15m":[^,]+/, '"MHS 15m":1.#INF')
        .replace(/"Utility":[^,]+/, '"Utility":-1.#IND'),
      check: (b) => {
        const s = (b['SUMMARY'] as JsonObject[])[0]!;
        expect(s['MHS 5s']).toBeNaN();
        expect(s['MHS 1m']).toBe(Infinity);
        expect(s['MHS 5m']).toBeNaN();
        expect(s['MHS 15m']).toBe(Infinity);
        expect(s['Utility']).toBeNaN();
        expect(s['MHS av']).toBe(44539601.86);
      },
      repairs: ['non-finite-number'],
    },
    {
      name: 'trailing commas in objects and arrays',
      raw: fixture('avalon-q-25052801/ascset_softoff.json').replace(/"cgminer 4.11.1"/, '"cgminer 4.11.1",').replace(/\}\s*\]/, '},]'),
      check: (b) => expect(replyStatus(b)).toMatchObject({ status: 'I', code: 118 }),
      repairs: ['trailing-comma'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseCgminerReply(`${c.raw}\0`);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      c.check(r.reply.body);
      expect(r.reply.repairs).toEqual(expect.arrayContaining(c.repairs));
    });
  }
});

describe('joined commands (cmd1+cmd2)', () => {
  const estats = JSON.parse(fixture('a1566-24102401/estats.json')) as JsonObject;
  const version = JSON.parse(fixture('a1566-24102401/version.json')) as JsonObject;
  const strip = (o: JsonObject): JsonObject => Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'id'));
  it('one object with a part per command: each part is found', () => {
    const b = body(`${JSON.stringify({ estats: [strip(estats)], version: [strip(version)], id: 1 })}\0`);
    expect(joinedPart(b, 'estats')).toEqual(strip(estats));
    expect(joinedPart(b, 'version')).toEqual(strip(version));
    expect(joinedPart(b, 'summary')).toBeUndefined();
  });
  it('the parts sent as `}{`-joined objects are merged into one body', () => {
    const r = parseCgminerReply(`${JSON.stringify({ estats: [strip(estats)] })}${JSON.stringify({ version: [strip(version)], id: 1 })}\0`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.reply.repairs).toContain('concatenated');
    expect(joinedPart(r.reply.body, 'version')).toEqual(strip(version));
    expect(joinedPart(r.reply.body, 'estats')).toEqual(strip(estats));
  });
  it('a plain reply is its own part', () => {
    const b = json('avalon-q-25052801/ascset_softon.json');
    expect(joinedPart(b, 'ascset')).toBe(b);
  });
});

describe('STATUS shapes', () => {
  const cases: Array<[string, string, { status: string; code?: number; msg?: string }, boolean, boolean]> = [
    ['E Invalid command', '{"STATUS":[{"STATUS":"E","When":1,"Code":14,"Msg":"Invalid command","Description":"cgminer 4.11.1"}],"id":1}', { status: 'E', code: 14, msg: 'Invalid command' }, false, false],
    ['E access denied', `{"STATUS":[{"STATUS":"E","When":1,"Code":45,"Msg":"Access denied to 'ascset' command","Description":"cgminer 4.11.1"}],"id":1}`, { status: 'E', code: 45 }, false, true],
    ['W no ASCs', '{"STATUS":[{"STATUS":"W","When":1,"Code":70,"Msg":"No ASCs","Description":"cgminer"}],"id":1}', { status: 'W', code: 70 }, false, false],
    ['I set info (A10 workmode)', '{"STATUS":[{"STATUS":"I","When":1,"Code":118,"Msg":"ASC 0 set info: WORKMODE[1]"}],"id":1}', { status: 'I', code: 118 }, true, false],
    ['S set OK', '{"STATUS":[{"STATUS":"S","When":1,"Code":119,"Msg":"ASC 0 set OK"}]}', { status: 'S', code: 119 }, true, false],
    ['a bare STATUS object, quoted Code and lower-case letter', '{"STATUS":{"STATUS":"s","Code":"22","When":"5","Msg":"x"}}', { status: 'S', code: 22, msg: 'x' }, true, false],
    ['text form access denied', "STATUS=E,When=1,Code=45,Msg=Access denied to 'ascset' command,Description=cgminer 4.9.2|", { status: 'E', code: 45 }, false, true],
  ];
  for (const [name, raw, want, ok, denied] of cases) {
    it(name, () => {
      const s = replyStatus(body(`${raw}\0`))!;
      expect(s).toMatchObject(want);
      expect(isSuccessStatus(s)).toBe(ok);
      expect(isAccessDenied(s)).toBe(denied);
    });
  }
});

describe('MM ID state strings from other firmware (mutations of the A1566 capture)', () => {
  const real = (json('a1566-24102401/stats.json')['STATS'] as JsonObject[])[0]!['MM ID0'] as string;
  const items = real.match(/[^\][]+\[[^\]]*\]/g)!.map((s) => s.trim());
  const without = (...keys: string[]): string => items.filter((i) => !keys.some((k) => i.startsWith(`${k}[`))).join(' ');
  const stats = (entries: JsonObject[], layout?: PowerLayout): AvalonStats => {
    const r = parseAvalonStats({ STATUS: [{ STATUS: 'S' }], STATS: entries }, layout);
    if (!r.ok) throw new Error(r.reason);
    return r.stats;
  };
  const one = (mm: string, extra: JsonObject = {}, layout?: PowerLayout): AvalonStats => stats([{ STATS: 0, ID: 'AVA100', Elapsed: 975, 'MM ID0': mm, ...extra }], layout);

  it('the real string: 3731 W from WALLPOWER, working, workmode 1', () => {
    expect(toDeviceStatus(one(real))).toEqual({ wallPowerW: 3731, workmode: 1, softOff: false, state: 'working', hashrateThs: 199.24107 });
  });

  const table: Array<[string, string, Partial<ReturnType<typeof toDeviceStatus>>, RegExp?]> = [
    ['items in reverse order', [...items].reverse().join(' '), { wallPowerW: 3731, workmode: 1, state: 'working' }],
    ['items shuffled, double spaces between them', [...items].sort().join('  '), { wallPowerW: 3731, workmode: 1, state: 'working' }],
    ['no WALLPOWER: PS[6]', without('WALLPOWER'), { wallPowerW: 3731 }],
    ['brief example PS[0 1209 1258 33 418 1258 1294]', `${without('WALLPOWER', 'PS')} PS[0 1209 1258 33 418 1258 1294]`, { wallPowerW: 1294 }],
    ['no WALLPOWER, no PS: no reading, a note says nominal', without('WALLPOWER', 'PS'), { wallPowerW: undefined }, /no wall-power reading.*nominal/],
    ['A10 6-field PS: no reading, noted', `${without('WALLPOWER', 'PS')} PS[0 1220 1314 140 1839 1308]`, { wallPowerW: undefined }, /PS\[\] has 6 fields/],
    ['Nano 3 PS layout (PS[6] below PS[4]): not read as watts', `${without('WALLPOWER', 'PS')} PS[0 0 0 3 2792 89 324]`, { wallPowerW: undefined }, /PS\[6\]=324 is below the hash-board output PS\[4\]=2792/],
    ['PS[6] nan: no reading', `${without('WALLPOWER', 'PS')} PS[0 1209 1187 297 3526 1188 nan]`, { wallPowerW: undefined }, /none at index 6/],
    ['PS[6] absurd: no reading', `${without('WALLPOWER', 'PS')} PS[0 1209 1187 297 3526 1188 999999]`, { wallPowerW: undefined }, /above 30000 W/],
    ['repeated WALLPOWER: the first wins', `${real} WALLPOWER[1]`, { wallPowerW: 3731 }],
    ['WALLPOWER[0] is no measurement: PS[6] instead, noted', `${without('WALLPOWER')} WALLPOWER[0]`, { wallPowerW: 3731 }, /WALLPOWER\[0\] is not a plausible draw/],
    ['WALLPOWER[-5] and no PS: no reading', `${without('WALLPOWER', 'PS')} WALLPOWER[-5]`, { wallPowerW: undefined }, /WALLPOWER\[-5\] is not a plausible draw/],
    ['`Work Mode[2]` spelling', `${without('WORKMODE')} Work Mode[2]`, { workmode: 2 }],
    ['`WorkMode[0]` spelling', `${without('WORKMODE')} WorkMode[0]`, { workmode: 0 }],
    ['`workmode[2]` lower case', `${without('WORKMODE')} workmode[2]`, { workmode: 2 }],
    ['no WORKMODE at all', without('WORKMODE'), { workmode: undefined }],
    ['`softoff[3]` lower case, no SYSTEMSTATU: idle and soft-off', without('SoftOFF', 'SYSTEMSTATU') + ' softoff[3]', { softOff: true, state: 'idle' }],
    ['`Soft Off[1]` with a space', without('SoftOFF', 'SYSTEMSTATU') + ' Soft Off[1]', { softOff: true, state: 'idle' }],
    ['SYSTEMSTATU in other case and spacing', `${without('SYSTEMSTATU')} SystemStatu[work: in  idle, hash board: 0]`, { state: 'idle' }],
    ['SYSTEMSTATUS spelled out', `${without('SYSTEMSTATU')} SYSTEMSTATUS[Work: In Fault, Hash Board: 2]`, { state: 'fault' }],
    ['no state fields at all: unknown, not a crash', without('SYSTEMSTATU', 'SoftOFF'), { state: 'unknown', softOff: false }],
    ['only three fields', 'WALLPOWER[812] SoftOFF[0] STATE[1]', { wallPowerW: 812, state: 'working', softOff: false }],
  ];
  for (const [name, mm, want, note] of table) {
    it(name, () => {
      const s = toDeviceStatus(one(mm));
      for (const [k, v] of Object.entries(want)) expect(s[k as keyof typeof s], k).toEqual(v);
      if (note) expect(s.notes?.join('\n')).toMatch(note);
      else expect(s.notes).toBeUndefined();
    });
  }

  it('a layout can point at another PS index or at none', () => {
    const mm = `${without('WALLPOWER', 'PS')} PS[0 1209 1187 297 3526 3600 3731]`;
    expect(one(mm, {}, { psWallIndex: 5 })).toMatchObject({ wallPowerW: 3600, wallPowerSource: 'PS[5]' });
    expect(one(mm, {}, { psWallIndex: null }).wallPowerW).toBeUndefined();
    expect(one(real, {}, { psWallIndex: null }).wallPowerW).toBe(3731); // WALLPOWER still counts
  });

  const mod = (id: string, w: number | undefined, extra = ''): string => `DNA[${id}] ${w === undefined ? '' : `WALLPOWER[${w}] `}SYSTEMSTATU[Work: In Work, Hash Board: 3] GHSspd[100000] WORKMODE[1] SoftOFF[0] ${extra}`;
  it('MM ID0..MM ID3 in one entry: the draw and hashrate are the sums', () => {
    const s = stats([{ STATS: 0, ID: 'AVA100', 'MM ID0': mod('a', 3000), 'MM ID1': mod('b', 3100), 'MM ID2': mod('c', 3200), 'MM ID3': mod('d', 3300), 'MM Count': 4 }]);
    expect(s.modules.map((m) => m.sourceKey)).toEqual(['MM ID0', 'MM ID1', 'MM ID2', 'MM ID3']);
    expect(s.wallPowerW).toBe(3000); // the first module's own figure
    expect(toDeviceStatus(s)).toEqual({ wallPowerW: 12600, workmode: 1, softOff: false, state: 'working', hashrateThs: 400 });
  });
  it('listed out of order: still ordered by id', () => {
    const s = stats([{ 'MM ID2': mod('c', 3), 'MM ID0': mod('a', 1), 'MM ID1': mod('b', 2) }]);
    expect(s.modules.map((m) => m.sourceKey)).toEqual(['MM ID0', 'MM ID1', 'MM ID2']);
    expect(toDeviceStatus(s).wallPowerW).toBe(6);
  });
  it('one STATS entry per chain (AVA100, AVA101), each with MM ID0', () => {
    const s = stats([
      { STATS: 0, ID: 'AVA100', Elapsed: 50, 'MM ID0': mod('a', 3000), 'MM Count': 1 },
      { STATS: 1, ID: 'AVA101', Elapsed: 50, 'MM ID0': mod('b', 3100), 'MM Count': 1 },
      { STATS: 2, ID: 'POOL0' },
    ]);
    expect(s.moduleCount).toBe(2);
    expect(toDeviceStatus(s).wallPowerW).toBe(6100);
  });
  it('a module without a wall-power reading: the sum is no measurement (never an under-count)', () => {
    const s = stats([{ 'MM ID0': mod('a', 3000), 'MM ID1': mod('b', undefined) }]);
    const d = toDeviceStatus(s);
    expect(d.wallPowerW).toBeUndefined();
    expect(d.notes?.join()).toMatch(/MM ID1: no wall-power reading/);
  });
  it('MM Count larger than the strings sent: no measurement, noted', () => {
    const s = stats([{ 'MM ID0': mod('a', 3000), 'MM ID1': mod('b', 3000), 'MM Count': 3 }]);
    expect(toDeviceStatus(s).wallPowerW).toBeUndefined();
    expect(s.warnings.join()).toMatch(/MM Count is 3 but 2 module/);
  });
  it('the same module twice (same DNA) is counted once', () => {
    const s = stats([{ 'MM ID0': mod('a', 3000) }, { 'MM ID0': mod('a', 3000) }]);
    expect(s.modules).toHaveLength(1);
    expect(toDeviceStatus(s).wallPowerW).toBe(3000);
  });
  it('device state: working if any module works; soft-off only when every module is', () => {
    const idle = (id: string): string => `DNA[${id}] WALLPOWER[150] SYSTEMSTATU[Work: In Idle, Hash Board: 0] SoftOFF[4] GHSspd[0]`;
    const mixed = toDeviceStatus(stats([{ 'MM ID0': idle('a'), 'MM ID1': mod('b', 3000) }]));
    expect(mixed).toMatchObject({ state: 'working', softOff: false, wallPowerW: 3150, hashrateThs: 100 });
    const off = toDeviceStatus(stats([{ 'MM ID0': idle('a'), 'MM ID1': idle('b') }]));
    expect(off).toMatchObject({ state: 'idle', softOff: true, wallPowerW: 300, hashrateThs: 0 });
  });
  it('an empty second module string is skipped with a note; an empty first one is a reason', () => {
    const s = stats([{ 'MM ID0': mod('a', 3000), 'MM ID1': '' }]);
    expect(s.modules).toHaveLength(1);
    expect(s.warnings.join()).toMatch(/MM ID1: holds no Key\[value\] items/);
    expect(parseAvalonStats({ STATS: [{ 'MM ID0': '', 'MM ID1': mod('a', 1) }] })).toEqual({ ok: false, reason: '"MM ID0" holds no Key[value] items' });
  });
  it('Elapsed from the STATS entry, else from the state string (litestats has no entry Elapsed)', () => {
    expect(one(real).elapsedS).toBe(975);
    expect(stats([{ 'MM ID0': 'Elapsed[12] WALLPOWER[1]' }]).elapsedS).toBe(12);
    // The Q's litestats: no Elapsed entry, but Elapsed[37977] inside MM ID0:Summary.
    const lite = parseAvalonStats(json('avalon-q-25052801/litestats.json'));
    expect(lite.ok && lite.stats.elapsedS).toBe(37977);
  });
});

describe('the real captures through the new reader: unchanged results', () => {
  const cases: Array<[string, ReturnType<typeof toDeviceStatus>]> = [
    ['a1566-24102401/estats.json', { wallPowerW: 3731, workmode: 1, softOff: false, state: 'working', hashrateThs: 199.24107 }],
    ['a1246-21072802/stats.json', { wallPowerW: 3504, workmode: 1, softOff: false, state: 'working', hashrateThs: 81.07268 }],
    ['avalon-q-25052801/stats.json', { wallPowerW: 146, workmode: 0, softOff: true, state: 'idle', hashrateThs: 0 }],
    ['avalon-q-25052801/litestats.json', { wallPowerW: 146, workmode: 0, softOff: true, state: 'idle', hashrateThs: 0 }],
  ];
  for (const [file, want] of cases) {
    it(file, () => {
      const r = parseAvalonStats(json(file));
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const got = toDeviceStatus(r.stats);
      expect(got.hashrateThs).toBeCloseTo(want.hashrateThs!, 6);
      expect({ ...got, hashrateThs: 0 }).toEqual({ ...want, hashrateThs: 0 });
    });
  }
});

describe('version replies of other models', () => {
  const id = (section: JsonObject): DeviceIdentity => parseVersionReply({ STATUS: [{ STATUS: 'S', Code: 22 }], VERSION: [section] })!;
  const cases: Array<[string, DeviceIdentity, string, string | undefined]> = [
    ['A1566 capture', parseVersionReply(json('a1566-24102401/version.json'))!, 'avalon-a1566', 'A1566'],
    ['Avalon Q capture', parseVersionReply(json('avalon-q-25052801/version.json'))!, 'avalon-q', 'Q'],
    ['Nano 3 (hass-miner#458 shape)', id({ PROD: 'Avalonnano', MODEL: 'nano3', HWTYPE: 'PMMv1_X1', SWTYPE: 'MM318_X2' }), 'avalon-nano3', 'Nano 3'],
    ['Nano 3s', id({ PROD: 'Avalon Nano3s', MODEL: 'nano3s' }), 'avalon-nano3s', 'Nano 3s'],
    ['Mini 3', id({ PROD: 'Avalon Mini3', MODEL: 'mini3' }), 'avalon-mini3', 'Mini 3'],
    ['A1246 as PROD "AvalonMiner 1246"', id({ PROD: 'AvalonMiner 1246', MODEL: '1246' }), 'avalon-a1246', 'A1246'],
    ['A1346 by series and TH/s: "13-110"', id({ PROD: 'AvalonMiner 13-110', MODEL: '13-110' }), 'avalon-a1346', 'A1346'],
    ['A1366 by series and TH/s: "13-130"', id({ MODEL: '13-130' }), 'avalon-a1366', 'A1366'],
    ['A1466 "14-150", CGVersion spelled in mixed case', id({ PROD: 'AvalonMiner 14-150', CGVersion: '23110901_1a2b3c4' }), 'avalon-a1466', 'A1466'],
    ['A1566HA "1566HA"', id({ PROD: 'AvalonMiner 1566HA', MODEL: '1566ha' }), 'avalon-a1566ha', 'A1566HA'],
    ['A1566 hydro class "15-480"', id({ MODEL: '15-480' }), 'avalon-a1566ha', 'A1566HA'],
    ['an Avalon without a profile (A1166)', id({ PROD: 'AvalonMiner 1166Pro', MODEL: '1166' }), 'generic', 'A1166'],
    ['not an Avalon', id({ PROD: 'Antminer S19', MODEL: 'S19' }), 'generic', undefined],
    ['no PROD, no MODEL', id({ CGMiner: '4.11.1', API: '3.7' }), 'generic', undefined],
  ];
  for (const [name, identity, profile, family] of cases) {
    it(`${name} -> ${profile}`, () => {
      const m = matchProfile(identity);
      expect(m.profile).toBe(profile);
      expect(m.family).toBe(family);
      expect(m.exact).toBe(profile !== 'generic');
      expect(Object.keys(BUILTIN_MODELS)).toContain(m.profile);
      if (profile === 'generic') expect(m.warning).toMatch(/using the generic profile; add/);
      else expect(m.warning).toBeUndefined();
    });
  }

  it('reads the firmware from VERSION, LVERSION or CGVERSION', () => {
    expect(parseVersionReply(json('a1566-24102401/version.json'))).toEqual({
      product: 'AvalonMiner 15-194', model: '15-194', hwType: 'MM4v2_X3', swType: 'MM319', firmware: '24102401_25462b2_9ddf522', cgminer: '4.11.1', api: '3.7',
    });
    expect(parseVersionReply(json('avalon-q-25052801/version.json'))?.firmware).toBe('25052801_14a19a2');
  });

  it('the text form (plain-text API) works too', () => {
    const b = body('STATUS=S,When=1,Code=22,Msg=CGMiner versions,Description=cgminer 4.11.1|VERSION,CGMiner=4.11.1,API=3.7,PROD=Avalonnano,MODEL=nano3,LVERSION=24071801_42c628d|\0');
    expect(parseVersionReply(b)).toMatchObject({ product: 'Avalonnano', model: 'nano3', firmware: '24071801_42c628d' });
    expect(matchProfile(parseVersionReply(b)).profile).toBe('avalon-nano3');
  });

  it('a recognised model whose profile is not configured: generic, and the warning names the profile to add', () => {
    const m = matchProfile(parseVersionReply(json('avalon-q-25052801/version.json')), ['generic', 'avalon-a1566ha']);
    expect(m).toMatchObject({ profile: 'generic', family: 'Q', exact: false });
    expect(m.warning).toMatch(/recognised an Avalon Q \(PROD "Avalon Q", MODEL "Q", firmware "25052801_14a19a2"\) but no "avalon-q" profile/);
  });

  it('no VERSION section, or no identity at all: undefined / generic, never a throw', () => {
    expect(parseVersionReply(json('avalon-q-25052801/summary.json'))).toBeUndefined();
    expect(matchProfile(undefined)).toMatchObject({ profile: 'generic', exact: false, warning: expect.stringMatching(/no version information/) });
  });

  it('Ver[...] of the state string identifies the model', () => {
    const table: Array<[string, DeviceIdentity | undefined, string]> = [
      ['1246-83-21072802_4ec6bb0_211fc46', { model: '1246-83', firmware: '21072802_4ec6bb0_211fc46' }, 'avalon-a1246'],
      ['15-194-24102401_25462b2_9ddf522', { model: '15-194', firmware: '24102401_25462b2_9ddf522' }, 'avalon-a1566'],
      ['Q-25052801_14a19a2', { model: 'Q', firmware: '25052801_14a19a2' }, 'avalon-q'],
      ['25052801_14a19a2', { firmware: '25052801_14a19a2' }, 'generic'],
      ['something else', { model: 'something else' }, 'generic'],
    ];
    for (const [ver, identity, profile] of table) {
      expect(identityFromVer(ver)).toEqual(identity);
      expect(matchProfile(identityFromVer(ver)).profile).toBe(profile);
    }
    expect(identityFromVer('  ')).toBeUndefined();
  });

  it('family detection ignores digits that are not a model number', () => {
    expect(familyOf({ product: 'Avalon', model: '123456' })).toBeUndefined();
    expect(familyOf({ product: 'AvalonMiner 1566' })?.profile).toBe('avalon-a1566');
  });
});

describe('random damage to the real captures never throws', () => {
  // Seeded: the same mutants on every run, so a failure reproduces.
  const rnd = mulberry32(0x5eed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const SIGNIFICANT = ['{', '}', '[', ']', ',', ':', '"', '\\', '\0', '\n', 'nan', 'inf', '|', '=', ']', '['];
  const mutate = (text: string): string => {
    let t = text;
    for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) {
      const i = Math.floor(rnd() * t.length);
      const j = Math.min(t.length, i + 1 + Math.floor(rnd() * 40));
      const op = Math.floor(rnd() * 4);
      if (op === 0) t = t.slice(0, i) + pick(SIGNIFICANT) + t.slice(i + 1);
      else if (op === 1) t = t.slice(0, i) + t.slice(j);
      else if (op === 2) t = t.slice(0, j) + t.slice(i, j) + t.slice(j);
      else t = t.slice(0, i);
    }
    return t;
  };
  const STATES = ['init', 'working', 'idle', 'fault', 'unknown'];
  for (const f of FILES) {
    it(`${f}: 60 mutants`, () => {
      const text = fixture(f);
      for (let n = 0; n < 60; n++) {
        const raw = `${mutate(text)}\0`;
        const r = parseCgminerReply(raw);
        if (!r.ok) {
          expect(r.reason.length).toBeGreaterThan(0);
          continue;
        }
        const st = parseAvalonStats(r.reply.body);
        if (!st.ok) continue;
        const d = toDeviceStatus(st.stats);
        expect(STATES).toContain(d.state);
        if (d.wallPowerW !== undefined) {
          expect(d.wallPowerW).toBeGreaterThan(0);
          expect(d.wallPowerW).toBeLessThanOrEqual(30_000 * st.stats.modules.length);
        }
        expect(() => matchProfile(parseVersionReply(r.reply.body))).not.toThrow();
      }
    });
  }
});
