/**
 * One verdict per share vector, through the same JobBook / MinerShareState /
 * validator the proxy uses (no second implementation). Pure: `surplus
 * check-share` prints what this returns.
 */
import type { Vector } from './vector-file.js';
import { JobBook } from './job-book.js';
import { MinerShareState } from './share-policy.js';
import { validateShare } from './validator.js';
import { hashHeader, headerFromDisplayFields } from './header.js';
import { compactToTarget, targetBytes, targetForDifficulty, targetHex } from '../wire/target.js';
import { StratumError } from '../wire/error-codes.js';
import { guardSubmit } from '../wire/guards.js';

export interface CheckLine {
  id: string;
  /** Display-order hash hex; null when the share was rejected before hashing. */
  hash: string | null;
  /** Share difficulty (bdiff); null when not hashed. */
  difficulty: number | null;
  /** Accepted at the vector's session_difficulty (default 1). */
  accepted: boolean;
  /** Stratum error code (20-23) and reason; null when accepted. */
  code: number | null;
  reason: string | null;
  block: boolean;
}

export function checkVector(v: Vector): CheckLine {
  if (v.form === 'header') {
    const r = hashHeader(headerFromDisplayFields(v), targetBytes(compactToTarget(v.bits)));
    const accepted = r.block || r.hash <= targetHex(targetForDifficulty(v.sessionDifficulty));
    return {
      id: v.id,
      hash: r.hash,
      difficulty: r.difficulty,
      accepted,
      code: accepted ? null : StratumError.LOW_DIFFICULTY,
      reason: accepted ? null : `low difficulty share (${r.difficulty} < ${v.sessionDifficulty})`,
      block: r.block,
    };
  }
  const book = new JobBook({ history: 1 });
  book.add(v.job);
  const miner = new MinerShareState({
    extranonce1: v.extranonce1,
    extranonce2Size: v.extranonce2Size,
    versionMask: v.configureMask,
    ntimeWindowS: 7000,
    duplicateWindow: 1,
  });
  miner.noteJobSent(v.job.jobId, v.sessionDifficulty);
  // The same single parse of the params as a live submit (the size of extranonce2 is checked there only).
  const s = v.submit;
  const g = guardSubmit([s.worker, s.jobId, s.extranonce2, s.ntime, s.nonce, ...(s.versionBits === undefined ? [] : [s.versionBits])], v.extranonce2Size);
  if (!g.ok) return { id: v.id, hash: null, difficulty: null, accepted: false, code: StratumError.OTHER, reason: g.message, block: false };
  const pre = miner.precheck(g.value, book);
  if (!pre.ok) return { id: v.id, hash: null, difficulty: null, accepted: false, code: pre.code, reason: pre.reason, block: false };
  const result = validateShare(pre.request);
  const verdict = miner.judge(pre, result, v.upstreamDifficulty);
  return {
    id: v.id,
    hash: result.hash,
    difficulty: result.difficulty,
    accepted: verdict.ok,
    code: verdict.ok ? null : verdict.code,
    reason: verdict.ok ? null : verdict.reason,
    block: result.block,
  };
}
