import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Demo, rotateTrace } from '../../src/commands/demo.js';
import { silentLogger } from '../../src/observability/logger.js';

const RUN_S = 9;

/** The value of one sample line of the Prometheus text. */
function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

describe('surplus demo, the shipped configuration on real loopback sockets', () => {
  let demo: Demo;

  beforeAll(async () => {
    // A day in 60 s from 10:00: the run covers 10:00-12:30 of the trace, a cloud
    // at 11:05 included. A lower pool difficulty so a 9 s run of 6 CPU miners
    // reliably finds pool shares.
    //
    // Every part runs on one ManualClock (pool jobs, devices, budget trace,
    // scheduler, proxy, sampler, the miners' hashing pace) over real loopback
    // sockets: the clock moves 20 ms at a time once the event loop has run
    // what the last step started, so RUN_S of site time takes as long as
    // the work in it, not RUN_S of waiting.
    const clock = new ManualClock(Date.now());
    demo = await Demo.start({
      demo: { miners: 6, dayLengthS: 60, startAt: '10:00', poolDifficulty: 0.0000005 },
      httpListen: '127.0.0.1:0',
      logger: silentLogger(),
      sampleIntervalMs: 250,
      clock,
    });
    const t0 = clock.now();
    const step = async (): Promise<void> => {
      clock.advance(20);
      for (let i = 0; i < 8; i++) await new Promise((r) => setImmediate(r));
    };
    while (clock.now() - t0 < RUN_S * 1000) await step();
    // Then until the recording holds what the tests read (the CPU miners find pool shares at random).
    while (demo.site.surface.sampler.history.points().length <= RUN_S * 3 || demo.pool.stats.accepted === 0) {
      if (clock.now() - t0 > RUN_S * 1000 + 30_000) break; // only bounds a hang; the tests below then fail
      await step();
    }
  }, 60_000);

  afterAll(async () => {
    await demo?.close();
  });

  it('gets shares accepted by the simulated pool through the proxy', () => {
    expect(demo.pool.stats.accepted).toBeGreaterThan(0);
    // The pool validates every share itself: nothing the proxy forwarded was bad.
    expect(demo.pool.stats.rejected).toEqual({});
    const s = demo.site.status.status();
    expect(s.shares.accepted).toBeGreaterThan(demo.pool.stats.accepted);
    expect(s.shares.poolAccepted).toBe(demo.pool.stats.accepted);
  });

  it('makes the measured draw follow the budget', () => {
    const points = demo.site.surface.sampler.history.points();
    expect(points.length).toBeGreaterThan(RUN_S * 3);
    const sunny = points.filter((p) => p.budgetKw > 10);
    expect(sunny.length).toBeGreaterThan(8);
    // Never meaningfully above the budget (ramps and the 1 s poll allow a little lag on a cut)...
    const over = sunny.filter((p) => p.measuredKw > p.budgetKw * 1.05 + 1);
    expect(over.length / sunny.length).toBeLessThan(0.15);
    // ...and actually using it: units were switched on as the sun rose.
    const late = sunny.slice(Math.floor(sunny.length / 2));
    const absorbed = late.reduce((a, p) => a + Math.min(p.measuredKw, p.budgetKw) / p.budgetKw, 0) / late.length;
    expect(absorbed).toBeGreaterThan(0.35);
    expect(Math.max(...points.map((p) => p.measuredKw))).toBeGreaterThan(2 * 8.1);
    const report = demo.site.surface.sampler.report.totals();
    expect(report.offeredKwh).toBeGreaterThan(0);
    expect(report.drawnKwh).toBeGreaterThan(0);
  });

  it('reports it over /api/status and /metrics', async () => {
    const url = demo.site.httpUrl;
    const status = (await (await fetch(`${url}/api/status`)).json()) as {
      budget: { source: string; status: string };
      measuredKw: number;
      hashrateThs: number;
      shares: { accepted: number };
      pools: Array<{ state: string }>;
      scheduler: { decisions: Record<string, number> };
      commands: { sent: number };
      simulatedTime?: string;
    };
    expect(status.budget).toMatchObject({ source: 'schedule', status: 'live' });
    // The dashboard shows the demo's time of day (issue 13), the same clock as the status line.
    expect(status.simulatedTime).toMatch(/^([01]\d|2[0-3]):[0-5]\d$/);
    expect(demo.statusLine()).toContain(`[sun ${status.simulatedTime!.slice(0, 2)}`);
    expect(status.measuredKw).toBeGreaterThan(0);
    expect(status.hashrateThs).toBeGreaterThan(0);
    expect(status.shares.accepted).toBeGreaterThan(0);
    expect(status.pools[0]!.state).toBe('up');
    expect(status.scheduler.decisions['on']).toBeGreaterThan(0);
    expect(status.commands.sent).toBeGreaterThan(0);

    const text = await (await fetch(`${url}/metrics`)).text();
    expect(metric(text, 'surplus_shares_total{result="accepted",reason=""}')).toBeGreaterThan(0);
    expect(metric(text, 'surplus_pool_shares_total{result="accepted"}')).toBeGreaterThan(0);
    expect(metric(text, 'surplus_measured_kw')).toBeGreaterThan(0);
    expect(metric(text, `surplus_pool_up{pool="${demo.pool.url}"}`)).toBe(1);
    expect(metric(text, 'surplus_device_command_seconds_count{command="softon"}')).toBeGreaterThan(0);
    // Device telemetry from the simulated Avalons' estats (TMax, fans, uptime), per unit.
    expect(metric(text, 'surplus_fleet_temperature_max_celsius')).toBeGreaterThan(0);
    const minerList = (await (await fetch(`${url}/api/miners`)).json()) as { miners: Array<{ device?: { address?: string; firmware?: string; fansRpm?: number[] } }> };
    expect(minerList.miners[0]!.device).toMatchObject({ address: expect.stringMatching(/^127\.0\.0\.1:\d+$/), firmware: expect.any(String), fansRpm: expect.any(Array) });

    const miners = (await (await fetch(`${url}/api/miners`)).json()) as { miners: Array<{ id: string; state: string }> };
    expect(miners.miners).toHaveLength(6);
    expect(miners.miners.some((m) => m.state === 'hashing' || m.state === 'ramping')).toBe(true);
  });
});

