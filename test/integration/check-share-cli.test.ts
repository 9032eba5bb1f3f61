import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Runs the built CLI (`npm test` builds first).
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/share-vectors.json', import.meta.url));

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
let fixture: { vectors: Array<Record<string, unknown>> };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'surplus-check-share-'));
  fixture = JSON.parse(await readFile(FIXTURE, 'utf8'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('surplus check-share', () => {
  it('reproduces every fixture vector, one JSON line each', async () => {
    const { code, stdout, stderr } = await runCli(['check-share', FIXTURE]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.id)).toEqual(fixture.vectors.map((v) => v.id));
    for (const [i, line] of lines.entries()) {
      const want = fixture.vectors[i]!;
      expect(line.hash).toBe(want.share_hash ?? want.block_hash);
      if (typeof want.share_diff_bdiff === 'number') {
        expect(Math.abs(line.difficulty - want.share_diff_bdiff) / want.share_diff_bdiff).toBeLessThan(1e-9);
      }
      expect(line).toMatchObject({ accepted: true, code: null, reason: null });
    }
    expect(lines.map((l) => l.block)).toEqual([true, false, false, true]);
  });

  it('explains a rejected share (one nonce bit flipped: 23; a single-vector file)', async () => {
    const v = structuredClone(fixture.vectors[1]!) as { submit: string[] };
    v.submit[4] = ((Number.parseInt(v.submit[4]!, 16) ^ 1) >>> 0).toString(16).padStart(8, '0');
    const file = join(dir, 'flipped.json');
    await writeFile(file, JSON.stringify(v));
    const { code, stdout, stderr } = await runCli(['check-share', file]);
    // Issue 13: a rejected share is a non-zero exit (1; a bad file is 2), so scripts can tell.
    expect(code).toBe(1);
    expect(stderr).toBe('surplus check-share: 1 of 1 shares rejected\n');
    const line = JSON.parse(stdout);
    expect(line).toMatchObject({ id: 'public-pool-testnet-bitaxe-versionrolling', accepted: false, code: 23, block: false });
    expect(line.reason).toMatch(/low difficulty/);
    expect(line.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a bad field: the message names it, exit code != 0, nothing on stdout', async () => {
    const doc = structuredClone(fixture) as { vectors: Array<{ submit?: string[] }> };
    doc.vectors[2]!.submit![4] = '0a029e';
    const file = join(dir, 'bad-nonce.json');
    await writeFile(file, JSON.stringify(doc));
    const { code, stdout, stderr } = await runCli(['check-share', file]);
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toContain('vectors[2].submit[4] (nonce) must be 8 hex characters');

    doc.vectors[2]!.submit![4] = '0a029ed1';
    (doc.vectors[0] as unknown as { notify: unknown[] }).notify[2] = 'abc';
    await writeFile(file, JSON.stringify(doc));
    const odd = await runCli(['check-share', file]);
    expect(odd.code).not.toBe(0);
    expect(odd.stderr).toContain('vectors[0].notify[2] (coinb1) must have an even number of hex characters');
  });

  it('an unreadable file or invalid JSON: a clear error and exit code != 0', async () => {
    const missing = await runCli(['check-share', join(dir, 'nope.json')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/cannot read .*nope\.json: ENOENT/);
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"vectors": [');
    const broken = await runCli(['check-share', file]);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toMatch(/not valid JSON/);
  });
});
