/**
 * Issue 13, "the README is executed": every command in the README's fenced
 * `sh` blocks is run here, as written, with only what a test must change
 * substituted (free loopback ports for listen/http addresses, local simulated
 * pools for remote pool URLs, the token, a temporary file for --plot, a
 * duration for the demo). Blocks are found generically: a new example is run
 * as soon as it is added, and one this test cannot run fails it until it is
 * made runnable or put on SKIP with its reason.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimPool } from '../../src/demo/sim-pool.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'readme-test-token-0123456789';

/**
 * Commands not run here, each with its reason. Anything else in an `sh`
 * block must be runnable.
 */
const SKIP: Record<string, string> = {
  'npm ci': 'installs the dependencies this test already runs on',
  'npm test': 'the test suite itself (this test is part of it)',
  'node dist/cli.js start --config /etc/surplus/site.yaml': "a site's own configuration file, which this machine does not have",
};

/**
 * Host administration (the systemd install steps): creating users, folders
 * under /opt and /etc and services is not done to the machine the suite runs
 * on. Those steps are checked against the files they install instead (the
 * "service install steps match the unit" test below).
 */
const HOST_ADMIN = /^(sudo|sudoedit|systemctl|journalctl)\s|^cd \/opt\//;
const skipReason = (cmd: string): string | undefined =>
  SKIP[cmd] ?? (HOST_ADMIN.test(cmd) ? 'host administration: checked against config/surplus.service instead' : undefined);

/** The shell commands of every fenced sh block: comments dropped, `\` continuations joined, `&&` chains split. */
export function readmeCommands(markdown: string): string[] {
  const out: string[] = [];
  const fence = /^([ \t]*)```(sh|bash|shell)[ \t]*\n([\s\S]*?)^[ \t]*```/gm;
  for (const m of markdown.matchAll(fence)) {
    const indent = m[1]!.length;
    const text = m[3]!.split('\n').map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length))).join('\n');
    const joined = text.replace(/[ \t]*\\\n\s*/g, ' ');
    for (const line of joined.split('\n')) {
      const cmd = line.trim();
      if (!cmd || cmd.startsWith('#')) continue;
      for (const part of cmd.split(/\s&&\s/)) out.push(part.trim());
    }
  }
  return out;
}

/** Splits a command line into words: '...' and "..." quoting, $VAR expansion from `env` inside "..." and bare words. */
function words(cmd: string, env: Record<string, string>): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  const expand = (s: string): string => s.replace(/\$([A-Z_][A-Z0-9_]*)/g, (_, k: string) => env[k] ?? '');
  for (const m of cmd.matchAll(re)) out.push(m[1] ?? expand(m[2] ?? m[3]!));
  return out;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv from the repository root; `until` ends a long-running command with SIGTERM once its output matches. */
