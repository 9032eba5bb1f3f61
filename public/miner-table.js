// surplus dashboard: the miner table. Sorts and filters every miner, paints
// only the rows in view. Every value goes in with textContent (worker names,
// firmware strings and device errors come from the miners and devices).
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const { fmtInt, fmtNum, fmtPower, fmtHash, fmtDuration, ago } = window.surplusFormat;

  // ---- miner table: sort, filter, and row reuse (a site has 500–1,000 rows) ----

  const dev = (m) => m.device || {};
  const minFan = (m) => (dev(m).fansRpm && dev(m).fansRpm.length > 0 ? Math.min.apply(null, dev(m).fansRpm) : undefined);
  /** Column key -> [sort value, text, class]. Sort values: numbers or strings; undefined sorts last. */
  const COLUMNS = {
    id: (m) => [m.id, m.id],
    worker: (m) => [m.worker, m.worker],
    state: (m) => [m.state, m.state, 'pill'],
    mode: (m) => [m.mode || undefined, m.mode || '–'],
    power: (m) => [m.kw, fmtPower(m.kw), 'num'],
    hashrate: (m) => [m.hashrateThs, fmtHash(m.hashrateThs), 'num'],
    temp: (m) => [dev(m).tempMaxC, dev(m).tempMaxC === undefined ? '–' : Math.round(dev(m).tempMaxC) + ' °C', 'num' + (dev(m).tempMaxC >= 90 ? ' hot' : '')],
    fans: (m) => {
      const f = minFan(m);
      return [f, f === undefined ? '–' : fmtInt(f) + ' rpm' + (dev(m).fansRpm.length > 1 ? ' ×' + dev(m).fansRpm.length : ''), 'num' + (f === 0 && m.state === 'hashing' ? ' hot' : '')];
    },
    uptime: (m) => [dev(m).uptimeS, fmtDuration(dev(m).uptimeS), 'num'],
    error: (m) => [dev(m).lastError, dev(m).lastError ? dev(m).lastError + ' (' + ago(dev(m).lastErrorAtMs) + ')' : '', 'clip err'],
    accepted: (m) => [m.shares.accepted, fmtInt(m.shares.accepted), 'num'],
    rejected: (m) => [m.shares.rejected, fmtInt(m.shares.rejected), 'num'],
    stale: (m) => [m.shares.stale, fmtInt(m.shares.stale), 'num'],
    difficulty: (m) => [m.difficulty, fmtNum(m.difficulty), 'num'],
    lastShare: (m) => [m.lastShareAtMs === null ? undefined : -m.lastShareAtMs, ago(m.lastShareAtMs)],
    firmware: (m) => [dev(m).firmware, dev(m).firmware || '–', 'clip'],
    address: (m) => [dev(m).address, dev(m).address || '–'],
  };
  const KEYS = Object.keys(COLUMNS);
  const table = { sortKey: 'id', dir: 1, filter: '', stateFilter: '', rows: new Map(), order: '', list: [], shown: [] };
  const collator = new Intl.Collator('en', { numeric: true });

  function compare(a, b) {
    if (a === b) return 0;
    if (a === undefined || a === null || (typeof a === 'number' && Number.isNaN(a))) return 1;
    if (b === undefined || b === null || (typeof b === 'number' && Number.isNaN(b))) return -1;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return collator.compare(String(a), String(b));
  }

  function matches(m) {
    if (table.stateFilter === 'problems') {
      if (!(m.state === 'fault' || m.state === 'disconnected' || (dev(m).lastError && m.state !== 'hashing'))) return false;
    } else if (table.stateFilter && m.state !== table.stateFilter) return false;
    if (!table.filter) return true;
    const hay = [m.id, m.worker, m.state, m.mode, dev(m).firmware, dev(m).address, dev(m).lastError].join(' ').toLowerCase();
    return table.filter.split(/\s+/).every((w) => hay.includes(w));
  }

  function rowFor(id) {
    let r = table.rows.get(id);
    if (!r) {
      const tr = document.createElement('tr');
      tr.dataset.id = id;
      const tds = KEYS.map(() => tr.appendChild(document.createElement('td')));
      r = { tr: tr, tds: tds, texts: new Array(KEYS.length).fill(null) };
      table.rows.set(id, r);
    }
    return r;
  }

  function setCell(r, i, text, cls) {
    if (r.texts[i] === text + '|' + cls) return;
    r.texts[i] = text + '|' + cls;
    const td = r.tds[i];
    if (cls === 'pill') {
      td.className = '';
      const span = document.createElement('span');
      span.className = 'state ' + String(text).replace(/[^a-z]/g, '');
      span.textContent = text;
      td.replaceChildren(span);
    } else {
      td.className = cls || '';
      td.textContent = text;
      if (cls && cls.includes('clip')) td.title = text;
    }
  }

  /**
   * Sorts and filters every miner (cheap: plain JS over 1,000 objects), then
   * paints only the rows inside the scroll box plus a margin, between two
   * spacer rows that keep the scrollbar honest. Laying out a 17-column table
   * of 1,000 rows took about a second in Chromium on every poll; a window of
   * ~60 rows takes a few milliseconds whatever the site's size.
   */
  function renderMiners(list) {
    if (list) table.list = list;
    const all = table.list;
    const col = COLUMNS[table.sortKey];
    const shown = all.filter(matches).map((m) => ({ m: m, k: col(m)[0] }));
    shown.sort((a, b) => {
      const c = compare(a.k, b.k);
      // Missing values stay last whichever way the column is sorted; ties keep id order.
      if (a.k === undefined || b.k === undefined) return c || collator.compare(a.m.id, b.m.id);
      return table.dir * c || collator.compare(a.m.id, b.m.id);
    });
    table.shown = shown.map((x) => x.m);
    // Rows of miners that left the list are dropped.
    if (table.rows.size > 0) {
      const ids = new Set(all.map((m) => m.id));
      for (const id of table.rows.keys()) if (!ids.has(id)) table.rows.delete(id);
    }
    paintRows();
    $('miner-count').textContent = shown.length === all.length ? '(' + all.length + ')' : '(' + shown.length + ' of ' + all.length + ')';
    for (const th of $('miners').tHead.rows[0].cells) {
      const on = th.dataset.key === table.sortKey;
      th.setAttribute('aria-sort', on ? (table.dir > 0 ? 'ascending' : 'descending') : 'none');
      th.classList.toggle('sorted', on);
    }
  }

  const ROW_PX = 28; // tbody tr height in dashboard.css
  const OVERSCAN = 20;

  function spacer(px) {
    const tr = document.createElement('tr');
    tr.className = 'spacer';
    const td = document.createElement('td');
    td.colSpan = KEYS.length;
    tr.style.height = px + 'px';
    tr.appendChild(td);
    return tr;
  }

  function paintRows() {
    const box = $('miners-scroll');
    const n = table.shown.length;
    const first = Math.max(0, Math.floor(box.scrollTop / ROW_PX) - OVERSCAN);
    const last = Math.min(n, Math.ceil((box.scrollTop + (box.clientHeight || 600)) / ROW_PX) + OVERSCAN);
    const trs = [];
    for (let i = first; i < last; i++) {
      const m = table.shown[i];
      const r = rowFor(m.id);
      for (let c = 0; c < KEYS.length; c++) {
        const v = COLUMNS[KEYS[c]](m);
        setCell(r, c, v[1], v[2]);
      }
      trs.push(r.tr);
    }
    const key = first + ':' + last + ':' + trs.map((tr) => tr.dataset.id).join('\n');
    if (key === table.order) return;
    table.order = key;
    const body = [];
    if (first > 0) body.push(spacer(first * ROW_PX));
    body.push(...trs);
    if (last < n) body.push(spacer((n - last) * ROW_PX));
    $('miners').tBodies[0].replaceChildren(...body);
  }

  function wireTable() {
    $('miners').tHead.addEventListener('click', (e) => {
      const th = e.target.closest('th');
      if (!th || !th.dataset.key) return;
      if (table.sortKey === th.dataset.key) table.dir = -table.dir;
      else {
        table.sortKey = th.dataset.key;
        // Numbers read best largest first (hottest, most rejected); names A to Z.
        table.dir = th.classList.contains('num') ? -1 : 1;
      }
      renderMiners();
    });
    let t = null;
    $('miner-filter').addEventListener('input', (e) => {
      clearTimeout(t);
      t = setTimeout(() => {
        table.filter = e.target.value.trim().toLowerCase();
        renderMiners();
      }, 120);
    });
    let frame = 0;
    $('miners-scroll').addEventListener('scroll', () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        paintRows();
      });
    }, { passive: true });
    $('miner-state').addEventListener('change', (e) => {
      table.stateFilter = e.target.value;
      renderMiners();
    });
  }

  window.surplusMinerTable = { table, render: renderMiners, wire: wireTable };
})();
