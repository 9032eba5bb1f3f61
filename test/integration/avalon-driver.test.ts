import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerError, TimeoutError, OverloadError, InputError } from '../../src/errors.js';
import { AvalonDriver } from '../../src/fleet/avalon-driver.js';
import { parseDevRates } from '../support/dev-rates.js';
import { DeviceRefusedError } from '../../src/fleet/cgminer-client.js';
import { fixtureBytes, startReplayDevice, type ReplayDevice, type Router } from './replay-device.js';

const Q = 'avalon-q-25052801';
const A15 = 'a1566-24102401';
/** No STATUS E capture from an Avalon exists (SOURCES.md); this follows the firmware's E/120 "ASC %d set failed: %s" rule. */
const E_REPLY = '{"STATUS":[{"STATUS":"E","When":1753434816,"Code":120,"Msg":"ASC 0 set failed: Invalid parameter","Description":"cgminer 4.11.1"}],"id":1}\0';
const E_INVALID = '{"STATUS":[{"STATUS":"E","When":1,"Code":14,"Msg":"Invalid command","Description":"cgminer 4.11.1"}],"id":1}\0';

let device: ReplayDevice | undefined;
let driver: AvalonDriver | undefined;
afterEach(async () => {
  driver?.close();
  driver = undefined;
  await device?.close();
  device = undefined;
});

// Attempts and outcomes are read where the product sees them: the requests the device got, and what each call returned.
async function setup(route: Router, opts: Partial<ConstructorParameters<typeof AvalonDriver>[0]> = {}): Promise<{ device: ReplayDevice; driver: AvalonDriver }> {
  device = await startReplayDevice(route);
  driver = new AvalonDriver({ host: '127.0.0.1', port: device.port, replyTimeoutMs: 1000, connectTimeoutMs: 1000, retryBaseMs: 5, retryMaxMs: 20, ...opts });
  return { device, driver };
}

