/**
 * Property-based fuzzing of the other untrusted inputs (issue 7): device-API
 * replies (mutated real Avalon captures, raw bytes) and configuration text.
 * Verdicts are values; ConfigError is the only exception config may throw.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCgminerReply, replyStatus } from '../../src/fleet/cgminer-reply.js';
import { parseAvalonStats, toDeviceStatus } from '../../src/fleet/avalon-stats.js';
import { parseDevRates } from '../support/dev-rates.js';
import { parseConfigText, resolveConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { mutateLine, replay } from '../../bench/fuzz-corpus.js';

const RUNS = 150;
const rand = fc.array(fc.nat(), { minLength: 1, maxLength: 64 }).map(replay);
const FIX = join(import.meta.dirname, '../fixtures/avalon');
const captures = readdirSync(FIX, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.json'))
  .map((f) => readFileSync(join(FIX, f), 'utf8'));

function parseAll(raw: string | Uint8Array): void {
  const r = parseCgminerReply(raw);
  if (!r.ok) {
    expect(r.reason).toMatch(/\S/);
    return;
  }
  replyStatus(r.reply.body);
  parseDevRates(r.reply.body);
  const s = parseAvalonStats(r.reply.body);
  if (s.ok) {
    const d = toDeviceStatus(s.stats);
    expect(['init', 'working', 'idle', 'fault', 'unknown']).toContain(d.state);
    if (d.wallPowerW !== undefined) expect(Number.isFinite(d.wallPowerW)).toBe(true);
  } else expect(s.reason).toMatch(/\S/);
}

describe('fuzz: device-API replies', () => {
  it('has the real captures', () => expect(captures.length).toBeGreaterThan(10));

  it('mutated real captures (flips, truncation, duplication, odd values) never throw', () => {
    fc.assert(
      fc.property(fc.nat(captures.length - 1), rand, fc.boolean(), (i, r, nul) => {
        const text = mutateLine(r, captures[i]!);
        parseAll(nul ? text + '\0' : text);
      }),
      { numRuns: RUNS },
    );
  });

  it('raw bytes and text-form replies never throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.string({ maxLength: 300 }).map((s) => `STATUS=S,When=1|${s}|`)), (raw) => parseAll(raw)),
      { numRuns: RUNS },
    );
  });

  it('a hostile stats string (huge numbers, nested brackets) stays a value', () => {
    const evil = ['MM ID0', 'Elapsed[1e999] PS[0 1 2 99999999999999999999 -5] WORKMODE[[[[2]]]] SoftOFF[nan] State[In Work]'];
    parseAll(JSON.stringify({ STATUS: [{ STATUS: 'S' }], STATS: [{ [evil[0]!]: evil[1]! }] }));
  });
});

const VALID_CONFIG = `listen: "127.0.0.1:3333"
pools:
  - url: stratum+tcp://pool.example:3333
    user: farm
    expectedPayout: bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq
  - url: stratum+tcp://[::1]:3334
    user: farm2
limits: { maxLineBytes: 4096, maxConnectionsPerIp: 10 }
budget: { source: static, kw: 250 }
fleet:
  miners:
    - { id: a1, worker: farm.a1, model: avalon-a1566ha, api: "10.0.0.5:4028" }
scheduler: { minOnS: 60, minOffS: 60 }
`;

function configVerdict(text: string): 'ok' | 'config-error' {
  try {
    resolveConfig(parseConfigText(text, 'fuzz.yaml'));
    return 'ok';
  } catch (err) {
    if (err instanceof ConfigError) {
      expect(err.message).toMatch(/\S/);
      return 'config-error';
    }
    throw err;
  }
}

describe('fuzz: configuration', () => {
  it('the base document is valid', () => expect(configVerdict(VALID_CONFIG)).toBe('ok'));

  it('mutated YAML either resolves or throws ConfigError, nothing else', () => {
    fc.assert(fc.property(rand, (r) => void configVerdict(mutateLine(r, VALID_CONFIG))), { numRuns: RUNS });
  });

  it('arbitrary values (wrong types, __proto__ keys, deep nesting) either resolve or throw ConfigError', () => {
    const raw = fc.oneof(
      fc.anything({ maxDepth: 4, withNullPrototype: true }),
      fc.record({ pools: fc.anything({ maxDepth: 3 }), limits: fc.anything({ maxDepth: 2 }), fleet: fc.anything({ maxDepth: 3 }) }, { requiredKeys: [] }),
      fc.constant(JSON.parse('{"__proto__":{"polluted":1},"pools":[{"url":"stratum+tcp://a:1","user":"u"}]}') as unknown),
    );
    fc.assert(
      fc.property(raw, (v) => {
        try {
          resolveConfig(v);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
        }
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('an unknown __proto__ key is reported, not merged', () => {
    expect(() => resolveConfig(JSON.parse('{"__proto__":{"x":1},"pools":[{"url":"stratum+tcp://a:1","user":"u"}]}'))).toThrow(ConfigError);
  });
});
