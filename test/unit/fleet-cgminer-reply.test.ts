import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSuccessStatus, parseCgminerReply, replyStatus, type JsonObject } from '../../src/fleet/cgminer-reply.js';

const FIX = join(import.meta.dirname, '../fixtures/avalon');
const fixture = (p: string): string => readFileSync(join(FIX, p), 'utf8');
const withNul = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);

function body(raw: string | Buffer): JsonObject {
  const r = parseCgminerReply(raw);
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}`);
  return r.reply.body;
}

describe('parseCgminerReply on every real capture', () => {
  const files = readdirSync(FIX, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));
  it('has the captures', () => expect(files.length).toBe(20));
  for (const f of files) {
    it(`${f} + trailing NUL equals JSON.parse of the capture`, () => {
      const text = fixture(f);
      const r = parseCgminerReply(withNul(text));
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.reply.body).toEqual(JSON.parse(text));
      expect(r.reply.repairs).toEqual([]);
    });
  }
});

describe('parseCgminerReply quirks', () => {
  it('strips several NULs and whitespace', () => {
    expect(body('{"STATUS":[{"STATUS":"S"}],"id":1}\n\0\0')).toEqual({ STATUS: [{ STATUS: 'S' }], id: 1 });
  });

  const nonFinite: Array<[string, number]> = [
    ['inf', Infinity],
    ['-inf', -Infinity],
    ['nan', NaN],
    ['-nan', NaN],
    ['INF', Infinity],
  ];
  for (const [token, want] of nonFinite) {
    it(`reads bare ${token} in a value position`, () => {
      const r = parseCgminerReply(`{"STATUS":[{"STATUS":"S"}],"DEVS":[{"MHS 30s":${token},"T":[1,${token}]}]}\0`);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const dev = (r.reply.body['DEVS'] as JsonObject[])[0]!;
      expect(dev['MHS 30s']).toBe(want);
      expect((dev['T'] as number[])[1]).toBe(want);
      expect(r.reply.repairs).toContain('non-finite-number');
    });
  }

  it('never rewrites strings: "Avalonnano", "inf" and "nan" inside strings survive (pyasic#199)', () => {
    const raw = '{"STATUS":[{"STATUS":"S","Msg":"info nan inf"}],"VERSION":[{"PROD":"Avalonnano","MODEL":"nano3","X":nan,"Y":"inf"}],"id":1}\0';
    const b = body(raw);
    const v = (b['VERSION'] as JsonObject[])[0]!;
    expect(v['PROD']).toBe('Avalonnano');
    expect(v['MODEL']).toBe('nano3');
    expect(v['Y']).toBe('inf');
    expect(Number.isNaN(v['X'])).toBe(true);
    expect((b['STATUS'] as JsonObject[])[0]!['Msg']).toBe('info nan inf');
  });

  it('rejects a bare word that is not a number token, with the offset', () => {
    const r = parseCgminerReply('{"STATUS":[{"STATUS":nano}]}');
    expect(r).toEqual({ ok: false, reason: 'unexpected word "nano" at offset 21' });
  });

  it('repairs a leading `,"id":1}` fragment followed by the real reply', () => {
    const real = fixture('avalon-q-25052801/ascset_softoff.json');
    const r = parseCgminerReply(withNul(`,"id":1}${real}`));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.reply.body).toEqual(JSON.parse(real));
    expect(r.reply.repairs).toEqual(expect.arrayContaining(['leading-fragment', 'concatenated']));
  });

  it('a lone `,"id":1}` fragment parses to an object without STATUS', () => {
    const r = parseCgminerReply(',"id":1}\0');
    expect(r).toMatchObject({ ok: true, reply: { body: { id: 1 } } });
    if (r.ok) expect(replyStatus(r.reply.body)).toBeUndefined();
  });

  it('picks the object with STATUS among `}{`-concatenated objects', () => {
    const b = body('{"id":1}{"STATUS":[{"STATUS":"S","Code":119}],"id":1}');
    expect(replyStatus(b)).toEqual({ status: 'S', code: 119 });
  });

  it('skips arbitrary garbage in front of the reply', () => {
    const r = parseCgminerReply('\x16\x03garbage{"STATUS":[{"STATUS":"I","Code":118}]}\0');
    expect(r).toMatchObject({ ok: true, reply: { repairs: ['garbage-prefix'] } });
  });

  it('skips a damaged object in front of a good one', () => {
    const r = parseCgminerReply('{"id":1,"x":}{"STATUS":[{"STATUS":"S"}]}');
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.reply.repairs).toContain('garbage-prefix');
  });

  it('accepts trailing commas and a missing comma', () => {
    const r = parseCgminerReply('{"STATUS":[{"STATUS":"S","Code":9,},],"A":1 "B":[1,2,],}');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.reply.body).toEqual({ STATUS: [{ STATUS: 'S', Code: 9 }], A: 1, B: [1, 2] });
    expect(r.reply.repairs).toEqual(expect.arrayContaining(['trailing-comma', 'missing-comma']));
  });

  it('ignores trailing garbage after a complete reply', () => {
    const r = parseCgminerReply('{"STATUS":[{"STATUS":"S"}]}\0\0junk');
    expect(r).toMatchObject({ ok: true, reply: { repairs: ['trailing-garbage'] } });
  });

  it('a __proto__ key does not change the prototype', () => {
    const b = body('{"STATUS":[{"STATUS":"S"}],"__proto__":{"polluted":1}}');
    expect(Object.getPrototypeOf(b)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.keys(b)).toContain('__proto__');
  });

  const failures: Array<[string, string | Buffer, RegExp]> = [
    ['empty', '', /empty reply/],
    ['only NULs', Buffer.from([0, 0]), /empty reply/],
    ['truncated object', '{"STATUS":[{"STATUS":"S"', /unexpected end of reply/],
    ['unterminated string', '{"STATUS":"S', /unterminated string/],
    ['not JSON at all', 'hello world', /no JSON object/],
    ['too deep', '{"a":' + '['.repeat(40) + ']'.repeat(40) + '}', /nesting deeper than 32/],
  ];
  for (const [name, raw, reason] of failures) {
    it(`returns a reason, never throws: ${name}`, () => {
      const r = parseCgminerReply(raw);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(reason);
    });
  }

  it('survives every prefix of a real capture without throwing', () => {
    const text = fixture('avalon-q-25052801/summary.json');
    for (let i = 0; i <= text.length; i++) {
      const r = parseCgminerReply(text.slice(0, i));
      if (i < text.length - 1) expect(r.ok).toBe(false);
    }
  });
});

describe('parseCgminerReply plain-text form', () => {
  it('reads sections, NAME=index sections and bracketed values with commas', () => {
    const raw =
      'STATUS=S,When=986,Code=70,Msg=CGMiner stats,Description=cgminer 4.11.1|' +
      'STATS=0,ID=AVA100,Elapsed=975,MM ID0=Ver[15-194] SYSTEMSTATU[Work: In Work, Hash Board: 3 ] WALLPOWER[3731]|\0';
    const r = parseCgminerReply(raw);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.reply.form).toBe('text');
    expect(replyStatus(r.reply.body)).toEqual({ status: 'S', code: 70, msg: 'CGMiner stats', when: 986 });
    expect(r.reply.body['STATS']).toEqual([
      { STATS: 0, ID: 'AVA100', Elapsed: 975, 'MM ID0': 'Ver[15-194] SYSTEMSTATU[Work: In Work, Hash Board: 3 ] WALLPOWER[3731]' },
    ]);
  });

  it('maps ASC sections to DEVS and keeps PROD=Avalonnano intact', () => {
    const raw =
      'STATUS=S,When=1,Code=22,Msg=CGMiner versions,Description=cgminer 4.11.1|VERSION,PROD=Avalonnano,MODEL=nano3|' +
      'ASC=0,Name=AVANANO,MHS 5s=3.5|';
    const b = body(raw);
    expect(b['VERSION']).toEqual([{ PROD: 'Avalonnano', MODEL: 'nano3' }]);
    expect(b['DEVS']).toEqual([{ ASC: 0, Name: 'AVANANO', 'MHS 5s': 3.5 }]);
  });
});

describe('parseCgminerReply plain-text form, | inside a value', () => {
  it('glues the ascset help list back into Msg', () => {
    const raw =
      'STATUS=I,When=1753431291,Code=118,Msg=ASC 0 set info: help|voltage|fan-spd|softon|softoff|time|,Description=cgminer 4.11.1|\0';
    const r = parseCgminerReply(raw);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.reply.body).toEqual({
      STATUS: [{ STATUS: 'I', When: 1753431291, Code: 118, Msg: 'ASC 0 set info: help|voltage|fan-spd|softon|softoff|time|', Description: 'cgminer 4.11.1' }],
    });
    expect(r.reply.repairs).toEqual(['text-glued']);
  });
  it('a text reply without STATUS is a reason', () => {
    expect(parseCgminerReply('STATUSX')).toEqual({ ok: false, reason: 'no JSON object in reply starting "STATUSX"' });
    expect(parseCgminerReply('STATUS=S|')).toMatchObject({ ok: true });
  });
});

describe('replyStatus / isSuccessStatus', () => {
  const cases: Array<[string, string, boolean, number]> = [
    ['avalon-q-25052801/ascset_softoff.json', 'I', true, 118],
    ['avalon-q-25052801/ascset_softon.json', 'I', true, 118],
    ['avalon-q-25052801/ascset_workmode.json', 'S', true, 119],
    ['a1566-24102401/version.json', 'S', true, 22],
  ];
  for (const [file, status, ok, code] of cases) {
    it(`${file}: ${status}/${code}`, () => {
      const s = replyStatus(body(fixture(file)))!;
      expect(s.status).toBe(status);
      expect(s.code).toBe(code);
      expect(isSuccessStatus(s)).toBe(ok);
    });
  }
  it('E is not success', () => {
    const s = replyStatus(body('{"STATUS":[{"STATUS":"E","Code":120,"Msg":"ASC 0 set failed: bad"}]}'))!;
    expect(isSuccessStatus(s)).toBe(false);
    expect(s.msg).toBe('ASC 0 set failed: bad');
  });
});

describe('parseCgminerReply properties (fast-check)', () => {
  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom('{', '}', '[', ']', ',', ':', '"', 'n', 'a', 'i', 'f', '1', '-', ' ', '\0', '|', '=') })), (s) => {
        const r = parseCgminerReply(s);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips any JSON object with STATUS, with a NUL, at any top-level whitespace', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.constantFrom('', '\n', '  \n'), (extra, ws) => {
        const obj = { ...extra, STATUS: [{ STATUS: 'S', Code: 9 }] };
        const r = parseCgminerReply(`${ws}${JSON.stringify(obj)}${ws}\0`);
        expect(r.ok).toBe(true);
        // JSON.parse, not obj: -0 and __proto__ are normalised the same way on both sides.
        if (r.ok) expect(r.reply.body).toEqual(JSON.parse(JSON.stringify(obj)));
      }),
      { numRuns: 150 },
    );
  });

  it('bare non-finite tokens become numbers only where they replace a value; strings are untouched', () => {
    const token = fc.constantFrom<[string, number]>(['inf', Infinity], ['-inf', -Infinity], ['nan', NaN]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string()), fc.boolean(), token), { maxLength: 8 }), (fields) => {
        const parts: string[] = [];
        const want: Record<string, unknown> = {};
        fields.forEach(([value, orig, swap, [tok, num]], i) => {
          const key = `k${i}:${value}`;
          if (swap && typeof orig === 'number') {
            parts.push(`${JSON.stringify(key)}:${tok}`);
            want[key] = num;
          } else {
            parts.push(`${JSON.stringify(key)}:${JSON.stringify(orig)}`);
            want[key] = JSON.parse(JSON.stringify(orig));
          }
        });
        const r = parseCgminerReply(`{"STATUS":[{"STATUS":"S"}],${parts.join(',')}}\0`);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        for (const [k, v] of Object.entries(want)) expect(r.reply.body[k]).toEqual(v);
      }),
      { numRuns: 150 },
    );
  });
});

describe('hostile device replies (issue 11 item 1)', () => {
  it('gives up after a few damaged objects instead of resyncing at every brace (500,000 resyncs held the loop for seconds)', () => {
    const r = parseCgminerReply('{'.repeat(1 << 19));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/gave up after 16 damaged objects/);
  });

  it('names a huge key in a short reason, and refuses deep nesting', () => {
    const r = parseCgminerReply(`{"${'k'.repeat(500_000)}" 1}`);
    expect(r.ok === false && r.reason.length < 200).toBe(true);
    const d = parseCgminerReply(`{"STATUS":[{"STATUS":"S"}],"x":${'['.repeat(100_000)}`);
    expect(d.ok === false && /nesting deeper than 32/.test(d.reason)).toBe(true);
  });
});
