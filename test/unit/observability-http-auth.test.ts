import { describe, expect, it } from 'vitest';
import { BearerAuth, isLoopbackHost, splitHostPort } from '../../src/observability/http-auth.js';

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.10', false],
    ['::ffff:10.0.0.1', false],
    ['fe80::1', false],
    ['miner-gw.local', false],
    ['128.0.0.1', false],
  ])('%s -> %s', (host, want) => {
    expect(isLoopbackHost(host)).toBe(want);
  });
});

describe('splitHostPort', () => {
  it('splits IPv4, names and bracketed IPv6', () => {
    expect(splitHostPort('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(splitHostPort('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(splitHostPort('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
  });
});

describe('BearerAuth', () => {
  const auth = new BearerAuth('s3cret-token-value');
  it.each([
    ['Bearer s3cret-token-value', true],
    ['bearer s3cret-token-value', true],
    ['Bearer  s3cret-token-value ', true],
    ['Bearer s3cret-token-valuE', false],
    ['Bearer s3cret-token-value-and-more', false],
    ['Bearer s3cret', false],
    ['Basic s3cret-token-value', false],
    ['s3cret-token-value', false],
    ['Bearer', false],
    ['', false],
  ])('%j -> %s', (header, want) => {
    expect(auth.check(header)).toBe(want);
  });

  it('refuses everything when no token is configured', () => {
    const none = new BearerAuth(undefined);
    expect(none.configured).toBe(false);
    expect(none.check('Bearer ')).toBe(false);
    expect(none.check('Bearer anything')).toBe(false);
    expect(none.check(undefined)).toBe(false);
  });
});
