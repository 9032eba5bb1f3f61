#!/usr/bin/env node
// Issue 12 results table: `surplus simulate` over the synthetic days in config/traces/
// (seeds a/b developed on, c/d held out), 600 units, for both mode-change settings of the
// A1566HA profile. Run: npm run build && node bench/power-days.mjs [filter]
// Prints one Markdown row per day and setting (the --bound column is left for issue 12 item 8).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSimulation } from '../dist/commands/simulate.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv[2] ?? '';
const settings = [
  ['restart (default)', {}],
  ['instant', { config: join(root, 'config/simulate-instant-modes.yaml'), model: 'avalon-a1566ha-instant' }],
];
const pct = (x, d = 2) => `${x.toFixed(d)} %`;
console.log('| day | seed | mode change | absorbed | above budget (% of offered) | overshoot after deadline | cycles/unit mean / max | mode changes/unit mean / max | --bound |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const kind of ['clear', 'mixed', 'variable']) {
  for (const tag of 'abcd') {
    const name = `${kind}-${tag}`;
    if (!name.includes(filter)) continue;
    for (const [label, extra] of settings) {
      const { report: r } = await runSimulation({ trace: join(root, `config/traces/${name}.csv`), units: 600, ...extra });
      const held = tag === 'c' || tag === 'd' ? ' (held out)' : '';
      console.log(`| ${kind} | ${tag}${held} | ${label} | ${pct(r.absorbedPct)} | ${pct((100 * r.aboveBudgetKwh) / r.offeredKwh, 3)} | ${r.overshootAfterDeadlineKw.toFixed(1)} kW | ${r.cyclesPerUnit.mean.toFixed(1)} / ${r.cyclesPerUnit.max} | ${r.modeChangesPerUnit.mean.toFixed(1)} / ${r.modeChangesPerUnit.max} | |`);
    }
  }
}
