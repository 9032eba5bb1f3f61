#!/usr/bin/env node
// Statistics of a budget trace, to check a synthetic day against what real PV does (issue 12:
// "highly variable with 20-30 swings of 30-45 % of peak within 5 minutes, between about 09:00
// and 15:00"; real 1-minute PV on broken-cloud days has cloud-edge ramps of 30-60 %/min of
// capacity). Plain JS, no build: `node bench/trace-stats.mjs config/traces/variable-*.csv [--json]`.
//
// Reads `minute,kw` (or any second column) and `timestamp,kw` (Unix seconds; averaged per minute).
// Peak = the trace's largest value. A swing is a monotone run between two turning points of
// the series (zig-zag with a 5 %-of-peak reversal threshold, so flicker does not split a swing);
// it counts when some part of it of at most 5 minutes moves >= 30 % of peak, and its size is
// the largest such move. Ramps are minute-to-minute changes while the trace is above zero.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const SWING_PCT = 30;
const SWING_WINDOW_MIN = 5;
const REVERSAL_PCT = 5;
const FROM_MIN = 9 * 60;
const TO_MIN = 15 * 60;

/** Per-minute values (index = minute of day) from a trace file. */
export function readTrace(file) {
  const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const header = rows.shift() ?? '';
  const bySeconds = header.startsWith('timestamp');
  const sum = new Float64Array(1440);
  const n = new Uint32Array(1440);
  for (const row of rows) {
    const [t, v] = row.split(',').map(Number);
    if (!Number.isFinite(t) || !Number.isFinite(v)) continue;
    const m = bySeconds ? Math.floor((((t % 86_400) + 86_400) % 86_400) / 60) : Math.floor(t);
    if (m < 0 || m >= 1440) continue;
    sum[m] += v;
    n[m] += 1;
  }
  return Array.from(sum, (s, m) => (n[m] ? s / n[m] : 0));
}

/** Turning points of `v` (indices), ignoring reversals smaller than `h`. */
function turningPoints(v, h) {
  const pts = [0];
  let dir = 0;
  let ext = 0;
  for (let i = 1; i < v.length; i++) {
    if (dir >= 0 && v[i] >= v[ext]) { if (dir === 0 && v[i] - v[0] >= h) dir = 1; if (dir === 1 || v[i] > v[ext]) ext = i; }
    if (dir <= 0 && v[i] <= v[ext]) { if (dir === 0 && v[0] - v[i] >= h) dir = -1; if (dir === -1 || v[i] < v[ext]) ext = i; }
    if (dir === 1 && v[ext] - v[i] >= h) { pts.push(ext); dir = -1; ext = i; }
    else if (dir === -1 && v[i] - v[ext] >= h) { pts.push(ext); dir = 1; ext = i; }
  }
  pts.push(v.length - 1);
  return [...new Set(pts)];
}

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);

/** The statistics of one per-minute series. */
export function traceStats(v) {
  const peak = Math.max(...v);
  const pct = v.map((x) => (100 * x) / (peak || 1));
  const pts = turningPoints(pct, REVERSAL_PCT);
  const swings = [];
  for (let k = 1; k < pts.length; k++) {
    const a = pts[k - 1];
    const b = pts[k];
    if (b <= FROM_MIN || a >= TO_MIN) continue;
    let best = 0;
    let at = a;
    for (let i = a; i < b; i++) {
      for (let j = i + 1; j <= Math.min(b, i + SWING_WINDOW_MIN); j++) {
        const d = Math.abs(pct[j] - pct[i]);
        if (d > best) { best = d; at = i; }
      }
    }
    if (best >= SWING_PCT) swings.push({ atMin: at, pct: best, down: pct[b] < pct[a] });
  }
  const ramps = [];
  for (let m = 1; m < 1440; m++) if (v[m] > 0 || v[m - 1] > 0) ramps.push(Math.abs(pct[m] - pct[m - 1]));
  ramps.sort((x, y) => x - y);
  const sizes = swings.map((s) => s.pct).sort((x, y) => x - y);
  return {
    peakKw: peak,
    energyKwh: v.reduce((s, x) => s + x, 0) / 60,
    swings: swings.length,
    swingsDown: swings.filter((s) => s.down).length,
    swingPct: { min: sizes[0] ?? 0, p50: quantile(sizes, 0.5), max: sizes.at(-1) ?? 0 },
    rampPctPerMin: { p50: quantile(ramps, 0.5), p95: quantile(ramps, 0.95), max: ramps.at(-1) ?? 0 },
    minutesRampAtLeast30: ramps.filter((r) => r >= 30).length,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const json = process.argv.includes('--json');
  const files = process.argv.slice(2).filter((a) => a !== '--json');
  if (files.length === 0) {
    console.error('usage: node bench/trace-stats.mjs TRACE.csv... [--json]');
    process.exit(2);
  }
  const out = files.map((f) => ({ trace: basename(f), ...traceStats(readTrace(f)) }));
  if (json) console.log(JSON.stringify(out, null, 2));
  else {
    const f1 = (x) => x.toFixed(1);
    console.log(`| trace | peak kW | MWh | swings >= ${SWING_PCT} % in <= ${SWING_WINDOW_MIN} min, 09-15 (down) | swing size min / p50 / max, % of peak | ramp %/min p50 / p95 / max | minutes with ramp >= 30 %/min |`);
    console.log('|---|---|---|---|---|---|---|');
    for (const s of out) {
      console.log(`| ${s.trace} | ${s.peakKw.toFixed(0)} | ${(s.energyKwh / 1000).toFixed(1)} | ${s.swings} (${s.swingsDown}) | ${f1(s.swingPct.min)} / ${f1(s.swingPct.p50)} / ${f1(s.swingPct.max)} | ${f1(s.rampPctPerMin.p50)} / ${f1(s.rampPctPerMin.p95)} / ${f1(s.rampPctPerMin.max)} | ${s.minutesRampAtLeast30} |`);
    }
  }
}
