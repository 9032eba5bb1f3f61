import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../src/net/host.js';
import { addressKey, BearerAuth, FailureLimiter, splitHostPort } from '../../src/operator/http-auth.js';

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

describe('addressKey', () => {
  it.each([
    ['127.0.0.2', '127.0.0.2'],
    ['::ffff:10.0.0.7', '10.0.0.7'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::1', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1', 'fe80:0:0:0::/64'],
  ])('%s -> %s', (remote, want) => {
    expect(addressKey(remote)).toBe(want);
  });
});

describe('FailureLimiter', () => {
  const limits = { perAddress: { burst: 3, refillMs: 10_000 }, global: { burst: 20, refillMs: 1_000 }, maxAddresses: 8 };

  it('limits an address after its burst and refills one failure per refillMs', () => {
    const l = new FailureLimiter(limits, 0);
    for (let i = 0; i < 3; i++) expect(l.fail('a', i).limited).toBe(false);
    expect(l.fail('a', 3)).toEqual({ limited: true, retryAfterMs: 9_997 });
    expect(l.fail('b', 4).limited).toBe(false);
    expect(l.fail('a', 10_003).limited).toBe(false);
    expect(l.fail('a', 10_004).limited).toBe(true);
  });

  it('says when an address or everyone is over budget without consuming anything', () => {
    const l = new FailureLimiter(limits, 0);
    expect(l.isLimited('a', 0)).toBe(false);
    for (let i = 0; i < 3; i++) l.fail('a', 0);
    expect(l.isLimited('a', 0)).toBe(true);
    expect(l.isLimited('a', 0)).toBe(true);
    expect(l.isLimited('b', 0)).toBe(false);
    expect(l.isLimited('a', 10_000)).toBe(false);
    for (let i = 0; i < 20; i++) l.fail(`10.0.0.${i}`, 10_000); // the global bucket has refilled to 20
    expect(l.isLimited('b', 10_000)).toBe(true);
  });

  it('counts an IPv6 /64 as one address', () => {
    const l = new FailureLimiter(limits, 0);
    for (let i = 0; i < 3; i++) expect(l.fail(`2001:db8::${i + 1}`, 0).limited).toBe(false);
    expect(l.fail('2001:db8::ffff', 0).limited).toBe(true);
  });

  it('cannot be flushed by address churn: the global bucket stays empty and memory stays bounded', () => {
    // The old limiter forgot its 1,024 oldest addresses after 1,050 failures from others, reopening guessing.
    const l = new FailureLimiter(limits, 0);
    for (let i = 0; i < 3; i++) l.fail('10.0.0.1', 0);
    expect(l.fail('10.0.0.1', 0).limited).toBe(true);
    let limited = 0;
    for (let i = 0; i < 1050; i++) if (l.fail(`10.1.${i >> 8}.${i & 255}`, 1).limited) limited++;
    expect(l.trackedAddresses).toBe(8);
    // 20 - 4 global tokens were left for the churners; everything after them is limited.
    expect(limited).toBe(1050 - 16);
    expect(l.fail('10.0.0.1', 2).limited).toBe(true);
    expect(l.fail('10.9.9.9', 2).limited).toBe(true);
    // The global bucket refills in time, at its own rate.
    expect(l.fail('10.9.9.8', 1_002).limited).toBe(false);
    expect(l.fail('10.9.9.7', 1_002).limited).toBe(true);
  });
});
