import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { PeerError, TimeoutError } from '../../src/errors.js';
import { AvalonDriver } from '../../src/fleet/avalon-driver.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { AvalonSimDevice, type AvalonSimOptions } from '../../src/demo/avalon-device.js';
import { SimDeviceFleet } from '../../src/demo/device-fleet.js';
import type { DeviceModelParams, DeviceSample } from '../../src/fleet/device-model.js';

const a1566 = BUILTIN_MODELS['avalon-a1566ha']!;
const params: DeviceModelParams = { standbyKw: a1566.standbyKw, modes: a1566.modes, rampUpS: a1566.rampUpS, softoffDelayS: a1566.softoffDelayS };
const T0 = 1_753_434_816_000; // the Q capture's softoff When, in ms

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(extra: Partial<AvalonSimOptions> = {}): Promise<{ clock: ManualClock; device: AvalonSimDevice; driver: AvalonDriver }> {
  const clock = new ManualClock(T0);
  const device = await AvalonSimDevice.start({ id: 'a1', params, clock, initial: { on: true, modeIndex: 2 }, ...extra });
  cleanups.push(() => device.close());
  const driver = new AvalonDriver({ host: '127.0.0.1', port: device.port, replyTimeoutMs: 300, connectTimeoutMs: 300, readRetries: 0 });
  cleanups.push(() => driver.close());
  return { clock, device, driver };
}

/** The power-state fields: device details (fans, uptime, firmware) are checked in the first reading. */
function withoutDetails<T extends { details?: unknown }>(status: T): Omit<T, 'details'> {
  const { details: _details, ...rest } = status;
  return rest;
}

describe('simulated Avalon driven by the real driver over loopback', () => {
  it('softoff keeps full power until the scheduled time, then standby; softon ramps back', async () => {
    const { clock, device, driver } = await sim();
    const seen: DeviceSample[] = [];
    device.onChange((s) => seen.push(s));

    expect(await driver.readStatus()).toEqual({
      wallPowerW: 8100, workmode: 2, softOff: false, state: 'working', hashrateThs: 480,
      details: { fansRpm: [4300, 4300], firmware: '15-194-24102401_25462b2_9ddf522', inletC: 31, tempMaxC: 78, uptimeS: 0 },
    });

    const at = T0 / 1000 + params.softoffDelayS;
    await driver.softOff(at);
    expect(device.nextChangeMs()).toBe(at * 1000);
    clock.advance(4000);
    expect(await driver.readStatus()).toMatchObject({ wallPowerW: 8100, state: 'working', softOff: false });
    clock.advance(1000);
    device.tick();
    expect(withoutDetails(await driver.readStatus())).toEqual({ wallPowerW: 150, workmode: 2, softOff: true, state: 'idle', hashrateThs: 0 });
    expect(seen.map((s) => s.phase)).toEqual(['stopping', 'standby']);

    await driver.softOn(clock.now() / 1000 + 5);
    clock.advance(5000 + 15_000);
    const mid = await driver.readStatus();
    expect(mid.state).toBe('working');
    expect(mid.wallPowerW).toBe(Math.round((0.15 + (8.1 - 0.15) / 2) * 1000));
    expect(mid.hashrateThs).toBeCloseTo(240, 6);
    clock.advance(15_000);
    expect(await driver.readStatus()).toMatchObject({ wallPowerW: 8100, hashrateThs: 480 });
    const stats = await driver.readStats();
    expect(stats.averageThs).toBeGreaterThan(0);
    expect(stats.averageThs).toBeLessThan(480);
  });

  it('setWorkmode maps the workmode value to the model mode and re-ramps', async () => {
    const { clock, device, driver } = await sim();
    await driver.setWorkmode(0);
    expect(device.sample()).toEqual({ phase: 'starting', kw: 0.15, ths: 0, modeIndex: 0 });
    clock.advance(30_000);
    expect(await driver.readStatus()).toMatchObject({ wallPowerW: 6500, workmode: 0, hashrateThs: 390 });
    await expect(driver.setWorkmode(9)).rejects.toThrow(/STATUS E\/120 "ASC 0 set failed: invalid workmode 9"/);
  });

  it('A1466 quirks: softoff answers S/119, softon closes without a reply; the driver accepts both', async () => {
    const { clock, device, driver } = await sim({ softoffReply: 'ok', softonClosesWithoutReply: true });
    await driver.softOff(T0 / 1000);
    expect(device.sample().phase).toBe('standby');
    await driver.softOn(T0 / 1000);
    clock.advance(30_000);
    expect(device.sample().phase).toBe('working');
  });

  it('fault injection: hang -> TimeoutError, garbage -> still readable, close -> PeerError, refuse -> connection refused, then recovery', async () => {
    const { device, driver } = await sim();
    await device.setFault('hang');
    await expect(driver.readStatus()).rejects.toBeInstanceOf(TimeoutError);
    await device.setFault('garbage');
    expect((await driver.readStatus()).wallPowerW).toBe(8100);
    await device.setFault('close');
    await expect(driver.softOff(T0 / 1000 + 5)).rejects.toThrow(/closed the connection without replying/);
    expect(device.sample().phase).toBe('working');
    await device.setFault('refuse');
    const err = await driver.readStatus().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerError);
    expect((err as Error).message).toBe(`${device.address}: connection refused`);
    await device.setFault('none');
    expect((await driver.readStatus()).state).toBe('working');
    expect(device.requestCounts.get('estats')).toBe(3); // hang, garbage, none: a refused connect never arrives
    expect(device.requestCounts.get('ascset')).toBe(1);
  });

  it('answers unknown commands with E/14 and bad JSON with E/23', async () => {
    const { driver } = await sim();
    await expect(driver.client.request('frobnicate')).rejects.toThrow(/STATUS E\/14 "Invalid command"/);
    const { connect } = await import('node:net');
    const { device } = await sim();
    const got = await new Promise<string>((resolve) => {
      let out = '';
      const s = connect(device.port, '127.0.0.1', () => s.write('estats|0'));
      s.on('data', (c) => (out += c.toString()));
      s.on('end', () => resolve(out));
    });
    expect(got.endsWith('\0')).toBe(true);
    expect(JSON.parse(got.slice(0, -1))).toMatchObject({ STATUS: [{ STATUS: 'E', Code: 23, Msg: 'Invalid JSON' }] });
  });
});