describe('AvalonDriver against replayed captures (loopback)', () => {
  it('readStatus on the A1566 estats capture + NUL', async () => {
    const { device, driver } = await setup(() => ({ kind: 'reply', file: `${A15}/estats.json` }));
    const s = await driver.readStatus();
    expect(s).toMatchObject({ wallPowerW: 3731, workmode: 1, softOff: false, state: 'working' });
    expect(s.hashrateThs).toBeCloseTo(199.24107, 5);
    // What the dashboard shows per unit (issue 13).
    expect(s.details).toEqual({ tempMaxC: 78, inletC: 31, fansRpm: [4275, 4282], uptimeS: 975, firmware: '15-194-24102401_25462b2_9ddf522' });
    expect(device.requests).toEqual([{ command: 'estats' }]); // one attempt
    const stats = await driver.readStats();
    expect(stats.mpoW).toBe(3515);
  });

  it('falls back to stats when estats is refused (Q capture: soft-off, idle, PS[6] 146)', async () => {
    const { device, driver } = await setup((req) => (req.command === 'estats' ? { kind: 'raw', bytes: E_INVALID } : { kind: 'reply', file: `${Q}/stats.json` }));
    expect(await driver.readStatus()).toEqual({
      wallPowerW: 146,
      workmode: 0,
      softOff: true,
      state: 'idle',
      hashrateThs: 0,
      details: { inletC: 26, fansRpm: [0, 0, 0, 0], uptimeS: 37819, firmware: 'Q-25052801_14a19a2' },
    });
    expect(device.requests.map((r) => r.command)).toEqual(['estats', 'stats']);
  });

  it('A1246 stats (no WALLPOWER) gives PS[6] as wall power', async () => {
    const { driver } = await setup((req) => (req.command === 'estats' ? { kind: 'reply', file: `${Q}/summary.json` } : { kind: 'reply', file: 'a1246-21072802/stats.json' }));
    expect(await driver.readStatus()).toMatchObject({ wallPowerW: 3504, state: 'working' });
  });

  it('softOff sends ascset 0,softoff,1:<t> and accepts I/118 "set info: success"', async () => {
    const { device, driver } = await setup(() => ({ kind: 'reply', file: `${Q}/ascset_softoff.json` }));
    await driver.softOff(1753434821);
    expect(device.requests).toEqual([{ command: 'ascset', parameter: '0,softoff,1:1753434821' }]);
  });

  it('softOff accepts the S/119 "set OK" shape (A1466)', async () => {
    const { driver } = await setup(() => ({ kind: 'reply', file: `${Q}/ascset_workmode.json` }));
    await expect(driver.softOff(1753434821)).resolves.toBeUndefined();
  });

  it('softOn sends 0,softon,1:<t> and accepts I/118', async () => {
    const { device, driver } = await setup(() => ({ kind: 'reply', file: `${Q}/ascset_softon.json` }));
    await driver.softOn(1753434757);
    expect(device.requests).toEqual([{ command: 'ascset', parameter: '0,softon,1:1753434757' }]);
  });

  it('softOn that closes without a reply (FIN or RST) is success; softOff doing the same is a PeerError', async () => {
    const { device, driver } = await setup((_req, i) => (i % 2 === 0 ? { kind: 'close' } : { kind: 'reset' }));
    await expect(driver.softOn(1753434757)).resolves.toBeUndefined();
    await expect(driver.softOn(1753434757)).resolves.toBeUndefined();
    expect(device.requests).toHaveLength(2); // each accepted at its first close, no retry
    const err = await driver.softOff(1753434821).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerError);
    expect((err as PeerError).message).toBe(`${driver.address}: closed the connection without replying to "ascset"`);
  });

  it('setWorkmode sends 0,workmode,set,<n> and accepts S/119 "set OK"', async () => {
    const { device, driver } = await setup(() => ({ kind: 'reply', file: `${Q}/ascset_workmode.json` }));
    await driver.setWorkmode(1);
    expect(device.requests).toEqual([{ command: 'ascset', parameter: '0,workmode,set,1' }]);
  });

  it('STATUS E is a DeviceRefusedError (a PeerError) carrying the device message, not retried', async () => {
    const { device, driver } = await setup(() => ({ kind: 'raw', bytes: E_REPLY }));
    const err = await driver.setWorkmode(7).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceRefusedError);
    expect(err).toBeInstanceOf(PeerError);
    expect((err as PeerError).code).toBe('SURPLUS_ERR_PEER');
    expect((err as PeerError).message).toBe(`${driver.address}: "ascset" refused: STATUS E/120 "ASC 0 set failed: Invalid parameter"`);
    expect(device.requests).toHaveLength(1);
  });

  it('a garbage `,"id":1}` prefix before the capture is repaired', async () => {
    const { driver } = await setup(() => ({ kind: 'reply', file: `${Q}/ascset_softoff.json`, prefix: ',"id":1}' }));
    await expect(driver.softOff(1753434821)).resolves.toBeUndefined();
  });

  it('a lone `,"id":1}` fragment (no STATUS) is a PeerError', async () => {
    const { driver } = await setup(() => ({ kind: 'raw', bytes: ',"id":1}\0' }));
    await expect(driver.softOff(1753434821)).rejects.toThrow(/reply to "ascset" has no STATUS/);
  });

  it('bare inf/nan injected in numeric fields are read; "Avalonnano" survives', async () => {
    const { driver } = await setup((req) =>
      req.command === 'devs'
        ? { kind: 'reply', file: `${A15}/devs.json`, edits: [['"MHS 30s": 197497926.49', '"MHS 30s": nan'], ['"Temperature": -273.0', '"Temperature": -inf']] }
        : { kind: 'reply', file: `${A15}/version.json`, edits: [['"AvalonMiner 15-194"', '"Avalonnano"'], ['"UPAPI": "2"', '"UPAPI": inf']] },
    );
    const devs = await driver.client.request('devs', undefined, { idempotent: true });
    const rates = parseDevRates(devs.reply!.body)!;
    expect(rates.currentKey).toBe('MHS 1m');
    expect(devs.reply!.repairs).toContain('non-finite-number');
    const version = await driver.client.request('version', undefined, { idempotent: true });
    const v = (version.reply!.body['VERSION'] as Array<Record<string, unknown>>)[0]!;
    expect(v['PROD']).toBe('Avalonnano');
    expect(v['UPAPI']).toBe(Infinity);
  });

  it('GHSspd[nan] inside the MM ID0 string is no reading, not a crash', async () => {
    const { driver } = await setup(() => ({ kind: 'reply', file: `${A15}/estats.json`, edits: [['GHSspd[199241.07]', 'GHSspd[nan]']] }));
    const s = await driver.readStats();
    expect(s.hashrateSource).toBe('GHSmm');
  });

  it('reads a reply that arrives in small chunks', async () => {
    const { driver } = await setup(() => ({ kind: 'reply', file: `${A15}/estats.json`, chunkBytes: 997 }));
    expect((await driver.readStatus()).wallPowerW).toBe(3731);
  });

  it('a reply without NUL ends at close', async () => {
    const { driver } = await setup(() => ({ kind: 'reply', file: `${Q}/ascset_softon.json`, nul: false }));
    await expect(driver.softOn(1753434757)).resolves.toBeUndefined();
  });

  it('a hanging device: TimeoutError with the address, and no socket left open', async () => {
    const { device, driver } = await setup(() => ({ kind: 'hang' }), { replyTimeoutMs: 150 });
    const err = await driver.softOff(1753434821).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).message).toBe(`${driver.address}: no reply to "ascset" within 150 ms`);
    await device.idle();
    expect(device.open()).toBe(0);
    expect((err as TimeoutError).code).toBe('SURPLUS_ERR_TIMEOUT');
    expect(device.requests).toHaveLength(1); // a write: one attempt
  });

  it('reads are retried after a hang; writes are not', async () => {
    const { device, driver } = await setup((req, i) => (i === 0 || req.command === 'ascset' ? { kind: 'hang' } : { kind: 'reply', file: `${A15}/estats.json` }), {
      replyTimeoutMs: 100,
    });
    expect((await driver.readStatus()).wallPowerW).toBe(3731);
    expect(device.requests.map((r) => r.command)).toEqual(['estats', 'estats']); // answered on the second attempt
    await expect(driver.softOff(1753434821)).rejects.toBeInstanceOf(TimeoutError);
    expect(device.requests.filter((r) => r.command === 'ascset')).toHaveLength(1);
  });

  it('connection refused is a PeerError naming the address; reads give up after the retries', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    driver = new AvalonDriver({ host: '127.0.0.1', port, retryBaseMs: 1, retryMaxMs: 2 });
    const err = await driver.softOn(1753434757).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerError);
    expect((err as PeerError).message).toBe(`127.0.0.1:${port}: connection refused`);
    await expect(driver.readStatus()).rejects.toThrow(`127.0.0.1:${port}: connection refused`);
  });

  it('a peer error (reset before any reply) on a read is retried twice, on a write never', async () => {
    const { device, driver } = await setup(() => ({ kind: 'reset' }), { retryBaseMs: 1, retryMaxMs: 2 });
    await expect(driver.client.request('estats', undefined, { idempotent: true })).rejects.toBeInstanceOf(PeerError);
    expect(device.requests.map((r) => r.command)).toEqual(['estats', 'estats', 'estats']);
    await expect(driver.softOff(1753434821)).rejects.toBeInstanceOf(PeerError);
    expect(device.requests.filter((r) => r.command === 'ascset')).toHaveLength(1);
  });

  it('one command in flight per device: concurrent calls are serialised', async () => {
    const { device, driver } = await setup((req) => (req.command === 'estats' ? { kind: 'reply', file: `${A15}/estats.json`, chunkBytes: 2000 } : { kind: 'reply', file: `${Q}/ascset_softoff.json` }));
    const results = await Promise.all([driver.readStatus(), driver.softOff(1753434821), driver.readStatus(), driver.softOff(1753434822)]);
    expect(results[0]).toMatchObject({ wallPowerW: 3731 });
    expect(device.requests.map((r) => r.parameter ?? r.command)).toEqual(['estats', '0,softoff,1:1753434821', 'estats', '0,softoff,1:1753434822']);
    expect(device.maxConcurrent()).toBe(1);
  });

  it('a full queue is an OverloadError, not unbounded growth', async () => {
    const { driver } = await setup(() => ({ kind: 'hang' }), { maxQueue: 1, replyTimeoutMs: 100 });
    const first = driver.softOff(1753434821).catch((e: unknown) => e);
    const second = driver.softOff(1753434822).catch((e: unknown) => e);
    await expect(driver.softOff(1753434823)).rejects.toBeInstanceOf(OverloadError);
    expect(await first).toBeInstanceOf(TimeoutError);
    expect(await second).toBeInstanceOf(TimeoutError);
  });

  it('a reply over maxReplyBytes is a PeerError', async () => {
    const { driver } = await setup(() => ({ kind: 'reply', file: `${A15}/estats.json` }), { maxReplyBytes: 4096, readRetries: 0 });
    await expect(driver.readStatus()).rejects.toThrow(/exceeds 4096 bytes/);
  });

  it('close() aborts the command in flight and frees the device socket', async () => {
    const { device, driver } = await setup(() => ({ kind: 'hang' }));
    const pending = driver.readStatus().catch((e: unknown) => e);
    while (device.open() === 0) await new Promise((r) => setTimeout(r, 5));
    driver.close();
    expect(await pending).toBeInstanceOf(PeerError);
    await device.idle();
    await expect(driver.readStatus()).rejects.toThrow(/client closed/);
  });

  it('rejects bad arguments before touching the network', async () => {
    const { device, driver } = await setup(() => ({ kind: 'hang' }));
    await expect(driver.softOff(1.5)).rejects.toBeInstanceOf(InputError);
    await expect(driver.setWorkmode(-1)).rejects.toThrow('setWorkmode: mode must be an integer 0..255, got -1');
    expect(device.requests).toEqual([]);
  });

  it('the captures are sent byte for byte (sanity check of the replay device)', async () => {
    const { device } = await setup(() => ({ kind: 'reply', file: `${Q}/ascset_softoff.json` }));
    const { connect } = await import('node:net');
    const got = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = connect(device.port, '127.0.0.1', () => s.write('{"command":"ascset","parameter":"0,softoff,1:1753434821"}'));
      s.on('data', (c) => chunks.push(c));
      s.on('end', () => resolve(Buffer.concat(chunks)));
    });
    expect(got).toEqual(Buffer.concat([fixtureBytes(`${Q}/ascset_softoff.json`), Buffer.from([0])]));
  });
});

describe('AvalonDriver.fromAddress', () => {
  it('parses host:port and [v6]:port and talks to that address', async () => {
    device = await startReplayDevice(() => ({ kind: 'reply', file: `${Q}/ascset_softon.json` }));
    driver = AvalonDriver.fromAddress(`127.0.0.1:${device.port}`, { replyTimeoutMs: 500 });
    expect(driver.address).toBe(`127.0.0.1:${device.port}`);
    await driver.softOn(1753434757);
    expect(AvalonDriver.fromAddress('[::1]:4028').address).toBe('[::1]:4028');
  });
  it('rejects a malformed address with a message naming what is allowed', () => {
    for (const bad of ['miner-1', 'miner-1:0', 'miner-1:70000', 'a b:4028']) {
      expect(() => AvalonDriver.fromAddress(bad)).toThrow(`device api address must be "host:port" with port 1..65535, got ${JSON.stringify(bad)}`);
    }
  });
});
