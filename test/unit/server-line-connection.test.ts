import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { LineConnection, type LineSink } from '../../src/net/line-connection.js';
import type { RpcMessage } from '../../src/wire/json-rpc.js';

/** A socket stand-in whose peer never reads: written bytes stay in writableLength. */
function stuckSocket(): Duplex & { paused: number; resumed: number } {
  const d = new Duplex({
    read() {},
    write(_chunk, _enc, _cb) {
      // never call back: the peer stopped reading
    },
  }) as Duplex & { paused: number; resumed: number; setNoDelay(): void; remoteAddress: string; remotePort: number };
  d.paused = 0;
  d.resumed = 0;
  d.setNoDelay = () => undefined;
  d.remoteAddress = '127.0.0.1';
  d.remotePort = 1;
  const pause = d.pause.bind(d);
  const resume = d.resume.bind(d);
  d.pause = () => (d.paused++, pause());
  d.resume = () => (d.resumed++, resume());
  return d;
}

function recorder(): LineSink & { log: string[]; closed: string[] } {
  const log: string[] = [];
  const closed: string[] = [];
  return {
    log,
    closed,
    onMessage: (m: RpcMessage) => void log.push(m.kind === 'response' ? `r${String(m.id)}` : m.method),
    onMalformed: (reason) => void log.push(`bad:${reason.slice(0, 12)}`),
    onClose: (reason) => void closed.push(reason),
  };
}

describe('LineConnection', () => {
  it('drops a peer whose unsent output passes the cap', () => {
    const s = stuckSocket();
    const sink = recorder();
    const c = new LineConnection(s as unknown as Socket, { maxLineBytes: 1024, maxWriteBufferBytes: 2048, clock: new ManualClock() }, sink);
    let sent = 0;
    while (c.send('x'.repeat(500) + '\n')) sent++;
    expect(sent).toBe(4);
    expect(c.closed).toBe(true);
    expect(sink.closed[0]).toMatch(/write buffer over 2048 bytes/);
    expect(c.send('late\n')).toBe(false);
  });

  it('handles lines strictly in order and pauses reading while a handler is pending', async () => {
    const s = stuckSocket();
    const order: string[] = [];
    let release!: () => void;
    const sink: LineSink = {
      onMessage: (m) => {
        const name = m.kind === 'request' ? `${m.method}#${String(m.id)}` : '?';
        order.push(`start ${name}`);
        if (m.kind === 'request' && m.id === 1) {
          return new Promise<void>((r) => (release = () => (order.push(`end ${name}`), r())));
        }
        order.push(`end ${name}`);
        return undefined;
      },
      onMalformed: () => undefined,
      onClose: () => undefined,
    };
    new LineConnection(s as unknown as Socket, { maxLineBytes: 1024, maxWriteBufferBytes: 4096, clock: new ManualClock() }, sink);
    s.push('{"id":1,"method":"a"}\n{"id":2,"method":"b"}\n{"id":3,');
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['start a#1']);
    expect(s.paused).toBeGreaterThan(0);
    s.push('"method":"c"}\n');
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['start a#1']);
    release();
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['start a#1', 'end a#1', 'start b#2', 'end b#2', 'start c#3', 'end c#3']);
    expect(s.resumed).toBeGreaterThan(0);
  });

  it('reports malformed and over-long lines to the sink and keeps going', async () => {
    const s = stuckSocket();
    const sink = recorder();
    new LineConnection(s as unknown as Socket, { maxLineBytes: 64, maxWriteBufferBytes: 4096, clock: new ManualClock() }, sink);
    s.push('nope\n' + 'y'.repeat(200) + '\n{"id":9,"result":true,"error":null}\n{"id":null,"method":"mining.notify","params":[]}\n');
    await new Promise((r) => setImmediate(r));
    expect(sink.log).toEqual(['bad:invalid JSON', 'bad:line longer ', 'r9', 'mining.notify']);
  });
});

describe('LineConnection: a handler that throws (issue 11)', () => {
  it('costs that connection only, with the reason, never an uncaught exception', () => {
    const s = stuckSocket();
    const closed: string[] = [];
    const sink: LineSink = {
      onMessage: () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
      onMalformed: () => undefined,
      onClose: (r) => void closed.push(r),
    };
    const c = new LineConnection(s as unknown as Socket, { maxLineBytes: 1024, maxWriteBufferBytes: 4096, clock: new ManualClock() }, sink);
    expect(() => s.emit('data', Buffer.from('{"id":1,"method":"a","params":[]}\n{"id":2,"method":"b","params":[]}\n'))).not.toThrow();
    expect(c.closed).toBe(true);
    expect(closed).toEqual(['handler failed: Maximum call stack size exceeded']);
  });
});