function run(argv: string[], opts: { until?: RegExp; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stopping = false;
    const check = (): void => {
      if (opts.until && !stopping && opts.until.test(stdout + stderr)) {
        stopping = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', (b: Buffer) => ((stdout += b), check()));
    child.stderr.on('data', (b: Buffer) => ((stderr += b), check()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const isLoopback = (host: string): boolean => host === 'localhost' || host.startsWith('127.');

describe('the README is executed', () => {
  let readme: string;
  let dir: string;
  const pools: SimPool[] = [];
  /** A running surplus with an HTTP budget source and a token, for the README's curl. */
  let site: { child: ReturnType<typeof spawn>; http: string } | undefined;

  beforeAll(async () => {
    readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    dir = await mkdtemp(join(tmpdir(), 'surplus-readme-'));
    for (let i = 0; i < 2; i++) {
      const p = new SimPool({ difficulty: 1 });
      await p.start();
      pools.push(p);
    }
  });
  afterAll(async () => {
    site?.child.kill('SIGTERM');
    for (const p of pools) await p.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** One site for every curl example, started once even when examples run side by side. */
  let siteStarting: Promise<string> | undefined;
  const startSite = (): Promise<string> => (siteStarting ??= bootSite());
  async function bootSite(): Promise<string> {
    if (site) return site.http;
    const http = `127.0.0.1:${await freePort()}`;
    const cfg = join(dir, 'site.yaml');
    await writeFile(cfg, `pools: [{ url: "${pools[0]!.url}", user: readme }]\nlisten: "127.0.0.1:0"\nhttp: { listen: "${http}", token: "${TOKEN}" }\nbudget: { source: http }\n`);
    const child = spawn(process.execPath, ['dist/cli.js', 'start', '--config', cfg], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`surplus start did not come up: ${out}`)), 30_000);
      const on = (b: Buffer): void => {
        out += b;
        if (/surplus started/.test(out)) {
          clearTimeout(t);
          resolve();
        }
      };
      child.stdout!.on('data', on);
      child.stderr!.on('data', on);
    });
    site = { child, http };
    return http;
  }

  /** The command as run here, or undefined when it is on SKIP. */
  async function prepare(cmd: string): Promise<{ argv: string[]; until?: RegExp; expect: (r: Run) => void } | undefined> {
    if (skipReason(cmd) !== undefined) return undefined;
    const argv = words(cmd, { TOKEN });
    const ok = (r: Run): void => {
      expect(r.stderr, `${cmd}\n${r.stderr}`).not.toMatch(/\n\s+at |internal error/);
      expect(r.code, `${cmd}\n${r.stdout}\n${r.stderr}`).toBe(0);
    };
    if (argv[0] === 'npm' && argv[1] === 'start') {
      // npm start is the demo: a few seconds of it, on a free dashboard port.
      return { argv: ['npm', 'start', '--', '--duration-s', '3', '--http', `127.0.0.1:${await freePort()}`], expect: (r) => (ok(r), expect(r.stdout).toMatch(/^done: pool accepted/m)) };
    }
    if (argv[0] === 'node' && argv[1] === 'dist/cli.js') {
      const out = [process.execPath, ...argv.slice(1)];
      let remote = 0;
      for (let i = 2; i < out.length; i++) {
        const w = out[i]!;
        const flag = out[i - 1];
        if ((flag === '--listen' || flag === '--http') && /:\d+$/.test(w)) out[i] = `127.0.0.1:${await freePort()}`;
        else if (flag === '--plot') out[i] = join(dir, w.replace(/.*\//, ''));
        else {
          const m = /^stratum\+tcp:\/\/([^:/]+):\d+$/.exec(w);
          if (m && !isLoopback(m[1]!)) out[i] = pools[remote++ % pools.length]!.url;
        }
      }
      const command = argv[2];
      if (command === 'start') return { argv: out, until: /surplus started/, expect: (r) => (ok(r), expect(r.stdout + r.stderr).toMatch(/surplus started/)) };
      if (command === 'demo') return { argv: [...out, '--duration-s', '3', ...(out.includes('--http') ? [] : ['--http', `127.0.0.1:${await freePort()}`])], expect: ok };
      // A simulate example must show a meaningful run: no sizing warning (issue 13: 6 units against a 4 MW trace).
      if (command === 'simulate') return { argv: out, expect: (r) => (ok(r), expect(r.stderr, cmd).not.toMatch(/^warning:/m)) };
      return { argv: out, expect: ok };
    }
    if (argv[0] === 'curl') {
      const http = await startSite();
      const out = argv.map((w) => w.replace(/^https?:\/\/(127\.0\.0\.1|localhost):\d+/, `http://${http}`));
      // -sS --fail-with-body: an HTTP error is a failed command, with its body shown.
      return { argv: [out[0]!, '-sS', '--fail-with-body', ...out.slice(1)], expect: ok };
    }
    throw new Error(`README example not runnable here and not on SKIP: ${cmd}`);
  }

  it('finds the examples generically (fenced sh blocks, indented ones too, continuations joined)', () => {
    expect(readmeCommands('a\n```sh\nnpm ci && npm start\n```\n  ```sh\n  node dist/cli.js x \\\n    --y 1 # c\n  # only a comment\n  ```\n```\nnot sh\n```\n')).toEqual([
      'npm ci',
      'npm start',
      'node dist/cli.js x --y 1 # c',
    ]);
    const cmds = readmeCommands(readme);
    expect(cmds.length).toBeGreaterThanOrEqual(5);
    for (const skipped of Object.keys(SKIP)) expect(cmds, `SKIP lists "${skipped}", which the README no longer has`).toContain(skipped);
  });

  // One test per example, in README order, so one drifted example does not hide the others. They
  // run side by side: each is its own process on its own free ports and files, and most of a run
  // is a process starting or the demo's few seconds, not CPU.
  const examples = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8')).map((c) => c.replace(/\s+#.*$/, ''));
  it.skip.each(examples.filter((c) => skipReason(c) !== undefined).map((c) => [c, skipReason(c)]))('%s (skipped: %s)', () => undefined);
  it.concurrent.each(examples.filter((c) => skipReason(c) === undefined).map((c) => [c]))('%s', async (cmd) => {
    const p = await prepare(cmd);
    if (!p) return;
    p.expect(await run(p.argv, p.until ? { until: p.until } : {}));
  }, 120_000);

  it('service install steps match the unit: the user, folders and files they create are the ones config/surplus.service uses', () => {
    const admin = examples.filter((c) => HOST_ADMIN.test(c));
    expect(admin.length, 'the README shows the systemd install steps').toBeGreaterThan(0);
    const unit = readFileSync(join(ROOT, 'config/surplus.service'), 'utf8');
    const key = (k: string): string => new RegExp(`^${k}=(.*)$`, 'm').exec(unit)?.[1] ?? '';
    const user = /useradd .* (\S+)$/.exec(admin.find((c) => c.includes('useradd')) ?? '')?.[1];
    expect(user, 'the README creates the unit\'s User').toBe(key('User'));
    expect(admin, 'the README installs the code where the unit runs it').toContain(`cd ${key('WorkingDirectory')}`);
    const config = /--config (\S+)/.exec(key('ExecStart'))?.[1];
    expect(admin.some((c) => c.startsWith('sudo install ') && c.endsWith(` ${config}`)), `the README installs ${config}`).toBe(true);
    // Every repository file the steps copy exists.
    for (const c of admin) for (const f of c.match(/\bconfig\/[\w.-]+/g) ?? []) expect(() => readFileSync(join(ROOT, f)), f).not.toThrow();
  });
});
