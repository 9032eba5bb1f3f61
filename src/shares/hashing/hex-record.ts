/**
 * Wire hex straight into a share record, without the Buffer allocations of
 * parseHex: the worker's hot loop handles tens of thousands of shares a
 * second. Anything that is not clean hex of an allowed length returns -1 and
 * the caller takes the slow path, whose parseHex produces the error message.
 */
import { MAX_EXTRANONCE2, SHARE_STRIDE } from './layout.js';

const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[65 + i] = 10 + i;
  NIBBLE[97 + i] = 10 + i;
}

function nibble(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? NIBBLE[c]! : -1;
}

/** A big-endian u32 from exactly 8 hex digits, or -1. */
export function hexU32(s: string | undefined): number {
  if (s === undefined || s.length !== 8) return -1;
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const n = nibble(s, i);
    if (n < 0) return -1;
    v = v * 16 + n;
  }
  return v;
}

/**
 * Write share `slot` (extranonce2 hex of 1..32 bytes, ntime and nonce hex,
 * final version) into `records`; returns the extranonce2 size in bytes, or
 * -1 when a field is not clean hex of an allowed length.
 */
export function writeShareRecordHex(
  records: Uint8Array,
  slot: number,
  extranonce2: string | undefined,
  ntime: string | undefined,
  nonce: string | undefined,
  version: number,
): number {
  if (extranonce2 === undefined || extranonce2.length === 0 || extranonce2.length % 2 !== 0) return -1;
  const en2Len = extranonce2.length / 2;
  if (en2Len > MAX_EXTRANONCE2) return -1;
  const t = hexU32(ntime);
  const n = hexU32(nonce);
  if (t < 0 || n < 0) return -1;
  const off = slot * SHARE_STRIDE;
  for (let i = 0; i < en2Len; i++) {
    const hi = nibble(extranonce2, 2 * i);
    const lo = nibble(extranonce2, 2 * i + 1);
    if (hi < 0 || lo < 0) return -1;
    records[off + 16 + i] = (hi << 4) | lo;
  }
  const put = (at: number, v: number): void => {
    records[at] = v & 0xff;
    records[at + 1] = (v >>> 8) & 0xff;
    records[at + 2] = (v >>> 16) & 0xff;
    records[at + 3] = (v >>> 24) & 0xff;
  };
  put(off, version >>> 0);
  put(off + 4, t);
  put(off + 8, n);
  return en2Len;
}
