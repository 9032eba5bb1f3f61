import { PassThrough } from 'node:stream';
import type mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../support/mqtt-broker.js';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/observability/logger.js';
import { guardBudget } from '../../src/power/budget-guard.js';
import { MqttBudgetSource } from '../../src/power/mqtt-budget-source.js';

/**
 * The MQTT budget source against an in-process aedes broker on 127.0.0.1:
 * each payload form a publisher may send, retained messages at subscribe,
 * and bad payloads (counted, logged, never applied, TTL left running).
 */

let broker: TestBroker;
let url: string;
let publisher: mqtt.MqttClient;
let topicSeq = 0;

beforeAll(async () => {
  broker = await startBroker();
  url = broker.url;
  publisher = broker.publisher;
});

afterAll(() => broker.close());

/** Waits on real time for broker delivery; the deadline only bounds a hang. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Harness {
  source: MqttBudgetSource;
  clock: ManualClock;
  topic: string;
  logs: Record<string, unknown>[];
  /** Messages handled so far: readings plus refusals. */
  handled(): number;
  /** Publishes and waits until the source has handled the message (a reading or a refusal). */
  send(payload: string): Promise<void>;
}

async function harness(ttlS = 30): Promise<Harness> {
  const clock = new ManualClock(1_780_308_000_000);
  const topic = `site/budget/payloads/${++topicSeq}`;
  const stream = new PassThrough();
  const logs: Record<string, unknown>[] = [];
  let tail = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (tail + chunk.toString('utf8')).split('\n');
    tail = lines.pop()!;
    for (const l of lines) if (l) logs.push(JSON.parse(l) as Record<string, unknown>);
  });
  const source = new MqttBudgetSource({ url, topic, ttlS }, clock, createLogger({ level: 'debug', destination: stream }));
  let readings = 0;
  source.on('reading', () => readings++);
  const handled = (): number => readings + source.rejected;
  await source.start();
  return {
    source,
    clock,
    topic,
    logs,
    handled,
    send: async (payload) => {
      const before = handled();
      await publisher.publishAsync(topic, payload, { qos: 1 });
      await until(() => handled() > before, `the source to handle ${JSON.stringify(payload)}`);
    },
  };
}

describe('mqtt budget payloads over a real broker', () => {
  it.each<[string, string, number, number]>([
    ['a bare number', '12.5', 12.5, 30_000],
    ['a JSON string', '"12.5"', 12.5, 30_000],
    ['{ kw }', '{"kw": 40}', 40, 30_000],
    ['{ value, unit: MW }', '{"value": 2.5, "unit": "MW"}', 2500, 30_000],
    ['{ value, unit: W }', '{"value": 1500, "unit": "W"}', 1.5, 30_000],
    ['{ kw, ttlS }: the publisher sets the validity', '{"kw": 5, "ttlS": 600}', 5, 600_000],
  ])('applies %s', async (_, payload, kw, ttlMs) => {
    const h = await harness();
    await h.send(payload);
    expect(h.source.rejected).toBe(0);
    expect(h.source.latest()).toMatchObject({ kw, ttlMs, source: 'mqtt', atMs: h.clock.now() });
    await h.source.stop();
  });

  it('applies a look-ahead (a nowcast) in the unit of the value, from when it arrives', async () => {
    const h = await harness();
    await h.send('{"value": 4.2, "unit": "MW", "lowAhead": 3.4, "aheadS": 120}');
    const now = h.clock.now();
    expect(h.source.latest()).toMatchObject({ kw: 4200, lowAhead: { kw: 3400, untilMs: now + 120_000 } });
    expect(guardBudget(h.source.latest(), now + 20_000, { holdLastS: 0, failsafeKw: 0 })).toMatchObject({ kw: 4200, lowAhead: { kw: 3400, untilMs: now + 120_000 } });
    // A look-ahead that contradicts its value is refused whole: the last reading stands.
    await h.send('{"kw": 10, "lowAhead": 20, "aheadS": 60}');
    expect(h.source.rejected).toBe(1);
    expect(h.source.latest()!.kw).toBe(4200);
    await h.source.stop();
  });

  it('applies a retained message at subscribe', async () => {
    const topic = `site/budget/payloads/retained-${++topicSeq}`;
    await publisher.publishAsync(topic, '{"value": 0.75, "unit": "MW"}', { qos: 1, retain: true });
    const s = new MqttBudgetSource({ url, topic, ttlS: 30 }, new ManualClock(5), createLogger({ level: 'silent' }));
    try {
      await s.start();
      await until(() => s.latest() !== undefined, 'the retained reading');
      expect(s.latest()).toMatchObject({ kw: 750, atMs: 5, ttlMs: 30_000 });
    } finally {
      await s.stop();
      await publisher.publishAsync(topic, '', { qos: 1, retain: true }); // clears the retained message
    }
  });

  it('counts and logs bad payloads, never applies them, and leaves the TTL running', async () => {
    const h = await harness(30);
    const t0 = h.clock.now();
    await h.send('{"kw": 40}');
    const bad = ['lots', '{"kw": "many"}', '{"kw": 5, "unit": "MW"}', '{"value": 1, "unit": "GW"}', '[40]', '{"kw": 5, "ttlS": 0}', 'x'.repeat(300)];
    for (const payload of bad) {
      h.clock.advance(2000);
      await h.send(payload);
    }
    expect(h.source.rejected).toBe(bad.length);
    expect(h.source.latest()).toMatchObject({ kw: 40, atMs: t0, ttlMs: 30_000 });
    // Still stamped at t0: 31 s later the guard holds, as if the publisher had gone quiet.
    expect(guardBudget(h.source.latest(), t0 + 31_000, { holdLastS: 60, failsafeKw: 0 })).toMatchObject({ status: 'holding', kw: 40 });
    const warnings = (): Array<Record<string, unknown>> => h.logs.filter((l) => l['level'] === 40);
    // Rate-limited per topic (issue 11): 5 a minute, the rest counted.
    expect(warnings()).toHaveLength(5);
    expect(warnings()[1]).toMatchObject({ msg: 'mqtt budget source: kw must be a number (or a numeric string), got "many"', topic: h.topic, rejected: 2 });
    expect(warnings()[2]!['msg']).toMatch(/unit "MW" contradicts the key "kw"/);
    // A minute later the next one is logged again, and the two held back are reported.
    h.clock.advance(60_000);
    await h.send('y'.repeat(300));
    expect(warnings().some((w) => w['suppressed'] === 2)).toBe(true);
    // Logged payloads are truncated.
    expect((warnings().at(-1)!['payload'] as string).length).toBe(64);
    await h.source.stop();
  });

  it('applies a negative value (a meter importing) as 0 kW, warning once per run of negatives', async () => {
    const h = await harness();
    await h.send('25');
    await h.send('-1.5');
    expect(h.source.latest()!.kw).toBe(0);
    await h.send('{"value": -200, "unit": "W"}');
    await h.send('10');
    await h.send('-3');
    expect(h.source.rejected).toBe(0);
    expect(h.source.negatives).toBe(3);
    expect(h.source.latest()!.kw).toBe(0);
    const negatives = h.logs.filter((l) => String(l['msg']).includes('negative value'));
    expect(negatives.map((l) => [l['level'], l['value']])).toEqual([
      [40, -1.5],
      [20, -200],
      [40, -3],
    ]);
    await h.source.stop();
  });
});
