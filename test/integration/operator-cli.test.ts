/**
 * Issue 13 as an operator meets it, through the built CLI (dist/cli.js, as
 * `npm test` builds it): every command answers a common mistake with one line
 * naming the thing and no stack; check-config lists every problem; a config
 * error stops `start` before the miner port is bound; discover finds the
 * simulated Avalons on 127.0.0.x; --version and help <command>.
 *
 * Most command lines run in-process through the CLI's own `run` (the same
 * parsing, commands and error printing; test/support/cli-in-process.ts); the
 * ones marked SPAWN run the built dist/cli.js as a process, for what only a
 * process shows: its exit status, and a port it leaves bound or free.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { systemClock } from '../../src/clock.js';
import { parseFleetCsv } from '../../src/config/fleet-import.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { AvalonSimDevice } from '../../src/demo/avalon-device.js';
import { runCliInProcess as cli } from '../support/cli-in-process.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function runCli(args: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: timeoutMs, cwd: ROOT }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
let busy: Server;
let busyPort: number;
const file = (name: string): string => join(dir, name);
const POOL = 'pools: [{ url: "stratum+tcp://127.0.0.1:1", user: u }]\n';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'surplus-operator-cli-'));
  await mkdir(file('a-folder'));
  await writeFile(file('ok.yaml'), `${POOL}listen: "127.0.0.1:0"\nhttp: { listen: "127.0.0.1:0" }\n`);
  await writeFile(file('no-budget-file.yaml'), `${POOL}listen: "127.0.0.1:0"\nhttp: { listen: "127.0.0.1:0" }\nbudget: { source: schedule, file: ${file('nope.csv')} }\n`);
  await writeFile(file('garbage.csv'), 'garbage\x00 zz\n');
  await writeFile(file('garbage-budget.yaml'), `${POOL}budget: { source: schedule, file: ${file('garbage.csv')} }\n`);
  await writeFile(file('typo.yaml'), 'pool: [{ url: "stratum+tcp://127.0.0.1:1", user: u }]\n');
  await writeFile(file('bad.yaml'), 'pools: [ ]\n: :\n  - [');
  await writeFile(file('fleet.csv'), 'id,worker,model,api\nr1,site.r1,avalon-a1566ha,10.0.0.1:4028\nr2,site.r2,generic,not-an-address\na,site.x,generic,\n');
  await writeFile(
    file('many.yaml'),
    [
      'pools: [{ url: "http://pool:3333", user: u }]',
      'listen: nope',
      'http: { listen: "0.0.0.0:8080" }',
      'fleet:',
      '  import: fleet.csv',
      '  miners:',
      '    - { id: a, worker: w1, model: generic }',
      '    - { id: a, worker: w2, model: antminer-s99 }',
      '',
    ].join('\n'),
  );
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  busyPort = (busy.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((r) => busy.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

/** One line on stderr, naming `what`, no stack, no "internal error", exit code 2 (or `code`). */
function expectOneLine(r: { code: number; stderr: string }, what: RegExp, code = 2): void {
  expect(r.stderr, r.stderr).not.toMatch(/\n\s+at |internal error/);
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr.trimEnd()).toMatch(what);
  expect(r.code).toBe(code);
}

