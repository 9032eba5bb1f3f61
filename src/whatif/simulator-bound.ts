// The package's typings are CommonJS-shaped; its ESM build's default export is the loader.
import * as highsModule from 'highs';

/**
 * `surplus simulate --bound` (issue 12 item 8): the best absorption any
 * controller could reach on this trace with perfect foresight, under the
 * same wear budget and device limits, as a linear program solved by HiGHS
 * (the `highs` package: HiGHS compiled to WebAssembly, no native add-on).
 * An operator compares the scheduler's result with it to choose a wear
 * budget and to size a fleet.
 *
 * The model, per interval k of `intervalS` (aggregated to keep it small) and
 * per group g of identical units (one model):
 *   x[k,g,m] >= 0   units of g running in mode m (continuous: a relaxation),
 *   Σ_m x[k,g,m] <= N_g,
 *   d[k] = Σ_g Σ_m x[k,g,m] (kW_gm − standby_g) + floor      the draw, kW,
 *   u[k,g,m] >= x[k,g,m] − x[k−1,g,m], u >= 0                units that enter mode m,
 *   a[k] = d[k] − Σ_g Σ_m u[k,g,m] r_g (kW_gm − standby_g)   the draw less ramp losses,
 *   s[k,g] >= n[k−1,g] − n[k,g], s >= 0                       units switched off,
 *   Σ_k s[k,g] <= cycles · N_g                                the wear budget,
 *   d[k] − d[k−1] <= rampKwPerMin · intervalS / 60 (+ the budget's rise, on the net basis)   the ramp limit,
 *   d[k] <= max(largest budget of k, floor) + e[k]            never above budget,
 *   y[k,j] <= a[k], y[k,j] <= B[k,j]                          absorbed in bin j,
 *   maximise Σ_k Σ_j y[k,j] · D[k,j] − 1000 · Σ_k e[k] · intervalS.
 * r_g = rampUpS / (2 · intervalS): a unit that enters a mode (a softon, or on
 * firmware that restarts its boards a mode change) ramps linearly from standby
 * and loses half its ramp's energy, charged to the interval it enters in (to
 * what is absorbed, not to the cap: a loss must not buy room under it). u is
 * the fewest units that can have entered (the net increase), so the charge is
 * never more than the real loss and the program stays an upper bound. With
 * `modeChange: instant` only switch-ons ramp: u[k,g] >= n[k,g] − n[k−1,g], at
 * the lowest mode's kW. Without this charge (rampUpS absent) a restart-mode
 * fleet could follow every ripple of the budget with mode changes for free,
 * and the bound read 100 % on days a real fleet cannot get near.
 * The excess e is there only to keep the program feasible when the wear
 * budget cannot follow the budget down (its price makes any use of it a loss).
 * Within an interval the budget samples are sorted into `bins` bins of equal
 * count; B[k,j] is the largest budget in bin j and D[k,j] its duration, so
 * Σ_j min(d, B) D is never below the true ∫ min(d, b) dt: with the
 * relaxation this is an upper bound of what any schedule with a constant
 * draw per interval absorbs, and ramps, leads and minimum on/off times only
 * lower the real figure. A scheduler may still beat it slightly by changing
 * its draw within an interval (it is not a bound on that), which is why the
 * intervals are short (default 60 s).
 */

export interface BoundGroup {
  units: number;
  standbyKw: number;
  modesKw: number[];
  /** Units on at the start (at their top mode). */
  initialOn: number;
  /**
   * Seconds from a softon to full output (a linear ramp from standby); with `modeChange`
   * `restart` (the default) a mode change restarts that ramp. Absent or 0: no ramp is charged.
   */
  rampUpS?: number;
  modeChange?: 'restart' | 'instant';
}

export interface BoundInput {
  /** Budget samples on the simulation grid, kW, `stepS` apart. */
  budgetKw: Float64Array | number[];
  stepS: number;
  groups: BoundGroup[];
  /** On -> off transitions allowed per unit over the whole trace. */
  cyclesPerUnit: number;
  /** Ramp limit on increases, kW per minute (Infinity: none). */
  rampKwPerMin: number;
  /**
   * What the ramp limit applies to, as in the scheduler: `net` (the exchange: a rise of the
   * budget itself adds to the allowance) or `load` (default: every kW added counts).
   */
  rampBasis?: 'net' | 'load';
  intervalS?: number;
  bins?: number;
}

