import type { ShareCounters } from './worker-stats.js';

/**
 * The share books must balance at any moment (issue 7), pure:
 *   every submit received is answered, except at most one in flight per
 *   connection (a connection's lines are handled in order);
 *   accepted + Σ rejected = answered;
 *   forwarded = accepted by the pool + rejected by the pool + timed out + lost
 *     + still waiting for the pool (counted independently, from the pool
 *     clients' pending maps).
 * A share that went missing anywhere shows up here as a named problem.
 */

export interface ShareBalance {
  /** Received, not yet answered (being hashed). */
  submitsInFlight: number;
  /** Forwarded shares the pools have not answered yet. */
  poolPending: number;
  balanced: boolean;
  problems: string[];
}

export function shareBalance(c: ShareCounters, poolPending: number, connections: number): ShareBalance {
  const problems: string[] = [];
  const inFlight = c.submitsReceived - c.submitsAnswered;
  if (inFlight < 0) problems.push(`answered ${c.submitsAnswered} submits but received only ${c.submitsReceived}`);
  else if (inFlight > connections) problems.push(`${inFlight} submits unanswered with ${connections} connections (at most one in flight each)`);
  const rejected = Object.values(c.rejected).reduce((a, b) => a + b, 0);
  if (c.accepted + rejected !== c.submitsAnswered) problems.push(`accepted ${c.accepted} + rejected ${rejected} != answered ${c.submitsAnswered}`);
  const settled = c.poolAccepted + c.poolRejected + c.poolTimedOut + c.poolLost;
  if (settled + poolPending !== c.forwarded) {
    problems.push(`forwarded ${c.forwarded} != pool accepted ${c.poolAccepted} + rejected ${c.poolRejected} + timed out ${c.poolTimedOut} + lost ${c.poolLost} + pending ${poolPending}`);
  }
  if (c.forwarded > c.accepted) problems.push(`forwarded ${c.forwarded} shares but accepted only ${c.accepted}`);
  return { submitsInFlight: inFlight, poolPending, balanced: problems.length === 0, problems };
}