describe('a common mistake is one line naming the thing, never a stack', () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ['start: miner port in use', () => ['start', '--config', file('ok.yaml'), '--listen', `127.0.0.1:${busyPort}`], /^surplus: listen 127\.0\.0\.1:\d+: cannot listen \(EADDRINUSE\): address already in use .*: choose another with listen in the config or --listen host:port$/],
    ['start: http port in use', () => ['start', '--config', file('ok.yaml'), '--http', `127.0.0.1:${busyPort}`], /http\.listen 127\.0\.0\.1:\d+: cannot listen \(EADDRINUSE\)/],
    ['start: missing config', () => ['start', '--config', file('none.yaml')], /^surplus: cannot read config file .*none\.yaml: ENOENT$/],
    ['start: unreadable config (a folder)', () => ['start', '--config', file('a-folder')], /^surplus: cannot read config file .*a-folder: EISDIR$/],
    ['start: not YAML', () => ['start', '--config', file('bad.yaml')], /^surplus: .*bad\.yaml: not valid YAML\/JSON: /],
    ['start: bad value', () => ['start', '--pool', 'stratum+tcp://h:1', '--user', 'u', '--listen', 'nope'], /^surplus: invalid configuration: listen: must be "host:port".*, got "nope"$/],
    ['start: unknown flag', () => ['start', '--frobnicate'], /^surplus: unknown option --frobnicate; allowed: --config/],
    ['start: missing budget file', () => ['start', '--config', file('no-budget-file.yaml')], /^surplus: budget\.file: cannot read .*nope\.csv: ENOENT$/],
    ['demo: http port in use', () => ['demo', '--http', `127.0.0.1:${busyPort}`], /http\.listen 127\.0\.0\.1:\d+: cannot listen \(EADDRINUSE\)/],
    ['demo: missing config', () => ['demo', '--config', file('none.yaml')], /^surplus: cannot read config file .*none\.yaml: ENOENT$/],
    ['demo: bad value', () => ['demo', '--miners', '0'], /^surplus: invalid demo option: demo: miners: /],
    ['demo: unknown flag', () => ['demo', '--frob'], /^surplus: unknown option --frob; allowed: .*--http$/],
    ['simulate: missing trace', () => ['simulate', '--trace', file('none.csv'), '--units', '3'], /^surplus: cannot read trace .*none\.csv: ENOENT$/],
    ['simulate: unreadable trace (a folder)', () => ['simulate', '--trace', file('a-folder'), '--units', '3'], /^surplus: cannot read trace .*a-folder: EISDIR$/],
    ['simulate: plot into a missing folder', () => ['simulate', '--trace', 'config/traces/clear-day.csv', '--units', '3', '--plot', file('nope/day.svg')], /^surplus: --plot .*day\.svg: folder .*nope does not exist$/],
    ['simulate: bad value', () => ['simulate', '--trace', 'config/traces/clear-day.csv', '--units', '0'], /^surplus: option --units must be an integer in 1\.\.100000, got 0$/],
    ['simulate: unknown flag', () => ['simulate', '--tracee', 'x'], /^surplus: unknown option --tracee; allowed: --trace/],
    ['check-share: missing file', () => ['check-share', file('none.json')], /^surplus: cannot read .*none\.json: ENOENT$/],
    ['check-share: unreadable file (a folder)', () => ['check-share', file('a-folder')], /^surplus: cannot read .*a-folder: EISDIR$/],
    ['check-share: unknown flag', () => ['check-share', '--json', 'x'], /^surplus: unknown option --json; allowed: \(none\)$/],
    ['check-config: no file', () => ['check-config'], /^surplus: check-config needs exactly one FILE, got 0$/],
    ['check-config: unknown flag', () => ['check-config', '--strict', 'x'], /^surplus: unknown option --strict/],
    ['bench: bad value', () => ['bench', '--shares', '5'], /^surplus: --shares must be an integer >= 100, got 5$/],
    ['bench: unknown flag', () => ['bench', '--threads', '2'], /^surplus: unknown option --threads; allowed: --json/],
    ['discover: range too large', () => ['discover', '--range', '10.0.0.0/8'], /^surplus: --range 10\.0\.0\.0\/8 has 16777216 addresses; the largest range probed at once is a \/16/],
    ['discover: bad range', () => ['discover', '--range', '10.0.0.300/24'], /^surplus: --range must be an IPv4 CIDR/],
    ['discover: bad port', () => ['discover', '--range', '127.0.0.1', '--port', '70000'], /^surplus: option --port must be an integer 1\.\.65535, got 70000$/],
    ['discover: unknown flag', () => ['discover', '--subnet', '10.0.0.0/24'], /^surplus: unknown option --subnet; allowed: --range/],
    ['an unknown command', () => ['strat'], /^surplus: unknown command "strat"; allowed: start, demo/],
    ['help for an unknown command', () => ['help', 'strat'], /^surplus: unknown command "strat"/],
  ];
  /** Run as real processes: a port-in-use failure of each long-running command, and an unknown command. */
  const SPAWN = new Set(['start: miner port in use', 'demo: http port in use', 'an unknown command']);
  it.concurrent.each(cases)('%s', async (name, args, what) => {
    expectOneLine(await (SPAWN.has(name) ? runCli : cli)(args()), what);
  });

  it('check-config: a missing or unreadable file is one line and exit 1', async () => {
    // SPAWN: exit status 1 as a process sees it.
    expectOneLine(await runCli(['check-config', file('none.yaml')]), /cannot read config file .*none\.yaml: ENOENT$/, 1);
    expectOneLine(await cli(['check-config', file('a-folder')]), /cannot read config file .*a-folder: EISDIR$/, 1);
  });
});

