import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kvNumber, kvNumbers, parseAvalonKv, unwrapAvalonBlock } from '../../src/fleet/avalon-kv.js';
import { deviceDetails, parseAvalonStats, toDeviceStatus, type AvalonStats } from '../../src/fleet/avalon-stats.js';
import { parseDevRates } from '../support/dev-rates.js';
import { parseCgminerReply, type JsonObject } from '../../src/fleet/cgminer-reply.js';

const FIX = join(import.meta.dirname, '../fixtures/avalon');
function body(file: string): JsonObject {
  const r = parseCgminerReply(readFileSync(join(FIX, file)));
  if (!r.ok) throw new Error(r.reason);
  return r.reply.body;
}
function stats(file: string): AvalonStats {
  const r = parseAvalonStats(body(file));
  if (!r.ok) throw new Error(r.reason);
  return r.stats;
}

describe('parseAvalonKv', () => {
  it('handles spaces, commas, colons and % in values, keys with spaces, padded arrays', () => {
    const kv = parseAvalonKv('SYSTEMSTATU[Work: In Work, Hash Board: 3 ] DH[1.299%] Nonce Mask[25] PVT_T0[ 66  65  63] MEMFREE[269880 B]');
    expect([...kv]).toEqual([
      ['SYSTEMSTATU', 'Work: In Work, Hash Board: 3 '],
      ['DH', '1.299%'],
      ['Nonce Mask', '25'],
      ['PVT_T0', ' 66  65  63'],
      ['MEMFREE', '269880 B'],
    ]);
  });
  it("unwraps the Q's 'STATS':{...} block", () => {
    expect(unwrapAvalonBlock("'STATS':{Ver[Q] STATE[2]}")).toBe('Ver[Q] STATE[2]');
    expect([...parseAvalonKv("'HB0':{MW0[1 2]}")]).toEqual([['MW0', '1 2']]);
    expect(unwrapAvalonBlock('Ver[Q]')).toBe('Ver[Q]');
  });
  it('keeps the first of duplicate keys, runs an unterminated value to the end, skips junk', () => {
    expect([...parseAvalonKv('A[1] A[2] B[3 4')]).toEqual([
      ['A', '1'],
      ['B', '3 4'],
    ]);
    expect([...parseAvalonKv('no brackets here')]).toEqual([]);
    expect([...parseAvalonKv('[orphan] K[v] trailing')]).toEqual([['K', 'v']]);
  });
  it('kvNumber takes finite numbers only', () => {
    expect(kvNumber('3731')).toBe(3731);
    expect(kvNumber(' 49% ')).toBe(49);
    expect(kvNumber('nan')).toBeUndefined();
    expect(kvNumber('inf')).toBeUndefined();
    expect(kvNumber('0x04.00000000')).toBeUndefined();
    expect(kvNumbers(' 0  1209 nan ')).toEqual([0, 1209, NaN]);
  });
});

