import { sha256d } from './hashing/sha256.js';

/**
 * Merkle root in internal byte order from the coinbase txid and the notify
 * branch, hashing root‖branch at each level with the branch bytes used as
 * given (the Stratum convention: the pool already sends them in internal order).
 */
export function merkleRoot(coinbaseHash: Buffer, branches: readonly Buffer[]): Buffer {
  let root = coinbaseHash;
  if (branches.length === 0) return root;
  const pair = Buffer.allocUnsafe(64);
  for (const branch of branches) {
    root.copy(pair, 0);
    branch.copy(pair, 32);
    root = sha256d(pair);
  }
  return root;
}
