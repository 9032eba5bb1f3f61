/**
 * Seeded structure-aware fuzz (issue 11 item 2), pure part: every method
 * miners and pools send with any JSON value in any field (deep nesting, every
 * type, odd numbers, long strings, odd unicode) and device replies built the
 * same way. Nothing throws, every refusal is a bounded message, and the
 * decoder and the classifiers agree on which lines are owed an answer. The
 * million-line run is bench/fuzz.ts.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/wire/json-rpc.js';
import { parseCgminerReply, replyStatus } from '../../src/fleet/cgminer-reply.js';
import { parseAvalonStats, toDeviceStatus } from '../../src/fleet/avalon-stats.js';
import { parseDevRates } from '../support/dev-rates.js';
import { classifyLine, expectsAnswer, xorshift } from '../../bench/fuzz-corpus.js';
import { classifyPoolLine, deep, jsonValueText, structuredDeviceReply, structuredMinerLine, structuredPoolLine } from '../../bench/fuzz-structured.js';

const N = 4000;
const SEED = 20261206;

describe('structured fuzz (seeded)', () => {
  it('generates deep nesting, big integers and long strings', () => {
    const r = xorshift(SEED);
    const texts = Array.from({ length: 2000 }, () => jsonValueText(r));
    expect(texts.some((t) => t.startsWith('[[[[[[[[[[') || t.startsWith('{"a":{"a":'))).toBe(true);
    expect(texts.some((t) => /^-?\d{20,}$/.test(t))).toBe(true);
    expect(texts.some((t) => t.length > 1000 && t.startsWith('"'))).toBe(true);
    expect(deep(r).length).toBeGreaterThan(10);
  });

  it('miner lines: classify never throws; refusals carry a bounded message; owed iff the decoder kept an id', () => {
    const r = xorshift(SEED);
    let owed = 0;
    for (let i = 0; i < N; i++) {
      const line = structuredMinerLine(r);
      const v = classifyLine(line);
      if (v.kind === 'request-rejected') expect(v.message.length).toBeLessThan(1000);
      if (v.kind === 'decode-error') expect(v.reason.length).toBeLessThan(1000);
      const d = decodeMessage(line);
      expect(expectsAnswer(v)).toBe(d.ok ? d.message.kind === 'request' : d.id !== undefined);
      if (expectsAnswer(v)) owed++;
    }
    expect(owed).toBeGreaterThan(N / 4);
  });

  it('pool lines: decode and every dialect parser never throw', () => {
    const r = xorshift(SEED ^ 0x9001);
    const kinds = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const v = classifyPoolLine(structuredPoolLine(r));
      kinds.set(v.kind, (kinds.get(v.kind) ?? 0) + 1);
    }
    for (const k of ['decode-error', 'request', 'notification', 'response']) expect(kinds.get(k) ?? 0).toBeGreaterThan(0);
  });

  it('device replies: parse, status and stats never throw; failures carry a bounded reason', () => {
    const r = xorshift(SEED ^ 0xde71ce);
    for (let i = 0; i < N / 2; i++) {
      const p = parseCgminerReply(structuredDeviceReply(r));
      if (!p.ok) {
        expect(p.reason.length).toBeLessThan(1000);
        continue;
      }
      replyStatus(p.reply.body);
      parseDevRates(p.reply.body);
      const s = parseAvalonStats(p.reply.body);
      if (s.ok) toDeviceStatus(s.stats);
      else expect(s.reason.length).toBeLessThan(1000);
    }
  });
});
