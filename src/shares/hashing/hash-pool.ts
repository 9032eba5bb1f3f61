/**
 * The worker-thread front of share hashing (implements ShareHasher).
 *
 * Submissions are batched: a share waits up to `batchDelayMs` for company, or
 * leaves at once when `batchSize` are waiting, and each batch is one piscina
 * task, so the fixed cost of a task (message passing, wake-up, structured
 * clone) is paid once per batch. At most threads × concurrentTasksPerWorker
 * tasks are in flight; while they are, new shares gather into the next
 * batches, so batches grow by themselves under load and stay small (low
 * latency) when idle. The queue is bounded: beyond `maxQueue` shares `hash`
 * rejects with OverloadError at once, and the caller answers the miner with
 * an error instead of letting memory grow.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { systemClock, type Clock, type TimerHandle } from '../../clock.js';
import { ConfigError, InputError, OverloadError, ProxyError } from '../../errors.js';
import { compiledSibling } from '../../worker-path.js';
import type { HashEngineInfo, HashRequest, HashResult, ShareHasher } from '../types.js';
import type { StratumJob } from '../../wire/stratum-job.js';
import { checkVersion } from '../validator.js';
import { hashPathFromEnv } from './index.js';
import { encodeBatch, resultAt, type HashBatchResult, type HashBatchTask, type RecordsTask } from './hash-batch.js';

export interface HashPoolOptions {
  /** Worker threads; 0 or absent = one per core (as config `shares.hashThreads`). */
  threads?: number;
  /** Most shares per task (default 64; config `shares.batchSize`). */
  batchSize?: number;
  /** Most shares waiting or hashing before `hash` rejects with OverloadError (default 50 000; config `shares.maxQueue`). */
  maxQueue?: number;
  /** How long a lone share waits for others before its batch is sent, ms (default 1; 0 = same event-loop turn). */
  batchDelayMs?: number;
  /** Tasks handed to one worker at a time (default 2: the next batch is already there when one finishes). */
  concurrentTasksPerWorker?: number;
  /**
   * Runs the batch delay. Default systemClock, also in a proxy on a manual
   * clock: the delay trades CPU latency for batch size, it is not site time,
   * and a share must not wait for a test to move the clock.
   */
  clock?: Clock;
}

/** Defaults chosen from `surplus bench` / bench/share-hash-pool.bench.ts on the 2-core dev box (see the report of issue 2). */
export const HASH_POOL_DEFAULTS = {
  batchSize: 64,
  maxQueue: 50_000,
  batchDelayMs: 1,
  concurrentTasksPerWorker: 2,
} as const;

export interface HashPool extends ShareHasher {
  readonly threads: number;
  readonly batchSize: number;
  /** Live worker threads (0 after close). */
  readonly workers: number;
  /** Tasks (batches) and shares sent to workers so far: shares / tasks is the mean batch size. */
  readonly stats: { readonly tasks: number; readonly shares: number };
  engine(): Promise<HashEngineInfo>;
  /**
   * Check `count` pre-encoded share records of one job context (layouts in
   * src/shares/hashing/layout.ts) as a single task and resolve with their
   * 48-byte result records. The binary path for callers that already hold
   * shares as bytes; bounded by `maxQueue` like `hash`. When `out` is given
   * the results land there (zero-copy when `shares` and `out` are backed by
   * SharedArrayBuffers; do not touch `out` until the promise settles).
   * Product code because `surplus bench` measures it (shares/bench-run.ts);
   * the proxy's share path uses `hash`.
   */
  checkRecords(ctx: Uint8Array, shares: Uint8Array, count: number, out?: Uint8Array): Promise<Uint8Array>;
}

interface Pending {
  req: HashRequest;
  resolve: (r: HashResult) => void;
  reject: (e: Error) => void;
}

