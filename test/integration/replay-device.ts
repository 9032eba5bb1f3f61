import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

/**
 * A fake Avalon on 127.0.0.1:0 that answers each cgminer request with a real
 * captured reply from test/fixtures/avalon, byte for byte, plus the trailing
 * NUL the firmware sends (the captures were stored without it). Variants
 * inject the quirks the driver must survive.
 */

export const FIXTURES = join(import.meta.dirname, '../fixtures/avalon');

export function fixtureBytes(file: string): Buffer {
  return readFileSync(join(FIXTURES, file));
}

export type Behaviour =
  /** Send the capture (+ NUL unless nul: false); optional text edits and a garbage prefix. */
  | { kind: 'reply'; file: string; prefix?: string; nul?: boolean; edits?: Array<[string | RegExp, string]>; chunkBytes?: number }
  /** Send these bytes as they are. */
  | { kind: 'raw'; bytes: Buffer | string }
  /** Close (FIN) without sending anything: the A1466's answer to softon. */
  | { kind: 'close' }
  /** Reset the connection without sending anything. */
  | { kind: 'reset' }
  /** Accept and read, never answer, never close. */
  | { kind: 'hang' };

export interface Request {
  command: string;
  parameter?: string;
}

export interface ReplayDevice {
  port: number;
  address: string;
  /** Every request received, in order. */
  requests: Request[];
  /** Connections currently open on the device side. */
  open(): number;
  /** The most requests ever being served at once (connection accepted, reply not yet finished). */
  maxConcurrent(): number;
  /** Resolves when the device side has no open connection. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export type Router = (req: Request, index: number) => Behaviour;

export async function startReplayDevice(route: Router): Promise<ReplayDevice> {
  const requests: Request[] = [];
  const sockets = new Set<Socket>();
  let max = 0;
  let busy = 0;
  let idleWaiters: Array<() => void> = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    busy++;
    max = Math.max(max, busy);
    let served = false;
    const done = (): void => {
      if (!served) busy--;
      served = true;
    };
    socket.on('error', () => undefined);
    socket.on('close', () => {
      done();
      sockets.delete(socket);
      if (sockets.size === 0) {
        const w = idleWaiters;
        idleWaiters = [];
        for (const f of w) f();
      }
    });
    let buf = '';
    let handled = false;
    socket.on('data', (chunk) => {
      if (handled) return;
      buf += chunk.toString('utf8');
      let req: Request;
      try {
        req = JSON.parse(buf) as Request;
      } catch {
        return; // request not complete yet
      }
      handled = true;
      requests.push(req);
      void act(socket, route(req, requests.length - 1)).then(() => {
        if (!socket.destroyed && socket.writableEnded) done();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return {
    port: addr.port,
    address: `127.0.0.1:${addr.port}`,
    requests,
    open: () => sockets.size,
    maxConcurrent: () => max,
    idle: () => (sockets.size === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r))),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function act(socket: Socket, b: Behaviour): Promise<void> {
  switch (b.kind) {
    case 'hang':
      return;
    case 'close':
      socket.end();
      return;
    case 'reset':
      socket.resetAndDestroy();
      return;
    case 'raw':
      socket.end(b.bytes);
      return;
    case 'reply': {
      let text = fixtureBytes(b.file).toString('latin1');
      for (const [from, to] of b.edits ?? []) {
        const next = text.replace(from, to);
        if (next === text) throw new Error(`edit ${String(from)} did not apply to ${b.file}`);
        text = next;
      }
      const body = Buffer.from((b.prefix ?? '') + text, 'latin1');
      const out = b.nul === false ? body : Buffer.concat([body, Buffer.from([0])]);
      if (!b.chunkBytes) {
        socket.end(out);
        return;
      }
      for (let i = 0; i < out.length; i += b.chunkBytes) {
        if (socket.destroyed) return;
        socket.write(out.subarray(i, i + b.chunkBytes));
        await new Promise((r) => setImmediate(r));
      }
      socket.end();
      return;
    }
  }
}