describe('DeviceApiServer framing (through the simulated device)', () => {
  async function rawExchange(port: number, parts: string[]): Promise<{ text: string; closed: 'end' | 'reset' }> {
    const { connect } = await import('node:net');
    return new Promise((resolve) => {
      let out = '';
      const s = connect(port, '127.0.0.1', async () => {
        for (const p of parts) {
          s.write(p);
          await new Promise((r) => setTimeout(r, 10));
        }
      });
      s.on('data', (c) => (out += c.toString()));
      s.on('end', () => resolve({ text: out, closed: 'end' }));
      s.on('error', () => resolve({ text: out, closed: 'reset' }));
    });
  }

  it('a request split across packets is answered once complete', async () => {
    const { device } = await sim();
    const r = await rawExchange(device.port, ['{"command":', '"ascset","parameter":"0,softoff,1:17', '53434821"}']);
    expect(r.text).toBe('{"STATUS":[{"STATUS":"I","When":0,"Code":118,"Msg":"ASC 0 set info: success softoff:1753434821","Description":"cgminer 4.11.1"}],"id":1}\0');
  });

  it('an oversized request is dropped without an answer', async () => {
    const { device } = await sim({ maxRequestBytes: 64 });
    const r = await rawExchange(device.port, ['{"command":"estats","parameter":"' + 'x'.repeat(100)]);
    expect(r.text).toBe('');
    expect(device.requestCounts.size).toBe(0);
  });
});

describe('SimDeviceFleet', () => {
  it('runs many devices on one clock; tick reports changes; totals follow the commands', async () => {
    const clock = new ManualClock(T0);
    const fleet = new SimDeviceFleet({ clock });
    cleanups.push(() => fleet.close());
    const n = 20;
    for (let i = 0; i < n; i++) await fleet.add({ id: `m${i}`, params, initial: { on: true, modeIndex: 1 } });
    expect(fleet.size).toBe(n);
    expect(fleet.totals().kw).toBeCloseTo(n * 7.3, 9);
    const ports = new Set([...fleet.all()].map((d) => d.port));
    expect(ports.size).toBe(n);

    const changes: string[] = [];
    fleet.onChange((id, s) => changes.push(`${id}:${s.phase}`));
    const drivers = [...fleet.all()].slice(0, 5).map((d) => new AvalonDriver({ host: '127.0.0.1', port: d.port }));
    cleanups.push(() => drivers.forEach((d) => d.close()));
    await Promise.all(drivers.map((d) => d.softOff(T0 / 1000 + 5)));
    expect(fleet.nextChangeMs()).toBe(T0 + 5000);
    clock.advance(5000);
    fleet.tick();
    expect(changes.filter((c) => c.endsWith(':standby')).sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'].map((m) => `${m}:standby`));
    expect(fleet.totals().kw).toBeCloseTo(15 * 7.3 + 5 * 0.15, 9);
    expect(fleet.totals().ths).toBeCloseTo(15 * 440, 9);
    await expect(fleet.add({ id: 'm0', params })).rejects.toThrow('SimDeviceFleet: device id "m0" already exists');
  });
});
