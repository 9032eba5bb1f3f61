import type { PeriodStats, SimulationReport } from './simulator.js';

/** The human-readable form of a simulation report (the JSON form is the report itself). */

const f = (x: number, d = 1): string => x.toFixed(d);

export function formatReport(r: SimulationReport, title: string): string {
  const lines: string[] = [];
  lines.push(`surplus simulate: ${title}`);
  lines.push(`  ${r.units} units, ${f(r.hours, 2)} h from ${r.startIso}, step ${r.stepS} s, ${r.plans} plans, ${r.commands} commands, ran in ${f(r.runMs / 1000, 2)} s`);
  // A run with foresight says so at the top: its figures are not what a meter alone gets.
  if (r.lookAheadS !== undefined) lines.push(`  every reading carried a ${r.lookAheadErrorPct ? `nowcast erring by ${r.lookAheadErrorPct} % per minute` : 'perfect nowcast'} of its lowest value over the next ${r.lookAheadS} s (--look-ahead)`);
  lines.push('');
  const rows: Array<[string, string]> = [
    ['surplus offered', `${f(r.offeredKwh)} kWh`],
    ['energy drawn', `${f(r.drawnKwh)} kWh`],
    ['share absorbed', `${f(r.absorbedPct, 2)} %`],
    ['share absorbed above floor', `${f(r.absorbedAboveFloorPct, 2)} % (surplus above the all-off draw)`],
    ['drawn above budget', `${f(r.aboveBudgetKwh, 3)} kWh (${f(r.aboveBudgetPctOfOffered, 3)} % of offered)`],
    ['time above budget', `${f(r.timeAbovePct, 3)} % (longest ${f(r.longestAboveS, 0)} s); by more than one unit: ${f(r.aboveByMoreThanUnitS, 0)} s`],
    ['largest overshoot', `${f(r.maxOvershootKw, 2)} kW (at a cut's first instant)`],
    ['after the response deadline', `${f(r.afterDeadlineAboveKwh, 3)} kWh above budget, ${f(r.afterDeadlineAboveS, 0)} s, max ${f(r.overshootAfterDeadlineKw, 2)} kW (cut deadline + device lead)`],
    ['lost to ramp-up', `${f(r.rampUpLossKwh, 1)} kWh (room in the budget, units still ramping)`],
    ['cost of the ramp limit', `${f(r.rampLimitCostKwh, 1)} kWh (room in the budget the ramp limit held back, estimate)`],
    ['held off by the wear budget', `${f(r.wearHeldKwh, 1)} kWh (room in the budget for units out of cycles or in a wear hold, estimate)`],
    ['standby above budget', `${f(r.standbyAboveBudgetKwh, 1)} kWh (all-off floor ${f(r.standbyFloorKw, 1)} kW, unavoidable)`],
    ['on/off cycles per unit', `mean ${f(r.cyclesPerUnit.mean, 2)}, p95 ${r.cyclesPerUnit.p95}, max ${r.cyclesPerUnit.max}`],
    ['mode changes per unit', `mean ${f(r.modeChangesPerUnit.mean, 2)}, max ${r.modeChangesPerUnit.max}`],
    ['switches per unit', `mean ${f(r.switchesPerUnit.mean, 2)}, max ${r.switchesPerUnit.max} (on, off and mode commands)`],
    ['against the budget', `${r.againstTrend} switches (off/down while it rose, on/up while it fell)`],
    ['decisions', `${r.decisions.decided}: ${r.decisions.issued} issued, ${r.decisions.superseded} superseded, ${r.decisions.pending} pending at the end`],
    ['hashrate-hours', `${f(r.hashPhH, 2)} PH·h`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) lines.push(`  ${k.padEnd(w)}  ${v}`);
  lines.push('');
  const head = ['hour', 'offered kWh', 'drawn kWh', 'absorbed %', 'above kWh', 'above %', 'max over kW', 'PH·h', 'cycles', 'modes'];
  const cells = (h: PeriodStats & { hour: number }): string[] => [
    String(h.hour).padStart(2, '0'),
    f(h.offeredKwh),
    f(h.drawnKwh),
    h.offeredKwh > 0 ? f(h.absorbedPct, 2) : '-',
    f(h.aboveBudgetKwh, 3),
    f(h.timeAbovePct, 2),
    f(h.maxOvershootKw, 2),
    f(h.hashPhH, 2),
    String(h.cycles),
    String(h.modeChanges),
  ];
  const table = [head, ...r.perHour.map(cells)];
  const widths = head.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  for (const row of table) lines.push('  ' + row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  return lines.join('\n');
}