describe('parseAvalonStats on the real captures', () => {
  it('A1566 (MM ID0): WALLPOWER 3731, MPO 3515, WORKMODE 1, SoftOFF 0, working', () => {
    const s = stats('a1566-24102401/stats.json');
    expect(s.sourceKey).toBe('MM ID0');
    expect(s.wallPowerW).toBe(3731);
    expect(s.wallPowerSource).toBe('WALLPOWER');
    expect(s.ps).toEqual([0, 1209, 1187, 297, 3526, 1188, 3731]);
    expect(s.mpoW).toBe(3515);
    expect(s.workmode).toBe(1);
    expect(s.softOff).toBe(0);
    expect(s.systemStatus).toEqual({ work: 'In Work', hashBoards: 3 });
    expect(s.state).toBe('working');
    expect(s.hashrateSource).toBe('GHSspd');
    expect(s.hashrateThs).toBeCloseTo(199.24107, 6);
    expect(s.averageThs).toBeCloseTo(184.007, 6);
    expect(s.tMaxC).toBe(78);
    expect(s.fansRpm).toEqual([4275, 4282]);
    expect(toDeviceStatus(s)).toEqual({ wallPowerW: 3731, workmode: 1, softOff: false, state: 'working', hashrateThs: s.hashrateThs });
  });

  it('A1566 estats is the same capture and parses the same', () => {
    expect(toDeviceStatus(stats('a1566-24102401/estats.json'))).toEqual(toDeviceStatus(stats('a1566-24102401/stats.json')));
  });

  it("Avalon Q (MM ID0:Summary inside 'STATS':{...}, HBinfo): SoftOFF 4, idle, PS[6] 146, GHSspd 0", () => {
    const s = stats('avalon-q-25052801/stats.json');
    expect(s.sourceKey).toBe('MM ID0:Summary');
    expect(s.softOff).toBe(4);
    expect(s.stateCode).toBe(2);
    expect(s.state).toBe('idle');
    expect(s.wallPowerW).toBe(146);
    expect(s.wallPowerSource).toBe('PS[6]');
    expect(s.hashrateThs).toBe(0);
    expect(s.hashrateSource).toBe('GHSspd');
    // The averages stay high on the idle unit; they must not leak into the current rate.
    expect(s.averageThs).toBeCloseTo(44.49941, 6);
    expect(s.workmode).toBe(0);
    expect(s.worklevel).toBe(0);
    expect(s.mpoW).toBe(800);
    expect(s.tMaxC).toBe(0);
    expect(s.fansRpm).toEqual([0, 0, 0, 0]);
    expect(s.softOffTime).toBe(1753425250);
    expect(s.softOnTime).toBe(1753425190);
    expect(s.fields.get('Nonce Mask')).toBe('25');
    expect(s.fields.get('MW0')?.startsWith('526 664')).toBe(true);
    expect(toDeviceStatus(s)).toEqual({ wallPowerW: 146, workmode: 0, softOff: true, state: 'idle', hashrateThs: 0 });
  });

  it('Avalon Q litestats (only MM ID0:Summary) reads the same state', () => {
    expect(toDeviceStatus(stats('avalon-q-25052801/litestats.json'))).toEqual(toDeviceStatus(stats('avalon-q-25052801/stats.json')));
  });

  it('A1246 has no WALLPOWER: wall power is PS[6] = 3504', () => {
    const s = stats('a1246-21072802/stats.json');
    expect(s.fields.has('WALLPOWER')).toBe(false);
    expect(s.wallPowerW).toBe(3504);
    expect(s.wallPowerSource).toBe('PS[6]');
    expect(s.mpoW).toBe(3200);
    expect(s.workmode).toBe(1);
    expect(s.state).toBe('working');
    expect(s.hashrateThs).toBeCloseTo(81.07268, 6);
    expect(s.fansRpm).toEqual([5344, 5392, 5349, 5309]);
  });

  it('a reply without MM ID is a reason, not a crash', () => {
    expect(parseAvalonStats(body('avalon-q-25052801/summary.json'))).toEqual({
      ok: false,
      reason: 'no "MM ID<n>" device-state string in the STATS section',
    });
    expect(parseAvalonStats({ STATS: [{ 'MM ID0': 'garbage without items' }] })).toEqual({ ok: false, reason: '"MM ID0" holds no Key[value] items' });
  });
});

