// surplus dashboard: number and time formatting, unit scaling. Plain script
// (no modules: the page loads three files with script-src 'self').
(function () {
  'use strict';

  const fmt = (v, digits) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
  // One formatter: toLocaleString builds a new one per call, which at 1,000 rows × 5 columns cost most of a render.
  const intFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const fmtInt = (v) => (Number.isFinite(v) ? intFormat.format(Math.round(v)) : '–');
  /** Counts and difficulties span 1e-9 (CPU test miners) to 1e15: three significant digits below 1000. */
  const fmtNum = (v) => (!Number.isFinite(v) ? '–' : Math.abs(v) >= 1000 || v === 0 ? fmtInt(v) : Number(v.toPrecision(3)).toString());
  /**
   * Unit scaling (issue 13: a 5 MH/s CPU miner read "0.0 TH/s" and its chart's axis "0").
   * `scaleFor(max)` picks one unit for a whole axis so its ticks compare at a glance.
   */
  const HASH_UNITS = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s', 'EH/s'];
  const POWER_UNITS = ['W', 'kW', 'MW', 'GW'];
  function scaleFor(max, units) {
    let i = 0;
    let div = 1;
    while (i < units.length - 1 && Math.abs(max) >= div * 1000) {
      div *= 1000;
      i++;
    }
    return { unit: units[i], div: div };
  }
  const sig3 = (x) => (x === 0 ? '0' : Math.abs(x) >= 100 ? x.toFixed(0) : Number(x.toPrecision(3)).toString());
  function fmtScaled(v, units) {
    if (v === null || v === undefined || !Number.isFinite(v)) return '–';
    const sc = scaleFor(v, units);
    return sig3(v / sc.div) + ' ' + sc.unit;
  }
  /** Hashrate from TH/s (what the API carries). */
  const fmtHash = (ths) => fmtScaled(Number.isFinite(ths) ? ths * 1e12 : NaN, HASH_UNITS);
  /** Power from kW (what the API carries). */
  const fmtPower = (kw) => fmtScaled(Number.isFinite(kw) ? kw * 1000 : NaN, POWER_UNITS);
  const fmtThs = fmtHash;
  function fmtDuration(s) {
    if (!Number.isFinite(s)) return '–';
    if (s < 60) return Math.round(s) + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  }
  function ago(ms) {
    if (ms === null || ms === undefined) return 'never';
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    return Math.floor(s / 3600) + ' h ago';
  }

  window.surplusFormat = { fmt, fmtInt, fmtNum, HASH_UNITS, POWER_UNITS, scaleFor, sig3, fmtScaled, fmtHash, fmtPower, fmtThs, fmtDuration, ago };
})();
