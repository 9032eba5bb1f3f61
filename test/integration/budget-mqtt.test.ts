import { createServer, type AddressInfo } from 'node:net';
import type mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../support/mqtt-broker.js';
import { settleOn } from '../support/manual-time.js';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { BudgetSource } from '../../src/power/budget-source.js';
import { MqttBudgetSource } from '../../src/power/mqtt-budget-source.js';
import { parseBudgetPayload } from '../../src/power/budget-payload.js';
import { budgetSourceContract } from '../unit/budget-contract.js';

let broker: TestBroker;
let url: string;
let publisher: mqtt.MqttClient;

beforeAll(async () => {
  broker = await startBroker();
  url = broker.url;
  publisher = broker.publisher;
});

afterAll(() => broker.close());

let topicSeq = 0;

/** Exposes whether the source is running, so the harness knows whether a reading can still come. */
class ProbedMqttSource extends MqttBudgetSource {
  get isRunning(): boolean {
    return this.running;
  }
}

/** Waits for a condition on real time; the deadline only bounds a hang (broker delivery on a loaded machine can take a second). */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Publishes a payload the source must apply, and waits until it has emitted a reading for it. */
async function publishReading(source: BudgetSource, topic: string, payload: string): Promise<void> {
  let got = false;
  const onReading = (): void => void (got = true);
  source.on('reading', onReading);
  try {
    await publisher.publishAsync(topic, payload, { qos: 1 });
    await until(() => got, `a reading for ${JSON.stringify(payload)}`);
  } finally {
    source.off('reading', onReading);
  }
}

/** Publishes a payload the source must refuse, and waits until it has counted the refusal. */
async function publishRejected(source: MqttBudgetSource, topic: string, payload: string): Promise<void> {
  const before = source.rejected;
  await publisher.publishAsync(topic, payload, { qos: 1 });
  await until(() => source.rejected > before, `the refusal of ${JSON.stringify(payload)}`);
}

budgetSourceContract('mqtt', async () => {
  const clock = new ManualClock();
  const topic = `site/budget/${++topicSeq}`;
  const source = new ProbedMqttSource({ url, topic, ttlS: 120 }, clock, silentLogger());
  const produce = async (kw: number): Promise<void> => {
    // A stopped source has left the broker: nothing can arrive, so "could have been emitted" is now.
    if (!source.isRunning) return void (await publisher.publishAsync(topic, String(kw), { qos: 1 }));
    await publishReading(source, topic, String(kw));
  };
  return { source, clock, dynamic: true, produce };
});

describe('mqtt budget source against an in-process aedes broker', () => {
  it('accepts a bare number and { "kw": n }, and counts bad payloads without applying them', async () => {
    const topic = `site/budget/${++topicSeq}`;
    const s = new MqttBudgetSource({ url, topic, ttlS: 30 }, new ManualClock(), silentLogger());
    await s.start();
    await publishReading(s, topic, '{"kw": 250.5}');
    expect(s.latest()).toMatchObject({ kw: 250.5, ttlMs: 30_000, source: 'mqtt' });
    await publishRejected(s, topic, 'lots');
    await publishRejected(s, topic, '{"kw": "lots"}');
    expect(s.rejected).toBe(2);
    expect(s.latest()!.kw).toBe(250.5);
    await publishReading(s, topic, ' 80 ');
    expect(s.latest()!.kw).toBe(80);
    await s.stop();
  });

  it('starts even when the broker is unreachable, and keeps trying', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const clock = new ManualClock();
    const s = new MqttBudgetSource({ url: `mqtt://127.0.0.1:${port}`, topic: 'x', ttlS: 30, connectWaitMs: 200 }, clock, silentLogger());
    // start() waits connectWaitMs on the source's clock for a first connect, then returns.
    await settleOn(clock, s.start(), { withinMs: 200 });
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
    // What MqttBudgetSource applies for one message: the kW, or why it is not a budget.
    const v = parseBudgetPayload(Buffer.from(payload));
    expect(v.ok ? v.kw : v.reason).toEqual(expected);
  });
});
