/**
 * Per-miner variable difficulty (pure policy: values in, values out; the
 * session owns the timer). The estimate is difficulty-weighted: Σ(share
 * difficulty) over elapsed seconds is the miner's work rate in diff-1 shares
 * per second (hashrate = that · 2^32), so a window that straddles a
 * difficulty change is still measured correctly.
 *
 * Share arrivals at a steady hashrate are a Poisson process, so a window with
 * N shares measures the rate only to about ±1/√N: one share in 30 s says
 * almost nothing (issue 13: ×1.75 then ÷4 within a minute, 15–20 changes per
 * miner in 13.5 minutes). So the difficulty moves only when a confidence
 * interval of the rate (Wilson–Hilferty bounds on the Poisson count, `z`
 * standard errors) lies wholly outside a dead band around the target. Evidence
 * accumulates across ticks; a window that gets very long is halved (older
 * shares count less), so a later change in hashrate is still followed.
 */

export interface VardiffSettings {
  /** Aim: this many shares per minute per miner. */
  targetSharesPerMinute: number;
  /** Least seconds between two retargets once the first ramp is done. */
  retargetS: number;
  min: number;
  max: number;
  /** Largest factor one regular retarget may move the difficulty (default 4). */
  maxStep?: number;
  /** Shares after which the first ramp may end (default 5). */
  rampShares?: number;
  /** Dead band: no change while the share rate is surely within [1/band, band] × target (default 1.3). */
  band?: number;
  /** Width of the confidence interval in standard errors (default 2). */
  z?: number;
  /** Expected shares after which the window is halved (default 128: 16 minutes at 8/min). */
  windowShares?: number;
}

export interface VardiffState {
  readonly difficulty: number;
  readonly windowStartMs: number;
  readonly windowShares: number;
  /** Σ difficulty of the shares counted in this window. */
  readonly windowWork: number;
  /** True until the first window with enough shares that landed close to the target. */
  readonly ramping: boolean;
  /** When the difficulty last changed (retargetS counts from here). */
  readonly changedAtMs?: number;
}

/** Lower bounds the miner asked for (`mining.suggest_difficulty`, BIP310 `minimum-difficulty`). */
export interface VardiffFloors {
  suggested?: number;
  minimum?: number;
}

export function startVardiff(difficulty: number, nowMs: number): VardiffState {
  return { difficulty, windowStartMs: nowMs, windowShares: 0, windowWork: 0, ramping: true, changedAtMs: nowMs };
}

/**
 * A session that resumes (mining.subscribe with its old session id) picks up
 * the difficulty it had: the miner's hashrate did not change with the TCP
 * connection, so there is nothing to ramp.
 */
export function resumeVardiff(difficulty: number, nowMs: number): VardiffState {
  return { ...startVardiff(difficulty, nowMs), ramping: false };
}

/** Count one accepted share judged at `shareDifficulty` (the difficulty of the job it was found on). */
export function recordShare(s: VardiffState, shareDifficulty: number): VardiffState {
  return { ...s, windowShares: s.windowShares + 1, windowWork: s.windowWork + shareDifficulty };
}

/** Difficulty at which `hashesPerSecond` yields the target share rate. */
export function difficultyForHashrate(hashesPerSecond: number, targetSharesPerMinute: number): number {
  return (hashesPerSecond / 2 ** 32) * (60 / targetSharesPerMinute);
}

/** Clamp to [max(min, floors), min(max, pool difficulty)]; the pool's difficulty wins over a floor. */
export function clampDifficulty(d: number, cfg: VardiffSettings, floors: VardiffFloors, poolDifficulty?: number): number {
  const floor = Math.max(cfg.min, floors.suggested ?? 0, floors.minimum ?? 0);
  let ceil = cfg.max;
  if (poolDifficulty !== undefined && poolDifficulty > 0) ceil = Math.min(ceil, poolDifficulty);
  return Math.min(ceil, Math.max(floor, d));
}

/** Round to 3 significant figures: stable wire values, no float noise in set_difficulty. */
function tidy(d: number): number {
  return Number(d.toPrecision(3));
}

