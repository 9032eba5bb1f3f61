import { describe, expect, it } from 'vitest';
import { DevicePowerModel, type DeviceModelParams, type DeviceSample } from '../../src/fleet/device-model.js';

const params: DeviceModelParams = {
  standbyKw: 0.15,
  modes: [
    { name: 'eco', kw: 6.5, ths: 390, workmode: 0 },
    { name: 'standard', kw: 7.3, ths: 440, workmode: 1 },
    { name: 'super', kw: 8.1, ths: 480, workmode: 2 },
  ],
  rampUpS: 30,
  softoffDelayS: 5,
};

type Command =
  | { at: number; op: 'softOff' | 'softOn'; when: number }
  | { at: number; op: 'setMode'; mode: number };

interface Case {
  name: string;
  initial: { on: boolean; modeIndex: number };
  commands: Command[];
  /** [nowMs, expected sample] */
  expect: Array<[number, Omit<DeviceSample, 'kw' | 'ths'> & { kw: number; ths: number }]>;
}

const T0 = 1_753_434_816_000;

function run(c: Case): DevicePowerModel {
  const m = new DevicePowerModel(params, c.initial, T0);
  for (const cmd of c.commands) {
    if (cmd.op === 'setMode') m.setMode(cmd.mode, cmd.at);
    else m[cmd.op](cmd.when, cmd.at);
  }
  return m;
}

