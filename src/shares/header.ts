/**
 * The 80-byte block header and its hash. Field order and byte order follow
 * the Bitcoin header: version, prev block, merkle root, time, bits, nonce,
 * each integer little-endian.
 */
import type { HashResult } from './types.js';
import { sha256d } from './hashing/sha256.js';
import { difficultyOfHash } from '../wire/target.js';
import { parseHex } from './hex.js';

export const HEADER_BYTES = 80;

/** Header fields with integers as numbers and 32-byte fields in internal (header) byte order. */
export interface HeaderFields {
  version: number;
  prevHash: Buffer;
  merkleRoot: Buffer;
  ntime: number;
  nbits: number;
  nonce: number;
}

export function buildHeader(f: HeaderFields): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32LE(f.version >>> 0, 0);
  f.prevHash.copy(header, 4);
  f.merkleRoot.copy(header, 36);
  header.writeUInt32LE(f.ntime >>> 0, 68);
  header.writeUInt32LE(f.nbits >>> 0, 72);
  header.writeUInt32LE(f.nonce >>> 0, 76);
  return header;
}

/**
 * Hash a header: the display-order hash (reversed sha256d, as explorers show
 * it), its bdiff difficulty, and whether it is at or under the network
 * target given as 32 big-endian bytes.
 */
export function hashHeader(header: Buffer, networkTargetBE: Buffer): HashResult & { hashLE: Buffer } {
  const hashLE = sha256d(header);
  const display = Buffer.from(hashLE).reverse();
  return {
    hash: display.toString('hex'),
    difficulty: difficultyOfHash(hashLE),
    block: Buffer.compare(display, networkTargetBE) <= 0,
    hashLE,
  };
}

/**
 * A header from explorer-style fields (hashes in display order), e.g. the
 * worked example of block 125552 on the Bitcoin wiki. Used by check-share for
 * vectors that carry a bare header instead of a notify/submit pair.
 */
export function headerFromDisplayFields(f: {
  version: number;
  prevBlockDisplay: string;
  merkleRootDisplay: string;
  time: number;
  bits: number;
  nonce: number;
}): Buffer {
  return buildHeader({
    version: f.version,
    prevHash: parseHex(f.prevBlockDisplay, 'prev_block_display', 32).reverse(),
    merkleRoot: parseHex(f.merkleRootDisplay, 'merkle_root_display', 32).reverse(),
    ntime: f.time,
    nbits: f.bits,
    nonce: f.nonce,
  });
}
