#!/usr/bin/env node
// Turns the measured 1-minute days listed in README.md (irradiance or a PV system's AC power, from
// the test and example data of pvlib-python, pvanalytics and Sandia's PV_LIB for MATLAB) into
// `minute,kw` surplus traces for `surplus simulate`. Run: node config/traces/real/convert.mjs RAW_DIR [OUT_DIR], RAW_DIR holding the raw
// files under their upstream names (README.md says where each comes from).
//
// Each day is normalised to its own 99.5th percentile (so a winter day weighs like a summer one:
// what is tested is the shape of the weather, not the season) and scaled like the synthetic days
// (generate.mjs): an array whose clear-sky peak leaves about 4.3 MW of surplus after the site's
// own load, which 600 A1566HA (4.86 MW at full power) can absorb. Cloud enhancement above the
// percentile is kept (up to 15 % above it): it is real.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

// --psel-year: every day of 2012 from PSEL_GHI_2012.mat instead of the days listed below (into
// OUT_DIR, which should then not be this folder): the year-long check in BENCHMARKS.md.
const argv = process.argv.slice(2);
const pselYear = argv.includes('--psel-year');
const unknown = argv.find((a) => a.startsWith('--') && a !== '--psel-year');
if (unknown) {
  console.error(`convert.mjs: unknown option ${unknown}; the only option is --psel-year`);
  process.exit(2);
}
const [raw, out = new URL('.', import.meta.url).pathname] = argv.filter((a) => a !== '--psel-year');
if (!raw) {
  console.error('usage: node config/traces/real/convert.mjs [--psel-year] RAW_DIR [OUT_DIR]');
  process.exit(2);
}
const ARRAY_KW = 4720;
const SITE_LOAD_KW = 300;
const GAP_MIN = 5;
/** The site's own load, as generate.mjs has it: a base and a daytime bump. */
const load = (m) => SITE_LOAD_KW * (1 + 0.4 * Math.exp(-(((m - 780) / 240) ** 2)));
const hhmm = (x) => Math.floor(x / 100) * 60 + (x % 100);
const read = (file, encoding) => {
  try {
    return readFileSync(join(raw, file), encoding);
  } catch (err) {
    console.error(`convert.mjs: cannot read ${join(raw, file)} (${err.code ?? err.message}); RAW_DIR must hold the upstream files README.md lists`);
    process.exit(1);
  }
};
const lines = (file, skip) => read(file, 'utf8').split('\n').slice(skip).filter((l) => l.trim() !== '');
const clock = (iso) => Number(iso.slice(11, 13)) * 60 + Number(iso.slice(14, 16));
/** m/d/yyyy h:mm (PVDAQ exports) -> [yyyy-mm-dd, minute of the day]. */
const usDate = (s) => {
  const [d, t] = s.split(' ');
  const [mo, da, y] = d.split('/');
  const [h, mi] = t.split(':').map(Number);
  return [`${y}-${mo.padStart(2, '0')}-${da.padStart(2, '0')}`, h * 60 + mi];
};

/**
 * The numeric arrays of a MATLAB 5 MAT-file (little-endian; compressed or not; plain matrices
 * only), as rows [a[i], b[i], ...] in the order the arrays are stored. Enough for PV_LIB's
 * example data; see "MAT-File Format" (MathWorks) for the element layout.
 */
const matRows = (file) => {
  const GET = { 1: [1, 'getInt8'], 2: [1, 'getUint8'], 3: [2, 'getInt16'], 4: [2, 'getUint16'], 5: [4, 'getInt32'], 6: [4, 'getUint32'], 7: [4, 'getFloat32'], 9: [8, 'getFloat64'] };
  const arrays = [];
  const walk = (b, from, inMatrix) => {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const parts = [];
    for (let p = from; p + 8 <= b.length; ) {
      const tag = dv.getUint32(p, true);
      const small = tag >>> 16 !== 0; // a small element packs its size and type into one word
      const type = small ? tag & 0xffff : tag;
      const size = small ? tag >>> 16 : dv.getUint32(p + 4, true);
      const data = b.subarray(p + (small ? 4 : 8), p + (small ? 4 : 8) + size);
      // Elements are padded to 8 bytes, except compressed ones.
      p += small ? 8 : 8 + size + (type === 15 ? 0 : (8 - (size % 8)) % 8);
      if (inMatrix) parts.push([type, data]);
      else if (type === 15) walk(inflateSync(data), 0, false);
      else if (type === 14) walk(data, 0, true);
    }
    // A matrix is flags, dimensions, name, real part.
    const real = parts[3];
    if (real && GET[real[0]]) {
      const [w, get] = GET[real[0]];
      const dv2 = new DataView(real[1].buffer, real[1].byteOffset, real[1].byteLength);
      arrays.push(Array.from({ length: real[1].length / w }, (_, i) => dv2[get](i * w, true)));
    }
  };
  walk(read(file), 128, false);
  if (arrays.length === 0) {
    console.error(`convert.mjs: ${join(raw, file)} holds no numeric MATLAB 5 arrays`);
    process.exit(1);
  }
  return arrays[0].map((_, i) => arrays.map((a) => a[i]));
};
const cache = new Map();
/** Rows of an upstream file: text lines after `skip` header rows, or the arrays of a .mat file. */
const records = (file, skip) => {
  const key = `${file}:${skip}`;
  if (!cache.has(key)) cache.set(key, file.endsWith('.mat') ? matRows(file) : lines(file, skip));
  return cache.get(key);
};
/** MATLAB datenum (days since year 0, UTC here) -> minute of the local day `date`, UTC+`utcOffsetH`. */
const datenumMinute = (t, date, utcOffsetH) => Math.round((t - (Date.parse(date) / 86_400_000 + 719_529)) * 1440) + utcOffsetH * 60;