describe('parseAvalonStats field rules', () => {
  const mm = (s: string): AvalonStats => {
    const r = parseAvalonStats({ STATUS: [{ STATUS: 'S' }], STATS: [{ STATS: 0, ID: 'AVA100', 'MM ID0': s }] });
    if (!r.ok) throw new Error(r.reason);
    return r.stats;
  };
  const table: Array<[string, string, Partial<AvalonStats>]> = [
    ['PS with 6 fields (A10) gives no wall power', 'PS[0 1220 1314 140 1839 1308]', { wallPowerW: undefined }],
    ['WALLPOWER nan falls back to PS[6]', 'WALLPOWER[nan] PS[0 1 2 3 4 5 812]', { wallPowerW: 812, wallPowerSource: 'PS[6]' }],
    ['GHSspd inf is no reading; working unit falls back to GHSmm', 'SYSTEMSTATU[Work: In Work, Hash Board: 3] GHSspd[inf] GHSmm[201920.42]', { hashrateThs: 201.92042, hashrateSource: 'GHSmm' }],
    ['no GHSspd and unknown state: no hashrate from averages', 'GHSmm[201920.42] GHSavg[184007.00]', { hashrateThs: undefined, state: 'unknown' }],
    ['STATE code when SYSTEMSTATU is missing', 'STATE[3]', { state: 'fault' }],
    ['In Init', 'SYSTEMSTATU[Work: In Init, Hash Board: 0]', { state: 'init' }],
    ['SoftOFF != 0 alone means idle', 'SoftOFF[1]', { state: 'idle', softOff: 1 }],
    ['SYSTEMSTATU wins over STATE', 'SYSTEMSTATU[Work: In Work, Hash Board: 1] STATE[2]', { state: 'working' }],
  ];
  for (const [name, s, want] of table) {
    it(name, () => {
      const got = mm(s);
      for (const [k, v] of Object.entries(want)) {
        const g = got[k as keyof AvalonStats];
        if (typeof v === 'number') expect(g as number).toBeCloseTo(v, 6);
        else expect(g).toEqual(v);
      }
    });
  }
  it('takes the lowest MM ID on a multi-module controller', () => {
    const r = parseAvalonStats({ STATS: [{ 'MM ID1': 'WALLPOWER[2]', 'MM ID0': 'WALLPOWER[1]' }] });
    expect(r.ok && r.stats.wallPowerW).toBe(1);
  });
});

describe('parseDevRates', () => {
  it('A1566 devs: MHS 30s is the current rate', () => {
    const r = parseDevRates(body('a1566-24102401/devs.json'))!;
    expect(r.currentKey).toBe('MHS 30s');
    expect(r.currentThs).toBeCloseTo(197.49792649, 6);
    expect(r.averageThs).toBeCloseTo(192.79624736, 6);
  });
  it('Q devs and summary: MHS 5s 0 while MHS av stays high', () => {
    for (const f of ['avalon-q-25052801/devs.json', 'avalon-q-25052801/summary.json']) {
      const r = parseDevRates(body(f))!;
      expect(r.currentKey).toBe('MHS 5s');
      expect(r.currentThs).toBe(0);
      expect(r.averageThs).toBeGreaterThan(44);
    }
  });
  it('no DEVS/SUMMARY section: undefined', () => {
    expect(parseDevRates(body('a1566-24102401/version.json'))).toBeUndefined();
  });
});

describe('deviceDetails (operator view per unit, issue 13)', () => {
  it('reads temperatures, fans, uptime and firmware from the A1566 and Q captures', () => {
    expect(deviceDetails(stats('a1566-24102401/estats.json'))).toEqual({ tempMaxC: 78, inletC: 31, fansRpm: [4275, 4282], uptimeS: 975, firmware: '15-194-24102401_25462b2_9ddf522' });
    const q = deviceDetails(stats('avalon-q-25052801/litestats.json'));
    expect(q).toMatchObject({ inletC: 26, fansRpm: [0, 0, 0, 0], firmware: 'Q-25052801_14a19a2' });
    // The idle Q says TMax[0]: no reading, not a unit at 0 °C.
    expect(q.tempMaxC).toBeUndefined();
  });

  it('says nothing it was not told, and bounds what a device can make it carry', () => {
    const r = parseAvalonStats({ STATS: [{ 'MM ID0': `Ver[${'x'.repeat(500)}] ${Array.from({ length: 40 }, (_, i) => `Fan${i + 1}[1000]`).join(' ')} WORKMODE[1]` }] });
    if (!r.ok) throw new Error(r.reason);
    const d = deviceDetails(r.stats);
    expect(d.tempMaxC).toBeUndefined();
    expect(d.inletC).toBeUndefined();
    expect(d.uptimeS).toBeUndefined();
    expect(d.firmware).toHaveLength(80);
    expect(d.fansRpm).toHaveLength(16);
  });
});