export interface BoundResult {
  status: string;
  offeredKwh: number;
  absorbedKwh: number;
  absorbedPct: number;
  intervals: number;
  intervalS: number;
  cyclesPerUnit: number;
  variables: number;
  solveMs: number;
}

type Solver = { solve(problem: string, options?: { output_flag?: boolean }): { Status: string; ObjectiveValue: number; Columns: Record<string, { Primal: number }> } };
type Loader = () => Promise<Solver>;

/** The loader, whichever shape the module system hands over (ESM default, or CommonJS `exports.default`). */
function loadHighs(): Promise<Solver> {
  const m = highsModule as unknown as { default: Loader | { default: Loader } };
  return typeof m.default === 'function' ? m.default() : m.default.default();
}

export async function absorptionBound(input: BoundInput): Promise<BoundResult> {
  const intervalS = input.intervalS ?? 60;
  const bins = input.bins ?? 8;
  const perInterval = Math.max(1, Math.round(intervalS / input.stepS));
  const b = input.budgetKw;
  const K = Math.ceil(b.length / perInterval);
  const floor = input.groups.reduce((a, g) => a + g.units * g.standbyKw, 0);
  const lines: string[] = [];
  const obj: string[] = [];
  const rows: string[] = [];
  const bounds: string[] = [];
  let offered = 0;
  const yHours = new Map<string, number>();
  let vars = 0;
  let prevLow = 0;
  const fmt = (x: number): string => (Math.abs(x) < 1e-12 ? '0' : x.toPrecision(12).replace(/\.?0+$/, '').replace(/\.?0+e/, 'e'));

  for (let k = 0; k < K; k++) {
    const from = k * perInterval;
    const to = Math.min(b.length, from + perInterval);
    const samples = Array.from(b.slice(from, to) as ArrayLike<number>).sort((p, q) => p - q);
    for (const v of samples) offered += (v * input.stepS) / 3600;
    // d_k as an expression: floor + Σ x (kW − standby).
    const drawTerms: string[] = [];
    // The ramp losses of units entering a mode, subtracted from the draw (kW averaged over k).
    const lossTerms: string[] = [];
    input.groups.forEach((g, gi) => {
      const on: string[] = [];
      const r = (g.rampUpS ?? 0) / (2 * intervalS);
      const top = g.modesKw.indexOf(Math.max(...g.modesKw));
      g.modesKw.forEach((kw, m) => {
        const x = `x_${k}_${gi}_${m}`;
        vars++;
        drawTerms.push(`${fmt(kw - g.standbyKw)} ${x}`);
        on.push(x);
        if (r > 0 && g.modeChange !== 'instant') {
          // u >= x_k − x_{k−1}: the units that entered mode m (the start's units run at the top mode).
          const u = `u_${k}_${gi}_${m}`;
          vars++;
          lossTerms.push(`${fmt(r * (kw - g.standbyKw))} ${u}`);
          rows.push(` ue_${k}_${gi}_${m}: ${u} - ${x}${k === 0 ? '' : ` + x_${k - 1}_${gi}_${m}`} >= ${k === 0 ? fmt(m === top ? -g.initialOn : 0) : 0}`);
        }
      });
      if (r > 0 && g.modeChange === 'instant') {
        const u = `u_${k}_${gi}`;
        vars++;
        lossTerms.push(`${fmt(r * (Math.min(...g.modesKw) - g.standbyKw))} ${u}`);
        const prevOn = k === 0 ? [] : g.modesKw.map((_, m) => `+ x_${k - 1}_${gi}_${m}`);
        rows.push(` ue_${k}_${gi}: ${[u, ...on.map((x) => `- ${x}`), ...prevOn].join(' ')} >= ${k === 0 ? fmt(-g.initialOn) : 0}`);
      }
      rows.push(` n_${k}_${gi}: ${on.join(' + ')} <= ${g.units}`);
      // s_k >= n_{k-1} - n_k  <=>  s_k - n_{k-1} + n_k >= 0 (n_{-1} = initialOn).
      vars++;
      const prev = k === 0 ? [] : g.modesKw.map((_, m) => `x_${k - 1}_${gi}_${m}`);
      const lhs = [`s_${k}_${gi}`, ...on.map((x) => `+ ${x}`), ...prev.map((x) => `- ${x}`)].join(' ');
      rows.push(` sw_${k}_${gi}: ${lhs} >= ${k === 0 ? -g.initialOn : 0}`);
    });
    vars += 2;
    rows.push(` d_${k}: d_${k} - ${drawTerms.join(' - ')} = ${fmt(floor)}`);
    // What is absorbed is the draw less the ramps' losses; the cap and the ramp limit stay on
    // the full draw (a unit reaches it within its ramp, and a loss must not buy room under the
    // cap: restarting boards for a dip would then look free).
    let absorbedBy = `d_${k}`;
    if (lossTerms.length > 0) {
      vars++;
      absorbedBy = `a_${k}`;
      rows.push(` a_${k}: a_${k} - d_${k}${lossTerms.map((t) => ` + ${t}`).join('')} = 0`);
    }
    rows.push(` cap_${k}: d_${k} - e_${k} <= ${fmt(Math.max(samples[samples.length - 1] ?? 0, floor))}`);
    obj.push(`- ${fmt((1000 * intervalS) / 3600)} e_${k}`);
    if (Number.isFinite(input.rampKwPerMin)) {
      const step = (input.rampKwPerMin * intervalS) / 60;
      // From the start: the units on at the start draw their top mode.
      if (k === 0) rows.push(` r_0: d_0 <= ${fmt(floor + input.groups.reduce((a, g) => a + g.initialOn * (Math.max(...g.modesKw) - g.standbyKw), 0) + step)}`);
      else {
        // On the net exchange the budget's own rise is no ramp: allowed as the rise from the
        // previous interval's lowest sample to this one's highest (generous: an upper bound).
        const follow = input.rampBasis === 'net' ? Math.max(0, (samples[samples.length - 1] ?? 0) - prevLow) : 0;
        rows.push(` r_${k}: d_${k} - d_${k - 1} <= ${fmt(step + follow)}`);
      }
    }
    prevLow = samples[0] ?? 0;
    // Bins of equal count, each at its largest budget (an upper bound of ∫ min(d, b)).
    const nb = Math.min(bins, samples.length);
    for (let j = 0; j < nb; j++) {
      const lo = Math.floor((j * samples.length) / nb);
      const hi = Math.floor(((j + 1) * samples.length) / nb);
      if (hi <= lo) continue;
      const top = samples[hi - 1]!;
      const hours = ((hi - lo) * input.stepS) / 3600;
      const y = `y_${k}_${j}`;
      vars++;
      obj.push(`+ ${fmt(hours)} ${y}`);
      yHours.set(y, hours);
      rows.push(` yd_${k}_${j}: ${y} - ${absorbedBy} <= 0`);
      bounds.push(` 0 <= ${y} <= ${fmt(top)}`);
    }
  }
  input.groups.forEach((g, gi) => {
    rows.push(` wear_${gi}: ${Array.from({ length: K }, (_, k) => `s_${k}_${gi}`).join(' + ')} <= ${fmt(input.cyclesPerUnit * g.units)}`);
  });
  lines.push('Maximize', ` absorbed: ${obj.join(' ').replace(/^\+ /, '')}`, 'Subject To', ...rows, 'Bounds', ...bounds, 'End');

  const t0 = performance.now();
  const highs = await loadHighs();
  const r = highs.solve(lines.join('\n'), { output_flag: false });
  const solveMs = performance.now() - t0;
  let absorbed = NaN;
  if (r.Status === 'Optimal') {
    absorbed = 0;
    for (const [name, col] of Object.entries(r.Columns)) if (name.startsWith('y_')) absorbed += col.Primal * yHours.get(name)!;
  }
  return {
    status: r.Status,
    offeredKwh: offered,
    absorbedKwh: absorbed,
    absorbedPct: offered > 0 ? (absorbed / offered) * 100 : 0,
    intervals: K,
    intervalS,
    cyclesPerUnit: input.cyclesPerUnit,
    variables: vars,
    solveMs,
  };
}
