#!/usr/bin/env node
// Issue 12 results table: `surplus simulate` over the synthetic days in config/traces/
// (seeds a/b developed on, c/d and variable e/f held out), 600 units, for both mode-change
// settings of the A1566HA profile, and beside each default-model row the `--bound` figure
// (perfect foresight, HiGHS LP, same wear budget and ramp limit; run through the CLI exactly as
// an operator would). Run: npm run build && node bench/power-days.mjs [filter]
// Prints the Markdown table, then where the offered energy went on each day (default model).
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runSimulation } from '../dist/commands/simulate.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv[2] ?? '';
const run = promisify(execFile);
const instant = { config: join(root, 'config/simulate-instant-modes.yaml'), model: 'avalon-a1566ha-instant' };
const days = [
  ...['clear', 'mixed'].flatMap((k) => [...'abcd'].map((t) => [k, t])),
  ...[...'abcdef'].map((t) => ['variable', t]),
];
const pct = (x, d = 2) => `${x.toFixed(d)} %`;
const rows = [];
const losses = [];
console.log('| day | seed | mode change | absorbed | --bound (scheduler share of it) | above budget (% of offered) | after deadline above budget | cycles/unit mean / p95 / max | mode changes/unit mean / max |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const [kind, tag] of days) {
  const name = `${kind}-${tag}`;
  if (!name.includes(filter)) continue;
  const trace = join(root, `config/traces/${name}.csv`);
  const held = 'cdef'.includes(tag) ? ' (held out)' : '';
  // Default model through the CLI with --bound (the LP needs the budget samples the CLI collects).
  const { stdout } = await run(process.execPath, [join(root, 'dist/cli.js'), 'simulate', '--trace', trace, '--units', '600', '--bound', '--json'], { maxBuffer: 64 << 20 });
  const d = JSON.parse(stdout);
  const { report: i } = await runSimulation({ trace, units: 600, ...instant });
  for (const [label, r, b] of [['restart (default)', d, d.bound], ['instant', i, undefined]]) {
    const bound = b ? `${pct(b.absorbedPct)} at ≤ ${b.cyclesPerUnit} cycles (${b.schedulerShareOfBoundPct.toFixed(1)} %)` : '';
    const line = `| ${kind} | ${tag}${held} | ${label} | ${pct(r.absorbedPct)} | ${bound} | ${pct(r.aboveBudgetPctOfOffered, 3)} | ${r.afterDeadlineAboveKwh.toFixed(2)} kWh | ${r.cyclesPerUnit.mean.toFixed(1)} / ${r.cyclesPerUnit.p95} / ${r.cyclesPerUnit.max} | ${r.modeChangesPerUnit.mean.toFixed(1)} / ${r.modeChangesPerUnit.max} |`;
    console.log(line);
    rows.push(line);
  }
  const of = (kwh) => pct((100 * kwh) / d.offeredKwh, 1);
  losses.push(`| ${name} | ${d.offeredKwh.toFixed(0)} | ${pct(d.absorbedPct)} | ${of(d.rampLimitCostKwh)} | ${of(d.rampUpLossKwh)} | ${of(d.aboveBudgetKwh)} | ${d.plans} / ${d.commands} |`);
}
console.log('\nDefault model: where the offered energy went (simulate report, share of offered)\n');
console.log('| day | offered kWh | absorbed | held back by the ramp limit (estimate) | lost to ramp-up after softon | drawn above budget | plans / commands |');
console.log('|---|---|---|---|---|---|---|');
for (const l of losses) console.log(l);
