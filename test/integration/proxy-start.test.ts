import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startConfig } from '../../src/commands/start.js';
import { SimMiner, SimPool, waitFor } from './proxy-harness.js';

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function file(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'surplus-start-'));
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

describe('surplus start: configuration', () => {
  it('accepts the annotated example config as it ships', async () => {
    const cfg = await startConfig(['--config', 'config/example.yaml']);
    expect(cfg.pools.map((p) => p.url)).toEqual(['stratum+tcp://pool.example.com:3333', 'stratum+tcp://backup.example.net:3333']);
    expect(cfg.limits.maxLineBytes).toBe(16384);
    expect(cfg.upstream.minerExtranonce2Size).toBe(4);
  });

  it('applies command-line overrides on top of the file', async () => {
    const cfg = await startConfig([
      '--config', 'config/example.yaml',
      '--listen', '127.0.0.1:4444',
      '--pool', 'stratum+tcp://a.example:3333',
      '--pool', 'stratum+tcp://b.example:3334',
      '--user', 'me',
      '--password', 'pw',
      '--http', '127.0.0.1:9999',
    ]);
    expect(cfg.listen).toBe('127.0.0.1:4444');
    expect(cfg.pools).toEqual([
      { url: 'stratum+tcp://a.example:3333', user: 'me', password: 'pw' },
      { url: 'stratum+tcp://b.example:3334', user: 'me', password: 'pw' },
    ]);
    expect(cfg.http.listen).toBe('127.0.0.1:9999');
    const userOnly = await startConfig(['--config', 'config/example.yaml', '--user', 'other']);
    expect(userOnly.pools.map((p) => p.user)).toEqual(['other', 'other']);
  });

  it.each([
    [['--pool', 'http://pool:3333', '--user', 'u'], /pools\[0\]\.url: must be stratum\+tcp:\/\/host:port/],
    [['--pool', 'stratum+tcp://pool:3333'], /--pool needs --user/],
    [[], /no pool configured/],
    [['--user', 'u'], /--user\/--password need a pool/],
    [['--pool', 'stratum+tcp://p:1', '--user', 'u', '--listen', 'nope'], /listen: must be "host:port"/],
    [['--frobnicate'], /unknown option --frobnicate; allowed: --config, --listen, --pool, --user, --password, --http/],
  ])('refuses %j with a message naming the problem', async (args, message) => {
    await expect(startConfig(args)).rejects.toThrow(message);
  });

  it('names unknown and bad keys from the file', async () => {
    const p = await file('bad.yaml', 'pools: [{url: "stratum+tcp://p:1", user: u}]\nupstreem: {}\ndifficulty: {targetSharesPerMinute: -1}\nlimits: {maxLineBytes: 10}\n');
    const err = await startConfig(['--config', p]).catch((e: Error) => e);
    expect(String(err)).toMatch(/unknown key upstreem/);
    expect(String(err)).toMatch(/difficulty\.targetSharesPerMinute/);
    expect(String(err)).toMatch(/limits\.maxLineBytes/);
    const notYaml = await file('bad.json', '{ "pools": [ }');
    await expect(startConfig(['--config', notYaml])).rejects.toThrow(/not valid YAML\/JSON/);
    await expect(startConfig(['--config', '/nonexistent/surplus.yaml'])).rejects.toThrow(/cannot read config file/);
  });
});

describe('surplus start: the real process', () => {
  it('proxies a miner to the pool and exits 0 on SIGTERM', async () => {
    const pool = new SimPool({ difficulty: 4e-6 });
    await pool.start();
    cleanup.push(() => pool.stop());
    const cfg = await file('site.yaml', [
      'listen: "127.0.0.1:0"',
      'http: { listen: "127.0.0.1:0" }',
      'difficulty: { initial: 0.000002, min: 0.000002, max: 0.000002 }',
      'shares: { hashThreads: 1 }',
    ].join('\n'));
    const child = spawn(process.execPath, ['dist/cli.js', 'start', '--config', cfg, '--pool', pool.url, '--user', 'farm'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.push(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /"msg":"surplus started"/.test(out), 10_000, 'the started log line');
    const started = JSON.parse(out.split('\n').find((l) => l.includes('surplus started'))!) as { minerPort: number; http: string };
    expect(started.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const miner = new SimMiner({ host: '127.0.0.1', port: started.minerPort, worker: 'rig', hashesPerSecond: 30_000 });
    await miner.start();
    cleanup.push(() => miner.stop());
    await waitFor(() => pool.stats.accepted >= 1, 10_000, 'a share through the real process');
    miner.stop();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(pool.stats.rejected).toEqual({});
  });
});
