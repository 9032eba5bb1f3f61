/** describePeerValue and the bounded JSON scan (issue 11 item 1): bounded text and depth whatever a peer sends. */
import { describe, expect, it } from 'vitest';
import { describePeerValue } from '../../src/wire/peer-value.js';
import { parseBoundedJson, scanJson, shortParseError } from '../../src/wire/bounded-json.js';

const deepArray = (n: number): unknown => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown;
const deepObject = (n: number): unknown => JSON.parse('{"a":'.repeat(n) + '1' + '}'.repeat(n)) as unknown;

describe('describePeerValue', () => {
  it.each<[unknown, string]>([
    [null, 'null'],
    [undefined, 'undefined'],
    [true, 'true'],
    [1.5, '1.5'],
    [-0.0001, '-0.0001'],
    [1e300, '1e+300'],
    [Number.NaN, 'NaN'],
    [12n, '12n'],
    ['ab', '"ab"'],
    ['\u0000\ud800', '"\\u0000\\ud800"'],
    [[1, 'x', null], '[1,"x",null]'],
    [{ a: 1, b: [2] }, '{"a":1,"b":[2]}'],
    [[[[[1]]]], '[[[[…]]]]'],
    [[[[[]]]], '[[[[]]]]'],
    [{ a: { b: { c: { d: 1 } } } }, '{"a":{"b":{"c":{…}}}}'],
  ])('case %# → %s', (v, text) => expect(describePeerValue(v)).toBe(text));

  it('is bounded by maxChars whatever the depth or size, and never throws', () => {
    for (const v of [deepArray(20_000), deepObject(20_000), 'x'.repeat(1e6), Array.from({ length: 1e5 }, (_, i) => i), Object.fromEntries(Array.from({ length: 1e4 }, (_, i) => [`k${i}`, i]))]) {
      const s = describePeerValue(v, 40);
      expect(s.length).toBeLessThanOrEqual(41);
    }
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error('no'); } });
    expect(typeof describePeerValue(hostile)).toBe('string');
    const getter = { get x(): never { throw new Error('boom'); } };
    expect(describePeerValue(getter)).toMatch(/…|unreadable/);
  });

  it('caps what a caller may ask for', () => {
    expect(describePeerValue('y'.repeat(1e6), 1e9).length).toBeLessThanOrEqual(1001);
  });
});

describe('bounded JSON', () => {
  it('measures depth without recursing, strings and escapes included', () => {
    expect(scanJson('{"a":"[[[[","b":[1,[2]]}').depth).toBe(3);
    expect(scanJson('"\\"[["').depth).toBe(0);
    expect(scanJson('['.repeat(100_000)).depth).toBe(100_000);
    // An escaped backslash before a quote ends the string; an escaped quote does not.
    expect(scanJson('["a\\\\",[1]]').depth).toBe(2);
    expect(scanJson('["a\\"[[",[1]]').depth).toBe(2);
    expect(scanJson('{"id":"x\\"y","method":"m","id":[1]}')).toMatchObject({ idText: '[1]', method: true, depth: 2 });
    expect(scanJson('{"id":5,"p":"unterminated [[[[').depth).toBe(1);
  });

  it('refuses nesting past the bound before parsing, with a short reason', () => {
    const r = parseBoundedJson('['.repeat(40) + ']'.repeat(40));
    expect(r).toMatchObject({ ok: false, reason: 'JSON nested deeper than 32 levels' });
    expect(parseBoundedJson('['.repeat(32) + ']'.repeat(32)).ok).toBe(true);
    expect(parseBoundedJson('x'.repeat(100), { maxChars: 10 })).toMatchObject({ ok: false, reason: 'JSON text over 10 characters' });
  });

  it('never quotes the input in a parse error', () => {
    const r = parseBoundedJson(`secret-${'a'.repeat(500)}`);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).not.toContain('secret');
      expect(r.reason.length).toBeLessThan(140);
    }
    expect(shortParseError(new Error('Unexpected token \'s\', "secret"... is not valid JSON'))).toBe("Unexpected token 's'");
  });
});