const cases: Case[] = [
  {
    name: 'softoff at a future time keeps full power until then, standby after',
    initial: { on: true, modeIndex: 2 },
    commands: [{ at: T0, op: 'softOff', when: T0 + 5000 }],
    expect: [
      [T0, { phase: 'stopping', kw: 8.1, ths: 480, modeIndex: 2 }],
      [T0 + 4999, { phase: 'stopping', kw: 8.1, ths: 480, modeIndex: 2 }],
      [T0 + 5000, { phase: 'standby', kw: 0.15, ths: 0, modeIndex: 2 }],
      [T0 + 3_600_000, { phase: 'standby', kw: 0.15, ths: 0, modeIndex: 2 }],
    ],
  },
  {
    name: 'softon ramps linearly from standby to the mode over rampUpS',
    initial: { on: false, modeIndex: 1 },
    commands: [{ at: T0, op: 'softOn', when: T0 + 5000 }],
    expect: [
      [T0 + 4000, { phase: 'standby', kw: 0.15, ths: 0, modeIndex: 1 }],
      [T0 + 5000, { phase: 'starting', kw: 0.15, ths: 0, modeIndex: 1 }],
      [T0 + 20_000, { phase: 'starting', kw: 0.15 + (7.3 - 0.15) / 2, ths: 220, modeIndex: 1 }],
      [T0 + 35_000, { phase: 'working', kw: 7.3, ths: 440, modeIndex: 1 }],
    ],
  },
  {
    name: 'a softoff time in the past takes effect at once',
    initial: { on: true, modeIndex: 0 },
    commands: [{ at: T0 + 10_000, op: 'softOff', when: T0 }],
    expect: [
      [T0 + 10_000, { phase: 'standby', kw: 0.15, ths: 0, modeIndex: 0 }],
    ],
  },
  {
    name: 'mode change while working restarts the ramp towards the new mode',
    initial: { on: true, modeIndex: 2 },
    commands: [{ at: T0, op: 'setMode', mode: 0 }],
    expect: [
      [T0, { phase: 'starting', kw: 0.15, ths: 0, modeIndex: 0 }],
      [T0 + 15_000, { phase: 'starting', kw: 0.15 + (6.5 - 0.15) / 2, ths: 195, modeIndex: 0 }],
      [T0 + 30_000, { phase: 'working', kw: 6.5, ths: 390, modeIndex: 0 }],
    ],
  },
  {
    name: 'setting the current mode again changes nothing',
    initial: { on: true, modeIndex: 1 },
    commands: [{ at: T0, op: 'setMode', mode: 1 }],
    expect: [[T0, { phase: 'working', kw: 7.3, ths: 440, modeIndex: 1 }]],
  },
  {
    name: 'mode change while off only selects the mode for the next softon',
    initial: { on: false, modeIndex: 0 },
    commands: [
      { at: T0, op: 'setMode', mode: 2 },
      { at: T0 + 1000, op: 'softOn', when: T0 + 1000 },
    ],
    expect: [
      [T0 + 500, { phase: 'standby', kw: 0.15, ths: 0, modeIndex: 2 }],
      [T0 + 31_000, { phase: 'working', kw: 8.1, ths: 480, modeIndex: 2 }],
    ],
  },
  {
    name: 'a second softoff replaces the pending one (one SoftOffTime slot)',
    initial: { on: true, modeIndex: 1 },
    commands: [
      { at: T0, op: 'softOff', when: T0 + 5000 },
      { at: T0 + 1000, op: 'softOff', when: T0 + 20_000 },
    ],
    expect: [
      [T0 + 10_000, { phase: 'stopping', kw: 7.3, ths: 440, modeIndex: 1 }],
      [T0 + 20_000, { phase: 'standby', kw: 0.15, ths: 0, modeIndex: 1 }],
    ],
  },
  {
    name: 'softoff then a later softon: standby between, ramp after',
    initial: { on: true, modeIndex: 1 },
    commands: [
      { at: T0, op: 'softOff', when: T0 + 5000 },
      { at: T0 + 60_000, op: 'softOn', when: T0 + 65_000 },
    ],
    expect: [
      [T0 + 30_000, { phase: 'standby', kw: 0.15, ths: 0, modeIndex: 1 }],
      [T0 + 80_000, { phase: 'starting', kw: 0.15 + (7.3 - 0.15) / 2, ths: 220, modeIndex: 1 }],
      [T0 + 95_000, { phase: 'working', kw: 7.3, ths: 440, modeIndex: 1 }],
    ],
  },
  {
    name: 'softoff during a ramp: keeps the ramp until the scheduled time',
    initial: { on: false, modeIndex: 1 },
    commands: [
      { at: T0, op: 'softOn', when: T0 },
      { at: T0 + 10_000, op: 'softOff', when: T0 + 15_000 },
    ],
    expect: [
      [T0 + 12_000, { phase: 'stopping', kw: 0.15 + (7.3 - 0.15) * 0.4, ths: 176, modeIndex: 1 }],
      [T0 + 15_000, { phase: 'standby', kw: 0.15, ths: 0, modeIndex: 1 }],
    ],
  },
  {
    name: 'softon while already working is a no-op (no new ramp)',
    initial: { on: true, modeIndex: 0 },
    commands: [{ at: T0, op: 'softOn', when: T0 + 5000 }],
    expect: [[T0 + 6000, { phase: 'working', kw: 6.5, ths: 390, modeIndex: 0 }]],
  },
];

