/**
 * Piscina worker entry: hashes one batch of shares. Imports only the pure
 * validator code, so a worker starts fast and holds no proxy state.
 */
import { hashBatch } from './hash-batch.js';

export default hashBatch;
/** Binary batches of share records (HashPool.checkRecords), run by name. */
export { checkRecords } from './hash-batch.js';
