import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeError, encodeNotification, encodeRequest, encodeResult, normalizeError, truncateForLog } from '../../src/protocol/json-rpc.js';

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
    ['{"id":{},"method":"x"}', /id must be/, undefined],
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
