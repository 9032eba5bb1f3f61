/**
 * Real-looking Bitcoin jobs for the simulated pool: a coinbase transaction
 * that decodes (BIP34 height push, an extranonce slot inside the scriptSig,
 * one payout output), random merkle branches, a random previous block hash.
 */
import { randomBytes } from 'node:crypto';
import type { StratumJob } from '../wire/stratum-job.js';

export interface SimJobSettings {
  /** Bytes of the extranonce slot: extranonce1 + extranonce2. */
  extranonceBytes: number;
  /** Output script (hex) the coinbase pays; default a P2WPKH to a fixed key hash. */
  payoutScript?: string;
  /** Compact network target; the default is far above any share a test finds. */
  nbits?: string;
  /** Merkle branch length (transactions in the block besides the coinbase ≈ 2^n). */
  branches?: number;
  version?: number;
}

export const SIM_PAYOUT_SCRIPT = '0014' + '5e'.repeat(20);

function u32le(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b.toString('hex');
}

function u64le(n: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b.toString('hex');
}

/** coinb1 and coinb2 around an extranonce slot of `extranonceBytes`. */
export function simCoinbase(height: number, extranonceBytes: number, payoutScript: string, tag = 'surplus-sim'): { coinb1: string; coinb2: string } {
  const heightPush = '03' + u32le(height).slice(0, 6); // BIP34: minimal push of the height (3 bytes covers 2^24)
  const tagHex = Buffer.from(tag, 'ascii').toString('hex');
  const tagPush = (tagHex.length / 2).toString(16).padStart(2, '0') + tagHex;
  const scriptLen = heightPush.length / 2 + extranonceBytes + tagPush.length / 2;
  if (scriptLen > 100) throw new RangeError('coinbase scriptSig must stay within 100 bytes');
  const coinb1 =
    '01000000' + // tx version
    '01' + // one input
    '00'.repeat(32) +
    'ffffffff' + // null prevout
    scriptLen.toString(16).padStart(2, '0') +
    heightPush;
  const script = payoutScript.toLowerCase();
  const coinb2 =
    tagPush +
    'ffffffff' + // sequence
    '01' + // one output
    u64le(312_500_000n) +
    (script.length / 2).toString(16).padStart(2, '0') +
    script +
    '00000000'; // lock time
  return { coinb1, coinb2 };
}

export class SimJobFactory {
  private seq = 0;
  private height = 840_000;
  private prevhash = randomBytes(32).toString('hex');
  private branches: string[];

  constructor(private readonly s: SimJobSettings) {
    this.branches = Array.from({ length: s.branches ?? 3 }, () => randomBytes(32).toString('hex'));
  }

  /** A new job; `newBlock` moves to a new previous hash (clean_jobs on the wire). */
  next(nowMs: number, newBlock: boolean): StratumJob {
    if (newBlock) {
      this.height++;
      this.prevhash = randomBytes(32).toString('hex');
      this.branches = this.branches.map(() => randomBytes(32).toString('hex'));
    } else {
      // Same block, new transactions: the last branch changes.
      if (this.branches.length > 0) this.branches[this.branches.length - 1] = randomBytes(32).toString('hex');
    }
    const { coinb1, coinb2 } = simCoinbase(this.height, this.s.extranonceBytes, this.s.payoutScript ?? SIM_PAYOUT_SCRIPT);
    this.seq++;
    return {
      jobId: this.seq.toString(16),
      prevhash: this.prevhash,
      coinb1,
      coinb2,
      merkleBranch: [...this.branches],
      version: (this.s.version ?? 0x20000000).toString(16).padStart(8, '0'),
      nbits: this.s.nbits ?? '1d00ffff',
      ntime: Math.floor(nowMs / 1000).toString(16).padStart(8, '0'),
      cleanJobs: newBlock,
    };
  }
}