describe('validate everything before binding anything', () => {
  it('check-config lists every problem (key, value, what is allowed) and exits 1', async () => {
    const r = await cli(['check-config', file('many.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const lines = r.stderr.trimEnd().split('\n');
    const want = [
      /fleet\.import: fleet\.csv:3: column api: must be "host:port".*, got "not-an-address"$/,
      /fleet\.import: fleet\.csv:4: column id: duplicate id "a" \(already at fleet\.miners\[0\]\)$/,
      /pools\[0\]\.url: must be stratum\+tcp:\/\/host:port, or stratum\+ssl:\/\/host:port for a pool over TLS, got "http:\/\/pool:3333"$/,
      /listen: must be "host:port".*, got "nope"$/,
      /fleet\.miners\[1\]\.model: unknown model "antminer-s99"; allowed: avalon-a1566ha, generic/,
      /fleet\.miners\[1\]\.id: duplicate id "a" \(first at fleet\.miners\[0\]\)/,
      /http\.listen: "0\.0\.0\.0:8080" is not a loopback address; set http\.token/,
    ];
    for (const w of want) expect(lines.some((l) => w.test(l)), `${w}\n${r.stderr}`).toBe(true);
    expect(lines).toHaveLength(want.length);
  });

  it('check-config names a garbage budget file and a pool: typo', async () => {
    const g = await cli(['check-config', file('garbage-budget.yaml')]);
    expectOneLine(g, /garbage-budget\.yaml: budget\.file: .*garbage\.csv line 1: header must name a time column/, 1);
    const t = await cli(['check-config', file('typo.yaml')]);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/typo\.yaml: unknown key pool \(did you mean pools\?\); allowed: listen, pools/);
  });

  it('check-config: a valid file with its fleet CSV is one OK line, exit 0', async () => {
    await writeFile(file('site.csv'), 'id,worker,model,api\nr1,site.r1,avalon-a1566ha,10.0.0.1:4028\nr2,site.r2,generic,\n');
    await writeFile(file('site.yaml'), `${POOL}fleet:\n  import: site.csv\n  miners: [{ id: r0, worker: site.r0, model: generic }]\n`);
    const r = await cli(['check-config', file('site.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^.*site\.yaml: OK: listen 0\.0\.0\.0:3333, 1 pool, 3 miners \(1 with a device API, 2 from site\.csv\), no budget \(proxy only\), http 127\.0\.0\.1:8080\n$/);
  });

  it('start: a pool: typo is named (not only "no pool configured"), and config errors come before the miner port is bound', async () => {
    const t = await cli(['start', '--config', file('typo.yaml')]);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/unknown key pool \(did you mean pools\?\)/);
    // The port stays free: nothing was bound (another process can take it).
    await writeFile(file('garbage-start.yaml'), `${POOL}listen: "127.0.0.1:${busyPort}"\nbudget: { source: schedule, file: ${file('garbage.csv')} }\n`);
    // SPAWN: a process that would have bound the busy port shows it here.
    const g = await runCli(['start', '--config', file('garbage-start.yaml')]);
    // The budget file is named, not the busy port: it was checked first.
    expectOneLine(g, /^surplus: .*garbage\.csv line 1: header must name a time column/);
    await writeFile(file('dup.yaml'), `${POOL}listen: "127.0.0.1:${busyPort}"\nfleet: { miners: [{ id: a, worker: w1, model: generic }, { id: a, worker: w2, model: generic }] }\n`);
    expectOneLine(await cli(['start', '--config', file('dup.yaml')]), /^surplus: invalid configuration: fleet\.miners\[1\]\.id: duplicate id "a"/);
    await writeFile(file('open.yaml'), `${POOL}listen: "127.0.0.1:${busyPort}"\nhttp: { listen: "0.0.0.0:0" }\n`);
    expectOneLine(await cli(['start', '--config', file('open.yaml')]), /^surplus: invalid configuration: http\.listen: "0\.0\.0\.0:0" is not a loopback address/);
  });
});

describe('operator conveniences', () => {
  it('--version, help <command>, and demo --help lists --http', async () => {
    // SPAWN: the version as the built CLI prints it.
    const v = await runCli(['--version']);
    expect(v.stdout).toMatch(/^surplus \d+\.\d+\.\d+\n$/);
    const h = await cli(['help', 'start']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^run the proxy for a real site\n\nUsage: surplus start --config FILE/);
    expect((await cli(['start', '--help'])).stdout).toBe(h.stdout);
    expect((await cli(['demo', '--help'])).stdout).toMatch(/--http host:port/);
    expect((await cli(['help'])).stdout).toMatch(/check-config .*\n.*discover/);
  });
});

describe('surplus discover', () => {
  const devices: AvalonSimDevice[] = [];
  let port = 0;
  beforeAll(async () => {
    // Three simulated Avalons on one port at 127.0.0.2, .3 and .5 of 127.0.0.0/29; .1, .4 and .6 refuse.
    const a1566 = BUILTIN_MODELS['avalon-a1566ha']!;
    const first = await AvalonSimDevice.start({ id: 'd2', params: a1566, clock: systemClock, host: '127.0.0.2' });
    port = Number(first.address.split(':')[1]);
    devices.push(first);
    devices.push(await AvalonSimDevice.start({ id: 'd3', params: a1566, clock: systemClock, host: '127.0.0.3', port, identity: { prod: 'Avalon Q', model: 'Q', version: 'Q-25052801_14a19a2' } }));
    devices.push(await AvalonSimDevice.start({ id: 'd5', params: a1566, clock: systemClock, host: '127.0.0.5', port, identity: { prod: 'SomeMiner X1', model: 'X1', version: 'X1-24010101_abc' } }));
  });
  afterAll(async () => {
    for (const d of devices) await d.close();
  });

  it('prints a fleet YAML with each device and its reported model; --csv is what fleet.import reads', async () => {
    const r = await cli(['discover', '--range', '127.0.0.0/29', '--port', String(port), '--timeout-ms', '1000']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^surplus discover --range 127\.0\.0\.0\/29 --port \d+: 3 devices of 6 addresses \(\d+\.\d s\)\n$/);
    const doc = parseYaml(r.stdout) as { fleet: { miners: Array<Record<string, unknown>> } };
    expect(doc.fleet.miners.map((m) => [m['api'], m['model']]), r.stdout).toEqual([
      [`127.0.0.2:${port}`, 'avalon-a1566'],
      [`127.0.0.3:${port}`, 'avalon-q'],
      [`127.0.0.5:${port}`, 'generic'],
    ]);
    expect(r.stdout).toMatch(/127\.0\.0\.5.*# PROD SomeMiner X1, MODEL X1, .*no exact profile: check model/);
    const csv = await cli(['discover', '--range', '127.0.0.0/29', '--port', String(port), '--timeout-ms', '1000', '--csv']);
    const parsed = parseFleetCsv(csv.stdout, 'out.csv');
    expect(parsed.problems).toEqual([]);
    expect(parsed.units.map((u) => u.miner.model)).toEqual(['avalon-a1566', 'avalon-q', 'generic']);
    // The YAML is a valid fleet section as it stands.
    await writeFile(file('found.yaml'), POOL + r.stdout);
    expect((await cli(['check-config', file('found.yaml')])).stdout).toMatch(/OK: .*3 miners \(3 with a device API\)/);
  });
});
