import type { DeviceSample } from '../fleet/device-model.js';

/**
 * Pure builders for the replies of a simulated Avalon, in the shapes of the
 * real A1566 capture (test/fixtures/avalon/a1566-24102401, firmware
 * 24102401, cgminer 4.11.1): an `MM ID0` Key[value] string carrying
 * WALLPOWER, PS[7], WORKMODE, SoftOFF, SYSTEMSTATU and GHSspd; the ascset
 * success shapes I/118 "ASC 0 set info: success softoff:<t>" and S/119
 * "ASC 0 set OK". Compact JSON as cgminer writes it; the server adds the NUL.
 */

const DESCRIPTION = 'cgminer 4.11.1';

/** Everything a reply needs to know about the unit at one instant. */
export interface SimSnapshot {
  sample: DeviceSample;
  /** Full-output figures of the selected mode (GHSmm, MPO). */
  modeKw: number;
  modeThs: number;
  /** The WORKMODE value of the selected mode. */
  workmode: number;
  /** Seconds since the simulated boot (`Elapsed`, and `When` as on the A1566). */
  elapsedS: number;
  whenS: number;
  /** SoftOFF[n]: 0 while mining; 4 after a soft-off (the value the Q shows). */
  softOffReason: number;
  /** Average hashrate since boot, TH/s (GHSavg, MHS av). */
  averageThs: number;
  identity: SimIdentity;
}

export interface SimIdentity {
  prod: string;
  model: string;
  version: string;
  dna: string;
  mac: string;
}

export function statusOnly(status: 'S' | 'I' | 'E', code: number, msg: string, whenS: number): string {
  return JSON.stringify({ STATUS: [statusEntry(status, code, msg, whenS)], id: 1 });
}

function statusEntry(status: string, code: number, msg: string, whenS: number): Record<string, unknown> {
  return { STATUS: status, When: whenS, Code: code, Msg: msg, Description: DESCRIPTION };
}

const f2 = (n: number): string => n.toFixed(2);

/** The `MM ID0` string: the subset of A1566 keys the driver and operators read, in the capture's order. */
export function mmId0(s: SimSnapshot): string {
  const on = s.sample.phase !== 'standby';
  const fraction = s.modeThs > 0 ? s.sample.ths / s.modeThs : 0;
  const wallW = Math.round(s.sample.kw * 1000);
  // PS: [err, 12 V rail (10 mV), hash rail (10 mV), A, hash-side W, setpoint, wall W] (SOURCES.md 3).
  const hashV = on ? 1187 : 4;
  const hashW = on ? Math.round(wallW * 0.945) : 0;
  const amps = on ? Math.round(hashW / (hashV / 100)) : 0;
  const fan = on ? Math.round(1800 + 2500 * fraction) : 0;
  const tmax = on ? Math.round(30 + 48 * fraction) : 0;
  const work = on ? 'In Work' : 'In Idle';
  const ghsspd = s.sample.ths * 1000;
  return [
    `Ver[${s.identity.version}]`,
    `DNA[${s.identity.dna}]`,
    `NETFAIL[0 0 0 0 0 0 0 0]`,
    `SYSTEMSTATU[Work: ${work}, Hash Board: 3 ]`,
    `Elapsed[${s.elapsedS}]`,
    `MH[0 0 0] DHW[0] HW[0] DH[0.000%]`,
    `Temp[${on ? 31 : 0}] TMax[${tmax}] TAvg[${on ? tmax - 8 : 0}]`,
    `Fan1[${fan}] Fan2[${fan}] FanR[${on ? Math.round(20 + 29 * fraction) : 0}%]`,
    `PS[0 1209 ${hashV} ${amps} ${hashW} 1188 ${wallW}]`,
    `WALLPOWER[${wallW}]`,
    `GHSspd[${f2(ghsspd)}] DHspd[0.000%]`,
    `GHSmm[${f2(s.modeThs * 1000)}] GHSavg[${f2(s.averageThs * 1000)}]`,
    `MGHS[${f2(ghsspd / 3)} ${f2(ghsspd / 3)} ${f2(ghsspd / 3)}]`,
    `TA[480] Core[A3197S] POWS[0] HASHS[0 0 0] POOLS[0]`,
    `SoftOFF[${s.softOffReason}]`,
    `ECHU[0 0 0] ECMM[0]`,
    `MPO[${Math.round(s.modeKw * 1000)}]`,
    `WORKMODE[${s.workmode}]`,
  ].join(' ');
}

