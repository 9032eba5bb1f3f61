/**
 * The difficulty each session id had when its connection closed, so a miner
 * that resumes the session (mining.subscribe naming it, e.g. after
 * client.reconnect) carries on at that difficulty instead of ramping again
 * from `difficulty.initial` (issue 13). Bounded: the oldest is forgotten
 * first, as the upstream side forgets resumable slots.
 */
export class DifficultyMemory {
  private readonly bySession = new Map<string, number>();

  constructor(private readonly capacity = 100_000) {}

  remember(sessionId: string, difficulty: number): void {
    // Delete first so a re-used id moves to the young end of the insertion order.
    this.bySession.delete(sessionId);
    this.bySession.set(sessionId, difficulty);
    if (this.bySession.size > this.capacity) this.bySession.delete(this.bySession.keys().next().value as string);
  }

  recall(sessionId: string): number | undefined {
    return this.bySession.get(sessionId);
  }

  get size(): number {
    return this.bySession.size;
  }
}
