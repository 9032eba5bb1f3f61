import { createServer, type Server, type Socket } from 'node:net';
import { systemClock, type Clock } from '../clock.js';

/**
 * The socket side of a simulated cgminer API (TCP 4028): one request per
 * connection, the reply followed by a NUL (the firmware's send_result writes
 * strlen+1 bytes), then close. The handler decides what to send; this module
 * only frames, bounds and times out. It can stop listening on demand, so a
 * test can see a real "connection refused" and then the same port again.
 */

/** What to do with one request: send text (+ NUL), close silently, or never answer. */
export type ApiAction = { kind: 'reply'; text: string } | { kind: 'close' } | { kind: 'hang' };

/** `request` is the parsed JSON request, or undefined when it was not JSON. */
export type ApiHandler = (request: unknown) => ApiAction;

export interface DeviceApiServerOptions {
  host?: string;
  /** Drop a connection whose request is not complete after this long (real time), ms. Default 5000. */
  requestTimeoutMs?: number;
  /** Largest request accepted, bytes; a bigger one is dropped. Default 4096. */
  maxRequestBytes?: number;
  /** A hung connection is dropped after this long anyway, ms. Default 60000. */
  maxHangMs?: number;
  /**
   * Runs the two connection timers. Default systemClock, also under a device
   * on a ManualClock: a socket left open must still be dropped in real time.
   */
  clock?: Clock;
}

export class DeviceApiServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;
  private listening = false;

  constructor(
    private readonly handler: ApiHandler,
    private readonly opts: DeviceApiServerOptions = {},
  ) {
    this.server = createServer((socket) => this.onConnection(socket));
    this.server.on('error', () => undefined);
  }

  get port(): number {
    return this.boundPort;
  }

  /** Listen on `port` (0: a free one; later calls reuse the bound port). */
  listen(port = this.boundPort): Promise<void> {
    if (this.listening) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, this.opts.host ?? '127.0.0.1', () => {
        this.server.off('error', onError);
        const a = this.server.address();
        if (a && typeof a !== 'string') this.boundPort = a.port;
        this.listening = true;
        resolve();
      });
    });
  }

  /** Stop accepting (connects are refused); open connections finish. */
  async stopListening(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Remember a port to listen on later (a device that starts refusing). */
  reservePort(port: number): void {
    if (!this.listening) this.boundPort = port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await this.stopListening();
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    const clock = this.opts.clock ?? systemClock;
    let timer = clock.setTimeout(() => socket.destroy(), this.opts.requestTimeoutMs ?? 5000);
    timer.unref();
    socket.on('close', () => {
      clock.clearTimeout(timer);
      this.sockets.delete(socket);
    });
    let buf = '';
    let handled = false;
    socket.on('data', (chunk: Buffer) => {
      if (handled) return;
      buf += chunk.toString('utf8');
      if (buf.length > (this.opts.maxRequestBytes ?? 4096)) {
        socket.destroy();
        return;
      }
      let request: unknown;
      if (buf.trimStart().startsWith('{')) {
        try {
          request = JSON.parse(buf);
        } catch {
          return; // incomplete: wait for more
        }
      }
      handled = true;
      clock.clearTimeout(timer);
      const action = this.handler(request);
      if (action.kind === 'reply') {
        socket.end(Buffer.concat([Buffer.from(action.text, 'utf8'), Buffer.from([0])]));
      } else if (action.kind === 'close') {
        socket.end();
      } else {
        timer = clock.setTimeout(() => socket.destroy(), this.opts.maxHangMs ?? 60_000);
        timer.unref();
      }
    });
  }
}
