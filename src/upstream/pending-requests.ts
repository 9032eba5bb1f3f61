/**
 * Requests sent to one pool and not yet answered: our ids, a timeout each,
 * and a cap on how many may wait (a pool that stops answering must not grow
 * the map without bound). Pools echo ids back as numbers or as strings
 * (`pendingKey` reads both).
 */
import type { Clock, TimerHandle } from '../clock.js';
import { OverloadError, PeerError, TimeoutError } from '../errors.js';
import { encodeRequest, type RpcErrorValue, type RpcId } from '../wire/json-rpc.js';
import { pendingKey } from '../wire/pool-dialect.js';

/** A pool's answer as it came: the verdict is the caller's to read (pool-dialect.ts). */
export interface PoolAnswer {
  result: unknown;
  error: RpcErrorValue | null;
}

/** Told of every request that must be answered (hung-pool detection, `hung-detector.ts`). */
export interface PendingObserver {
  sent(id: number, atMs: number): void;
  answered(id: number, atMs: number): void;
  expired(id: number): void;
  forget(id: number): void;
}

export interface RequestOptions {
  /** The pool may ignore it (mining.configure, mining.extranonce.subscribe): never counted against the pool. */
  optional?: boolean;
}

interface Pending {
  method: string;
  observed: boolean;
  resolve(answer: PoolAnswer): void;
  reject(err: Error): void;
  timer: TimerHandle;
}

export class PendingRequests {
  private readonly map = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    private readonly url: string,
    private readonly maxPending: number,
    private readonly clock: Clock,
    private readonly observer?: PendingObserver,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /**
   * Encodes and writes one request through `write` (false: it could not be
   * written). Rejects with OverloadError when the map is full, TimeoutError
   * after `timeoutMs`, PeerError when unwritable or closed first.
   */
  request(method: string, params: unknown[], timeoutMs: number, write: (line: string) => boolean, opts: RequestOptions = {}): Promise<PoolAnswer> {
    if (this.map.size >= this.maxPending) {
      return Promise.reject(new OverloadError(`too many requests waiting for pool ${this.url}`));
    }
    const id = this.nextId++;
    const observed = this.observer !== undefined && opts.optional !== true;
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.map.delete(id);
        if (observed) this.observer!.expired(id);
        reject(new TimeoutError(`pool ${this.url} did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      // In the map before the write: a write that overflows the buffer closes
      // the connection at once, and failAll must find this request.
      this.map.set(id, { method, observed, resolve, reject, timer });
      if (observed) this.observer!.sent(id, this.clock.now());
      if (!write(encodeRequest(id, method, params))) {
        this.clock.clearTimeout(timer);
        this.map.delete(id);
        if (observed) this.observer!.forget(id);
        reject(new PeerError(`cannot write to pool ${this.url}`));
      }
    });
  }

  /** Hands an answer to its request; false when none waits for that id (never sent, or timed out already). */
  settle(id: RpcId | null, answer: PoolAnswer): boolean {
    const key = pendingKey(id);
    // Any answer shows the pool alive, a late one (after its timeout) included.
    if (key !== undefined) this.observer?.answered(key, this.clock.now());
    const p = key === undefined ? undefined : this.map.get(key);
    if (!p) return false;
    this.map.delete(key!);
    this.clock.clearTimeout(p.timer);
    p.resolve(answer);
    return true;
  }

  /** The connection is gone: every waiting request fails now rather than at its timeout. */
  failAll(reason: string): void {
    for (const [id, p] of this.map) {
      this.clock.clearTimeout(p.timer);
      if (p.observed) this.observer!.forget(id);
      p.reject(new PeerError(`pool ${this.url} closed before answering ${p.method}: ${reason}`));
    }
    this.map.clear();
  }
}
