/**
 * Property-based fuzzing of the Stratum front door (issue 7): line framing,
 * JSON-RPC decoding and every miner method's guard, on generated requests
 * and on mutations of real miner lines. Small run counts here; the
 * million-line run is bench/fuzz.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineFramer } from '../../src/wire/line-framer.js';
import { decodeMessage } from '../../src/wire/json-rpc.js';
import {
  guardAuthorize,
  guardConfigure,
  guardExtranonceSubscribe,
  guardSubmit,
  guardSubscribe,
  guardSuggestDifficulty,
} from '../../src/wire/guards.js';
import {
  parseNotify,
  parseReconnect,
  parseSetDifficulty,
  parseSetExtranonce,
  parseSetTarget,
  parseSetVersionMask,
  parseSubscribeResult,
  readConfigureResult,
  readShowMessage,
} from '../../src/wire/pool-dialect.js';
import { classifyLine, expectsAnswer, fuzzLine, mutateLine, replay, VALID_LINES } from '../../bench/fuzz-corpus.js';

const RUNS = 300;
const rand = fc.array(fc.nat(), { minLength: 1, maxLength: 64 }).map(replay);

function notPolluted(): void {
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(({} as Record<string, unknown>)['x']).toBeUndefined();
}

describe('fuzz: line framer', () => {
  const cap = 64;
  const chunk = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.string({ maxLength: 100 }).map((s) => Buffer.from(s + (s.length % 3 === 0 ? '\n' : ''), 'utf8')),
    fc.constant(Buffer.from('\n')),
    fc.constant(Buffer.from('\r\n')),
  );

  it('keeps its buffer within the cap and never emits a line over it, whatever the chunks', () => {
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 40 }), (chunks) => {
        const f = new LineFramer(cap);
        for (const c of chunks) {
          for (const ev of f.push(c)) {
            if (ev.kind === 'line') {
              expect(Buffer.byteLength(ev.line, 'utf8')).toBeLessThanOrEqual(cap);
              expect(ev.line.includes('\n')).toBe(false);
            } else expect(ev.code).toBe('SURPLUS_ERR_LINE_TOO_LONG');
          }
          expect(f.bufferedBytes).toBeLessThanOrEqual(cap);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('yields the same lines however the byte stream is split', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...VALID_LINES, '', 'x'.repeat(200), 'garbage\r'), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 10 }), (lines, cuts) => {
        const bytes = Buffer.from(lines.join('\n') + '\n', 'utf8');
        const whole = new LineFramer(128).push(bytes);
        const f = new LineFramer(128);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const split: ReturnType<LineFramer['push']> = [];
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          split.push(...f.push(bytes.subarray(prev, p)));
          prev = p;
        }
        expect(split).toEqual(whole);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: JSON-RPC decode + guards on miner lines', () => {
  it('never throws on mutated corpus lines or generated requests; verdicts are values', () => {
    fc.assert(
      fc.property(rand, (r) => {
        const line = fuzzLine(r);
        const v = classifyLine(line);
        expect(typeof v.kind).toBe('string');
        notPolluted();
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('every corpus line decodes, and a request with an id owes exactly one answer', () => {
    for (const line of VALID_LINES) {
      const v = classifyLine(line);
      expect(v.kind === 'request-ok' || v.kind === 'notification' || v.kind === 'response').toBe(true);
    }
    fc.assert(
      fc.property(rand, (r) => {
        const line = mutateLine(r);
        const d = decodeMessage(line);
        const owed = expectsAnswer(classifyLine(line));
        // The decoder and the classifier agree: an id that survives decoding is always answerable.
        const hasId = d.ok ? d.message.kind === 'request' : d.id !== undefined;
        expect(owed).toBe(hasId);
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary JSON documents never make the decoder throw', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.string({ maxLength: 30 }), (doc, junk) => {
        decodeMessage(JSON.stringify(doc));
        decodeMessage(JSON.stringify(doc) + junk);
        decodeMessage(junk);
      }),
      { numRuns: RUNS },
    );
  });

  const minerGuards: Array<[string, (p: unknown[]) => { ok: boolean }]> = [
    ['subscribe', guardSubscribe],
    ['authorize', guardAuthorize],
    ['configure', guardConfigure],
    ['suggest_difficulty', guardSuggestDifficulty],
    ['extranonce.subscribe', guardExtranonceSubscribe],
    ['submit/4', (p) => guardSubmit(p, 4)],
    ['submit/8', (p) => guardSubmit(p, 8)],
    // what pools send, read by the one pool-side parser (pool-dialect.ts)
    ['notify', parseNotify],
    ['set_difficulty', parseSetDifficulty],
    ['set_target', parseSetTarget],
    ['set_extranonce', parseSetExtranonce],
    ['set_version_mask', parseSetVersionMask],
    ['reconnect', parseReconnect],
    ['show_message', (p) => ({ ok: typeof readShowMessage(p) === 'string' })],
    ['subscribe result', (p) => parseSubscribeResult(p)],
    ['configure result', (p) => ({ ok: readConfigureResult(p[0], null).mask >= 0 })],
  ];
  const params = fc.array(
    fc.oneof(fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true }), fc.constant({ __proto__: null, polluted: 1 }), fc.jsonValue()),
    { maxLength: 10 },
  );
  for (const [name, guard] of minerGuards) {
    it(`guard ${name}: any params give an ok/!ok value, a message on rejection, and no prototype pollution`, () => {
      fc.assert(
        fc.property(params, (p) => {
          const g = guard(p) as { ok: boolean; message?: string };
          expect(typeof g.ok).toBe('boolean');
          if (!g.ok) expect(g.message).toMatch(/\S/);
          notPolluted();
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('a __proto__ key in a configure object is data, not a prototype', () => {
    const v = classifyLine('{"id":1,"method":"mining.configure","params":[["version-rolling"],{"__proto__":{"version-rolling.mask":"zz"},"version-rolling.mask":"1fffe000"}]}');
    expect(v.kind).toBe('request-ok');
    notPolluted();
  });
});
