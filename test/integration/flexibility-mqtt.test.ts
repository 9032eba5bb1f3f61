/**
 * Flexibility for the grid (issue 12 item 9), live: the kW the fleet can
 * shed within the cut deadline and add within 1 and 5 minutes, in
 * `/api/status`, `/metrics` and published as site status to an MQTT topic,
 * against a real broker started by the test (aedes, in process, on
 * loopback) and real simulated devices.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { resolveConfig } from '../../src/config/load.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { PublishedStatus } from '../../src/operator/mqtt-status-publisher.js';
import { SimDeviceFleet } from '../../src/demo/device-fleet.js';
import { SimPool } from '../../src/demo/sim-pool.js';
import { Site } from '../../src/site.js';
import { startBroker, type TestBroker } from '../support/mqtt-broker.js';

const TOKEN = 'flex-test-token';
const MODEL = BUILTIN_MODELS['avalon-a1566ha']!;
const TOPIC = 'site/a/status';

describe('flexibility: live in /api/status, /metrics and on MQTT', () => {
  let broker: TestBroker;
  let pool: SimPool;
  let devices: SimDeviceFleet;
  let site: Site;
  let sub: mqtt.MqttClient;
  const messages: PublishedStatus[] = [];

  beforeAll(async () => {
    broker = await startBroker();
    pool = new SimPool({ jobIntervalMs: 0 });
    await pool.start();
    devices = new SimDeviceFleet({ clock: systemClock, autoTickMs: 250 });
    const miners = [];
    for (let i = 0; i < 4; i++) {
      const dev = await devices.add({ id: `u${i}`, params: MODEL, initial: { on: true, modeIndex: 2 } }); // super, as the fleet assumes: nothing to reconcile
      miners.push({ id: `u${i}`, worker: `site.u${i}`, model: 'avalon-a1566ha', api: dev.address });
    }
    sub = await mqtt.connectAsync(broker.url);
    sub.on('message', (_t, payload) => messages.push(JSON.parse(payload.toString()) as PublishedStatus));
    await sub.subscribeAsync(TOPIC);
    const config = resolveConfig({
      listen: '127.0.0.1:0',
      pools: [{ url: pool.url, user: 'site', password: 'x' }],
      http: { listen: '127.0.0.1:0', token: TOKEN },
      shares: { hashThreads: 1 },
      fleet: { miners },
      budget: { source: 'http', initialKw: 100, ttlS: 600, holdLastS: 60, failsafeKw: 0 },
      scheduler: { tickS: 0.5, minOffS: 300, cutDeadlineS: 10, rampKwPerMin: 500, withholdGraceS: 30 },
      statusMqtt: { url: broker.url, topic: TOPIC, intervalS: 0.2 },
      log: { level: 'silent' },
    });
    site = await Site.start({ config, logger: silentLogger(), clock: systemClock });
  });

  afterAll(async () => {
    await site?.close();
    await sub?.endAsync(true);
    await devices?.close();
    await pool?.stop();
    await broker?.close();
  });

  const waitFor = async <T>(fn: () => T | undefined, what: string): Promise<T> => {
    const until = Date.now() + 10_000;
    for (;;) {
      const v = fn();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('reports what the fleet can shed and add, and publishes it with the budget', async () => {
    // 100 kW: all four run in the top mode (super); nothing to add, all of it to shed (lead 6 s <= 10 s).
    const shed = 4 * (8.1 - MODEL.standbyKw);
    const msg = await waitFor(() => messages.find((m) => m.flexibility && m.plannedKw > 32 && Math.abs(m.flexibility.shedKw - shed) < 1e-6), 'a status with the full fleet on');
    expect(msg.budget).toMatchObject({ kw: 100, status: 'live', source: 'http' });
    expect(msg.flexibility).toMatchObject({ shedWithinS: 10, add1MinKw: 0, add5MinKw: 0 });

    // Cut to room for two: two units off, held by minOffS (300 s) beyond the 5-minute horizon.
    const res = await fetch(`${site.httpUrl}/api/budget`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ kw: 17 }) });
    expect(res.status).toBe(200);
    const after = await waitFor(() => messages.find((m) => m.budget.kw === 17 && m.flexibility && m.flexibility.shedKw < shed - 1), 'a status after the cut');
    expect(after.flexibility!.shedKw).toBeCloseTo(2 * (8.1 - MODEL.standbyKw), 6);
    expect(after.flexibility!.add5MinKw).toBe(0);

    const status = (await (await fetch(`${site.httpUrl}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { flexibility: { shedKw: number; add5MinKw: number } };
    expect(status.flexibility.shedKw).toBeCloseTo(2 * (8.1 - MODEL.standbyKw), 6);
    const metrics = await (await fetch(`${site.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(Number(/^surplus_flex_shed_kw (\S+)$/m.exec(metrics)?.[1])).toBeCloseTo(2 * (8.1 - MODEL.standbyKw), 1);
    expect(metrics).toMatch(/^surplus_flex_add_kw\{within="300s"\} 0$/m);
    // Wear since start (issue 12 item 7): two units cycled once each; the energy report's after-deadline figure.
    expect(metrics).toMatch(/^surplus_cycles_per_unit\{stat="max"\} 1$/m);
    expect(metrics).toMatch(/^surplus_cycles_per_unit\{stat="mean"\} 0\.5$/m);
    expect(metrics).toMatch(/^surplus_energy_after_deadline_above_kwh 0$/m);
    // The two units off are held by minOffS, not by the wear budget (24 cycles, one spent).
    expect(metrics).toMatch(/^surplus_wear_held_kw 0$/m);
    expect(metrics).toMatch(/^surplus_wear_held_kwh 0$/m);
    // Exported (the figure needs two energy samples a second apart; its arithmetic is unit-tested).
    const floorPct = Number(/^surplus_absorbed_above_floor_pct (\S+)$/m.exec(metrics)?.[1]);
    expect(floorPct).toBeGreaterThanOrEqual(0);
    expect(floorPct).toBeLessThanOrEqual(100);
    const wear = (status as unknown as { wear: { cyclesPerUnit: { max: number; p95: number } } }).wear;
    expect(wear.cyclesPerUnit).toMatchObject({ max: 1, p95: 1 });

    // A nowcast with the budget: the room it expects to go buys no switch-on, and the operator sees why.
    const put = await fetch(`${site.httpUrl}/api/budget`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ kw: 100, lowAhead: 17, aheadS: 600 }) });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { lowAhead?: { kw: number } }).lowAhead).toMatchObject({ kw: 17 });
    const ahead = (await (await fetch(`${site.httpUrl}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { budget: { kw: number; lowAhead?: { kw: number; untilMs: number } }; limitedBy: string | null; plannedKw: number };
    expect(ahead.budget).toMatchObject({ kw: 100, lowAhead: { kw: 17 } });
    expect(ahead.plannedKw).toBeLessThanOrEqual(17);
    const m2 = await (await fetch(`${site.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(m2).toMatch(/^surplus_budget_low_ahead_kw 17$/m);
    expect(m2).toMatch(/^surplus_budget_kw 100$/m);
    // The site status on MQTT carries it too, for the EMS that sent it to see it taken.
    await waitFor(() => messages.find((m) => m.budget.lowAhead?.kw === 17), 'a status with the look-ahead');
  });
});
