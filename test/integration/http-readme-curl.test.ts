import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { HttpServerHandle } from '../../src/operator/http-server.js';
import { FakeSite, startFakeSiteServer } from './http-fake-site.js';

// Issue 13.1: the README's budget command answered 415 (curl -d sends a form content type).
// The line is taken from README.md as printed, only its URL pointed at this server.

const TOKEN = 'readme-token-5c2f81';
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const line = README.split('\n').map((l) => l.trim()).find((l) => l.startsWith('curl -X PUT') && l.includes('/api/budget'));

const hasCurl = (() => {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasCurl) console.warn('skipping the README curl test: curl is not installed');

describe.skipIf(!hasCurl)("the README's budget command, run by curl", () => {
  const site = new FakeSite(new ManualClock(0));
  let server: HttpServerHandle;
  beforeAll(async () => {
    server = await startFakeSiteServer(site, TOKEN);
  });
  afterAll(async () => {
    await server.close();
  });

  it('sets the budget', async () => {
    expect(line, 'README.md has a `curl -X PUT … /api/budget` line').toBeDefined();
    const command = line!.replace('http://127.0.0.1:8080', server.url);
    expect(command).not.toBe(line);
    const out = await new Promise<string>((resolve, reject) =>
      execFile('sh', ['-c', command], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TOKEN } }, (err, stdout, stderr) =>
        err ? reject(new Error(`${command}: ${stderr}`)) : resolve(stdout),
      ),
    );
    expect(JSON.parse(out)).toMatchObject({ kw: 420 });
    expect(site.get().kw).toBe(420);
  });
});
