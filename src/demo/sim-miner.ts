/**
 * A Stratum V1 miner on loopback that really hashes (CPU, sha256d of the real
 * header built from the job) at a hash budget, submits what it finds and
 * checks every reply. Version rolling (BIP310) optional. Many of them share
 * one timer through SimMinerFleet.
 */
import { connect as netConnect } from 'node:net';
import { every, systemClock, type Clock, type Repeater } from '../clock.js';
import { encodeRequest, type RpcMessage } from '../wire/json-rpc.js';
import { hex32 } from '../wire/guard-kit.js';
import { parseNotify, parseSetDifficulty, parseSetExtranonce, parseSetVersionMask, parseSubscribeResult, readConfigureResult, readShowMessage } from '../wire/pool-dialect.js';
import { LineConnection } from '../net/line-connection.js';
import { prepareJob, type PreparedJob } from '../shares/validator.js';
import { sha256d } from '../shares/hashing/sha256.js';
import { merkleRoot } from '../shares/merkle.js';
import { buildHeader } from '../shares/header.js';
import { targetBytes, targetForDifficulty } from '../wire/target.js';
import type { StratumJob } from '../wire/stratum-job.js';

export interface SimMinerOptions {
  host: string;
  port: number;
  worker: string;
  password?: string;
  /** Hash budget per second of wall time (ignored when a fleet drives step()). Default 100,000. */
  hashesPerSecond?: number;
  /** Instead of a hash budget: aim at this many shares per second at the current difficulty. */
  sharesPerSecond?: number;
  /** Ask for BIP310 version rolling with this mask (0 = no). */
  versionRollingMask?: number;
  /** Send mining.extranonce.subscribe (default true). */
  extranonceSubscribe?: boolean;
  suggestDifficulty?: number;
  userAgent?: string;
  /** Follow client.reconnect (default true). */
  followReconnect?: boolean;
  /** Driven by a fleet: no own timer. */
  external?: boolean;
  /** Paces the hashing and the reconnect (default systemClock). */
  clock?: Clock;
}

export interface SimMinerStats {
  submitted: number;
  answered: number;
  accepted: number;
  /** Rejections by Stratum error code. */
  rejected: Record<number, number>;
  /** Replies whose id matches nothing we sent (a proxy bug). */
  unexpectedReplies: number;
  jobs: number;
  cleanJobs: number;
  lastJobAtMs: number;
  lastJobId: string;
  difficulty: number;
  extranonceChanges: number;
  reconnectsAsked: number;
  messages: string[];
  hashes: number;
  /** The BIP310 mask in force (configure result, then set_version_mask). */
  versionMask: number;
}

export class SimMiner {
  private line: LineConnection | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { method: string; resolve(m: { result: unknown; error: { code: number; message: string } | null }): void }>();
  private job: StratumJob | undefined;
  private prepared: PreparedJob | undefined;
  private extranonce1 = '';
  private extranonce2Size = 4;
  private en2 = 0;
  private nonce = 0;
  private header: Buffer | undefined;
  private target = targetBytes(targetForDifficulty(1));
  private versionMask = 0;
  private roll = 0;
  private timer: Repeater | undefined;
  private lastTick = 0;
  private stopped = false;
  connected = false;
  extranonceSubscribed = false;
  readonly stats: SimMinerStats = {
    submitted: 0, answered: 0, accepted: 0, rejected: {}, unexpectedReplies: 0, jobs: 0, cleanJobs: 0,
    lastJobAtMs: 0, lastJobId: '', difficulty: 1, extranonceChanges: 0, reconnectsAsked: 0, messages: [], hashes: 0, versionMask: 0,
  };
  onClose: ((reason: string) => void) | undefined;

  private readonly clock: Clock;

  constructor(readonly o: SimMinerOptions) {
    this.clock = o.clock ?? systemClock;
  }

  get currentJob(): StratumJob | undefined {
    return this.job;
  }

  get extranonce(): { extranonce1: string; extranonce2Size: number } {
    return { extranonce1: this.extranonce1, extranonce2Size: this.extranonce2Size };
  }

  private starting: Promise<void> | undefined;