describe('rotateTrace', () => {
  it('starts a looped trace part-way through, keeping its span and order', () => {
    const pts = [0, 1, 2, 3].map((m) => ({ tMs: m * 60_000, kw: m * 10 }));
    expect(rotateTrace(pts, 2 * 60_000)).toEqual([
      { tMs: 0, kw: 20 },
      { tMs: 60_000, kw: 30 },
      { tMs: 120_000, kw: 0 },
      { tMs: 180_000, kw: 10 },
    ]);
    expect(rotateTrace(pts, 0)).toEqual(pts);
  });
});

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

describe.skipIf(!existsSync(CLI))('surplus demo as a process', () => {
  it('prints the dashboard address and a status, and exits 0 on SIGTERM with everything closed', { timeout: 40_000 }, async () => {
    const child = spawn(process.execPath, [CLI, 'demo', '--miners', '3', '--http', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no dashboard line; stdout: ${out}; stderr: ${err}`)), 20_000);
      child.stdout.on('data', () => {
        const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);

    child.kill('SIGTERM');
    // Exit 0 within a few seconds means no socket, timer or worker thread kept the process alive.
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000))]);
    if (code === 'still running') child.kill('SIGKILL');
    expect(code).toBe(0);
    expect(out).toMatch(/stopping: miners, HTTP, scheduler, proxy, devices, pool/);
    expect(out).toMatch(/^done: pool accepted \d+ shares/m);
    expect(err).toBe('');
  });
});
