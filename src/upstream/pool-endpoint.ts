/**
 * Where a pool lives, and where `client.reconnect` may send us (pure).
 * A pool may move us to another port on its own host; another host only
 * when the operator said so (`pools[].allowRedirect`): a pool, or whoever
 * sits in the path to it, must not be able to send the farm's hashrate to a
 * host nobody configured.
 */
import { PeerError } from '../errors.js';
import type { ReconnectAsk } from '../wire/pool-dialect.js';

export interface PoolEndpoint {
  host: string;
  port: number;
  /** stratum+ssl://: Stratum over TLS. */
  tls?: boolean;
}

/** `stratum+tcp://host:port` or `stratum+ssl://host:port` → host, port and whether TLS (the schema already checked the form). */
export function parsePoolUrl(url: string): PoolEndpoint {
  const m = /^stratum\+(tcp|ssl):\/\/(\[[0-9a-fA-F:]+\]|[^:/]+):(\d{1,5})$/.exec(url);
  if (!m) throw new PeerError(`pool url must be stratum+tcp://host:port or stratum+ssl://host:port, got ${url}`);
  return { host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]), ...(m[1] === 'ssl' ? { tls: true } : {}) };
}

/** host and port → `stratum+tcp://host:port` or `stratum+ssl://...` (IPv6 in brackets). */
export function poolUrl(e: PoolEndpoint): string {
  return `stratum+${e.tls ? 'ssl' : 'tcp'}://${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

const sameHost = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export interface ReconnectDecision {
  /** Where to connect next; undefined: the configured url. */
  target: PoolEndpoint | undefined;
  /** A redirect to another host we did not follow (for the operator's log). */
  refused?: PoolEndpoint;
}

/**
 * Where to reconnect after `client.reconnect [host?, port?, wait?]`. No host
 * and no port: wherever we are now (`current`, a redirect already followed,
 * or the configured url). A missing host or port means "the same".
 */
export function reconnectTarget(configured: PoolEndpoint, current: PoolEndpoint | undefined, ask: ReconnectAsk, allowOtherHost: boolean): ReconnectDecision {
  if (ask.host === undefined && ask.port === undefined) return { target: current };
  const here = current ?? configured;
  // A redirect keeps the transport: a TLS pool never moves us to plain TCP.
  const wanted = { host: ask.host ?? here.host, port: ask.port ?? here.port, ...(configured.tls ? { tls: true } : {}) };
  if (!sameHost(wanted.host, configured.host) && !allowOtherHost) return { target: undefined, refused: wanted };
  if (sameHost(wanted.host, configured.host) && wanted.port === configured.port) return { target: undefined };
  return { target: wanted };
}
