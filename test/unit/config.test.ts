import { describe, expect, it } from 'vitest';
import { parseConfigText, resolveConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { yamlDepth } from '../../src/config/yaml-depth.js';

const minimal = { pools: [{ url: 'stratum+tcp://127.0.0.1:3333', user: 'acct.proxy' }] };

function errorOf(raw: unknown): string {
  try {
    resolveConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('fills defaults and freezes the result', () => {
    const cfg = resolveConfig(minimal);
    expect(cfg.listen).toBe('0.0.0.0:3333');
    expect(cfg.http.listen).toBe('127.0.0.1:8080');
    expect(cfg.pools[0]!.password).toBe('x');
    expect(cfg.shares.ntimeWindowS).toBe(7000);
    expect(cfg.limits.maxLineBytes).toBe(16 * 1024);
    expect(cfg.fleet.models['avalon-a1566ha']!.modes).toHaveLength(3);
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.pools[0])).toBe(true);
  });

  it.each([
    [{ ...minimal, lisen: '0.0.0.0:1' }, /unknown key lisen \(did you mean listen\?\); allowed: listen, pools, upstream, .*stateFile, statusMqtt, log$/],
    [{ ...minimal, difficulty: { inital: 1 } }, /unknown key difficulty\.inital \(did you mean initial\?\); allowed in difficulty: initial, /],
    [{ pools: [{ url: 'stratum+tcp://pool:1', user: 'u', pasword: 'x' }] }, /unknown key pools\[0\]\.pasword \(did you mean password\?\); allowed in pools\[0\]: url, user, password, /],
    [{ ...minimal, budget: { source: 'static', kw: 3, ttl: 1 } }, /unknown key budget\.ttl \(did you mean ttlS\?\); allowed in budget: source, kw, ttlS, /],
    [{ ...minimal, fleet: { miners: [{ id: 'a', worker: 'w', model: 'generic', apii: 'x' }] } }, /unknown key fleet\.miners\[0\]\.apii \(did you mean api\?\); allowed in fleet\.miners\[0\]: id, worker, model, api, priority$/],
    [{ pools: [{ url: 'http://pool:1', user: 'u' }] }, /pools\[0\]\.url: must be stratum\+tcp:\/\/host:port/],
    [{ pools: [] }, /pools: /],
    [{}, /pools: is required \(array\)/],
    [{ ...minimal, listen: 'nohostport' }, /listen: must be "host:port"/],
    [{ ...minimal, listen: '1.2.3.4:70000' }, /listen: port must be 0\.\.65535/],
    [{ ...minimal, difficulty: { min: 10, max: 1 } }, /difficulty\.min/],
    [{ ...minimal, upstream: { minerExtranonce2Size: 2 } }, /upstream\.minerExtranonce2Size/],
    [{ ...minimal, budget: { source: 'solar' } }, /budget\.source: .*static.*http.*schedule.*mqtt/],
    [{ ...minimal, budget: { source: 'static', kw: 'ten' } }, /budget\.kw/],
    [
      { ...minimal, fleet: { miners: [{ id: 'a', worker: 'w', model: 'antminer-s99' }] } },
      /fleet\.miners\[0\]\.model: unknown model "antminer-s99"; allowed: avalon-a1566ha, generic/,
    ],
  ])('rejects %j with a message naming the key', (raw, pattern) => {
    expect(errorOf(raw)).toMatch(pattern);
  });

  it('parses YAML and JSON alike', () => {
    const yaml = parseConfigText('pools:\n  - url: stratum+tcp://127.0.0.1:3333\n    user: a\n', 'x.yaml');
    const json = parseConfigText(JSON.stringify(minimal), 'x.json');
    expect(resolveConfig(yaml).pools[0]!.user).toBe('a');
    expect(resolveConfig(json).pools[0]!.user).toBe('acct.proxy');
    expect(() => parseConfigText('pools: [', 'bad.yaml')).toThrow(/bad\.yaml: not valid YAML/);
  });
});

describe('config nested deep (issue 11 item 1)', () => {
  it.each([
    ['flow sequences', `pools: ${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['flow mappings', `a: ${'{b: '.repeat(3000)}1${'}'.repeat(3000)}`],
    ['JSON', `{"pools":${'['.repeat(8000)}${']'.repeat(8000)}}`],
    ['block mappings by indentation', `${Array.from({ length: 300 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')} 1`],
  ])('%s: a one-line ConfigError that says so, found before the recursive parse', (_what, text) => {
    let err: unknown;
    try {
      parseConfigText(text, 'x.yaml');
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toMatch(/^x\.yaml: not valid YAML\/JSON: nested too deep \(\d+ levels; at most 64\)$/);
    // Not a caught stack overflow: the bound does not depend on the thread's stack size.
    expect((err as Error).cause).toBeUndefined();
  });

  it('measures nesting without recursion, and lets a real config through', () => {
    expect(yamlDepth('a:\n  b:\n    - c: 1\n      d: [1, {e: 2}]\n')).toBe(7);
    expect(yamlDepth(`x: ${'['.repeat(20_000)}${']'.repeat(20_000)}`)).toBe(20_001);
    expect(yamlDepth('')).toBe(0);
  });
});