describe('DevicePowerModel', () => {
  for (const c of cases) {
    it(c.name, () => {
      const m = run(c);
      for (const [now, want] of c.expect) {
        const got = m.sample(now);
        expect({ at: now - T0, phase: got.phase, modeIndex: got.modeIndex }).toEqual({
          at: now - T0,
          phase: want.phase,
          modeIndex: want.modeIndex,
        });
        expect(got.kw).toBeCloseTo(want.kw, 9);
        expect(got.ths).toBeCloseTo(want.ths, 9);
      }
    });
  }

  it('nextChangeMs names the scheduled step and the end of a ramp', () => {
    const m = new DevicePowerModel(params, { on: true, modeIndex: 2 }, T0);
    expect(m.nextChangeMs(T0)).toBeUndefined();
    m.softOff(T0 + 5000, T0);
    expect(m.nextChangeMs(T0)).toBe(T0 + 5000);
    expect(m.nextChangeMs(T0 + 5000)).toBeUndefined();
    m.softOn(T0 + 10_000, T0 + 6000);
    expect(m.nextChangeMs(T0 + 6000)).toBe(T0 + 10_000);
    expect(m.nextChangeMs(T0 + 10_000)).toBe(T0 + 40_000);
    expect(m.nextChangeMs(T0 + 10_000, 1000)).toBe(T0 + 11_000);
    expect(m.nextChangeMs(T0 + 40_000)).toBeUndefined();
  });

  it('reports pending and last scheduled times (SoftOffTime / SoftOnTime)', () => {
    const m = new DevicePowerModel(params, { on: true, modeIndex: 0 }, T0);
    m.softOff(T0 + 5000, T0);
    expect(m.pending(T0)).toEqual({ softOffAtMs: T0 + 5000 });
    expect(m.pending(T0 + 5000)).toEqual({});
    expect(m.lastSoftOffAtMs).toBe(T0 + 5000);
    expect(m.lastSoftOnAtMs).toBeUndefined();
  });

  it('sample is pure: repeated and out-of-order samples agree', () => {
    const m = new DevicePowerModel(params, { on: false, modeIndex: 1 }, T0);
    m.softOn(T0, T0);
    const a = m.sample(T0 + 20_000);
    m.sample(T0 + 90_000);
    expect(m.sample(T0 + 20_000)).toEqual(a);
  });

  it('keeps its history short over a long run (events are folded)', () => {
    const m = new DevicePowerModel(params, { on: true, modeIndex: 0 }, T0);
    for (let i = 0; i < 1000; i++) {
      const t = T0 + i * 120_000;
      if (i % 2 === 0) m.softOff(t + 5000, t);
      else m.softOn(t + 5000, t);
    }
    const last = T0 + 999 * 120_000;
    expect(m.pending(last)).toEqual({ softOnAtMs: last + 5000 });
    expect((m as unknown as { events: unknown[] }).events.length).toBeLessThanOrEqual(2);
    expect(m.sample(last + 35_000).phase).toBe('working');
  });

  it('cancel drops a pending softoff (the unit keeps working, nothing left to wait for)', () => {
    const m = new DevicePowerModel(params, { on: true, modeIndex: 1 }, T0);
    m.softOff(T0 + 30_000, T0);
    expect(m.sample(T0 + 1000).phase).toBe('stopping');
    m.cancel('softOff', T0 + 1000);
    expect(m.sample(T0 + 60_000)).toEqual({ phase: 'working', kw: 7.3, ths: 440, modeIndex: 1 });
    expect(m.nextChangeMs(T0 + 1000)).toBeUndefined();
    m.softOff(T0 + 2000, T0 + 2000);
    m.cancel('softOff', T0 + 3000); // already effective: stays off
    expect(m.sample(T0 + 3000).phase).toBe('standby');
  });

  it('rejects an unknown mode index with a message naming the range', () => {
    const m = new DevicePowerModel(params, { on: true, modeIndex: 0 }, T0);
    expect(() => m.setMode(3, T0)).toThrow(/modeIndex 3 is not in 0\.\.2/);
    expect(() => new DevicePowerModel(params, { on: true, modeIndex: -1 }, T0)).toThrow(RangeError);
    expect(() => m.softOff(NaN, T0)).toThrow('DevicePowerModel: softoff times must be finite, got atMs NaN, nowMs ' + T0);
    expect(() => m.setMode(1, Infinity)).toThrow(RangeError);
  });

  it('rampUpS 0 reaches full output at the softon time', () => {
    const m = new DevicePowerModel({ ...params, rampUpS: 0 }, { on: false, modeIndex: 0 }, T0);
    m.softOn(T0 + 1000, T0);
    expect(m.sample(T0 + 1000)).toEqual({ phase: 'working', kw: 6.5, ths: 390, modeIndex: 0 });
    expect(m.nextChangeMs(T0 + 1000)).toBeUndefined();
  });
});
