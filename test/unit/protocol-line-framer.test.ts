import { describe, expect, it } from 'vitest';
import { LineFramer, type FrameEvent } from '../../src/wire/line-framer.js';

function lines(events: FrameEvent[]): string[] {
  return events.map((e) => (e.kind === 'line' ? e.line : `!${e.code}`));
}

const STREAM = '{"id":1,"method":"mining.subscribe","params":[]}\r\n\n{"id":2,"method":"mining.authorize","params":["w","x"]}\n  \n{"id":3,"method":"x","params":["é€"]}\n';
const EXPECTED = [
  '{"id":1,"method":"mining.subscribe","params":[]}',
  '{"id":2,"method":"mining.authorize","params":["w","x"]}',
  '{"id":3,"method":"x","params":["é€"]}',
];

describe('LineFramer', () => {
  it('splits LF and CRLF lines and ignores empty and blank lines', () => {
    const f = new LineFramer(1024);
    expect(lines(f.push(Buffer.from(STREAM)))).toEqual(EXPECTED);
    expect(f.bufferedBytes).toBe(0);
  });

  it('gives the same lines when fed one byte at a time (multibyte UTF-8 split too)', () => {
    const f = new LineFramer(1024);
    const bytes = Buffer.from(STREAM);
    const out: FrameEvent[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...f.push(bytes.subarray(i, i + 1)));
    expect(lines(out)).toEqual(EXPECTED);
  });

  it('gives the same lines at every split point', () => {
    const bytes = Buffer.from(STREAM);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const f = new LineFramer(1024);
      const out = [...f.push(bytes.subarray(0, cut)), ...f.push(bytes.subarray(cut))];
      expect(lines(out), `cut at ${cut}`).toEqual(EXPECTED);
    }
  });

  it('keeps an unfinished tail until its newline arrives', () => {
    const f = new LineFramer(64);
    expect(f.push(Buffer.from('{"a":'))).toEqual([]);
    expect(f.bufferedBytes).toBe(5);
    expect(lines(f.push(Buffer.from('1}\n')))).toEqual(['{"a":1}']);
  });

  it('rejects an over-long line without buffering it and recovers after the next newline', () => {
    const cap = 300;
    const f = new LineFramer(cap);
    const out: FrameEvent[] = [];
    let maxBuffered = 0;
    // 10 KiB without a newline, in 100-byte chunks, then the end of the line and a good one.
    for (let i = 0; i < 100; i++) {
      out.push(...f.push(Buffer.alloc(100, 0x61)));
      maxBuffered = Math.max(maxBuffered, f.bufferedBytes);
    }
    out.push(...f.push(Buffer.from('still the same line\n{"ok":true}\n')));
    expect(maxBuffered).toBeLessThanOrEqual(cap);
    expect(lines(out)).toEqual(['!SURPLUS_ERR_LINE_TOO_LONG', '{"ok":true}']);
  });

  it('rejects an over-long line that arrives whole in one chunk, once', () => {
    const f = new LineFramer(256);
    const out = f.push(Buffer.from('x'.repeat(1000) + '\n{"id":1}\n'));
    expect(lines(out)).toEqual(['!SURPLUS_ERR_LINE_TOO_LONG', '{"id":1}']);
    expect(f.bufferedBytes).toBe(0);
  });

  it('accepts a line of exactly the cap', () => {
    const f = new LineFramer(256);
    const line = 'y'.repeat(256);
    expect(lines(f.push(Buffer.from(line.slice(0, 100))))).toEqual([]);
    expect(lines(f.push(Buffer.from(line.slice(100) + '\n')))).toEqual([line]);
    expect(lines(f.push(Buffer.from('z'.repeat(257) + '\n')))).toEqual(['!SURPLUS_ERR_LINE_TOO_LONG']);
  });

  it('refuses a nonsensical cap', () => {
    expect(() => new LineFramer(0)).toThrow(/maxLineBytes/);
  });
});
