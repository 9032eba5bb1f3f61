import { describe, expect, it } from 'vitest';
import { BearerAuth, FailureLimiter, isLoopbackHost, splitHostPort } from '../../src/observability/http-auth.js';

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

describe('FailureLimiter', () => {
  it('blocks an address after maxFailures within the window, until the window ends', () => {
    const l = new FailureLimiter(3, 60_000);
    for (let i = 0; i < 3; i++) {
      expect(l.blockedForMs('a', 1000 + i)).toBe(0);
      l.fail('a', 1000 + i);
    }
    expect(l.blockedForMs('a', 2000)).toBe(59_000);
    expect(l.blockedForMs('b', 2000)).toBe(0);
    expect(l.blockedForMs('a', 61_000)).toBe(0);
    l.fail('a', 61_000); // a new window
    expect(l.blockedForMs('a', 61_001)).toBe(0);
  });

  it('forgets an address on success and bounds the addresses it tracks', () => {
    const l = new FailureLimiter(1, 60_000, 2);
    l.fail('a', 0);
    expect(l.blockedForMs('a', 1)).toBeGreaterThan(0);
    l.succeed('a');
    expect(l.blockedForMs('a', 1)).toBe(0);
    l.fail('x', 0);
    l.fail('y', 0);
    l.fail('z', 0); // evicts x, the oldest
    expect(l.blockedForMs('x', 1)).toBe(0);
    expect(l.blockedForMs('z', 1)).toBeGreaterThan(0);
  });
});
