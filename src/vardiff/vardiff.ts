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
 * accumulates across ticks; a window that gets long (64 expected shares)
 * keeps only its last quarter, so a later change in hashrate is not hidden
 * by old shares.
 */

export interface VardiffSettings {
  /** Aim: this many shares per minute per miner. */
  targetSharesPerMinute: number;
  /** Least seconds between two changes (while ramping, a miner surely more than maxStep too fast moves sooner). */
  retargetS: number;
  min: number;
  max: number;
  /** Largest factor one regular retarget may move the difficulty (default 4). */
  maxStep?: number;
  /** Shares needed before the difficulty goes up, or goes down by more than the interval allows (default 5). */
  rampShares?: number;
  /** Dead band: no change while the share rate is surely within [1/band, band] × target (default 1.3). */
  band?: number;
  /** Width of the confidence interval in standard errors (default 2). */
  z?: number;
  /**
   * Expected shares after which the window keeps only its last quarter (default 64: 8 minutes
   * at 8/min). Within ±30 % nothing moves anyway; at 64 expected shares an error of about 1.6× is proven.
   */
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

/**
 * Clamp to [max(min, floors), min(max, pool difficulty)]. The pool's
 * difficulty wins over a miner's floor, but never takes a miner outside
 * [cfg.min, cfg.max]: a pool's `set_difficulty 1e-300` reached miners, and one
 * sent ~1,200 submits in 0.3 s (issue 11). Shares are still forwarded only
 * when they meet the pool's own target (share-policy judges that apart).
 */
export function clampDifficulty(d: number, cfg: VardiffSettings, floors: VardiffFloors, poolDifficulty?: number): number {
  const floor = Math.max(cfg.min, floors.suggested ?? 0, floors.minimum ?? 0);
  let ceil = cfg.max;
  if (poolDifficulty !== undefined && poolDifficulty > 0) ceil = Math.max(cfg.min, Math.min(ceil, poolDifficulty));
  return Math.min(ceil, Math.max(floor, Number.isNaN(d) ? floor : d));
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
 * - up, once rampShares shares are in, or down with that many: to the
 *   geometric mean of the estimate and the interval's near end, at most
 *   ×/÷maxStep (up is unbounded while ramping, so a miner that connects far
 *   too low does not flood us for minutes);
 * - down with fewer shares or none: to the interval's upper end (the miner
 *   is at most that fast), at most ÷maxStep.
 * Changes are at least retargetS apart, except, while ramping, for a miner
 * surely more than maxStep too fast.
 */
export function retarget(s: VardiffState, cfg: VardiffSettings, floors: VardiffFloors, poolDifficulty: number | undefined, nowMs: number): Retarget {
  const clamped = clampDifficulty(s.difficulty, cfg, floors, poolDifficulty);
  // A pool difficulty drop or a new floor applies at once, not at the next window.
  if (clamped !== s.difficulty) return changed(clamped, s.ramping, nowMs);
  const elapsedS = (nowMs - s.windowStartMs) / 1000;
  if (elapsedS <= 0) return { state: s };
  const early = (nowMs - (s.changedAtMs ?? s.windowStartMs)) / 1000 < cfg.retargetS;
  if (!s.ramping && early) return { state: s };
  const band = cfg.band ?? 1.3;
  const maxStep = cfg.maxStep ?? 4;
  const expected = (elapsedS * cfg.targetSharesPerMinute) / 60;
  // Shares-equivalent at the current difficulty (shares on older jobs weigh by the difficulty they were judged at).
  const n = s.windowWork / s.difficulty;
  const ratio = n / expected;
  const { lo, hi } = poissonBounds(n, cfg.z ?? 2);
  let step: number | undefined;
  // A move with shares goes to the geometric mean of the estimate and the interval's near end:
  // six shares in 11 s at a target of 8/min happen (p ≈ 0.5 %), and the estimate alone would
  // have meant ×4 there; the near end alone lands every move at the band's edge.
  if (lo / expected > band) {
    // Up only on rampShares shares at least: one lucky share 50 ms after connecting passes the
    // interval test too.
    const toward = Math.sqrt(ratio * (lo / expected));
    // Within retargetS of the last change only a miner surely more than maxStep too fast moves
    // (the first ramp from far too low); six shares in 11 s otherwise meant ×2.8 on luck.
    const sure = lo / expected > maxStep;
    if (s.windowShares >= (cfg.rampShares ?? 5) && (!early || sure)) step = s.ramping ? toward : Math.min(maxStep, toward);
  } else if (hi / expected < 1 / band) {
    // With fewer than rampShares shares the estimate is too rough to lean on: the near end only.
    if (s.windowShares >= (cfg.rampShares ?? 5)) step = Math.max(1 / maxStep, Math.sqrt(ratio * (hi / expected)));
    else if (s.windowShares > 0) step = Math.max(1 / maxStep, hi / expected);
    // No share at all: the miner is at most hi/expected as fast. While ramping, wait until
    // that says ÷2, so a miner that connects far too high halves every minute or so.
    else if (!s.ramping || hi / expected <= 0.5) step = Math.max(1 / maxStep, hi / expected);
  }
  if (step !== undefined) {
    const next = clampDifficulty(tidy(s.difficulty * step), cfg, floors, poolDifficulty);
    const ramping = s.ramping && !(s.windowShares >= (cfg.rampShares ?? 5) && ratio > 0.5 && ratio < 2);
    if (next !== s.difficulty) return changed(next, ramping, nowMs);
  }
  let state = s;
  if (s.ramping && s.windowShares >= (cfg.rampShares ?? 5) && elapsedS >= cfg.retargetS) state = { ...state, ramping: false };
  if (expected > (cfg.windowShares ?? 64)) {
    // Keep a quarter of the evidence: a window that grows for ever (or keeps its old shares at
    // a high weight) would hide a hashrate that changed since it began, and one that starts
    // from nothing is open to a lucky burst of shares again.
    const keptMs = (nowMs - s.windowStartMs) / 4;
    state = { ...state, windowStartMs: nowMs - keptMs, windowShares: s.windowShares / 4, windowWork: s.windowWork / 4 };
  }
  return { state };
}

function changed(next: number, ramping: boolean, nowMs: number): Retarget {
  return { state: { difficulty: next, windowStartMs: nowMs, windowShares: 0, windowWork: 0, ramping, changedAtMs: nowMs }, newDifficulty: next };
}
