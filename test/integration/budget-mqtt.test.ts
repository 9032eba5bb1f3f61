import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { BudgetSource } from '../../src/power/budget-source.js';
import { MqttBudgetSource, parseMqttPayload } from '../../src/power/mqtt-budget-source.js';
import { budgetSourceContract } from '../unit/budget-contract.js';

let broker: Aedes;
let server: Server;
let url: string;
let publisher: mqtt.MqttClient;

beforeAll(async () => {
  broker = await Aedes.createBroker();
  server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  publisher = await mqtt.connectAsync(url);
});

afterAll(async () => {
  await publisher.endAsync(true);
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let topicSeq = 0;

/** Publishes and waits for the source to emit (or 300 ms when it should stay silent). */
async function publishAndWait(source: BudgetSource, topic: string, payload: string): Promise<void> {
  const got = new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 300);
    source.on('reading', () => {
      clearTimeout(t);
      resolve();
    });
  });
  await publisher.publishAsync(topic, payload, { qos: 1 });
  await got;
}

budgetSourceContract('mqtt', async () => {
  const clock = new ManualClock();
  const topic = `site/budget/${++topicSeq}`;
  const source = new MqttBudgetSource({ url, topic, ttlS: 120 }, clock, silentLogger());
  return { source, clock, dynamic: true, produce: (kw) => publishAndWait(source, topic, String(kw)) };
});

describe('mqtt budget source against an in-process aedes broker', () => {
  it('accepts a bare number and { "kw": n }, and counts bad payloads without applying them', async () => {
    const topic = `site/budget/${++topicSeq}`;
    const s = new MqttBudgetSource({ url, topic, ttlS: 30 }, new ManualClock(), silentLogger());
    await s.start();
    await publishAndWait(s, topic, '{"kw": 250.5}');
    expect(s.latest()).toMatchObject({ kw: 250.5, ttlMs: 30_000, source: 'mqtt' });
    await publishAndWait(s, topic, 'lots');
    await publishAndWait(s, topic, '{"kw": "lots"}');
    expect(s.rejected).toBe(2);
    expect(s.latest()!.kw).toBe(250.5);
    await publishAndWait(s, topic, ' 80 ');
    expect(s.latest()!.kw).toBe(80);
    await s.stop();
  });

  it('starts even when the broker is unreachable, and keeps trying', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const s = new MqttBudgetSource({ url: `mqtt://127.0.0.1:${port}`, topic: 'x', ttlS: 30, connectWaitMs: 200 }, new ManualClock(), silentLogger());
    await s.start();
    expect(s.latest()).toBeUndefined();
    await s.stop();
  });
});

describe('mqtt payload parsing', () => {
  it.each([
    ['12', 12],
    ['{"kw":0}', 0],
    ['{"kw":"5"}', 5],
    ['{"kw":', expect.stringMatching(/^payload "\{\\"kw\\":" is neither a number nor JSON; expected /)],
    ['', expect.stringMatching(/^empty payload; expected /)],
    ['-1', 0], // a meter's import: applied as 0 kW (budget-formats.test.ts)
    ['9'.repeat(300), 'payload longer than 256 bytes'],
  ])('%j -> %j', (payload, expected) => {
    expect(parseMqttPayload(Buffer.from(payload))).toEqual(expected);
  });
});