/**
 * Confidence bounds on the mean of a Poisson count `n` observed once
 * (Wilson–Hilferty; within a few percent of the exact chi-square bounds
 * even for n = 0..5, which is where it matters).
 */
export function poissonBounds(n: number, z: number): { lo: number; hi: number } {
  const lo = n <= 0 ? 0 : n * Math.max(0, 1 - 1 / (9 * n) - z / (3 * Math.sqrt(n))) ** 3;
  const m = n + 1;
  const hi = m * (1 - 1 / (9 * m) + z / (3 * Math.sqrt(m))) ** 3;
  return { lo, hi };
}

export interface Retarget {
  state: VardiffState;
  /** Set when the miner should be sent a new difficulty. */
  newDifficulty?: number;
}

/**
 * Called on every share and by the session's timer. The window's work, in
 * shares at the current difficulty, is compared with what the target rate
 * predicts for the elapsed time; the difficulty moves only when the whole
 * confidence interval of the ratio is outside [1/band, band]:
 * - up: to the estimate, at most ×maxStep (unbounded while ramping, so a
 *   miner that connects far too low does not flood us for minutes);
 * - down with shares: to the estimate, at most ÷maxStep;
 * - down with no share at all: the interval's upper end (the miner is at
 *   most that fast), at most ÷maxStep; while ramping the step waits for ÷2
 *   and then takes ÷maxStep, so a miner that connects far too high gets work
 *   it can finish within minutes.
 * After the ramp, changes are at least retargetS apart.
 */
export function retarget(s: VardiffState, cfg: VardiffSettings, floors: VardiffFloors, poolDifficulty: number | undefined, nowMs: number): Retarget {
  const clamped = clampDifficulty(s.difficulty, cfg, floors, poolDifficulty);
  // A pool difficulty drop or a new floor applies at once, not at the next window.
  if (clamped !== s.difficulty) return changed(clamped, s.ramping, nowMs);
  const elapsedS = (nowMs - s.windowStartMs) / 1000;
  if (elapsedS <= 0) return { state: s };
  if (!s.ramping && (nowMs - (s.changedAtMs ?? s.windowStartMs)) / 1000 < cfg.retargetS) return { state: s };
  const band = cfg.band ?? 1.3;
  const maxStep = cfg.maxStep ?? 4;
  const expected = (elapsedS * cfg.targetSharesPerMinute) / 60;
  // Shares-equivalent at the current difficulty (shares on older jobs weigh by the difficulty they were judged at).
  const n = s.windowWork / s.difficulty;
  const ratio = n / expected;
  const { lo, hi } = poissonBounds(n, cfg.z ?? 2);
  let step: number | undefined;
  if (lo / expected > band) {
    step = s.ramping ? ratio : Math.min(maxStep, ratio);
  } else if (hi / expected < 1 / band) {
    if (s.windowShares > 0) step = Math.max(1 / maxStep, ratio);
    else if (!s.ramping) step = Math.max(1 / maxStep, hi / expected);
    else if (hi / expected <= 0.5) step = 1 / maxStep;
  }
  if (step !== undefined) {
    const next = clampDifficulty(tidy(s.difficulty * step), cfg, floors, poolDifficulty);
    const ramping = s.ramping && !(s.windowShares >= (cfg.rampShares ?? 5) && ratio > 0.5 && ratio < 2);
    if (next !== s.difficulty) return changed(next, ramping, nowMs);
  }
  let state = s;
  if (s.ramping && s.windowShares >= (cfg.rampShares ?? 5) && elapsedS >= cfg.retargetS) state = { ...state, ramping: false };
  if (expected > (cfg.windowShares ?? 128)) {
    // Halve the evidence: the estimate stays, but newer shares weigh more against it.
    state = { ...state, windowStartMs: nowMs - ((nowMs - s.windowStartMs) / 2), windowShares: s.windowShares / 2, windowWork: s.windowWork / 2 };
  }
  return { state };
}

function changed(next: number, ramping: boolean, nowMs: number): Retarget {
  return { state: { difficulty: next, windowStartMs: nowMs, windowShares: 0, windowWork: 0, ramping, changedAtMs: nowMs }, newDifficulty: next };
}
