/** A bare Stratum client for poking the proxy with exact bytes and reading every reply. */
import { connect, type Socket } from 'node:net';

export interface Msg {
  id?: number | string | null;
  method?: string;
  params?: unknown[];
  result?: unknown;
  error?: [number, string, unknown] | null;
}

/** Waits default to 10 s: they only bound a hang (a loaded CI machine can stall for a second or more). */
export class RawClient {
  readonly messages: Msg[] = [];
  closed = false;
  private buf = '';
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (line.trim()) this.messages.push(JSON.parse(line) as Msg);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  /** `localAddress`: another loopback source address (127.0.0.2...), to look like another machine. */
  static async open(port: number, localAddress?: string): Promise<RawClient> {
    const s = connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new RawClient(s);
  }

  write(text: string): void {
    this.socket.write(text);
  }

  send(obj: unknown): void {
    this.socket.write(JSON.stringify(obj) + '\n');
  }

  async reply(id: number | string, timeoutMs = 10_000): Promise<Msg> {
    const t0 = Date.now();
    for (;;) {
      const m = this.messages.find((x) => x.id === id && x.method === undefined);
      if (m) return m;
      if (Date.now() - t0 > timeoutMs) throw new Error(`no reply to id ${id}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async call(id: number, method: string, params: unknown[]): Promise<Msg> {
    this.send({ id, method, params });
    return this.reply(id);
  }

  notifications(method: string): Msg[] {
    return this.messages.filter((m) => m.method === method);
  }

  async waitFor(method: string, count = 1, timeoutMs = 10_000): Promise<Msg[]> {
    const t0 = Date.now();
    while (this.notifications(method).length < count) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`no ${method}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.notifications(method);
  }

  close(): void {
    this.socket.destroy();
  }
}
