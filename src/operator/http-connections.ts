import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../clock.js';
import { addressKey } from './http-auth.js';

/** Connection bounds of the operator HTTP server (http.* in the config, in ms here). */
export interface ConnectionLimits {
  /** Open connections in all (default 256). */
  maxConnections: number;
  /** Open connections from one address (an IPv6 /64 counts as one) (default 16). */
  maxPerAddress: number;
  /** From accept, or from the end of the previous response, until a request's headers are complete (default 10 s). */
  headersTimeoutMs: number;
  /** From complete headers until the request body is complete (default 10 s). */
  bodyTimeoutMs: number;
  /** No byte either way for this long closes the connection (default 30 s). */
  idleTimeoutMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 256,
  maxPerAddress: 16,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
};

/** What the guard has done since start (tests, and a log line on refusals). */
export interface ConnectionCounters {
  /** New connections closed at once: the cap was reached and nothing could give way. */
  refused: number;
  /** Connections closed to make room: they had no request in progress (idle or still sending headers). */
  evicted: number;
  /** Connections closed because headers or body did not arrive within their timeout. */
  timedOut: number;
}

interface Conn {
  socket: Socket;
  key: string;
  /** True from complete headers until the response is finished: such a connection is never evicted. */
  busy: boolean;
  /** Like busy, but stays true while the request yields its slot (paced in the penalty gate). */
  inRequest: boolean;
  timer: TimerHandle | undefined;
}

const TIMEOUT_REPLY = 'HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';

/**
 * Per-connection bounds for the operator HTTP server, enforced with a timer
 * per connection so they hold as configured. node:http's own headersTimeout
 * and requestTimeout are only checked every `connectionsCheckingInterval`
 * (30 s by default), and its `maxConnections` is one global count: 256 slow
 * connections from one address used to lock out an authorized PUT from
 * anywhere (issue 11). Here each address has its own cap, and a connection
 * that has no request in progress (idle keep-alive, or still dribbling its
 * headers) gives way to a new one, oldest first, so slow clients cannot hold
 * the door shut; a connection whose request is being answered is never cut.
 */
export class ConnectionGuard {
  readonly counters: ConnectionCounters = { refused: 0, evicted: 0, timedOut: 0 };
  /** Insertion-ordered: the first entry of an address is its oldest connection. */
  private readonly conns = new Map<Socket, Conn>();
  private readonly byKey = new Map<string, Set<Conn>>();

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly clock: Clock,
  ) {}

  /** Installs the guard on `server` (before it listens). */
  attach(server: Server): void {
    // node:http's checks stay as a backstop a little behind ours, never ahead of them.
    server.headersTimeout = this.limits.headersTimeoutMs + 1000;
    server.requestTimeout = this.limits.headersTimeoutMs + this.limits.bodyTimeoutMs + 1000;
    server.keepAliveTimeout = Math.min(5000, this.limits.headersTimeoutMs);
    // node:http destroys a socket on 'timeout' unless someone listens on the server; the idle
    // rule below decides instead (it spares a request waiting for its answer).
    server.on('timeout', () => undefined);
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    // Ahead of the server's handler, which may mark its request yieldable before its first await.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
  }

  /** Open connections, all or from the address of `remote`. */
  open(remote?: string): number {
    return remote === undefined ? this.conns.size : (this.byKey.get(addressKey(remote))?.size ?? 0);
  }

  /** Connections whose request is being answered (they never give way). */
  busy(): number {
    let n = 0;
    for (const c of this.conns.values()) if (c.busy) n++;
    return n;
  }

  private onConnection(socket: Socket): void {
    const key = addressKey(socket.remoteAddress ?? '?');
    const mine = this.byKey.get(key);
    if ((mine && mine.size >= this.limits.maxPerAddress && !this.evictOne(mine.values())) ||
        (this.conns.size >= this.limits.maxConnections && !this.evictOne(this.conns.values()))) {
      this.counters.refused++;
      socket.destroy();
      return;
    }
    const conn: Conn = { socket, key, busy: false, inRequest: false, timer: undefined };
    this.conns.set(socket, conn);
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Set()));
    set.add(conn);
    // Idle is the client's silence between requests; waiting for our answer (paced, say) is not.
    socket.setTimeout(this.limits.idleTimeoutMs, () => {
      if (!conn.inRequest) socket.destroy();
    });
    socket.once('close', () => this.remove(conn));
    this.arm(conn, this.limits.headersTimeoutMs);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const conn = this.conns.get(req.socket);
    if (!conn) return;
    conn.busy = true;
    conn.inRequest = true;
    if (req.complete) this.disarm(conn);
    else {
      this.arm(conn, this.limits.bodyTimeoutMs, () => !req.complete);
      req.once('end', () => this.disarm(conn));
    }
    res.once('finish', () => {
      conn.busy = false;
      conn.inRequest = false;
      // The next request on a kept-alive connection gets the same headers deadline.
      if (!conn.socket.destroyed) this.arm(conn, this.limits.headersTimeoutMs);
    });
  }

  /**
   * Marks the request on `socket` as one that may give way to a new connection
   * (`true`) or not (`false`). For a PUT waiting in the penalty gate: its token
   * has not been looked at, so closing it reveals nothing, and a guesser
   * sharing the EMS's address cannot fill the address's slots with them.
   */
  yieldable(socket: Socket, yes: boolean): void {
    const conn = this.conns.get(socket);
    if (conn) conn.busy = !yes;
  }

  /** Closes the oldest connection in `candidates` with no request in progress; false when there is none. */
  private evictOne(candidates: Iterable<Conn>): boolean {
    for (const c of candidates) {
      if (c.busy) continue;
      this.counters.evicted++;
      this.remove(c);
      c.socket.destroy();
      return true;
    }
    return false;
  }

  private arm(conn: Conn, ms: number, stillLate: () => boolean = () => !conn.busy): void {
    this.disarm(conn);
    conn.timer = this.clock.setTimeout(() => {
      conn.timer = undefined;
      if (!stillLate() || conn.socket.destroyed) return;
      this.counters.timedOut++;
      // Best effort: a 408 tells an honest but slow client why; the socket goes either way.
      if (conn.socket.writable) conn.socket.end(TIMEOUT_REPLY);
      conn.socket.destroy();
    }, ms);
    conn.timer.unref();
  }

  private disarm(conn: Conn): void {
    if (conn.timer) this.clock.clearTimeout(conn.timer);
    conn.timer = undefined;
  }

  private remove(conn: Conn): void {
    this.disarm(conn);
    if (!this.conns.delete(conn.socket)) return;
    const set = this.byKey.get(conn.key);
    set?.delete(conn);
    if (set?.size === 0) this.byKey.delete(conn.key);
  }
}
