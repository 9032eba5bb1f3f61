/**
 * The operator HTTP control plane under hostile clients (issue 11): how long
 * an authorized PUT /api/budget from 127.0.0.1 takes while
 *   1. nobody else is connected (the floor),
 *   2. --slow connections from 127.0.0.2 hold half-sent headers,
 *   3. --slow connections spread over 64 addresses (127.0.1.x) do the same,
 *   4. the global failure budget is spent and a guesser at 127.0.0.3 keeps 16
 *      wrong-token PUTs in flight, re-sending each as soon as it ends (the
 *      EMS at 127.0.0.1, then at the guesser's own address),
 * with the server's defaults (256 connections, 16 per address, 10 s headers).
 * Each phase: --puts sequential PUTs on fresh connections; p50/p99/max ms.
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/surplus-bench && node /tmp/surplus-bench/bench/http-control-plane.bench.js [--slow 1000] [--puts 50]
 */
import { request } from 'node:http';
import { loadavg } from 'node:os';
import { connect, type Socket } from 'node:net';
import { ManualClock } from '../src/clock.js';
import type { HttpServerHandle } from '../src/operator/http-server.js';
import { FakeSite, startFakeSiteServer } from '../test/integration/http-fake-site.js';
import { arg } from './bench-util.js';

const SLOW = arg('slow', 1000);
const PUTS = arg('puts', 50);
const TOKEN = 'bench-token-0123456789';

function put(server: HttpServerHandle, from: string, token: string, kw: number): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: server.host, port: server.port, localAddress: from, method: 'PUT', path: '/api/budget', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
    req.end(JSON.stringify({ kw, ttlS: 60 }));
  });
}

function slowClient(server: HttpServerHandle, from: string): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect({ host: server.host, port: server.port, localAddress: from });
    s.on('error', () => undefined);
    s.once('connect', () => {
      s.write('PUT /api/budget HTTP/1.1\r\nHost: x\r\n');
      resolve(s);
    });
    s.once('close', () => resolve(s));
  });
}

async function phase(name: string, server: HttpServerHandle): Promise<void> {
  const ms: number[] = [];
  let ok = 0;
  for (let i = 0; i < PUTS; i++) {
    const r = await put(server, '127.0.0.1', TOKEN, 100 + i);
    if (r.status === 200) ok++;
    ms.push(r.ms);
  }
  ms.sort((a, b) => a - b);
  const q = (p: number): string => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(1);
  const c = server.connections();
  console.log(`${name.padEnd(44)} ${ok}/${PUTS} PUTs 200  p50 ${q(0.5)} ms  p99 ${q(0.99)} ms  max ${ms.at(-1)!.toFixed(1)} ms  (open ${c.open}, refused ${c.refused}, evicted ${c.evicted}, paced ${c.paced})`);
}

const site = new FakeSite(new ManualClock(0));
const server = await startFakeSiteServer(site, TOKEN);
console.log(`http control plane bench: ${SLOW} slow connections, ${PUTS} PUTs per phase, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const sockets: Socket[] = [];
await phase('quiet', server);
for (let i = 0; i < SLOW; i++) sockets.push(await slowClient(server, '127.0.0.2'));
await phase(`${SLOW} slow connections from 127.0.0.2`, server);
for (let i = 0; i < SLOW; i++) sockets.push(await slowClient(server, `127.0.1.${i % 64}`));
await phase(`+${SLOW} slow connections from 64 addresses`, server);
for (const s of sockets.splice(0)) s.destroy();
// A guesser keeps 16 wrong-token PUTs in flight from 127.0.0.3 (its whole per-address allowance).
let guesses = 0;
let stop = false;
const guess = (): void => {
  guesses++;
  void put(server, '127.0.0.3', `wrong-${guesses}`, 1).then(() => {
    guesses--;
    if (!stop) guess();
  });
};
const emsPhase = async (name: string, from: string): Promise<void> => {
  const ms: number[] = [];
  let ok = 0;
  for (let i = 0; i < Math.min(PUTS, 10); i++) {
    const r = await put(server, from, TOKEN, 200 + i);
    if (r.status === 200) ok++;
    ms.push(r.ms);
  }
  ms.sort((a, b) => a - b);
  const c = server.connections();
  console.log(`${name.padEnd(44)} ${ok}/${ms.length} PUTs 200  p50 ${ms[Math.floor(ms.length / 2)]!.toFixed(0)} ms  max ${ms.at(-1)!.toFixed(0)} ms  (evicted ${c.evicted}, paced ${c.paced})`);
};
// Spend the global failure budget (100) from 11 addresses, then guess from 127.0.0.3.
for (let a = 0; a < 11; a++) for (let i = 0; i < 10; i++) await put(server, `127.0.2.${a}`, `spent-${a}-${i}`, 1);
for (let i = 0; i < 16; i++) guess();
await emsPhase('EMS at 127.0.0.1, guessing everywhere', '127.0.0.1');
await emsPhase("EMS sharing the guesser's address", '127.0.0.3');
stop = true;
await server.close();
process.exit(0);
