import fc from 'fast-check';

/**
 * Property tests must be deterministic in CI: every run explores the same
 * cases. Set FC_SEED to explore others locally (fast-check prints the seed and
 * path of any counterexample so it can be replayed here).
 */
const seed = Number(process.env['FC_SEED'] ?? 20261121);
fc.configureGlobal({ seed });