/** A day of Sandia PSEL's 2012 file: GHI against a datenum in UTC (local is UTC-7). */
const pselDay = (date) => ['PSEL_GHI_2012.mat', 0, ([ghi, t]) => [datenumMinute(t, date, -7), ghi]];

/** name -> [upstream file, header rows to skip (text files), (row) => [minute of the local day, value] | undefined] */
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
  // NREL SERF West PV system, AC power (ac_power__773), local standard time (MST).
  'serf-west-2021-04-14': ['serf_west_1min.csv', 1, (l) => { const c = l.split(','); const [d, m] = usDate(c[0]); return d === '2021-04-14' ? [m, Number(c[4])] : undefined; }],
  // Sandia PSEL, Albuquerque NM, 2012: GHI against a datenum in UTC (local is UTC-7). The
  // logger skips about one minute in six; convert.mjs interpolates those.
  ...Object.fromEntries(['2012-03-18', '2012-04-13', '2012-05-08', '2012-06-15', '2012-06-20', '2012-08-17'].map((date) => [
    `psel-${date}`, pselDay(date),
  ])),
  // One-minute module monitoring data (plane-of-array irradiance, local standard time) from the
  // example of pvlib-python pull request 1878.
  ...Object.fromEntries(['2020-03-20', '2020-03-23', '2020-03-24'].map((date) => [
    `tmod-poa-${date}`, ['tmod_sample_data_subset.csv', 1, (l) => { const c = l.split(','); return c[0].startsWith(date) ? [clock(c[0]), Number(c[1])] : undefined; }],
  ])),
};

const YEAR = Array.from({ length: 366 }, (_, d) => new Date(Date.UTC(2012, 0, 1 + d)).toISOString().slice(0, 10));
for (const [name, [file, skip, parse]] of Object.entries(pselYear ? Object.fromEntries(YEAR.map((date) => [`psel-${date}`, pselDay(date)])) : DAYS)) {
  const v = new Float64Array(1440).fill(NaN);
  for (const l of records(file, skip)) {
    const r = parse(l);
    if (r && r[0] >= 0 && r[0] < 1440 && Number.isFinite(r[1])) v[r[0]] = r[1];
  }
  // Night readings go slightly negative (thermal offset). A gap of up to GAP_MIN minutes between
  // two readings is a logger skip: interpolated. A longer one (night, an outage) and the minutes
  // before the first reading repeat the last one.
  let missing = 0;
  let interpolated = 0;
  for (let i = 0; i < 1440; i++) {
    if (!Number.isNaN(v[i])) continue;
    let j = i;
    while (j < 1440 && Number.isNaN(v[j])) j++;
    const from = i > 0 ? v[i - 1] : 0;
    const skip = i > 0 && j < 1440 && j - i <= GAP_MIN;
    for (let k = i; k < j; k++) v[k] = skip ? from + ((v[j] - from) * (k - i + 1)) / (j - i + 1) : from;
    missing += j - i;
    if (skip) interpolated += j - i;
    i = j;
  }
  for (let i = 0; i < 1440; i++) v[i] = Math.max(0, v[i]);
  const p995 = [...v].sort((a, b) => a - b)[Math.floor(1440 * 0.995)];
  const rows = [...v].map((x, m) => `${m},${Math.max(0, ARRAY_KW * Math.min(1.15, x / p995) - load(m)).toFixed(1)}`);
  writeFileSync(join(out, `${name}.csv`), `# measured, from ${file} (see README.md), scaled by convert.mjs\nminute,kw\n${rows.join('\n')}\n`);
  console.log(`${name}: ${file}, 99.5th percentile ${p995.toFixed(1)}, ${missing} minutes missing (${interpolated} interpolated)`);
}