  /**
   * Connects and performs configure/subscribe/authorize; rejects with the error
   * the proxy sent. Idempotent while connected or connecting (a driver's own
   * reconnect loop and client.reconnect may both call it).
   */
  start(): Promise<void> {
    if (this.connected && this.line && !this.line.closed) return Promise.resolve();
    this.starting ??= this.connectAndHandshake()
      .catch((err: unknown) => {
        // A refused handshake leaves nothing half-open: the next start() connects afresh.
        this.line?.destroy(`handshake failed: ${(err as Error).message}`);
        throw err;
      })
      .finally(() => {
        this.starting = undefined;
      });
    return this.starting;
  }

  private async connectAndHandshake(): Promise<void> {
    this.stopped = false;
    this.timer?.stop();
    this.timer = undefined;
    this.job = undefined;
    this.prepared = undefined;
    this.header = undefined;
    const socket = netConnect({ host: this.o.host, port: this.o.port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    this.connected = true;
    this.line = new LineConnection(socket, { maxLineBytes: 65536, maxWriteBufferBytes: 1 << 20, clock: this.clock }, {
      onMessage: (m) => this.onMessage(m),
      onMalformed: (reason) => this.stats.messages.push(`malformed: ${reason}`),
      onClose: (reason) => {
        this.connected = false;
        for (const p of this.pending.values()) p.resolve({ result: null, error: { code: -1, message: `closed: ${reason}` } });
        this.pending.clear();
        this.onClose?.(reason);
      },
    });
    if (this.o.versionRollingMask) {
      const r = await this.request('mining.configure', [['version-rolling'], { 'version-rolling.mask': hex32(this.o.versionRollingMask), 'version-rolling.min-bit-count': 2 }]);
      // The same reader the proxy's pool side uses: anything but a granted mask means no rolling.
      this.versionMask = (readConfigureResult(r.result, r.error).mask & this.o.versionRollingMask) >>> 0;
      this.stats.versionMask = this.versionMask;
    }
    const sub = await this.request('mining.subscribe', [this.o.userAgent ?? 'sim-miner/1.0']);
    if (sub.error) throw new Error(`subscribe refused: ${sub.error.message}`);
    const g = parseSubscribeResult(sub.result);
    if (!g.ok) throw new Error(g.message);
    this.extranonce1 = g.value.extranonce1;
    this.extranonce2Size = g.value.extranonce2Size;
    if (this.o.extranonceSubscribe ?? true) {
      const r = await this.request('mining.extranonce.subscribe', []);
      this.extranonceSubscribed = r.error === null;
    }
    if (this.o.suggestDifficulty !== undefined) await this.request('mining.suggest_difficulty', [this.o.suggestDifficulty]);
    const auth = await this.request('mining.authorize', [this.o.worker, this.o.password ?? 'x']);
    if (auth.error || auth.result !== true) throw new Error(`authorize refused: ${auth.error?.message ?? 'false'}`);
    if (!this.o.external) {
      this.lastTick = this.clock.now();
      this.timer = every(this.clock, 20, () => {
        const now = this.clock.now();
        // No catching up after a stall: a CPU miner that falls behind just hashes less.
        this.step(Math.round((Math.min(now - this.lastTick, 50) / 1000) * this.hashRate()));
        this.lastTick = now;
      });
    }
  }

  /** Hashes per second: the fixed budget, or what `sharesPerSecond` needs at the current difficulty. */
  hashRate(): number {
    if (this.o.sharesPerSecond !== undefined) return this.o.sharesPerSecond * this.stats.difficulty * 2 ** 32;
    return this.o.hashesPerSecond ?? 100_000;
  }

  /** Stop hashing but stay connected (answers to earlier submits still arrive). */
  pause(): void {
    this.timer?.stop();
    this.timer = undefined;
  }

  /** Every submit answered (or the connection gone). */
  get settled(): boolean {
    return this.stats.answered === this.stats.submitted || !this.connected;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.stop();
    this.timer = undefined;
    this.line?.destroy('miner stopped');
  }

  request(method: string, params: unknown[]): Promise<{ result: unknown; error: { code: number; message: string } | null }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { method, resolve });
      if (!this.line || !this.line.send(encodeRequest(id, method, params))) {
        this.pending.delete(id);
        resolve({ result: null, error: { code: -1, message: 'not connected' } });
      }
    });
  }

  /** Hash up to `budget` nonces on the current job, submitting every share found. */
  step(budget: number): void {
    if (!this.job || !this.prepared || !this.connected) return;
    for (let i = 0; i < budget; i++) {
      if (!this.header || this.nonce > 0xffffffff) this.nextExtranonce2();
      const header = this.header!;
      header.writeUInt32LE(this.nonce, 76);
      const hash = sha256d(header).reverse();
      this.stats.hashes++;
      if (Buffer.compare(hash, this.target) <= 0) this.submitCurrent();
      this.nonce++;
    }
  }

  private en2Hex(): string {
    return this.en2.toString(16).padStart(this.extranonce2Size * 2, '0').slice(-this.extranonce2Size * 2);
  }

  private nextExtranonce2(): void {
    const job = this.prepared!;
    this.en2++;
    this.nonce = 0;
    const coinbase = Buffer.concat([job.coinb1, Buffer.from(this.extranonce1, 'hex'), Buffer.from(this.en2Hex(), 'hex'), job.coinb2]);
    const root = merkleRoot(sha256d(coinbase), job.branches);
    let version = job.version;
    if (this.versionMask) {
      // Roll through the mask's bits (BIP310): different versions, same merkle root.
      this.roll = (this.roll + 0x2000) & this.versionMask;
      version = ((job.version & ~this.versionMask) | this.roll) >>> 0;
    }
    this.header = buildHeader({ version, prevHash: job.prevHash, merkleRoot: root, ntime: job.ntime, nbits: job.nbits, nonce: 0 });
  }

  private submitCurrent(): void {
    const job = this.job!;
    const params: unknown[] = [this.o.worker, job.jobId, this.en2Hex(), job.ntime, hex32(this.nonce)];
    if (this.versionMask) params.push(hex32(this.header!.readUInt32LE(0) & this.versionMask));
    this.stats.submitted++;
    void this.request('mining.submit', params).then((r) => {
      if (r.error?.code === -1) return; // connection gone: not an answer
      this.stats.answered++;
      if (r.error === null && r.result === true) this.stats.accepted++;
      else {
        const code = r.error?.code ?? 0;
        this.stats.rejected[code] = (this.stats.rejected[code] ?? 0) + 1;
      }
    });
  }

  private onMessage(m: RpcMessage): void {
    if (m.kind === 'response') {
      const p = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
      if (!p) {
        this.stats.unexpectedReplies++;
        return;
      }
      this.pending.delete(m.id as number);
      p.resolve({ result: m.result, error: m.error });
      return;
    }
    switch (m.method) {
      case 'mining.notify': {
        const g = parseNotify(m.params);
        if (!g.ok) return void this.stats.messages.push(`bad notify: ${g.message}`);
        this.job = g.value;
        this.prepared = prepareJob(g.value);
        this.header = undefined;
        this.stats.jobs++;
        if (g.value.cleanJobs) this.stats.cleanJobs++;
        this.stats.lastJobAtMs = this.clock.now();
        this.stats.lastJobId = g.value.jobId;
        return;
      }
      case 'mining.set_difficulty': {
        const g = parseSetDifficulty(m.params);
        if (g.ok) {
          this.stats.difficulty = g.value;
          this.target = targetBytes(targetForDifficulty(g.value));
        }
        return;
      }
      case 'mining.set_extranonce': {
        const g = parseSetExtranonce(m.params);
        if (!g.ok) return void this.stats.messages.push(`bad set_extranonce: ${g.message}`);
        this.extranonce1 = g.value.extranonce1;
        this.extranonce2Size = g.value.extranonce2Size;
        this.header = undefined;
        this.en2 = 0;
        this.stats.extranonceChanges++;
        return;
      }
      case 'mining.set_version_mask': {
        const g = parseSetVersionMask(m.params);
        if (!g.ok) return void this.stats.messages.push(`bad set_version_mask: ${g.message}`);
        this.versionMask = (g.value & (this.o.versionRollingMask ?? 0)) >>> 0;
        this.header = undefined;
        this.stats.versionMask = this.versionMask;
        return;
      }
      case 'client.show_message':
        this.stats.messages.push(readShowMessage(m.params));
        return;
      case 'client.reconnect':
        this.stats.reconnectsAsked++;
        if (this.o.followReconnect ?? true) {
          this.line?.destroy('asked to reconnect');
          this.clock.setTimeout(() => {
            if (!this.stopped) this.start().catch((e: Error) => this.stats.messages.push(`reconnect failed: ${e.message}`));
          }, 20);
        }
        return;
      default:
        this.stats.messages.push(`unknown method ${m.method}`);
    }
  }
}
