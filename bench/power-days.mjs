#!/usr/bin/env node
// Issue 12 results table: `surplus simulate` over the synthetic days in config/traces/
// (seeds a/b developed on, c/d and variable e/f held out, g-i unseen), 600 units, for both mode-change
// settings of the A1566HA profile, and beside each default-model row the `--bound` figure
// (perfect foresight, HiGHS LP, same wear budget and ramp limit; run through the CLI exactly as
// an operator would). Run: npm run build && node bench/power-days.mjs [filter]
// With `--days DIR`, only the days in DIR (CSV traces for 600 units, as `simulate --trace` reads
// them) at each wear budget: the table to judge the scheduler on days of one's own.
// Prints the Markdown table, then where the offered energy went on each day (default model), then
// the mixed and variable days at wear budgets 6, 12 and 24 (both mode-change settings, --bound
// beside the default model), then the same for the measured days in config/traces/real/.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runSimulation } from '../dist/commands/simulate.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const at = args.indexOf('--days');
if (at >= 0 && (args[at + 1] === undefined || args[at + 1].startsWith('--'))) {
  console.error('power-days: --days needs a folder of CSV day traces');
  process.exit(2);
}
const daysDir = at >= 0 ? args.splice(at, 2)[1] : undefined;
const filter = args[0] ?? '';
let ownDays = [];
if (daysDir !== undefined) {
  try {
    ownDays = readdirSync(daysDir).filter((f) => f.endsWith('.csv')).sort();
  } catch (err) {
    console.error(`power-days: --days ${daysDir ?? ''}: cannot read the folder (${err.code ?? err.message}); give a folder of CSV day traces`);
    process.exit(2);
  }
  if (ownDays.length === 0) {
    console.error(`power-days: --days ${daysDir}: no .csv files in that folder; give a folder of CSV day traces`);
    process.exit(2);
  }
}
const run = promisify(execFile);
const instant = { config: join(root, 'config/simulate-instant-modes.yaml'), model: 'avalon-a1566ha-instant' };
const days = [
  ...['clear', 'mixed'].flatMap((k) => [...'abcdghi'].map((t) => [k, t])),
  ...[...'abcdefghi'].map((t) => ['variable', t]),
];
// a/b developed on; c-f held out; g-i generated after the policy was tuned (never looked at before).
const seedNote = (tag) => ('cdef'.includes(tag) ? ' (held out)' : 'ghi'.includes(tag) ? ' (new, unseen)' : '');
// Wear budgets for the second table: "at <= 6" and "at <= 12" both visible, and the default.
const BUDGETS = [6, 12, 24];
const tmp = mkdtempSync(join(tmpdir(), 'power-days-'));
const budgetConfig = (cycles, instantModes) => {
  const file = join(tmp, `${instantModes ? 'instant' : 'restart'}-${cycles}.yaml`);
  const base = instantModes ? readFileSync(instant.config, 'utf8') : '';
  writeFileSync(file, `${base}\nscheduler:\n  maxCyclesPerDay: ${cycles}\n`);
  return file;
};
const pct = (x, d = 2) => `${x.toFixed(d)} %`;
const rows = [];
const losses = [];
if (daysDir === undefined) {
  console.log('| day | seed | mode change | absorbed | --bound (scheduler share of it) | above budget (% of offered) | after deadline above budget | cycles/unit mean / p95 / max | mode changes/unit mean / max |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [kind, tag] of days) {
    const name = `${kind}-${tag}`;
    if (!name.includes(filter)) continue;
    const trace = join(root, `config/traces/${name}.csv`);
    const held = seedNote(tag);
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
    losses.push(`| ${name} | ${d.offeredKwh.toFixed(0)} | ${pct(d.absorbedPct)} | ${of(d.rampLimitCostKwh)} | ${of(d.wearHeldKwh)} | ${of(d.rampUpLossKwh)} | ${of(d.aboveBudgetKwh)} | ${d.plans} / ${d.commands} |`);
  }
  console.log('\nDefault model: where the offered energy went (simulate report, share of offered)\n');
  console.log('| day | offered kWh | absorbed | held back by the ramp limit (estimate) | held off by the wear budget (estimate) | lost to ramp-up after softon | drawn above budget | plans / commands |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const l of losses) console.log(l);
}

// One trace at each wear budget, both mode-change settings; --bound beside the default model at
// the same budget. `prefix` is the row's first cells.
const HEAD = 'maxCyclesPerDay | mode change | absorbed | --bound (scheduler share of it) | cycles/unit mean / p95 / max | mode changes/unit mean | held off by the wear budget | above budget (% of offered) | after deadline |';
async function atBudgets(trace, prefix) {
  for (const cycles of BUDGETS) {
    let stdout;
    try {
      ({ stdout } = await run(process.execPath, [join(root, 'dist/cli.js'), 'simulate', '--trace', trace, '--units', '600', '--config', budgetConfig(cycles, false), '--bound', '--json'], { maxBuffer: 64 << 20 }));
    } catch (err) {
      // A day the simulator refuses (a bad row, no surplus) is named with its one-line reason; the others still run.
      console.error(`power-days: ${trace}: ${String(err.stderr ?? err.message).trim().split('\n')[0]}`);
      return;
    }
    const d = JSON.parse(stdout);
    const { report: i } = await runSimulation({ trace, units: 600, config: budgetConfig(cycles, true), model: instant.model });
    for (const [label, r, b] of [['restart (default)', d, d.bound], ['instant', i, undefined]]) {
      const bound = b ? `${pct(b.absorbedPct)} (${b.schedulerShareOfBoundPct.toFixed(1)} %)` : '';
      console.log(`| ${prefix} | ${cycles} | ${label} | ${pct(r.absorbedPct)} | ${bound} | ${r.cyclesPerUnit.mean.toFixed(1)} / ${r.cyclesPerUnit.p95} / ${r.cyclesPerUnit.max} | ${r.modeChangesPerUnit.mean.toFixed(1)} | ${pct((100 * r.wearHeldKwh) / r.offeredKwh, 1)} | ${pct(r.aboveBudgetPctOfOffered, 3)} | ${r.afterDeadlineAboveKwh.toFixed(2)} kWh |`);
    }
  }
}

if (daysDir === undefined) {
  console.log(`\nMixed and variable days at maxCyclesPerDay ${BUDGETS.join(', ')}\n`);
  console.log(`| day | seed | ${HEAD}`);
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [kind, tag] of days) {
    const name = `${kind}-${tag}`;
    if (kind === 'clear' || !name.includes(filter)) continue;
    await atBudgets(join(root, `config/traces/${name}.csv`), `${kind} | ${tag}${seedNote(tag)}`);
  }
}

// The measured days (config/traces/real/, never tuned on but for the off floors they showed).
const realDir = daysDir ?? join(root, 'config/traces/real');
console.log(`\n${daysDir === undefined ? 'Measured days (config/traces/real/)' : `Days in ${daysDir}`} at maxCyclesPerDay ${BUDGETS.join(', ')}\n`);
console.log(`| day | ${HEAD}`);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const file of daysDir === undefined ? readdirSync(realDir).filter((f) => f.endsWith('.csv')).sort() : ownDays) {
  if (file.includes(filter)) await atBudgets(join(realDir, file), file.slice(0, -4));
}
rmSync(tmp, { recursive: true, force: true });
