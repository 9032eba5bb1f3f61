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
import type * as HashBatchModule from './hash-batch.js';
import type { HashBatchTask, HashBatchResult, RecordsTask } from './hash-batch.js';
import type { HashEngineInfo } from '../types.js';

let core: typeof HashBatchModule | undefined;
const loading: Promise<typeof HashBatchModule> = import('./hash-batch.js').then((m) => (core = m));
// A failed load is reported by every task that awaits it, not as a crash.
loading.catch(() => undefined);

async function hashBatch(task: HashBatchTask): Promise<HashBatchResult> {
  return (core ?? (await loading)).hashBatch(task);
}

/** Binary batches of share records (HashPool.checkRecords), run by name. */
async function checkRecords(task: RecordsTask): Promise<Uint8Array | null> {
  return (core ?? (await loading)).checkRecords(task);
}

/** The engine this worker hashes with (HashPool.engine), run by name. */
async function engine(): Promise<HashEngineInfo> {
  return (core ?? (await loading)).engineInfo();
}

export = Object.assign(hashBatch, { checkRecords, engine });
