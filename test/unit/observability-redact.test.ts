import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { redactSecrets, redactText } from '../../src/redact.js';

describe('redactSecrets', () => {
  it('replaces passwords, tokens and URL credentials at any depth without touching the input', () => {
    const config = {
      pools: [{ url: 'stratum+tcp://pool.example:3333', user: 'acct.worker', password: 'pool-pass-1' }],
      http: { listen: '127.0.0.1:8080', token: 'operator-token-123' },
      budget: { source: 'mqtt', url: 'mqtt://site:mqtt-pass@broker:1883', topic: 't', username: 'site', password: 'mqtt-pass' },
      fleet: { miners: [{ id: 'a', worker: 'w' }] },
    };
    const out = redactSecrets(config);
    const text = JSON.stringify(out);
    for (const secret of ['pool-pass-1', 'operator-token-123', 'mqtt-pass']) expect(text).not.toContain(secret);
    expect(out.pools[0]!.user).toBe('acct.worker');
    expect(out.pools[0]!.password).toBe('[redacted]');
    expect(out.budget.url).toBe('mqtt://[redacted]@broker:1883');
    expect(out.http.listen).toBe('127.0.0.1:8080');
    expect(config.pools[0]!.password).toBe('pool-pass-1');
  });

  it('keeps absent optional secrets absent', () => {
    expect(redactSecrets({ http: { token: undefined, listen: 'x' } })).toEqual({ http: { token: undefined, listen: 'x' } });
  });
});

describe('redactText', () => {
  it.each([
    ['mqtt://site:p@ss@broker:1883', 'mqtt://[redacted]@broker:1883'],
    ['mqtts://u:a:b/c%2Fd@10.0.0.5:8883/x', 'mqtts://[redacted]@10.0.0.5:8883/x'],
    ['mqtt://onlyuser@broker', 'mqtt://[redacted]@broker'],
    ['//u:p@host:1', '//[redacted]@host:1'],
    ['site:pw@broker:1883', '[redacted]@broker:1883'],
    ['url=site:p@w@broker:1883', 'url=[redacted]@broker:1883'],
    ['mail ops@example.com about it', 'mail ops@example.com about it'],
    ['http://h/api?token=abc123&x=1', 'http://h/api?token=[redacted]&x=1'],
    ['http://h/?access_token=abc;password=p#frag', 'http://h/?access_token=[redacted];password=[redacted]#frag'],
    ['GET /x?apiKey=k1&sig=s2', 'GET /x?apiKey=[redacted]&sig=[redacted]'],
    ['next=mqtt%3A%2F%2Fu%3Ap%40ss%40host', 'next=mqtt%3A%2F%2F[redacted]%40host'],
    ['Authorization: Bearer tok-123.abc', 'Authorization: Bearer [redacted]'],
    ['"url":"mqtt://u:p@h:1","x":"y"', '"url":"mqtt://[redacted]@h:1","x":"y"'],
    ['stratum+tcp://pool.example:3333', 'stratum+tcp://pool.example:3333'],
    ['nothing here', 'nothing here'],
  ])('%s -> %s', (input, want) => {
    expect(redactText(input)).toBe(want);
  });

  // Generated: any user and password over the characters that break naive patterns, in every URL form.
  const secretChars = fc.constantFrom(...'abcXYZ0189@:/%?#&=+!$*~._-'.split(''));
  const secret = fc.string({ unit: secretChars, minLength: 6, maxLength: 24 }).map((s) => `S${s}Q`);
  const user = fc.string({ unit: fc.constantFrom(...'abcdef0123._-'.split('')), minLength: 1, maxLength: 10 });
  const host = fc.constantFrom('broker.site', '10.0.0.9', '[fd00::1]');
  const scheme = fc.constantFrom('mqtt://', 'mqtts://', 'http://', 'stratum+tcp://', '//', '');
  const context = fc.constantFrom((u: string) => u, (u: string) => `connect to ${u} failed`, (u: string) => JSON.stringify({ url: u }), (u: string) => `url=${u};x`);

  it('leaves no password of a URL, raw or percent-encoded, in any text', () => {
    fc.assert(
      fc.property(scheme, user, secret, host, context, fc.boolean(), (sc, u, pw, h, wrap, encode) => {
        const p = encode ? encodeURIComponent(pw) : pw;
        const url = `${sc}${u}:${p}@${h}:1883/t`;
        const out = redactText(wrap(url));
        expect(out).not.toContain(p);
        // Nor any tail of it of 3+ characters after an '@', the leak.
        for (const piece of p.split('@').slice(1)) if (piece.length >= 3) expect(out).not.toContain(`${piece}@${h}`);
        expect(out).toContain(`@${h}:1883`);
      }),
      { seed: 11, numRuns: 2000 },
    );
  });

  it('leaves no secret query value and no bearer token in any text', () => {
    // No '@' in the value: a query holding one is taken for user information and redacted whole (the safe side).
    const value = fc.string({ unit: fc.constantFrom(...'abcXYZ0189%:/+!$*~._-'.split('')), minLength: 6, maxLength: 24 }).map((s) => `V${s}W`);
    const name = fc.constantFrom('token', 'access_token', 'password', 'apikey', 'api_key', 'secret', 'auth', 'sig');
    fc.assert(
      fc.property(name, value, fc.boolean(), (n, v, first) => {
        const url = first ? `http://h:1/p?${n}=${v}&page=2` : `http://h:1/p?page=2&${n}=${v}`;
        const out = redactText(`GET ${url} Authorization: Bearer ${v}`);
        expect(out).not.toContain(v);
        expect(out).toContain('page=2');
      }),
      { seed: 12, numRuns: 1000 },
    );
  });

  it('takes linear time on long hostile text', () => {
    const hostile = '=a:'.repeat(20_000) + '@' + '//x@'.repeat(20_000) + '?token='.repeat(20_000);
    const t0 = performance.now();
    redactText(hostile);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});

describe('redactSecrets on records', () => {
  it('redacts secret-named keys in every spelling and keeps flags', () => {
    const out = redactSecrets({ mqttPassword: 'a', http_token: 'b', apiKey: 'c', access_token: 'd', tokenConfigured: true, token: false });
    expect(out).toEqual({ mqttPassword: '[redacted]', http_token: '[redacted]', apiKey: '[redacted]', access_token: '[redacted]', tokenConfigured: true, token: false });
  });

  it('redacts an Error without losing its class or code', () => {
    const e = Object.assign(new TypeError('cannot reach mqtt://u:p@ss@h:1'), { code: 'E1' });
    const out = redactSecrets({ err: e }).err;
    expect(out).toBeInstanceOf(TypeError);
    expect(out.message).toBe('cannot reach mqtt://[redacted]@h:1');
    expect(out.stack).not.toContain('p@ss');
    expect(out.code).toBe('E1');
  });

  it('stops at a bounded depth', () => {
    let deep: unknown = 'mqtt://u:p@h';
    for (let i = 0; i < 100; i++) deep = { a: deep };
    expect(JSON.stringify(redactSecrets(deep))).toContain('[too deep]');
  });
});
