/**
 * A cheap miner connection for the load and soak benches: it speaks just
 * enough Stratum (subscribe, authorize, notify, set_extranonce) and finds a
 * share on demand, which at LOAD_MINER_DIFF costs a few sha256d, so the
 * bench sets the submit rate exactly. Shares are real: the proxy and the pool
 * validate every one. Optional reconnect (soak: withheld miners are
 * disconnected by the power plan and come back, as real firmware does).
 */
import { connect, type Socket } from 'node:net';
import { LineFramer } from '../src/wire/line-framer.js';
import { hex32 } from '../src/wire/guards.js';
import { prepareJob, type PreparedJob } from '../src/shares/validator.js';
import { sha256d } from '../src/shares/hashing/sha256.js';
import { merkleRoot } from '../src/shares/merkle.js';
import { buildHeader } from '../src/shares/header.js';
import { targetBytes, targetForDifficulty } from '../src/wire/target.js';
import type { StratumJob } from '../src/wire/stratum-job.js';

export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export const ELD_RES_MS = 2;
/** Event-loop delay in ms from a monitorEventLoopDelay value (ns; it records whole timer intervals, so the resolution is subtracted). */
export const eldMs = (ns: number): number => +Math.max(0, ns / 1e6 - ELD_RES_MS).toFixed(2);

/** ~4 sha256d per share. */
export const LOAD_MINER_DIFF = 1e-9;

export class LoadMiner {
  private framer = new LineFramer(64 * 1024);
  private socket: Socket | undefined;
  private nextId = 10;
  private en1 = '';
  private en2Size = 4;
  private en2 = 0;
  private job: StratumJob | undefined;
  private prep: PreparedJob | undefined;
  private readonly target = targetBytes(targetForDifficulty(LOAD_MINER_DIFF));
  private stopped = false;
  private port = 0;
  /** Has a job on a live connection. */
  ready = false;
  /** Wall time (ms, performance.timeOrigin based) the last clean job arrived. */
  cleanAt = 0;
  connects = 0;
  /** Submits sent and not answered before the connection closed (the proxy owed nothing after the close). */
  unanswered = 0;
  private readonly sent = new Map<number, number>();

  constructor(
    /** Sent at each authorize; a churn soak renames the miner between connections. */
    public worker: string,
    private readonly onAnswer: (ms: number, ok: boolean) => void,
    /** Reconnect this long after a close; undefined = stay closed. */
    private readonly reconnectMs?: number,
    /** Send mining.extranonce.subscribe (a failover then moves the miner by set_extranonce instead of a reconnect). */
    private readonly extranonceSubscribe = false,
  ) {}

  /** Connects; resolves at the first job (or, with reconnect, when the first attempt ends either way). */
  open(port: number): Promise<void> {
    this.port = port;
    return new Promise((resolve, reject) => {
      this.connects++;
      this.framer = new LineFramer(64 * 1024);
      const s = connect({ host: '127.0.0.1', port });
      this.socket = s;
      s.setNoDelay(true);
      s.on('error', (err) => (this.reconnectMs === undefined ? reject(err) : undefined));
      s.on('data', (d: Buffer) => {
        // Stamp arrival before any parsing: one process reads every miner's
        // socket, so the work done per line delays the next socket's stamp.
        const at = performance.now() + performance.timeOrigin;
        for (const ev of this.framer.push(d)) if (ev.kind === 'line') this.onLine(ev.line, resolve, at);
      });
      s.on('connect', () => {
        const xs = this.extranonceSubscribe ? '{"id":3,"method":"mining.extranonce.subscribe","params":[]}\n' : '';
        s.write(`{"id":1,"method":"mining.subscribe","params":["load/1"]}\n${xs}{"id":2,"method":"mining.authorize","params":["${this.worker}","x"]}\n`);
      });
      s.on('close', () => {
        this.ready = false;
        this.unanswered += this.sent.size;
        this.sent.clear();
        if (this.reconnectMs !== undefined && !this.stopped) {
          resolve();
          setTimeout(() => void this.open(this.port).catch(() => undefined), this.reconnectMs * (0.5 + Math.random()));
        }
      });
    });
  }

  private onLine(line: string, first: () => void, at: number): void {
    const m = JSON.parse(line) as { id: number | null; method?: string; params?: unknown[]; result?: unknown; error?: unknown };
    if (m.method === 'mining.notify') {
      const p = m.params!;
      this.job = { jobId: p[0] as string, prevhash: p[1] as string, coinb1: p[2] as string, coinb2: p[3] as string, merkleBranch: p[4] as string[], version: p[5] as string, nbits: p[6] as string, ntime: p[7] as string, cleanJobs: p[8] as boolean };
      this.prep = undefined; // parsed at the first submit on it, not on the fan-out's clock
      if (this.job.cleanJobs) this.cleanAt = at;
      if (!this.ready) {
        this.ready = true;
        first();
      }
    } else if (m.method === 'mining.set_extranonce') {
      this.en1 = m.params![0] as string;
      this.en2Size = m.params![1] as number;
    } else if (m.method === undefined && m.id === 1) {
      const r = m.result as [unknown, string, number] | null;
      if (r) {
        this.en1 = r[1];
        this.en2Size = r[2];
      }
    } else if (m.method === undefined && typeof m.id === 'number' && m.id >= 10) {
      const t = this.sent.get(m.id);
      if (t !== undefined) {
        this.sent.delete(m.id);
        this.onAnswer(performance.now() - t, m.error === null && m.result === true);
      }
    }
  }

  /** Finds one share (a few sha256d at this difficulty) and submits it; false when not ready. */
  submit(): boolean {
    const job = this.job;
    if (!this.ready || !job || !this.socket) return false;
    const prep = (this.prep ??= prepareJob(job));
    for (;;) {
      this.en2++;
      const en2 = (this.en2 >>> 0).toString(16).padStart(this.en2Size * 2, '0').slice(-this.en2Size * 2);
      const coinbase = Buffer.concat([prep.coinb1, Buffer.from(this.en1 + en2, 'hex'), prep.coinb2]);
      const header = buildHeader({ version: prep.version, prevHash: prep.prevHash, merkleRoot: merkleRoot(sha256d(coinbase), prep.branches), ntime: prep.ntime, nbits: prep.nbits, nonce: 0 });
      for (let nonce = 0; nonce < 64; nonce++) {
        header.writeUInt32LE(nonce, 76);
        if (Buffer.compare(sha256d(header).reverse(), this.target) <= 0) {
          const id = this.nextId++;
          this.sent.set(id, performance.now());
          this.socket.write(`{"id":${id},"method":"mining.submit","params":["${this.worker}","${job.jobId}","${en2}","${job.ntime}","${hex32(nonce)}"]}\n`);
          return true;
        }
      }
    }
  }

  close(): void {
    this.stopped = true;
    this.socket?.destroy();
  }

  /** Drops the connection as a flaky miner would; with reconnectMs it comes back by itself. */
  drop(): void {
    this.socket?.destroy();
  }
}
