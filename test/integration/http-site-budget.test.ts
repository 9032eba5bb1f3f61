import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { SimDeviceFleet } from '../../src/demo/device-fleet.js';
import { SimPool } from '../../src/demo/sim-pool.js';
import { Site } from '../../src/site.js';
import { ManualClock } from '../../src/clock.js';
import { fakeTime } from '../support/manual-time.js';

const TOKEN = 'site-token-5c2e91ab';
const MODEL = {
  standbyKw: 0.1,
  modes: [
    { name: 'low', kw: 5, ths: 300, workmode: 0 },
    { name: 'high', kw: 7, ths: 400, workmode: 1 },
  ],
  rampUpS: 0.5,
  softoffDelayS: 0,
};

interface Status {
  budget: { kw: number; source: string; status: string };
  plannedKw: number;
  measuredKw: number;
  scheduler: { decisions: Record<string, number> };
}

/**
 * The operator's control path end to end on real sockets: PUT /api/budget ->
 * the HTTP budget source -> the scheduler -> cgminer commands to simulated
 * Avalons -> their measured draw back in /api/status.
 */
describe('PUT /api/budget drives a real site', () => {
  let pool: SimPool;
  let devices: SimDeviceFleet;
  let site: Site;
  // Pool, devices and site on one ManualClock over real sockets; waits pass as site time.
  const time = fakeTime(new ManualClock(Date.now()));
  const clock = time.clock;

  const status = async (): Promise<Status> => (await (await fetch(`${site.httpUrl}/api/status`)).json()) as Status;
  const put = (kw: number, token = TOKEN) =>
    fetch(`${site.httpUrl}/api/budget`, { method: 'PUT', body: JSON.stringify({ kw }), headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
  const until = async (what: string, ok: (s: Status) => boolean, ms = 15_000): Promise<Status> => {
    const end = clock.now() + ms;
    for (;;) {
      const s = await status();
      if (ok(s)) return s;
      if (clock.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s)}`);
      await time.pass(100);
    }
  };

  beforeAll(async () => {
    pool = new SimPool({ clock });
    await pool.start();
    devices = new SimDeviceFleet({ clock, autoTickMs: 100 });
    const miners = [];
    for (const id of ['u1', 'u2', 'u3']) {
      const dev = await devices.add({ id, params: MODEL, initial: { on: false, modeIndex: 1 } });
      miners.push({ id, worker: `site.${id}`, model: 'test-unit', api: dev.address });
    }
    const config = resolveConfig({
      listen: '127.0.0.1:0',
      pools: [{ url: pool.url, user: 'site', password: 'pool-secret-3' }],
      http: { listen: '127.0.0.1:0', token: TOKEN },
      budget: { source: 'http', initialKw: 0, ttlS: 60 },
      shares: { hashThreads: 1 },
      fleet: { models: { 'test-unit': MODEL }, miners },
      // minOnS pins a unit's mode for a while after a change, as on a real site (with 0 the
      // policy may flip modes every tick, restarting ramps, and the draw never settles).
      scheduler: { tickS: 0.2, cutDeadlineS: 1, minOnS: 5, minOffS: 0, commandStaggerMs: 0, hysteresisKw: 0 },
    });
    site = await Site.start({ config, logger: silentLogger(), clock, sampleIntervalMs: 200, initialUnitState: () => ({ on: false }) });
  });

  afterAll(async () => {
    await site?.close();
    await devices?.close();
    await pool?.stop();
  });

  it('ignores a PUT with a wrong token', async () => {
    expect((await put(14, 'not-the-token')).status).toBe(401);
    await time.pass(500);
    const s = await status();
    expect(s.budget.kw).toBe(0);
    expect(s.measuredKw).toBeLessThan(1);
  });

  it('switches units on to fill a budget set over HTTP, and off again', { timeout: 60_000 }, async () => {
    const r = await put(14);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ kw: 14, source: 'http', status: 'live' });

    // Which units and modes fill 14 kW is the policy's business; the device APIs
    // report the draw once the units have ramped, and it stays within the budget.
    const on = await until('units drawing most of the budget', (s) => s.measuredKw > 10);
    expect(on.plannedKw).toBeLessThanOrEqual(14);
    expect(on.measuredKw).toBeLessThanOrEqual(14);
    const switchedOn = on.scheduler.decisions['on']!;
    expect(switchedOn).toBeGreaterThanOrEqual(2);

    expect((await put(0)).status).toBe(200);
    const off = await until('everything back to standby', (s) => s.measuredKw < 0.5);
    expect(off.scheduler.decisions['off']).toBe(switchedOn);

    const metrics = await (await fetch(`${site.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^surplus_scheduler_decisions_total\\{action="on"\\} ${switchedOn}$`, 'm'));
    // The softons the scheduler sent were timed on their way to the devices.
    const softons = Number(/^surplus_device_command_seconds_count\{command="softon"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(softons).toBeGreaterThanOrEqual(2);
    expect(metrics).toMatch(/^surplus_budget_source_status\{source="http",status="live"\} 1$/m);
    const config = await (await fetch(`${site.httpUrl}/api/config`)).text();
    expect(config).not.toContain(TOKEN);
    expect(config).not.toContain('pool-secret-3');
  });
});
