/**
 * stratum+ssl:// pools (issue 13 item 10) against a local TLS pool on
 * 127.0.0.1 with the self-signed certificate in test/fixtures/tls (see its
 * README): verified with the certificate as CA, refused with another CA or
 * the system's, allowed with insecureSkipVerify (and a loud warning); config
 * mistakes named by key before anything binds.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { parsePoolUrl, poolUrl, reconnectTarget } from '../../src/upstream/pool-endpoint.js';
import { MINER_DIFF, Proxy, SimPool, startMiners, testConfig, waitFor } from './proxy-harness.js';
import { captureLog } from '../support/log-capture.js';

const fixture = (f: string): string => fileURLToPath(new URL(`../fixtures/tls/${f}`, import.meta.url));
const CERT = fixture('pool-cert.pem');
const OTHER_CA = fixture('other-cert.pem');
const tlsOpts = { key: readFileSync(fixture('pool-key.pem'), 'utf8'), cert: readFileSync(CERT, 'utf8') };

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

const capture = (): ReturnType<typeof captureLog> => captureLog('info');

async function tlsPool(): Promise<SimPool> {
  const pool = new SimPool({ difficulty: MINER_DIFF, tls: tlsOpts });
  await pool.start();
  cleanup.push(() => pool.stop());
  return pool;
}

async function proxyFor(pool: SimPool, tls: Record<string, unknown> | undefined, logger = capture().logger): Promise<Proxy> {
  const base = testConfig([pool]);
  const proxy = new Proxy(resolveConfig({ ...base, pools: [{ url: pool.url, user: 'farm0', ...(tls ? { tls } : {}) }] }), { logger });
  cleanup.push(() => proxy.close());
  return proxy;
}

describe('stratum+ssl:// pools', () => {
  it('verified with the pool certificate as CA: miners mine through TLS, shares accepted', async () => {
    const pool = await tlsPool();
    expect(pool.url).toMatch(/^stratum\+ssl:\/\/127\.0\.0\.1:\d+$/);
    const proxy = await proxyFor(pool, { caFile: CERT });
    const { port } = await proxy.start();
    const miners = await startMiners(port, 2);
    cleanup.push(() => miners.forEach((m) => m.stop()));
    await waitFor(() => pool.stats.accepted >= 2, 15_000, 'shares accepted over TLS');
    expect(proxy.snapshot().pools[0]).toMatchObject({ state: 'up', connectFailures: 0 });
  });

  it('a certificate the configured CA did not sign is refused, with the cause shown per pool', async () => {
    const pool = await tlsPool();
    const proxy = await proxyFor(pool, { caFile: OTHER_CA });
    await proxy.start();
    await waitFor(() => proxy.snapshot().pools[0]!.connectFailures >= 1, 10_000, 'a failed attempt');
    const p = proxy.snapshot().pools[0]!;
    expect(p.state).not.toBe('up');
    expect(p.lastError).toMatch(/cannot connect to stratum\+ssl:\/\/127\.0\.0\.1:\d+: [A-Z_]+/);
    expect(pool.stats.submits).toBe(0);
  });

  it('by default the system CAs decide: a self-signed pool is refused', async () => {
    const pool = await tlsPool();
    const proxy = await proxyFor(pool, undefined);
    await proxy.start();
    await waitFor(() => proxy.snapshot().pools[0]!.connectFailures >= 1, 10_000, 'a failed attempt');
    expect(proxy.snapshot().pools[0]!.lastError).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });

  it('insecureSkipVerify connects without checking, and says so loudly at start', async () => {
    const pool = await tlsPool();
    const { logger, lines } = capture();
    const proxy = await proxyFor(pool, { insecureSkipVerify: true }, logger);
    const { port } = await proxy.start();
    const miners = await startMiners(port, 1);
    cleanup.push(() => miners.forEach((m) => m.stop()));
    await waitFor(() => pool.stats.accepted >= 1, 15_000, 'a share accepted');
    const warn = lines.find((l) => l.level === 40 && l.msg.startsWith('INSECURE'));
    expect(warn?.msg).toContain('pools[0].tls.insecureSkipVerify');
  });
});

describe('stratum+ssl:// config', () => {
  const pools = (p: Record<string, unknown>) => ({ listen: '127.0.0.1:0', pools: [{ user: 'farm', ...p }] });
  const message = (raw: unknown): string => {
    try {
      resolveConfig(raw);
    } catch (err) {
      return (err as Error).message;
    }
    return '(accepted)';
  };

  it('a url scheme error names the key and what is allowed', () => {
    expect(message(pools({ url: 'stratum+tls://pool.example:3333' }))).toContain('pools[0].url: must be stratum+tcp://host:port, or stratum+ssl://host:port for a pool over TLS');
    expect(message(pools({ url: 'ssl://pool.example:3333' }))).toContain('pools[0].url: must be stratum+tcp://host:port');
    expect(message(pools({ url: 'stratum+ssl://pool.example:443' }))).toBe('(accepted)');
  });

  it('tls settings on a plain tcp url, or unknown tls keys, are named', () => {
    expect(message(pools({ url: 'stratum+tcp://pool.example:3333', tls: { caFile: CERT } }))).toContain('pools[0].tls: tls applies only to a stratum+ssl:// url');
    expect(message(pools({ url: 'stratum+ssl://pool.example:3333', tls: { ca: CERT } }))).toContain('unknown key pools[0].tls.ca; allowed in pools[0].tls: caFile, insecureSkipVerify');
  });

  it('an unreadable or non-PEM CA file stops the proxy before it binds anything, naming the key', () => {
    const cfg = (caFile: string) => resolveConfig(pools({ url: 'stratum+ssl://127.0.0.1:3333', tls: { caFile } }));
    expect(() => new Proxy(cfg('/nonexistent/ca.pem'))).toThrow(ConfigError);
    expect(() => new Proxy(cfg('/nonexistent/ca.pem'))).toThrow('pools[0].tls.caFile: cannot read /nonexistent/ca.pem: ENOENT');
    expect(() => new Proxy(cfg(fixture('README.md')))).toThrow(/pools\[0\]\.tls\.caFile: .*holds no PEM certificate/);
  });

  it('a redirect from a TLS pool stays on TLS', () => {
    const configured = parsePoolUrl('stratum+ssl://pool.example:443');
    expect(configured).toEqual({ host: 'pool.example', port: 443, tls: true });
    const d = reconnectTarget(configured, undefined, { port: 4443 }, false);
    expect(poolUrl(d.target!)).toBe('stratum+ssl://pool.example:4443');
    expect(poolUrl(parsePoolUrl('stratum+tcp://[::1]:3333'))).toBe('stratum+tcp://[::1]:3333');
  });
});
