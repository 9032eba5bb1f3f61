import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAvalonKv } from '../../src/fleet/avalon-kv.js';
import { parseAvalonStats, toDeviceStatus } from '../../src/fleet/avalon-stats.js';
import { parseDevRates } from '../support/dev-rates.js';
import { parseCgminerReply, replyStatus, type JsonObject } from '../../src/fleet/cgminer-reply.js';
import { devsReply, mmId0, parseAscset, statsReply, statusOnly, summaryReply, versionReply, type AscsetCommand, type SimSnapshot } from '../../src/demo/avalon-device-replies.js';

const capture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/avalon/a1566-24102401/stats.json'), 'utf8')) as {
  STATS: Array<Record<string, unknown>>;
};
const captureMm = parseAvalonKv(capture.STATS[0]!['MM ID0'] as string);

const working: SimSnapshot = {
  sample: { phase: 'working', kw: 8.1, ths: 480, modeIndex: 2 },
  modeKw: 8.1,
  modeThs: 480,
  workmode: 2,
  elapsedS: 975,
  whenS: 975,
  softOffReason: 0,
  averageThs: 470,
  identity: { prod: 'AvalonMiner 15-194', model: '15-194', version: '15-194-24102401_25462b2_9ddf522', dna: '020100008c699117', mac: '123456789012' },
};
const standby: SimSnapshot = { ...working, sample: { phase: 'standby', kw: 0.15, ths: 0, modeIndex: 2 }, softOffReason: 4 };

function body(text: string): JsonObject {
  const r = parseCgminerReply(text);
  if (!r.ok) throw new Error(r.reason);
  return r.reply.body;
}

describe('simulated A1566 replies', () => {
  it('MM ID0 uses only keys that the real A1566 capture has, in its order', () => {
    const keys = [...parseAvalonKv(mmId0(working)).keys()];
    const captureKeys = [...captureMm.keys()];
    expect(keys.filter((k) => !captureMm.has(k))).toEqual([]);
    const positions = keys.map((k) => captureKeys.indexOf(k));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('STATS[0] has the capture keys', () => {
    const ours = (body(statsReply(working))['STATS'] as JsonObject[])[0]!;
    expect(Object.keys(ours)).toEqual(Object.keys(capture.STATS[0]!));
  });

  it('working: the driver-side parser reads back WALLPOWER, PS[6], GHSspd, WORKMODE, SoftOFF 0', () => {
    const r = parseAvalonStats(body(statsReply(working)));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.stats.wallPowerW).toBe(8100);
    expect(r.stats.ps?.[6]).toBe(8100);
    expect(r.stats.mpoW).toBe(8100);
    expect(toDeviceStatus(r.stats)).toEqual({ wallPowerW: 8100, workmode: 2, softOff: false, state: 'working', hashrateThs: 480 });
  });

  it('standby: In Idle, SoftOFF 4, 150 W, GHSspd 0 while GHSmm stays at the mode', () => {
    const r = parseAvalonStats(body(statsReply(standby)));
    if (!r.ok) throw new Error(r.reason);
    expect(toDeviceStatus(r.stats)).toEqual({ wallPowerW: 150, workmode: 2, softOff: true, state: 'idle', hashrateThs: 0 });
    expect(r.stats.fields.get('GHSmm')).toBe('480000.00');
    expect(r.stats.fields.get('SYSTEMSTATU')).toBe('Work: In Idle, Hash Board: 3 ');
  });

  it('devs and summary carry MHS 30s in MH/s', () => {
    expect(parseDevRates(body(devsReply(working)))).toEqual({ currentThs: 480, currentKey: 'MHS 30s', averageThs: 470 });
    expect(parseDevRates(body(summaryReply(standby)))).toMatchObject({ currentThs: 0, currentKey: 'MHS 30s' });
  });

  it('version has the A1566 shape', () => {
    const v = (body(versionReply(working))['VERSION'] as JsonObject[])[0]!;
    expect(v).toMatchObject({ PROD: 'AvalonMiner 15-194', MODEL: '15-194', VERSION: '24102401_25462b2_9ddf522', API: '3.7' });
  });

  it('status-only replies match the captured ascset shapes', () => {
    const softoff = body(statusOnly('I', 118, 'ASC 0 set info: success softoff:1753434821', 1753434816));
    const captured = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/avalon/avalon-q-25052801/ascset_softoff.json'), 'utf8')) as JsonObject;
    expect(softoff).toEqual(captured);
    expect(replyStatus(body(statusOnly('S', 119, 'ASC 0 set OK', 1)))).toEqual({ status: 'S', code: 119, msg: 'ASC 0 set OK', when: 1 });
  });
});

describe('parseAscset', () => {
  const table: Array<[string | undefined, AscsetCommand]> = [
    ['0,softoff,1:1753434821', { op: 'softoff', atS: 1753434821 }],
    ['0,softon,1:1753434757', { op: 'softon', atS: 1753434757 }],
    ['0,workmode,set,2', { op: 'workmode', value: 2 }],
    ['0,workmode,1', { op: 'workmode', value: 1 }],
    ['0,workmode,get', { op: 'workmode-get' }],
    ['0,workmode,255', { op: 'workmode-get' }],
    [undefined, { op: 'error', msg: 'Missing device id parameter' }],
    ['1,softoff,1:5', { op: 'error', msg: 'Invalid ASC id 1' }],
    ['0,softoff,1753434821', { op: 'error', msg: 'invalid softoff parameter, expected 1:<unix time>' }],
    ['0,softon,1:12x', { op: 'error', msg: 'invalid softon parameter, expected 1:<unix time>' }],
    ['0,workmode,set,-1', { op: 'error', msg: 'invalid workmode parameter, expected workmode,set,<n>' }],
    ['0,led,1-1', { op: 'error', msg: 'unknown option led' }],
  ];
  for (const [param, want] of table) {
    it(`${String(param)}`, () => expect(parseAscset(param)).toEqual(want));
  }
});