function intOption(value: number | undefined, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new ConfigError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

/** Start a hash pool; its workers start now and stay until `close()`. */
export function createHashPool(opts: HashPoolOptions = {}): HashPool {
  return new WorkerHashPool(opts);
}

class WorkerHashPool implements HashPool {
  readonly threads: number;
  readonly batchSize: number;
  readonly #maxQueue: number;
  readonly #delayMs: number;
  readonly #maxTasks: number;
  readonly #piscina: Piscina<HashBatchTask, HashBatchResult>;
  readonly #jobKeys = new WeakMap<StratumJob, number>();
  #nextJobKey = 1;
  #pending: Pending[] = [];
  #head = 0;
  #inflightShares = 0;
  #inflightTasks = 0;
  #timer: TimerHandle | NodeJS.Immediate | undefined;
  readonly #clock: Clock;
  #closed = false;
  #tasks = 0;
  #shares = 0;

  constructor(opts: HashPoolOptions) {
    // Workers pick their hashing engine from SURPLUS_HASH; a bad value fails here, not per batch.
    hashPathFromEnv();
    this.threads = intOption(opts.threads, 'threads', 0, 0) || availableParallelism();
    this.batchSize = intOption(opts.batchSize, 'batchSize', 1, HASH_POOL_DEFAULTS.batchSize);
    // Job indexes travel as Uint16.
    if (this.batchSize > 65_535) throw new ConfigError(`batchSize must be <= 65535, got ${this.batchSize}`);
    this.#maxQueue = intOption(opts.maxQueue, 'maxQueue', 1, HASH_POOL_DEFAULTS.maxQueue);
    const delay = opts.batchDelayMs ?? HASH_POOL_DEFAULTS.batchDelayMs;
    if (!Number.isFinite(delay) || delay < 0) throw new ConfigError(`batchDelayMs must be a number >= 0, got ${delay}`);
    this.#delayMs = delay;
    this.#clock = opts.clock ?? systemClock;
    const perWorker = intOption(opts.concurrentTasksPerWorker, 'concurrentTasksPerWorker', 1, HASH_POOL_DEFAULTS.concurrentTasksPerWorker);
    this.#maxTasks = this.threads * perWorker;
    this.#piscina = new Piscina({
      filename: compiledSibling('./hash-worker.cts', import.meta.url),
      minThreads: this.threads,
      maxThreads: this.threads,
      concurrentTasksPerWorker: perWorker,
      idleTimeout: Number.POSITIVE_INFINITY,
    });
  }

  get workers(): number {
    return this.#piscina.threads.length;
  }

  get stats(): { tasks: number; shares: number } {
    return { tasks: this.#tasks, shares: this.#shares };
  }

  engine(): Promise<HashEngineInfo> {
    if (this.#closed) return Promise.reject(new ProxyError('SURPLUS_ERR_CLOSED', 'hash pool is closed'));
    // The pool is typed for its default export; the named export takes nothing and returns the engine.
    return this.#piscina.run(null as unknown as HashBatchTask, { name: 'engine' }) as unknown as Promise<HashEngineInfo>;
  }

  checkRecords(ctx: Uint8Array, shares: Uint8Array, count: number, out?: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new ProxyError('SURPLUS_ERR_CLOSED', 'hash pool is closed'));
    if (!Number.isInteger(count) || count < 0) return Promise.reject(new InputError(`count must be a non-negative integer, got ${count}`));
    if (out !== undefined && out.length < count * 48) {
      return Promise.reject(new InputError(`out must hold ${count} 48-byte results, got ${out.length} bytes`));
    }
    if (this.queueDepth + count > this.#maxQueue) {
      return Promise.reject(new OverloadError(`share hash queue is full (${this.#maxQueue} shares)`));
    }
    this.#inflightTasks++;
    this.#inflightShares += count;
    this.#tasks++;
    this.#shares += count;
    const task: RecordsTask = out === undefined ? { ctx, shares, count } : { ctx, shares, count, out };
    // The pool is typed for its default export; the named export takes and returns other types.
    const run = this.#piscina.run(task as unknown as HashBatchTask, { name: 'checkRecords' }) as Promise<unknown>;
    return (run as Promise<Uint8Array | null>)
      .then((res) => {
        if (res === null) return out!; // written in place through shared memory
        if (out === undefined) return res;
        out.set(res.subarray(0, count * 48));
        return out;
      })
      .finally(() => {
        this.#inflightTasks--;
        this.#inflightShares -= count;
        if (!this.#closed) this.#flush();
      });
  }

  get queueDepth(): number {
    return this.#pending.length - this.#head + this.#inflightShares;
  }

  hash(req: HashRequest): Promise<HashResult> {
    if (this.#closed) return Promise.reject(new ProxyError('SURPLUS_ERR_CLOSED', 'hash pool is closed'));
    try {
      checkVersion(req.version);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (this.queueDepth >= this.#maxQueue) {
      return Promise.reject(new OverloadError(`share hash queue is full (${this.#maxQueue} shares)`));
    }
    return new Promise<HashResult>((resolve, reject) => {
      this.#pending.push({ req, resolve, reject });
      if (this.#pending.length - this.#head >= this.batchSize) this.#flush();
      else this.#arm();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#disarm();
    const dropped = this.#pending.splice(this.#head);
    this.#pending = [];
    this.#head = 0;
    for (const p of dropped) p.reject(new ProxyError('SURPLUS_ERR_CLOSED', 'hash pool closed before the share was hashed'));
    // Batches already inside a worker finish and resolve; then the threads end.
    await this.#piscina.close();
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    const fire = (): void => {
      this.#timer = undefined;
      this.#flush();
    };
    this.#timer = this.#delayMs === 0 ? setImmediate(fire) : this.#clock.setTimeout(fire, this.#delayMs);
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    if (this.#delayMs === 0) clearImmediate(this.#timer as NodeJS.Immediate);
    else this.#clock.clearTimeout(this.#timer as TimerHandle);
    this.#timer = undefined;
  }

  /** Send batches while a task slot is free; what cannot go now waits for the next completion. */
  #flush(): void {
    while (this.#pending.length > this.#head && this.#inflightTasks < this.#maxTasks) {
      const end = Math.min(this.#pending.length, this.#head + this.batchSize);
      const batch = this.#pending.slice(this.#head, end);
      this.#head = end;
      this.#dispatch(batch);
    }
    if (this.#head === this.#pending.length) {
      this.#pending = [];
      this.#head = 0;
      this.#disarm();
    } else if (this.#head > 4096 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
  }

  #keyOf = (job: StratumJob): number => {
    let key = this.#jobKeys.get(job);
    if (key === undefined) {
      key = this.#nextJobKey++;
      this.#jobKeys.set(job, key);
    }
    return key;
  };

  #dispatch(batch: Pending[]): void {
    this.#inflightTasks++;
    this.#inflightShares += batch.length;
    this.#tasks++;
    this.#shares += batch.length;
    let task: HashBatchTask;
    try {
      task = encodeBatch(
        batch.map((p) => p.req),
        this.#keyOf,
      );
    } catch (err) {
      this.#settle(batch);
      for (const p of batch) p.reject(err as Error);
      return;
    }
    this.#piscina.run(task).then(
      (res) => {
        this.#settle(batch);
        for (let i = 0; i < batch.length; i++) {
          const error = res.errors?.[i];
          if (error) batch[i]!.reject(new InputError(`share could not be hashed: ${error}`));
          else batch[i]!.resolve(resultAt(res, i));
        }
      },
      (err: unknown) => {
        this.#settle(batch);
        const e = err instanceof Error ? err : new Error(String(err));
        for (const p of batch) p.reject(e);
      },
    );
  }

  #settle(batch: Pending[]): void {
    this.#inflightTasks--;
    this.#inflightShares -= batch.length;
    if (!this.#closed) this.#flush();
  }
}
