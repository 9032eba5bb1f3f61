/**
 * Seeded structure-aware fuzz over real loopback sockets (issue 11 item 2),
 * small: a miner and a pool each stream fuzz lines at a running proxy. The
 * process lives, the connections stay up, every owed answer is given exactly
 * once with the id as sent, and the submit books balance. bench/fuzz.ts runs
 * the same with 10^6 lines per direction.
 */
import { describe, expect, it } from 'vitest';
import { xorshift } from '../../bench/fuzz-corpus.js';
import { structuredMinerLine, structuredPoolLine } from '../../bench/fuzz-structured.js';
import { runMinerSession, runPoolSession } from '../../bench/fuzz-sessions.js';

describe('structured fuzz over loopback (seeded)', () => {
  it('miner → surplus: every owed answer once, ids echoed, books balanced', async () => {
    const res = await runMinerSession(1500, xorshift(11), structuredMinerLine);
    expect(res.closed).toBe(false);
    expect(res.answers).toBe(res.owed);
    expect(res.idMismatches).toBe(0);
    expect(res.submitsAnswered).toBe(res.submitsReceived);
  });

  it('pool → surplus: every owed answer once, ids echoed, the connection kept', async () => {
    const res = await runPoolSession(1500, xorshift(12), (r) => structuredPoolLine(r));
    expect(res.closed).toBe(false);
    expect(res.answers).toBe(res.owed);
    expect(res.idMismatches).toBe(0);
    expect(res.owed).toBeGreaterThan(100);
  });
});
