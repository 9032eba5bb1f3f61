/**
 * Newline framing for Stratum V1 (one JSON document per line). Pure: bytes in,
 * events out. The length cap is enforced on the *unfinished tail* (as ws does
 * with maxPayload), so a peer that never sends a newline cannot make us buffer
 * more than `maxLineBytes`; after an overflow the rest of that line is
 * discarded up to the next newline and reported once. The cap counts every
 * byte before the LF (a CR of CRLF included).
 */

export const LINE_TOO_LONG = 'SURPLUS_ERR_LINE_TOO_LONG';

export type FrameEvent =
  | { kind: 'line'; line: string }
  | { kind: 'overflow'; code: typeof LINE_TOO_LONG; message: string };

const LF = 0x0a;
const CR = 0x0d;

export class LineFramer {
  private parts: Buffer[] = [];
  private tailBytes = 0;
  private discarding = false;

  constructor(readonly maxLineBytes = 16 * 1024) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
    }
  }

  /** Bytes held for the line not yet terminated (never more than maxLineBytes). */
  get bufferedBytes(): number {
    return this.tailBytes;
  }

  /** Feeds one chunk; returns the complete lines (and overflow reports) it finished, in order. */
  push(chunk: Uint8Array): FrameEvent[] {
    const out: FrameEvent[] = [];
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(LF, start);
      if (nl < 0) break;
      if (this.discarding) {
        this.discarding = false;
      } else if (this.tailBytes + (nl - start) > this.maxLineBytes) {
        out.push(this.overflow());
        this.reset();
      } else {
        const seg = buf.subarray(start, nl);
        const whole = this.parts.length === 0 ? seg : Buffer.concat([...this.parts, seg]);
        this.reset();
        let end = whole.length;
        if (end > 0 && whole[end - 1] === CR) end--;
        if (end > 0) {
          const line = whole.toString('utf8', 0, end);
          if (line.trim() !== '') out.push({ kind: 'line', line });
        }
      }
      start = nl + 1;
    }
    if (start < buf.length && !this.discarding) {
      const rest = buf.length - start;
      if (this.tailBytes + rest > this.maxLineBytes) {
        out.push(this.overflow());
        this.reset();
        this.discarding = true;
      } else {
        // Copy: a subarray would pin the whole socket chunk in memory.
        this.parts.push(Buffer.from(buf.subarray(start)));
        this.tailBytes += rest;
      }
    }
    return out;
  }

  private reset(): void {
    this.parts = [];
    this.tailBytes = 0;
  }

  private overflow(): FrameEvent {
    return { kind: 'overflow', code: LINE_TOO_LONG, message: `line longer than ${this.maxLineBytes} bytes` };
  }
}