/** `estats` / `stats`: STATUS S/70 and STATS[0] with ID AVA100 and the MM ID0 string. */
export function statsReply(s: SimSnapshot): string {
  return JSON.stringify({
    STATUS: [statusEntry('S', 70, 'CGMiner stats', s.whenS)],
    STATS: [
      {
        STATS: 0,
        ID: 'AVA100',
        Elapsed: s.elapsedS,
        Calls: 0,
        Wait: 0,
        Max: 0,
        Min: 99999999,
        'MM ID0': mmId0(s),
        'MM Count': 1,
        'Smart Speed': 1,
        'Voltage Level Offset': 0,
        'Nonce Mask': 25,
      },
    ],
    id: 1,
  });
}

/** `devs`: S/9 "1 ASC(s)", rates in MH/s with `MHS 30s` as on the A1566. */
export function devsReply(s: SimSnapshot): string {
  const mhs = s.sample.ths * 1e6;
  return JSON.stringify({
    STATUS: [statusEntry('S', 9, '1 ASC(s)', s.whenS)],
    DEVS: [
      {
        ASC: 0,
        Name: 'AVA10',
        ID: 0,
        Enabled: 'Y',
        Status: 'Alive',
        Temperature: -273.0,
        'MHS av': round2(s.averageThs * 1e6),
        'MHS 30s': round2(mhs),
        'MHS 1m': round2(mhs),
        'MHS 5m': round2(mhs),
        'MHS 15m': round2(mhs),
        'Device Elapsed': s.elapsedS,
      },
    ],
    id: 1,
  });
}

/** `summary`: S/11, the same rate keys as devs. */
export function summaryReply(s: SimSnapshot): string {
  const mhs = s.sample.ths * 1e6;
  return JSON.stringify({
    STATUS: [statusEntry('S', 11, 'Summary', s.whenS)],
    SUMMARY: [{ Elapsed: s.elapsedS, 'MHS av': round2(s.averageThs * 1e6), 'MHS 30s': round2(mhs), 'MHS 1m': round2(mhs), 'MHS 5m': round2(mhs), 'MHS 15m': round2(mhs) }],
    id: 1,
  });
}

/** `version`: S/22 "CGMiner versions" with the A1566 keys. */
export function versionReply(s: SimSnapshot): string {
  const id = s.identity;
  return JSON.stringify({
    STATUS: [statusEntry('S', 22, 'CGMiner versions', s.whenS)],
    VERSION: [{ CGMiner: '4.11.1', API: '3.7', PROD: id.prod, MODEL: id.model, HWTYPE: 'MM4v2_X3', SWTYPE: 'MM319', VERSION: id.version.replace(/^[^-]+-[^-]+-/, ''), DNA: id.dna, MAC: id.mac }],
    id: 1,
  });
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** What an `ascset` parameter asks for; parse errors carry the firmware-style message. */
export type AscsetCommand =
  | { op: 'softoff' | 'softon'; atS: number }
  | { op: 'workmode'; value: number }
  | { op: 'workmode-get' }
  | { op: 'error'; msg: string };

/**
 * `0,softoff,1:<unix s>`, `0,softon,1:<unix s>`, `0,workmode,set,<n>` or the
 * A10 manual's `0,workmode,<n>`; `0,workmode,get` (or `,255`) queries.
 */
export function parseAscset(parameter: string | undefined): AscsetCommand {
  if (parameter === undefined || parameter.length === 0) return { op: 'error', msg: 'Missing device id parameter' };
  const parts = parameter.split(',');
  if (parts[0] !== '0') return { op: 'error', msg: `Invalid ASC id ${parts[0] ?? ''}` };
  const option = parts[1];
  if (option === 'softoff' || option === 'softon') {
    const m = /^1:(\d{1,12})$/.exec(parts[2] ?? '');
    if (!m || parts.length !== 3) return { op: 'error', msg: `invalid ${option} parameter, expected 1:<unix time>` };
    return { op: option, atS: Number(m[1]) };
  }
  if (option === 'workmode') {
    const rest = parts.slice(2);
    if ((rest.length === 1 && (rest[0] === 'get' || rest[0] === '255')) || (rest.length === 2 && rest[0] === 'get')) return { op: 'workmode-get' };
    const raw = rest.length === 2 && rest[0] === 'set' ? rest[1] : rest.length === 1 ? rest[0] : undefined;
    if (raw === undefined || !/^\d{1,3}$/.test(raw)) return { op: 'error', msg: 'invalid workmode parameter, expected workmode,set,<n>' };
    return { op: 'workmode', value: Number(raw) };
  }
  return { op: 'error', msg: `unknown option ${option ?? ''}` };
}
