#!/usr/bin/env node
// Turns the measured 1-minute days listed in README.md (irradiance or a PV system's AC power, from
// the test data of pvlib-python and pvanalytics) into `minute,kw` surplus traces for `surplus
// simulate`. Run: node config/traces/real/convert.mjs RAW_DIR [OUT_DIR], RAW_DIR holding the raw
// files under their upstream names (README.md says where each comes from).
//
// Each day is normalised to its own 99.5th percentile (so a winter day weighs like a summer one:
// what is tested is the shape of the weather, not the season) and scaled like the synthetic days
// (generate.mjs): an array whose clear-sky peak leaves about 4.3 MW of surplus after the site's
// own load, which 600 A1566HA (4.86 MW at full power) can absorb. Cloud enhancement above the
// percentile is kept (up to 15 % above it): it is real.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [raw, out = new URL('.', import.meta.url).pathname] = process.argv.slice(2);
if (!raw) {
  console.error('usage: node config/traces/real/convert.mjs RAW_DIR [OUT_DIR]');
  process.exit(2);
}
const ARRAY_KW = 4720;
const SITE_LOAD_KW = 300;
/** The site's own load, as generate.mjs has it: a base and a daytime bump. */
const load = (m) => SITE_LOAD_KW * (1 + 0.4 * Math.exp(-(((m - 780) / 240) ** 2)));
const hhmm = (x) => Math.floor(x / 100) * 60 + (x % 100);
const lines = (file, skip) => {
  try {
    return readFileSync(join(raw, file), 'utf8').split('\n').slice(skip).filter((l) => l.trim() !== '');
  } catch (err) {
    console.error(`convert.mjs: cannot read ${join(raw, file)} (${err.code ?? err.message}); RAW_DIR must hold the upstream files README.md lists`);
    process.exit(1);
  }
};
const clock = (iso) => Number(iso.slice(11, 13)) * 60 + Number(iso.slice(14, 16));

/** name -> [upstream file, rows to skip, (row) => [minute of the local day, value] | undefined] */
const DAYS = {
  // NOAA SURFRAD, Alamosa CO, UTC (local is UTC-7): global horizontal (dw_solar), column 9.
  'surfrad-alamosa-2016-01-01': ['surfrad-slv16001.dat', 2, (l) => { const c = l.trim().split(/\s+/).map(Number); return [c[4] * 60 + c[5] - 420, c[8]]; }],
  // University of Oregon SRML, Eugene OR: day of year, HHMM (end of the minute), GHI.
  'srml-eugene-2018-01-01': ['SRML-day-EUPO1801.txt', 1, (l) => { const c = l.trim().split(/\s+/).map(Number); return [hhmm(c[1]) - 1, c[2]]; }],
  // NREL MIDC, MST: Global PSP.
  'midc-2018-10-14': ['midc_20181014.txt', 1, (l) => { const c = l.split(','); const [h, m] = c[1].split(':').map(Number); return [h * 60 + m, Number(c[2])]; }],
  // NREL MIDC raw, MST as HHMM: Global Horiz (platform).
  'midc-2018-10-18': ['midc_raw_20181018.txt', 1, (l) => { const c = l.split(',').map(Number); return [hhmm(c[3]), c[7]]; }],
  // NREL MIDC raw, CST as HHMM: Global Horizontal.
  'midc-2019-11-15': ['midc_raw_short_header_20191115.txt', 1, (l) => { const c = l.split(',').map(Number); return [hhmm(c[3]), c[9]]; }],
  // NREL MIDC BMS, Golden CO, local time: Global CMP22.
  'midc-bms-2022-01-20': ['midc_bms_ghi_20220120.csv', 1, (l) => { const c = l.split(','); return [clock(c[0]), Number(c[1])]; }],
  // NREL SERF East PV system, AC power (two days in one file), local time.
  'serf-pv-2022-03-18': ['serf_east_1min_ac_power.csv', 1, (l) => { const c = l.split(','); return c[0].startsWith('2022-03-18') ? [clock(c[0]), Number(c[1])] : undefined; }],
  'serf-pv-2022-03-19': ['serf_east_1min_ac_power.csv', 1, (l) => { const c = l.split(','); return c[0].startsWith('2022-03-19') ? [clock(c[0]), Number(c[1])] : undefined; }],
};

for (const [name, [file, skip, parse]] of Object.entries(DAYS)) {
  const v = new Float64Array(1440).fill(NaN);
  for (const l of lines(file, skip)) {
    const r = parse(l);
    if (r && r[0] >= 0 && r[0] < 1440 && Number.isFinite(r[1])) v[r[0]] = r[1];
  }
  // Night readings go slightly negative (thermal offset); a missing minute repeats the last one.
  let missing = 0;
  for (let i = 0; i < 1440; i++) {
    if (Number.isNaN(v[i])) {
      missing++;
      v[i] = i > 0 ? v[i - 1] : 0;
    }
    v[i] = Math.max(0, v[i]);
  }
  const p995 = [...v].sort((a, b) => a - b)[Math.floor(1440 * 0.995)];
  const rows = [...v].map((x, m) => `${m},${Math.max(0, ARRAY_KW * Math.min(1.15, x / p995) - load(m)).toFixed(1)}`);
  writeFileSync(join(out, `${name}.csv`), `# measured, from ${file} (see README.md), scaled by convert.mjs\nminute,kw\n${rows.join('\n')}\n`);
  console.log(`${name}: ${file}, 99.5th percentile ${p995.toFixed(1)}, ${missing} minutes missing`);
}
