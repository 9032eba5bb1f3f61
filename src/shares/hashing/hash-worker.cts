/**
 * Piscina worker entry: hashes one batch of shares. Imports only the pure
 * validator code, so a worker starts fast and holds no proxy state.
 *
 * This entry is CommonJS on purpose. Piscina loads its task file with
 * `require()` first, and Node 20's `require()` of an ES module can abort the
 * whole process (V8 fatal `Module::IsGraphAsync`, seen once in CI when a
 * vitest fork died mid-run). A CommonJS entry never enters that path; the
 * ES-module hashing code is loaded once through the ordinary async `import()`.
 */
import type { HashBatcher, HashBatchTask, HashBatchResult, RecordsTask } from './hash-batch.js';
import type { HashEngineInfo } from '../types.js';

// The worker thread's composition root: its one HashBatcher (checker and caches) lives as long as the thread.
let batcher: HashBatcher | undefined;
const loading: Promise<HashBatcher> = import('./hash-batch.js').then((m) => (batcher = new m.HashBatcher()));
// A failed load (or a bad SURPLUS_HASH) is reported by every task that awaits it, not as a crash.
loading.catch(() => undefined);

async function hashBatch(task: HashBatchTask): Promise<HashBatchResult> {
  return (batcher ?? (await loading)).hashBatch(task);
}

/** Binary batches of share records (HashPool.checkRecords), run by name. */
async function checkRecords(task: RecordsTask): Promise<Uint8Array | null> {
  return (batcher ?? (await loading)).checkRecords(task);
}

/** The engine this worker hashes with (HashPool.engine), run by name. */
async function engine(): Promise<HashEngineInfo> {
  return (batcher ?? (await loading)).engineInfo();
}

export = Object.assign(hashBatch, { checkRecords, engine });
