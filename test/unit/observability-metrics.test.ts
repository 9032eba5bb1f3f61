import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { SiteMetrics } from '../../src/operator/metrics.js';
import type { SiteStatus, SiteStatusSource } from '../../src/operator/snapshots.js';
import { FakeSite } from '../integration/http-fake-site.js';

/** The value of one sample line, e.g. value(text, 'surplus_pool_up{pool="x"}'). */
function value(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** A source whose status the test edits directly. */
function editable(site: FakeSite): SiteStatusSource & { edit(f: (s: SiteStatus) => void): void } {
  let patch: (s: SiteStatus) => void = () => {};
  return {
    status: () => {
      const s = site.status();
      patch(s);
      return s;
    },
    miners: () => site.miners(),
    edit(f) {
      patch = f;
    },
  };
}

describe('SiteMetrics', () => {
  it('exposes gauges with the source values and units in the names', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const site = new FakeSite(clock);
    const m = new SiteMetrics({ source: site, processMetrics: false });
    const text = await m.render();
    const s = site.status();
    expect(value(text, 'surplus_budget_kw')).toBeCloseTo(s.budget.kw, 9);
    expect(value(text, 'surplus_planned_kw')).toBeCloseTo(s.plannedKw, 9);
    expect(value(text, 'surplus_measured_kw')).toBeCloseTo(s.measuredKw, 9);
    expect(value(text, 'surplus_fleet_hashrate_ths')).toBe(s.hashrateThs);
    expect(value(text, 'surplus_hash_queue_depth')).toBe(3);
    expect(value(text, 'surplus_pool_up{pool="stratum+tcp://127.0.0.1:3334"}')).toBe(1);
    expect(value(text, 'surplus_pool_up{pool="stratum+tcp://127.0.0.1:3335"}')).toBe(0);
    expect(value(text, 'surplus_budget_source_status{source="http",status="live"}')).toBe(1);
    expect(value(text, 'surplus_budget_source_status{source="http",status="failsafe"}')).toBe(0);
    expect(value(text, 'surplus_miners{state="hashing"}')).toBe(s.minersByState.hashing);
    expect(value(text, 'surplus_miner_power_kw{miner="m1"}')).toBeCloseTo(site.miners()[0]!.kw, 9);
    expect(text).toContain('# TYPE surplus_budget_kw gauge');
  });

  it('follows monotonic totals with real counters', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const site = new FakeSite(clock);
    const m = new SiteMetrics({ source: site, processMetrics: false });
    clock.advance(10_000);
    let text = await m.render();
    expect(text).toContain('# TYPE surplus_shares_total counter');
    expect(text).toContain('# TYPE surplus_failovers_total counter');
    expect(value(text, 'surplus_shares_total{result="accepted",reason=""}')).toBe(site.status().shares.accepted);
    expect(value(text, 'surplus_failovers_total{pool="stratum+tcp://127.0.0.1:3334"}')).toBe(2);
    expect(value(text, 'surplus_pool_shares_total{result="timeout"}')).toBe(1);
    clock.advance(5_000);
    site.failed = 4;
    site.decisions.softon = 3;
    text = await m.render();
    const s = site.status();
    expect(value(text, 'surplus_shares_total{result="accepted",reason=""}')).toBe(s.shares.accepted);
    expect(value(text, 'surplus_shares_total{result="rejected",reason="duplicate"}')).toBe(s.shares.rejected['duplicate']);
    expect(value(text, 'surplus_shares_difficulty_total')).toBe(s.shares.acceptedDifficulty);
    expect(value(text, 'surplus_device_command_failures_total')).toBe(4);
    expect(value(text, 'surplus_scheduler_decisions_total{action="softon"}')).toBe(3);
    expect(value(text, 'surplus_failovers_total{pool="stratum+tcp://127.0.0.1:3334"}')).toBe(2);
  });

  it('counts payout-guard refusals per pool and says whether the share books balance', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const src = editable(new FakeSite(clock));
    const m = new SiteMetrics({ source: src, processMetrics: false });
    src.edit((s) => {
      s.pools[1]!.payoutMismatches = 3;
      Object.assign(s.pools[0]!, { malformedLines: 2, badMessages: 1, unknownReplies: 4, reconnectRequests: 1 });
      s.accounting = { balanced: false, problems: ['forwarded 5 != ...'], submitsInFlight: 0, poolPending: 0 };
    });
    const text = await m.render();
    expect(text).toContain('# TYPE surplus_payout_mismatch_total counter');
    expect(value(text, 'surplus_payout_mismatch_total{pool="stratum+tcp://127.0.0.1:3335"}')).toBe(3);
    expect(value(text, 'surplus_payout_mismatch_total{pool="stratum+tcp://127.0.0.1:3334"}')).toBe(0);
    expect(value(text, 'surplus_accounting_balanced')).toBe(0);
    expect(value(text, 'surplus_pool_protocol_errors_total{pool="stratum+tcp://127.0.0.1:3334",kind="malformed_line"}')).toBe(2);
    expect(value(text, 'surplus_pool_protocol_errors_total{pool="stratum+tcp://127.0.0.1:3334",kind="bad_message"}')).toBe(1);
    expect(value(text, 'surplus_pool_protocol_errors_total{pool="stratum+tcp://127.0.0.1:3334",kind="unknown_reply"}')).toBe(4);
    expect(value(text, 'surplus_pool_reconnect_requests_total{pool="stratum+tcp://127.0.0.1:3334"}')).toBe(1);
    expect(value(text, 'surplus_pool_reconnect_requests_total{pool="stratum+tcp://127.0.0.1:3335"}')).toBe(0);
  });

  it('keeps counting up when the source counter restarts from zero', async () => {
    const clock = new ManualClock(0);
    const src = editable(new FakeSite(clock));
    const m = new SiteMetrics({ source: src, processMetrics: false });
    src.edit((s) => void (s.shares.forwarded = 100));
    expect(value(await m.render(), 'surplus_shares_forwarded_total')).toBe(100);
    src.edit((s) => void (s.shares.forwarded = 7)); // e.g. the share path was rebuilt
    expect(value(await m.render(), 'surplus_shares_forwarded_total')).toBe(107);
    src.edit((s) => void (s.shares.forwarded = 10));
    expect(value(await m.render(), 'surplus_shares_forwarded_total')).toBe(110);
  });

  it('drops label sets that disappeared from the snapshot', async () => {
    const clock = new ManualClock(0);
    const src = editable(new FakeSite(clock));
    const m = new SiteMetrics({ source: src, processMetrics: false });
    expect(await m.render()).toContain('surplus_pool_up{pool="stratum+tcp://127.0.0.1:3335"}');
    src.edit((s) => void (s.pools = s.pools.slice(0, 1)));
    expect(await m.render()).not.toContain('surplus_pool_up{pool="stratum+tcp://127.0.0.1:3335"}');
  });

  it('records event-fed command latency in a histogram', async () => {
    const m = new SiteMetrics({ source: new FakeSite(new ManualClock(0)), processMetrics: false });
    m.observeCommand('softoff', 0.02);
    m.observeCommand('softoff', 0.3);
    m.observeCommand('workmode', 12);
    m.observeCommand('workmode', Number.NaN); // ignored, never throws into a driver
    const text = await m.render();
    expect(text).toContain('# TYPE surplus_device_command_seconds histogram');
    expect(value(text, 'surplus_device_command_seconds_bucket{le="0.025",command="softoff"}')).toBe(1);
    expect(value(text, 'surplus_device_command_seconds_bucket{le="0.5",command="softoff"}')).toBe(2);
    expect(value(text, 'surplus_device_command_seconds_count{command="workmode"}')).toBe(1);
  });

  it('uses private registries: instances and the global registry never collide', async () => {
    const a = new SiteMetrics({ source: new FakeSite(new ManualClock(0)) });
    const b = new SiteMetrics({ source: new FakeSite(new ManualClock(0), 2) });
    expect(globalRegistry.getSingleMetric('surplus_budget_kw')).toBeUndefined();
    const [ta, tb] = [await a.render(), await b.render()];
    expect(value(ta, 'surplus_miners{state="curtailed"}')).not.toBe(value(tb, 'surplus_miners{state="curtailed"}'));
    expect(ta).toContain('process_cpu_seconds_total');
    expect(a.contentType).toMatch(/^text\/plain/);
  });

  it('exports device telemetry per miner up to a cap, and fleet-wide bands for everyone (bounded label sets)', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const site = new FakeSite(clock, 40, 3.5, 200);
    const m = new SiteMetrics({ source: site, processMetrics: false, maxMinerSeries: 10 });
    const text = await m.render();
    const miners = site.miners();
    expect(value(text, 'surplus_miner_temperature_celsius{miner="m1"}')).toBe(miners[0]!.device!.tempMaxC);
    expect(value(text, 'surplus_miner_fan_min_rpm{miner="m3"}')).toBe(0); // site.rig3 has a stopped fan
    expect(value(text, 'surplus_miner_uptime_seconds{miner="m2"}')).toBe(miners[1]!.device!.uptimeS);
    // Past the cap: no per-miner series, for any per-miner metric, and the omission is counted.
    for (const name of ['surplus_miner_temperature_celsius', 'surplus_miner_power_kw', 'surplus_miner_hashrate_ths']) {
      expect(text).toContain(`${name}{miner="m10"}`);
      expect(text).not.toContain(`${name}{miner="m11"}`);
    }
    expect(value(text, 'surplus_miner_series_omitted')).toBe(30);
    // The fleet view covers all 40: bands sum to the fleet, the hottest unit, stopped fans.
    const bands = ['<50', '<60', '<70', '<80', '<90', '>=90', 'unknown'].map((b) => value(text, `surplus_miners_by_temperature{band="${b}"}`) ?? NaN);
    expect(bands.reduce((a, b) => a + b, 0)).toBe(40);
    expect(value(text, 'surplus_miners_by_temperature{band="unknown"}')).toBe(1); // the unit in fault reports nothing
    const temps = miners.map((x) => x.device?.tempMaxC).filter((t): t is number => t !== undefined);
    expect(value(text, 'surplus_fleet_temperature_max_celsius')).toBe(Math.max(...temps));
    expect(value(text, 'surplus_miners_fan_stopped')).toBe(1);
    expect(value(text, 'surplus_miner_device_error_timestamp_seconds{miner="m40"}')).toBeUndefined(); // m40 is past the cap
    const all = await new SiteMetrics({ source: site, processMetrics: false }).render();
    expect(value(all, 'surplus_miner_device_error_timestamp_seconds{miner="m40"}')).toBe((clock.now() - 30_000) / 1000);
    expect(value(all, 'surplus_miner_series_omitted')).toBe(0);
  });
});
