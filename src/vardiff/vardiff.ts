/**
 * Per-miner variable difficulty (pure policy: values in, values out; the
 * session owns the timer). The estimate is difficulty-weighted: Σ(share
 * difficulty) over elapsed seconds is the miner's work rate in diff-1 shares
 * per second (hashrate = that · 2^32), so a window that straddles a
 * difficulty change is still measured correctly.
 */

export interface VardiffSettings {
  /** Aim: this many shares per minute per miner. */
  targetSharesPerMinute: number;
  /** Seconds between regular retargets. */
  retargetS: number;
  min: number;
  max: number;
  /** Largest factor one regular retarget may move the difficulty (default 4). */
  maxStep?: number;
  /** Shares after which the first ramp may retarget early (default 5). */
  rampShares?: number;
}

export interface VardiffState {
  readonly difficulty: number;
  readonly windowStartMs: number;
  readonly windowShares: number;
  /** Σ difficulty of the shares counted in this window. */
  readonly windowWork: number;
  /** True until the first retarget that landed close to the target. */
  readonly ramping: boolean;
}

/** Lower bounds the miner asked for (`mining.suggest_difficulty`, BIP310 `minimum-difficulty`). */
export interface VardiffFloors {
  suggested?: number;
  minimum?: number;
}

export function startVardiff(difficulty: number, nowMs: number): VardiffState {
  return { difficulty, windowStartMs: nowMs, windowShares: 0, windowWork: 0, ramping: true };
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

export interface Retarget {
  state: VardiffState;
  /** Set when the miner should be sent a new difficulty. */
  newDifficulty?: number;
}

/**
 * Called on every share and by the session's timer. Retargets when the window
 * is old enough (retargetS) or, while ramping, as soon as `rampShares`
 * arrived. While ramping it jumps straight to the estimate (a miner that
 * connects at a difficulty far too low would otherwise flood us for minutes);
 * afterwards each step is bounded by maxStep and ignores errors within ±50 %.
 * A quiet miner decays: no share for a whole window counts as if one share
 * had just arrived, which lowers the estimate as time passes.
 */
export function retarget(s: VardiffState, cfg: VardiffSettings, floors: VardiffFloors, poolDifficulty: number | undefined, nowMs: number): Retarget {
  const elapsedS = (nowMs - s.windowStartMs) / 1000;
  const rampShares = cfg.rampShares ?? 5;
  const due = elapsedS >= cfg.retargetS || (s.ramping && s.windowShares >= rampShares && elapsedS > 0);
  const clamped = clampDifficulty(s.difficulty, cfg, floors, poolDifficulty);
  if (!due) {
    // A pool difficulty drop or a new floor applies at once, not at the next window.
    if (clamped !== s.difficulty) return { state: { ...s, difficulty: clamped }, newDifficulty: clamped };
    return { state: s };
  }
  const work = s.windowShares > 0 ? s.windowWork : s.difficulty;
  const ratePerS = work / Math.max(elapsedS, 1e-3);
  const ideal = (ratePerS * 60) / cfg.targetSharesPerMinute;
  const ratio = ideal / s.difficulty;
  let next = s.difficulty;
  let ramping = s.ramping;
  if (s.windowShares === 0) {
    // Quiet: decay by at most half per window (an on-target miner still sees
    // an empty window now and then; Poisson, e^-expected).
    next = s.difficulty * Math.max(0.5, Math.min(1, ratio));
  } else if (s.ramping) {
    next = ideal;
    if (ratio > 0.5 && ratio < 2) ramping = false;
  } else if (ratio < 0.5 || ratio > 1.5) {
    const maxStep = cfg.maxStep ?? 4;
    next = s.difficulty * Math.min(maxStep, Math.max(1 / maxStep, ratio));
  }
  next = clampDifficulty(tidy(next), cfg, floors, poolDifficulty);
  const state: VardiffState = { difficulty: next, windowStartMs: nowMs, windowShares: 0, windowWork: 0, ramping };
  return next !== s.difficulty ? { state, newDifficulty: next } : { state };
}
