// surplus dashboard: polls the operator API and draws it with uPlot (served
// locally; no CDN). Every value from the API is put in the page with
// textContent, never innerHTML: worker names come from miners.
(function () {
  'use strict';

  const POLL_MS = 1500;
  const REPORT_EVERY = 8; // polls between energy-report refreshes
  const RATE_WINDOW_MS = 15000; // shares/min is averaged over this window
  const MAX_POINTS = 2000;

  const state = { points: [], lastAtMs: -Infinity, polls: 0, charts: {} };
  window.surplusDashboard = state;

  const $ = (id) => document.getElementById(id);
  const fmt = (v, digits) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
  const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
  /** Counts and difficulties span 1e-9 (CPU test miners) to 1e15: three significant digits below 1000. */
  const fmtNum = (v) => (!Number.isFinite(v) ? '–' : Math.abs(v) >= 1000 || v === 0 ? fmtInt(v) : Number(v.toPrecision(3)).toString());
  const fmtThs = (v) => (!Number.isFinite(v) ? '–' : v >= 1000 ? (v / 1000).toFixed(2) + ' PH/s' : v.toFixed(1) + ' TH/s');
  function ago(ms) {
    if (ms === null || ms === undefined) return 'never';
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    return Math.floor(s / 3600) + ' h ago';
  }

  // ---- charts ---------------------------------------------------------------

  const stepped = uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;

  function makeChart(el, yLabel, series, height) {
    const opts = {
      width: Math.max(300, el.clientWidth),
      height: height,
      scales: { x: { time: true }, y: { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.08 : 1] } },
      axes: [
        { stroke: '#4b5563', grid: { stroke: '#eef0f3' } },
        { label: yLabel, stroke: '#4b5563', grid: { stroke: '#eef0f3' }, size: 60 },
      ],
      series: [{ label: 'time' }].concat(series),
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    const data = [[]].concat(series.map(() => []));
    return new uPlot(opts, data, el);
  }

  function buildCharts() {
    const unit = (u) => (self, v) => (v === null || v === undefined ? '–' : v.toFixed(1) + ' ' + u);
    state.charts.power = makeChart($('chart-power'), 'kW', [
      { label: 'Budget', stroke: '#d97706', width: 2, dash: [8, 4], paths: stepped, value: unit('kW') },
      { label: 'Planned', stroke: '#2563eb', width: 2, paths: stepped, value: unit('kW') },
      { label: 'Measured', stroke: '#16a34a', width: 2, fill: 'rgba(22,163,74,0.08)', value: unit('kW') },
    ], 300);
    state.charts.hashrate = makeChart($('chart-hashrate'), 'TH/s', [
      { label: 'Hashrate', stroke: '#7c3aed', width: 2, fill: 'rgba(124,58,237,0.08)', value: unit('TH/s') },
    ], 230);
    state.charts.shares = makeChart($('chart-shares'), 'shares / min', [
      { label: 'Accepted', stroke: '#16a34a', width: 2, value: unit('/min') },
      { label: 'Rejected', stroke: '#dc2626', width: 2, value: unit('/min') },
    ], 230);
    let resizeTimer = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        for (const [name, chart] of Object.entries(state.charts)) {
          const el = $('chart-' + name);
          chart.setSize({ width: Math.max(300, el.clientWidth), height: chart.height });
        }
      }, 150);
    });
  }

  /** Shares per minute over a trailing window, from cumulative counters. */
  function rates(points, key) {
    const out = new Array(points.length).fill(null);
    let j = 0;
    for (let i = 1; i < points.length; i++) {
      while (j < i - 1 && points[i].atMs - points[j + 1].atMs >= RATE_WINDOW_MS) j++;
      const dt = points[i].atMs - points[j].atMs;
      const dn = points[i][key] - points[j][key];
      out[i] = dt > 0 && dn >= 0 ? (dn * 60000) / dt : null;
    }
    return out;
  }

  function redraw() {
    const p = state.points;
    const xs = p.map((q) => q.atMs / 1000);
    state.charts.power.setData([xs, p.map((q) => q.budgetKw), p.map((q) => q.plannedKw), p.map((q) => q.measuredKw)]);
    state.charts.hashrate.setData([xs, p.map((q) => q.hashrateThs)]);
    state.charts.shares.setData([xs, rates(p, 'sharesAccepted'), rates(p, 'sharesRejected')]);
    // While the pointer is elsewhere, the legends show the latest values.
    for (const chart of Object.values(state.charts)) {
      if (!(chart.cursor.left >= 0) && xs.length > 0) chart.setLegend({ idx: xs.length - 1 });
    }
  }

  // ---- tables and tiles -----------------------------------------------------

  function cell(tr, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function pill(tr, text) {
    const td = document.createElement('td');
    const span = document.createElement('span');
    span.className = 'state ' + String(text).replace(/[^a-z]/g, '');
    span.textContent = text;
    td.appendChild(span);
    tr.appendChild(td);
  }
  function fillBody(table, rows) {
    const body = table.tBodies[0];
    body.replaceChildren(...rows);
  }

  function renderStatus(s) {
    const badge = $('budget-badge');
    badge.textContent = 'budget ' + s.budget.status + ' · ' + s.budget.source;
    badge.className = 'badge ' + s.budget.status;
    $('t-budget').textContent = fmt(s.budget.kw, 1) + ' kW';
    $('t-budget-src').textContent = s.budget.source + (s.budget.updatedAtMs ? ', updated ' + ago(s.budget.updatedAtMs) : '');
    $('t-planned').textContent = fmt(s.plannedKw, 1) + ' kW';
    $('t-measured').textContent = fmt(s.measuredKw, 1) + ' kW';
    $('t-use').textContent = s.budget.kw > 0 ? fmt((100 * s.measuredKw) / s.budget.kw, 0) + ' % of budget' : 'no budget';
    $('t-hash').textContent = fmtThs(s.hashrateThs);
    const by = s.minersByState;
    const total = Object.values(by).reduce((a, b) => a + b, 0);
    $('t-miners').textContent = by.hashing + ' / ' + total;
    $('t-miners-detail').textContent = 'ramping ' + by.ramping + ', curtailed ' + by.curtailed + ', fault ' + (by.fault + by.disconnected);
    const rejected = Object.values(s.shares.rejected).reduce((a, b) => a + b, 0);
    $('t-shares').textContent = fmtInt(s.shares.accepted);
    const all = s.shares.accepted + rejected;
    $('t-shares-detail').textContent = 'rejected ' + fmtInt(rejected) + (all > 0 ? ' · ' + fmt((100 * s.shares.accepted) / all, 2) + ' % ok' : '');
    const active = s.pools.find((q) => q.active) || s.pools[0];
    $('t-pool').textContent = active ? active.url.replace('stratum+tcp://', '') : 'none';
    $('t-pool-detail').textContent = active ? active.state + ' · pool accepted ' + fmtInt(s.shares.poolAccepted) : '';
    const d = s.scheduler.decisions;
    $('f-decisions').textContent = Object.keys(d).length === 0 ? 'none' : Object.entries(d).map(([k, v]) => k + ' ' + fmtInt(v)).join(' · ');
    $('f-last').textContent = s.scheduler.lastReason ? s.scheduler.lastReason + ' (' + ago(s.scheduler.lastDecisionAtMs) + ')' : 'none yet';
    const c = s.commands;
    $('f-commands').textContent = 'sent ' + fmtInt(c.sent) + ' · failed ' + fmtInt(c.failed) + (c.lastLatencyMs === null ? '' : ' · last took ' + fmt(c.lastLatencyMs, 1) + ' ms');
    const sh = s.shares;
    $('f-sharepath').textContent = 'submits ' + fmtInt(sh.submitsReceived) + ' received, ' + fmtInt(sh.submitsAnswered) + ' answered · ' + fmtInt(sh.forwarded) + ' forwarded · pool accepted ' + fmtInt(sh.poolAccepted) + ', rejected ' + fmtInt(sh.poolRejected) + ', timed out ' + fmtInt(sh.poolTimedOut) + ' · hash queue ' + fmtInt(s.hashQueueDepth);
    fillBody($('pools'), s.pools.map((q) => {
      const tr = document.createElement('tr');
      cell(tr, q.url);
      pill(tr, q.state);
      cell(tr, ago(q.sinceMs));
      cell(tr, String(q.connections), 'num');
      cell(tr, String(q.failovers), 'num');
      cell(tr, q.active ? 'yes' : '');
      return tr;
    }));
  }

  function renderMiners(list) {
    $('miner-count').textContent = '(' + list.length + ')';
    const sorted = list.slice().sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    fillBody($('miners'), sorted.map((m) => {
      const tr = document.createElement('tr');
      cell(tr, m.id);
      cell(tr, m.worker);
      pill(tr, m.state);
      cell(tr, m.mode || '–');
      cell(tr, fmt(m.kw, 2), 'num');
      cell(tr, fmt(m.hashrateThs, 1), 'num');
      cell(tr, fmtInt(m.shares.accepted), 'num');
      cell(tr, fmtInt(m.shares.rejected), 'num');
      cell(tr, fmtInt(m.shares.stale), 'num');
      cell(tr, fmtNum(m.difficulty), 'num');
      cell(tr, ago(m.lastShareAtMs));
      return tr;
    }));
  }

  function renderReport(r) {
    const rows = r.intervals.slice(-12).reverse();
    fillBody($('report'), rows.map((i) => {
      const tr = document.createElement('tr');
      cell(tr, new Date(i.startMs).toLocaleString());
      cell(tr, fmt(i.offeredKwh, 2), 'num');
      cell(tr, fmt(i.drawnKwh, 2), 'num');
      cell(tr, i.absorbedFraction === null ? '–' : fmt(100 * i.absorbedFraction, 1) + ' %', 'num');
      cell(tr, fmt(i.overBudgetS, 0) + ' s', 'num');
      cell(tr, fmtNum(i.diffShares), 'num');
      return tr;
    }));
  }

  // ---- polling --------------------------------------------------------------

  async function getJson(path) {
    const res = await fetch(path, { cache: 'no-store' });
    if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
    return res.json();
  }

  async function poll() {
    try {
      const since = Number.isFinite(state.lastAtMs) ? '?sinceMs=' + state.lastAtMs : '';
      const [history, status, miners] = await Promise.all([getJson('/api/history' + since), getJson('/api/status'), getJson('/api/miners')]);
      if (history.points.length > 0) {
        state.points = state.points.concat(history.points).slice(-MAX_POINTS);
        state.lastAtMs = state.points[state.points.length - 1].atMs;
        redraw();
      }
      renderStatus(status);
      renderMiners(miners.miners);
      if (state.polls % REPORT_EVERY === 0) renderReport(await getJson('/api/report'));
      state.polls += 1;
      const conn = $('conn');
      conn.textContent = 'updated ' + new Date().toLocaleTimeString();
      conn.className = 'muted';
    } catch (err) {
      const conn = $('conn');
      conn.textContent = 'connection lost, retrying (' + err.message + ')';
      conn.className = 'lost';
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  buildCharts();
  poll();
})();
