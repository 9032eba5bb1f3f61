/**
 * The floor under the job fan-out (issue 6): one event loop writing the same
 * ~450-byte notify Buffer to N loopback TCP sockets whose peers live in
 * another process (as bench/proxy-load.ts has them), with no proxy code at
 * all. Each write is one write(2) that runs the loopback TCP path and wakes
 * the reader, so this is what one Node process cannot go below per miner;
 * compare it with `proxyFanoutMs.busyPerMinerUs` from bench/proxy-load.ts.
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/surplus-rel-bench && ln -sfn $PWD/node_modules /tmp/surplus-rel-bench/node_modules
 *   ulimit -n 20000; node /tmp/surplus-rel-bench/bench/proxy-load-write-floor.js [--sockets 9000] [--rounds 6]
 */
import { fork } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pct } from './proxy-load-miner.js';
import { arg } from './bench-util.js';

async function child(port: number, n: number): Promise<void> {
  const socks: Socket[] = [];
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from(
      { length: Math.min(500, n - i) },
      () =>
        new Promise<void>((resolve, reject) => {
          const s = connect({ host: '127.0.0.1', port }, resolve);
          s.setNoDelay(true);
          s.on('error', reject);
          s.on('data', () => undefined);
          socks.push(s);
        }),
    );
    await Promise.all(batch);
  }
  process.send!('ready');
  process.on('message', () => {
    for (const s of socks) s.destroy();
    process.exit(0);
  });
}

async function main(): Promise<void> {
  const n = arg('sockets', 9000);
  const rounds = arg('rounds', 6);
  const socks: Socket[] = [];
  const server = createServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => undefined);
    socks.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const cp = fork(fileURLToPath(import.meta.url), ['--child', String(port), String(n)], { stdio: 'inherit' });
  await new Promise((resolve) => cp.once('message', resolve));
  await new Promise((r) => setTimeout(r, 500));
  const params = ['1a2b', '00'.repeat(32), '01'.repeat(60), '02'.repeat(50), ['03'.repeat(32), '04'.repeat(32)], '20000000', '1d00ffff', '6553f100', true];
  const line = Buffer.from(JSON.stringify({ id: null, method: 'mining.notify', params }) + '\n');
  const perSocketUs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (const s of socks) s.write(line);
    perSocketUs.push(((performance.now() - t0) * 1000) / socks.length);
    await new Promise((res) => setTimeout(res, 300));
  }
  console.log(
    JSON.stringify({
      sockets: socks.length,
      lineBytes: line.length,
      writeUsPerSocket: { min: +Math.min(...perSocketUs).toFixed(2), p50: +pct(perSocketUs, 50).toFixed(2), max: +Math.max(...perSocketUs).toFixed(2) },
      msFor10k: +((pct(perSocketUs, 50) * 10_000) / 1000).toFixed(1),
    }),
  );
  cp.send('stop');
  for (const s of socks) s.destroy();
  server.close();
}

if (process.argv[2] === '--child') await child(Number(process.argv[3]), Number(process.argv[4]));
else await main();
