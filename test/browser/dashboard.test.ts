import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { startOperatorSurface, type OperatorSurface } from '../../src/operator/operator-surface.js';
import { FakeSite } from '../integration/http-fake-site.js';
import { SettableClock } from '../support/settable-clock.js';

const CHROMIUM = '/usr/bin/chromium';

// The page.evaluate callbacks run in Chromium; this project compiles without the DOM lib,
// so the few page globals they touch are declared here, scoped to this module.
interface PageElement {
  textContent: string | null;
  className: string;
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
declare const window: unknown;
declare const document: {
  querySelectorAll(selector: string): Iterable<PageElement> & { length: number };
  getElementById(id: string): PageElement | null;
};


describe.skipIf(!existsSync(CHROMIUM))('dashboard in headless Chromium', () => {
  let browser: Browser | undefined;
  let surface: OperatorSurface | undefined;

  afterAll(async () => {
    await browser?.close();
    await surface?.close();
  });

  it('draws the power, hashrate and share charts and the miner table from live data', { timeout: 60_000 }, async () => {
    const clock = new SettableClock();
    const startMs = Date.now() - 121_000;
    clock.fixedMs = startMs;
    const site = new FakeSite(clock, 12, 3.5);
    surface = await startOperatorSurface({ listen: '127.0.0.1:0', source: site, budget: site, clock, sampleIntervalMs: 250, processMetrics: false });
    for (let i = 0; i < 120; i++) {
      clock.fixedMs = startMs + i * 1000;
      surface.sampler.sample();
    }
    clock.fixedMs = null;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
    });

    // The page's own timers (its 1.5 s poll) run on Playwright's clock, moved by hand: each wait
    // below moves it 250 ms at a time until the page shows what the test waits for.
    await page.clock.install();
    await page.goto(surface.http.url + '/');
    const until = async (shows: () => boolean): Promise<void> => {
      for (let i = 0; i < 400 && !(await page.evaluate(shows)); i++) await page.clock.runFor(250);
      expect(await page.evaluate(shows)).toBe(true);
    };
    await until(() => {
      const d = (window as unknown as { surplusDashboard?: { polls: number } }).surplusDashboard;
      return d !== undefined && d.polls >= 2 && document.querySelectorAll('#miners tbody tr').length > 0;
    });

    const seen = await page.evaluate(() => {
      type Chart = { data: Array<Array<number | null>>; axes: Array<{ label?: string }> };
      const d = (window as unknown as { surplusDashboard: { charts: Record<string, Chart>; points: unknown[] } }).surplusDashboard;
      const series = (c: Chart) => c.data.slice(1).map((ys) => ys.filter((y) => typeof y === 'number').length);
      const inked = [...document.querySelectorAll('.uplot canvas')].map((cv) => {
        const px = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
        return n;
      });
      return {
        canvases: document.querySelectorAll('.uplot canvas').length,
        titles: [...document.querySelectorAll('figcaption')].map((f) => f.textContent),
        // uPlot draws axes on the canvas; read the y-axis labels from the charts.
        axisLabels: Object.values(d.charts).map((c) => c.axes[1]!.label),
        power: series(d.charts['power']!),
        hashrate: series(d.charts['hashrate']!),
        shares: series(d.charts['shares']!),
        inked,
        minerRows: document.querySelectorAll('#miners tbody tr').length,
        firstMiner: [...document.querySelectorAll('#miners tbody tr:first-child td')].map((td) => td.textContent),
        poolRows: document.querySelectorAll('#pools tbody tr').length,
        budgetTile: document.getElementById('t-budget')!.textContent,
        badge: document.getElementById('budget-badge')!.className,
        reportRows: document.querySelectorAll('#report tbody tr').length,
        decisions: document.getElementById('f-decisions')!.textContent,
        commands: document.getElementById('f-commands')!.textContent,
      };
    });

    expect(seen.canvases).toBe(3);
    expect(seen.titles.map((t) => t?.trim())).toEqual(['Power: budget vs planned vs measured draw', 'Fleet hashrate', 'Shares per minute: accepted vs rejected']);
    // Units are on the ticks (W … MW, H/s … EH/s), scaled to the data, not in a fixed axis label.
    expect(seen.axisLabels).toEqual(['power', 'hashrate', 'shares / min']);
    // 120 back-filled points plus live ones, in every series (the share rates start at the second point).
    for (const n of [...seen.power, ...seen.hashrate]) expect(n).toBeGreaterThanOrEqual(120);
    for (const n of seen.shares) expect(n).toBeGreaterThanOrEqual(119);
    for (const n of seen.inked) expect(n).toBeGreaterThan(1000);
    expect(seen.minerRows).toBe(12);
    expect(seen.firstMiner.slice(0, 3)).toEqual(['m1', 'site.rig1', 'hashing']);
    expect(seen.poolRows).toBe(2);
    expect(seen.budgetTile).toMatch(/^\d+(\.\d+)? kW$/);
    expect(seen.badge).toBe('badge live');
    expect(seen.reportRows).toBeGreaterThan(0);
    expect(seen.decisions).toBe('softon 0 · softoff 0');
    expect(seen.commands).toBe('sent 10 · failed 0 · last took 12.0 ms');

    // It keeps polling: a budget change over the API shows up in the page.
    site.put({ kw: 30 });
    await until(() => /^(2[2-9]|3\d)(\.\d+)? kW$/.test(document.getElementById('t-budget')!.textContent ?? ''));

    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/dashboard.png', fullPage: true });
    expect(problems).toEqual([]);
  });
});
