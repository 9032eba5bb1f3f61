import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeError, encodeNotification, encodeRequest, encodeResult, normalizeError, truncateForLog } from '../../src/wire/json-rpc.js';

describe('decodeMessage', () => {
  it.each([
    ['{"id":1,"method":"mining.subscribe","params":["cgminer"]}', { kind: 'request', id: 1, method: 'mining.subscribe', params: ['cgminer'] }],
    ['{"id":"a","method":"mining.extranonce.subscribe"}', { kind: 'request', id: 'a', method: 'mining.extranonce.subscribe', params: [] }],
    ['{"id":null,"method":"mining.set_difficulty","params":[2]}', { kind: 'notification', method: 'mining.set_difficulty', params: [2] }],
    ['{"method":"mining.notify","params":[]}', { kind: 'notification', method: 'mining.notify', params: [] }],
    ['{"id":4,"result":true,"error":null}', { kind: 'response', id: 4, result: true, error: null }],
    ['{"id":5,"result":null,"error":[23,"Low difficulty share",null]}', { kind: 'response', id: 5, result: null, error: { code: 23, message: 'Low difficulty share' } }],
    ['{"id":6,"result":false,"error":{"code":21,"message":"Job not found"}}', { kind: 'response', id: 6, result: false, error: { code: 21, message: 'Job not found' } }],
  ])('decodes %s', (line, message) => {
    expect(decodeMessage(line)).toEqual({ ok: true, message });
  });

  it.each([
    ['{not json', /invalid JSON/, undefined],
    ['[1,2]', /JSON object/, undefined],
    ['42', /JSON object/, undefined],
    ['{"id":7,"method":"mining.submit","params":{"a":1}}', /params must be an array/, 7],
    ['{"id":8,"method":""}', /method must be/, 8],
    ['{"id":9}', /neither method nor result/, 9],
  ])('rejects %s with a reason', (line, reason, id) => {
    const d = decodeMessage(line);
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.reason).toMatch(reason);
      expect(d.id).toBe(id);
    }
  });
});

describe('encode', () => {
  it('always sends "error": null on success and a Stratum error tuple on failure', () => {
    expect(encodeResult(3, true)).toBe('{"id":3,"result":true,"error":null}\n');
    expect(encodeError(3, 23, 'Low difficulty share')).toBe('{"id":3,"result":null,"error":[23,"Low difficulty share",null]}\n');
    expect(encodeRequest(1, 'mining.subscribe', [])).toBe('{"id":1,"method":"mining.subscribe","params":[]}\n');
    expect(encodeNotification('mining.set_difficulty', [8])).toBe('{"id":null,"method":"mining.set_difficulty","params":[8]}\n');
  });

  it('round-trips through decode', () => {
    const d = decodeMessage(encodeError('x', 21, 'Job not found').trim());
    expect(d).toEqual({ ok: true, message: { kind: 'response', id: 'x', result: null, error: { code: 21, message: 'Job not found' } } });
  });

  it('normalizes odd error shapes and truncates logs', () => {
    expect(normalizeError(false)).toBeNull();
    expect(normalizeError('boom')).toEqual({ code: 20, message: 'boom' });
    expect(truncateForLog('a'.repeat(500), 10)).toBe('aaaaaaaaaa…(500 chars)');
  });
});

describe('ids echoed exactly as received (issue 11 item 10)', () => {
  const echo = (line: string): string => {
    const d = decodeMessage(line);
    if (!d.ok) throw new Error(d.reason);
    if (d.message.kind !== 'request') throw new Error('not a request');
    return encodeResult(d.message.id, true);
  };
  it.each([
    ['123456789012345678901234567890', '123456789012345678901234567890'],
    ['-98765432109876543210', '-98765432109876543210'],
    ['1.0', '1.0'],
    ['1e3', '1e3'],
    ['0.1', '0.1'],
    ['7', '7'],
    ['true', 'true'],
    ['false', 'false'],
    ['{}', '{}'],
    ['[]', '[]'],
    ['{"a": [1, "x y"]}', '{"a":[1,"x y"]}'],
    ['[1,{"b":null}]', '[1,{"b":null}]'],
    ['"s"', '"s"'],
    ['"\\u0041"', '"A"'],
  ])('id %s comes back as %s', (raw, want) => {
    expect(echo(`{"method":"m","params":[],"id":${raw}}`)).toBe(`{"id":${want},"result":true,"error":null}\n`);
    expect(echo(`{"id" : ${raw} , "method":"m"}`)).toBe(`{"id":${want},"result":true,"error":null}\n`);
  });

  it('an escaped key spelling "id" is the id; the last of duplicate ids wins (as JSON.parse reads it)', () => {
    expect(echo('{"\\u0069d":123456789012345678901234567890,"method":"m"}')).toContain('"id":123456789012345678901234567890,');
    expect(echo('{"id":1,"method":"m","id":[2]}')).toContain('"id":[2],');
  });

  it('an id over the bound is answered with a null id, not dropped', () => {
    const big = `[${'1,'.repeat(1000)}1]`;
    expect(echo(`{"id":${big},"method":"m"}`)).toBe('{"id":null,"result":true,"error":null}\n');
  });

  it('a request too deep to read is refused with its id when the id can be read', () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const d = decodeMessage(`{"id":123456789012345678901234567890,"method":"mining.submit","params":${deep}}`);
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.reason).toMatch(/nested deeper than 32/);
      expect(encodeError(d.id!, 20, 'x')).toContain('"id":123456789012345678901234567890,');
    }
    // An answer (no method) that is too deep is not answered back.
    const r = decodeMessage(`{"id":5,"result":${deep}}`);
    expect(r.ok === false && r.id === undefined).toBe(true);
  });

  it('error values of any shape become a bounded message, never a throw', () => {
    const deep = JSON.parse('['.repeat(9000) + ']'.repeat(9000)) as unknown;
    expect(normalizeError(deep)!.message.length).toBeLessThanOrEqual(201);
    expect(normalizeError([1, deep])!.message.length).toBeLessThanOrEqual(201);
    expect(normalizeError({ code: 'x', message: deep })).toMatchObject({ code: 20 });
    expect(normalizeError([21, 'y'.repeat(100_000)])!.message.length).toBe(200);
  });
});
