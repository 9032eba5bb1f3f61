import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { SiteMetrics } from '../../src/operator/metrics.js';
import { FakeSite } from './http-fake-site.js';

// Issue 13.8: the operational promises as Prometheus rules, checked and unit-tested by promtool.
// Debian's `prometheus` package provides promtool (.ci/run installs it).

const configDir = fileURLToPath(new URL('../../config/', import.meta.url));
const rules = readFileSync(`${configDir}alerts.yml`, 'utf8');

const hasPromtool = (() => {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasPromtool) console.warn('skipping promtool checks of config/alerts.yml: promtool is not installed (Debian: apt-get install prometheus)');

function promtool(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('promtool', args, { cwd: configDir }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
  });
}

describe('config/alerts.yml', () => {
  it('names only metrics that surplus exports', async () => {
    const metrics = new SiteMetrics({ source: new FakeSite(new ManualClock(0)), processMetrics: false });
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const named = new Set(rules.match(/\bsurplus_[a-z0-9_]+/g));
    expect(named.size).toBeGreaterThan(5);
    for (const name of named) expect(exported, `alerts.yml uses ${name}`).toContain(name);
  });

  it('covers pool down, budget stale and fail-safe, unbalanced books, unavailable devices and over budget', () => {
    for (const alert of ['SurplusAllPoolsDown', 'SurplusPoolDown', 'SurplusBudgetStale', 'SurplusBudgetFailsafe', 'SurplusBooksUnbalanced', 'SurplusDeviceUnavailable', 'SurplusAboveBudget']) {
      expect(rules).toContain(`alert: ${alert}\n`);
    }
  });

  it.skipIf(!hasPromtool)('passes promtool check rules', async () => {
    const r = await promtool('check', 'rules', 'alerts.yml');
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it.skipIf(!hasPromtool)('passes its unit tests (promtool test rules alerts.test.yml)', async () => {
    const r = await promtool('test', 'rules', 'alerts.test.yml');
    expect(r.out, r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });
});
