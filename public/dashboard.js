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
  const F = window.surplusFormat;
  const minerTable = window.surplusMinerTable;
  state.table = minerTable.table;

  const { fmt, fmtInt, fmtNum, HASH_UNITS, POWER_UNITS, scaleFor, sig3, fmtScaled, fmtHash, fmtPower, fmtThs, ago } = F;
  // ---- charts ---------------------------------------------------------------

  const stepped = uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;

  /** `ticks(splits)`: labels for the y axis; one unit for the whole axis, chosen from its largest tick. */
  function makeChart(el, yLabel, series, height, ticks) {
    const opts = {
      width: Math.max(300, el.clientWidth),
      height: height,
      scales: { x: { time: true }, y: { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.08 : 1] } },
      axes: [
        { stroke: '#4b5563', grid: { stroke: '#eef0f3' } },
        Object.assign({ label: yLabel, stroke: '#4b5563', grid: { stroke: '#eef0f3' }, size: 78 }, ticks ? { values: (u, splits) => ticks(splits) } : {}),
      ],
      series: [{ label: 'time' }].concat(series),
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    const data = [[]].concat(series.map(() => []));
    return new uPlot(opts, data, el);
  }

  function buildCharts() {
    // Series carry W and H/s; axis ticks and legends scale them (W … MW, H/s … EH/s).
    const axisTicks = (units) => (splits) => {
      const max = Math.max.apply(null, splits.map((v) => Math.abs(v || 0)));
      const sc = scaleFor(max, units);
      return splits.map((v) => (v === null || v === undefined ? '' : sig3(v / sc.div) + ' ' + sc.unit));
    };
    const legend = (units) => (self, v) => fmtScaled(v, units);
    state.charts.power = makeChart($('chart-power'), 'power', [
      { label: 'Budget', stroke: '#d97706', width: 2, dash: [8, 4], paths: stepped, value: legend(POWER_UNITS) },
      { label: 'Planned', stroke: '#2563eb', width: 2, paths: stepped, value: legend(POWER_UNITS) },
      { label: 'Measured', stroke: '#16a34a', width: 2, fill: 'rgba(22,163,74,0.08)', value: legend(POWER_UNITS) },
    ], 300, axisTicks(POWER_UNITS));
    state.charts.hashrate = makeChart($('chart-hashrate'), 'hashrate', [
      { label: 'Hashrate', stroke: '#7c3aed', width: 2, fill: 'rgba(124,58,237,0.08)', value: legend(HASH_UNITS) },
    ], 230, axisTicks(HASH_UNITS));
    const COUNT_UNITS = ['/min', 'k/min', 'M/min', 'G/min'];
    state.charts.shares = makeChart($('chart-shares'), 'shares / min', [
      { label: 'Accepted', stroke: '#16a34a', width: 2, value: legend(COUNT_UNITS) },
      { label: 'Rejected', stroke: '#dc2626', width: 2, value: legend(COUNT_UNITS) },
    ], 230, axisTicks(COUNT_UNITS));
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
    // Without a budget there is no budget line (a flat 0 would read as "budget: nothing").
    const noBudget = state.budgetSource === 'none';
    const w = (kw) => (Number.isFinite(kw) ? kw * 1000 : null);
    state.charts.power.setData([xs, p.map((q) => (noBudget ? null : w(q.budgetKw))), p.map((q) => w(q.plannedKw)), p.map((q) => w(q.measuredKw))]);
    state.charts.hashrate.setData([xs, p.map((q) => (Number.isFinite(q.hashrateThs) ? q.hashrateThs * 1e12 : null))]);
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

  /**
   * The site's state in one word, for the header (issue 13: a green header over a
   * pool that was down, a green "budget live · none" with no budget at all).
   * Red: nothing reaches a pool, the budget fell back to fail-safe, or the page lost
   * the server. Amber: degraded. Grey: no budget configured (proxy only). Pure.
   */
  function siteHealth(s, connected) {
    const bad = [];
    const warn = [];
    const note = [];
    if (!connected) bad.push('dashboard cannot reach surplus');
    const up = s.pools.filter((q) => q.state === 'up');
    const active = s.pools.find((q) => q.active);
    if (s.pools.length === 0) bad.push('no pool configured');
    else if (up.length === 0) bad.push(s.pools.length === 1 ? 'pool down' : 'all pools down');
    else if (!active || active.state !== 'up') warn.push('active pool ' + (active ? active.state : 'none'));
    else if (up.length < s.pools.length) warn.push(s.pools.length - up.length + ' backup pool(s) down');
    if (s.budget.source === 'none') note.push('no budget configured');
    else if (s.budget.status === 'failsafe') bad.push('budget fail-safe (' + fmtPower(s.budget.kw) + ')');
    else if (s.budget.status === 'holding') warn.push('budget source silent, holding last value');
    const by = s.minersByState;
    if (by.fault > 0) warn.push(by.fault + ' miner(s) in fault');
    if (s.accounting && !s.accounting.balanced) warn.push('share books do not balance');
    const level = bad.length > 0 ? 'bad' : warn.length > 0 ? 'warn' : note.length > 0 ? 'note' : 'ok';
    const word = { bad: bad[0], warn: 'degraded', note: 'proxy only', ok: 'ok' }[level];
    return { level: level, word: word, reasons: bad.concat(warn, note) };
  }

  function renderHeader(s, connected) {
    const h = siteHealth(s, connected);
    const site = $('site-state');
    site.textContent = h.level === 'bad' ? h.word.toUpperCase() : h.word;
    site.className = 'badge state-' + h.level;
    site.title = h.reasons.join('; ');
    const alert = $('alert');
    const shown = h.reasons.filter((r) => h.level === 'bad' || h.level === 'warn' ? r !== 'no budget configured' : false);
    alert.hidden = shown.length === 0;
    alert.className = 'alert ' + h.level;
    alert.textContent = shown.join(' · ');
    document.body.dataset.health = h.level;

    const badge = $('budget-badge');
    if (s.budget.source === 'none') {
      badge.textContent = 'no budget';
      badge.className = 'badge none';
      badge.title = 'no budget source configured: the scheduler is off and miners run as they are';
    } else {
      badge.textContent = 'budget ' + s.budget.status + ' · ' + s.budget.source;
      badge.className = 'badge ' + s.budget.status;
      badge.title = '';
    }
    const active = s.pools.find((q) => q.active) || s.pools[0];
    const pool = $('pool-badge');
    if (!active) {
      pool.textContent = 'no pool';
      pool.className = 'badge failsafe';
    } else {
      const up = active.state === 'up';
      pool.textContent = 'pool ' + active.state + (up ? '' : ' ' + ago(active.sinceMs).replace(' ago', ''));
      pool.className = 'badge ' + (up ? 'live' : active.state === 'down' ? 'failsafe' : 'holding');
      pool.title = active.url;
    }
    const sim = $('sim-clock');
    sim.hidden = !s.simulatedTime;
    sim.textContent = s.simulatedTime ? 'simulated ' + s.simulatedTime : '';
    sim.title = 'surplus demo: the time of day the replayed solar trace is at';
  }

  function renderStatus(s) {
    state.status = s;
    state.budgetSource = s.budget.source;
    renderHeader(s, true);
    const none = s.budget.source === 'none';
    $('t-budget').textContent = none ? 'none' : fmtPower(s.budget.kw);
    $('t-budget-src').textContent = none ? 'no budget configured' : s.budget.source + (s.budget.updatedAtMs ? ', updated ' + ago(s.budget.updatedAtMs) : '');
    $('power-note').textContent = none ? '(no budget configured: planned and measured only)' : '';
    $('t-planned').textContent = fmtPower(s.plannedKw);
    $('t-measured').textContent = fmtPower(s.measuredKw);
    $('t-use').textContent = !none && s.budget.kw > 0 ? fmt((100 * s.measuredKw) / s.budget.kw, 0) + ' % of budget' : 'no budget';
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
    $('t-pool').parentElement.className = 'tile' + (active && active.state !== 'up' ? ' tile-bad' : '');
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
      minerTable.render(miners.miners);
      if (state.polls % REPORT_EVERY === 0) renderReport(await getJson('/api/report'));
      state.polls += 1;
      const conn = $('conn');
      conn.textContent = 'updated ' + new Date().toLocaleTimeString();
      conn.className = 'muted';
    } catch (err) {
      const conn = $('conn');
      conn.textContent = 'connection lost, retrying (' + err.message + ')';
      conn.className = 'lost';
      if (state.status) renderHeader(state.status, false);
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  state.siteHealth = siteHealth;
  state.renderMiners = minerTable.render;
  state.fmtHash = fmtHash;
  state.fmtPower = fmtPower;
  buildCharts();
  minerTable.wire();
  poll();
})();
