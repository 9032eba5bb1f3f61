import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ManualClock } from '../../src/clock.js';
import { SiteMetrics } from '../../src/operator/metrics.js';
import { FakeSite } from '../integration/http-fake-site.js';

interface Panel {
  title: string;
  targets: Array<{ expr: string }>;
  gridPos: { x: number; y: number; w: number; h: number };
}

describe('config/grafana-dashboard.json', () => {
  const dash = JSON.parse(readFileSync('config/grafana-dashboard.json', 'utf8')) as { panels: Panel[]; uid: string };
  const exported = new Set(new SiteMetrics({ source: new FakeSite(new ManualClock(0)), processMetrics: false }).registry.getMetricsAsArray().map((m) => m.name));

  it('queries only metrics that surplus exports', () => {
    const used = new Set<string>();
    for (const p of dash.panels) for (const t of p.targets) for (const m of t.expr.matchAll(/surplus_[a-z_]+/g)) used.add(m[0].replace(/_(bucket|sum|count)$/, ''));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(exported, `${name} is not exported`).toContain(name);
  });

  it('gives every panel a title and a place on the 24-column grid', () => {
    for (const p of dash.panels) {
      expect(p.title.length).toBeGreaterThan(0);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
  });
});

describe('config/prometheus.yml', () => {
  it('scrapes /metrics on the default http.listen address', () => {
    const cfg = parseYaml(readFileSync('config/prometheus.yml', 'utf8')) as { scrape_configs: Array<{ metrics_path: string; static_configs: Array<{ targets: string[] }> }> };
    const job = cfg.scrape_configs[0]!;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs[0]!.targets).toContain('127.0.0.1:8080');
  });
});
