/**
 * The wire under one pool client: a TCP socket, bounded line framing
 * (LineConnection) and a liveness watchdog. It knows nothing of Stratum
 * beyond decoded messages; the client above it is the sink.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { every, type Clock, type Repeater } from '../clock.js';
import { PeerError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { encodeError, truncateForLog, type RpcMessage } from '../wire/json-rpc.js';
import { StratumError } from '../wire/error-codes.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import { LineConnection } from '../net/line-connection.js';
import type { PoolProtocolCounters } from './pool-client.js';
import { parsePoolUrl } from './pool-endpoint.js';

/** How to check a stratum+ssl:// pool's certificate. */
export interface PoolTlsSettings {
  /** PEM CA certificate(s) to trust instead of the system's (pools[].tls.caFile). */
  ca?: string;
  /** False only with pools[].tls.insecureSkipVerify. */
  rejectUnauthorized: boolean;
}

export interface PoolTransportOptions {
  /** For stratum+ssl:// urls (default: system CAs, verified). */
  tls?: PoolTlsSettings;
  maxLineBytes: number;
  maxWriteBufferBytes: number;
  /** Once watching, nothing heard for this long closes the connection. */
  silenceTimeoutMs: number;
  /** Where bad lines are counted (`malformedLines`). */
  counters: PoolProtocolCounters;
  /** Repeated warnings about this pool, rate-limited (issue 11). */
  logLimiter?: LogLimiter;
  clock: Clock;
  logger: Logger;
}

export interface PoolTransportSink {
  onMessage(m: RpcMessage): void;
  /** Called once, whoever closed the connection. */
  onClose(reason: string): void;
}

export class PoolTransport {
  private readonly conn: LineConnection;
  /** Resolves when the TCP connection is up, rejects (PeerError) when it cannot be made. */
  readonly connected: Promise<void>;
  private lastHeardMs = 0;
  private watchdog: Repeater | undefined;

  /** Starts connecting at once; throws (PeerError) on a url that is not stratum+tcp:// or stratum+ssl://host:port. */
  constructor(
    readonly url: string,
    private readonly o: PoolTransportOptions,
    sink: PoolTransportSink,
  ) {
    const { host, port, tls } = parsePoolUrl(url);
    let socket: Socket;
    if (tls) {
      const t = o.tls ?? { rejectUnauthorized: true };
      // SNI takes a host name only (RFC 6066); an IP is still checked against the certificate's IP SANs.
      socket = tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...(t.ca ? { ca: t.ca } : {}), rejectUnauthorized: t.rejectUnauthorized });
    } else socket = netConnect({ host, port });
    // Registered before LineConnection's own 'error' listener, so a failed
    // connect rejects `connected` before the sink hears of the close. Over TLS
    // the connection is up once the handshake (and the certificate check) passed.
    this.connected = new Promise<void>((resolve, reject) => {
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        this.lastHeardMs = o.clock.now();
        resolve();
      });
      socket.once('error', (err) => reject(new PeerError(`cannot connect to ${url}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    });
    this.conn = new LineConnection(socket, { maxLineBytes: o.maxLineBytes, maxWriteBufferBytes: o.maxWriteBufferBytes, clock: o.clock }, {
      onMessage: (m) => {
        this.lastHeardMs = o.clock.now();
        sink.onMessage(m);
      },
      onMalformed: (reason, line, id) => {
        o.counters.malformedLines++;
        const fields = { pool: url, reason, line: truncateForLog(line) };
        if (o.logLimiter) o.logLimiter.log(o.logger, 'warn', url, 'malformed line', fields, 'malformed line from pool (ignored)');
        else o.logger.warn(fields, 'malformed line from pool (ignored)');
        // A pool request we could not read still gets its one answer.
        if (id !== undefined) this.conn.send(encodeError(id, StratumError.OTHER, reason));
      },
      onClose: (reason) => {
        this.watchdog?.stop();
        sink.onClose(reason);
      },
    });
    // The owner races `connected` against its gate timer; this only silences a late rejection.
    this.connected.catch(() => undefined);
  }

  /** False when the line could not be queued (closed, or over the write-buffer cap, which closes it). */
  send(line: string): boolean {
    return this.conn.send(line);
  }

  destroy(reason: string): void {
    this.conn.destroy(reason);
  }

  /**
   * Starts the liveness watchdog (after the handshake: a pool may take its
   * time before then, and the gate has its own timer). A pool that sends
   * nothing for silenceTimeoutMs is closed (upstream.silenceTimeoutS).
   */
  watch(): void {
    const silenceMs = this.o.silenceTimeoutMs;
    const period = Math.max(50, Math.min(5000, silenceMs / 4));
    this.watchdog = every(this.o.clock, period, () => {
      if (this.o.clock.now() - this.lastHeardMs > silenceMs) this.destroy(`pool silent for more than ${silenceMs} ms`);
    }).unref();
  }
}
