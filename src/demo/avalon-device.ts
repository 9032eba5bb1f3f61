import type { Clock } from '../clock.js';
import { DeviceApiServer, type ApiAction, type DeviceApiServerOptions } from './device-api-server.js';
import { DevicePowerModel, type DeviceModelParams, type DeviceSample } from '../fleet/device-model.js';
import {
  devsReply,
  parseAscset,
  statsReply,
  statusOnly,
  summaryReply,
  versionReply,
  type SimIdentity,
  type SimSnapshot,
} from './avalon-device-replies.js';

/**
 * A simulated Avalon: a cgminer API server on 127.0.0.1 answering like the
 * A1566 capture, backed by the pure DevicePowerModel and an injected clock.
 * One request per connection, reply + NUL, then close, as the firmware does.
 *
 * Time: the model is sampled at `clock.now()`. With a ManualClock nothing
 * moves by itself; call `tick()` (or SimDeviceFleet.tick()) after advancing
 * the clock so `onChange` listeners see the new output. Every command also
 * ticks.
 */

/**
 * Fault injection for reliability tests: `hang` reads and never answers;
 * `garbage` prefixes every reply with the `,"id":1}` fragment some Avalons
 * send; `close` closes every connection without replying (nothing is
 * applied); `refuse` stops listening, so connects are refused.
 */
export type SimFault = 'none' | 'hang' | 'garbage' | 'close' | 'refuse';

export interface AvalonSimOptions {
  id: string;
  params: DeviceModelParams;
  clock: Clock;
  /** Default: on, mode 0. */
  initial?: { on: boolean; modeIndex: number };
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  identity?: Partial<SimIdentity>;
  /** softoff success shape: `info` I/118 "set info: success softoff:<t>" (Q, default) or `ok` S/119 "set OK" (A1466). */
  softoffReply?: 'info' | 'ok';
  /** Close without replying after applying softon, as the A1466 does (asic-rs PR #223). */
  softonClosesWithoutReply?: boolean;
  fault?: SimFault;
  /** Drop a connection whose request is not complete after this long (real time), ms. Default 5000. */
  requestTimeoutMs?: number;
  /** Largest request accepted, bytes. Default 4096. */
  maxRequestBytes?: number;
}

export type ChangeListener = (sample: DeviceSample, device: AvalonSimDevice) => void;

export class AvalonSimDevice {
  readonly id: string;
  readonly model: DevicePowerModel;
  /** Requests answered (or swallowed by a fault), by command. */
  readonly requestCounts = new Map<string, number>();
  private readonly opts: AvalonSimOptions;
  private readonly server: DeviceApiServer;
  private readonly listeners = new Set<ChangeListener>();
  private readonly bootMs: number;
  private fault: SimFault;
  private last: DeviceSample;
  private hashThS = 0;
  private integratedTo: number;
  private integratedThs: number;

  private constructor(opts: AvalonSimOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.fault = opts.fault ?? 'none';
    const now = opts.clock.now();
    this.bootMs = now;
    this.integratedTo = now;
    this.model = new DevicePowerModel(opts.params, opts.initial ?? { on: true, modeIndex: 0 }, now);
    this.last = this.model.sample(now);
    this.integratedThs = this.last.ths;
    const serverOpts: DeviceApiServerOptions = {};
    if (opts.host !== undefined) serverOpts.host = opts.host;
    if (opts.requestTimeoutMs !== undefined) serverOpts.requestTimeoutMs = opts.requestTimeoutMs;
    if (opts.maxRequestBytes !== undefined) serverOpts.maxRequestBytes = opts.maxRequestBytes;
    this.server = new DeviceApiServer((req) => this.answer(req), serverOpts);
  }

  /** Create the device and start listening (unless the fault is `refuse`). */
  static async start(opts: AvalonSimOptions): Promise<AvalonSimDevice> {
    const dev = new AvalonSimDevice(opts);
    if (dev.fault !== 'refuse') await dev.server.listen(opts.port ?? 0);
    else dev.server.reservePort(opts.port ?? 0);
    return dev;
  }

  get port(): number {
    return this.server.port;
  }

  /** "host:port" for the driver (`fleet.miners[].api`). */
  get address(): string {
    return `${this.opts.host ?? '127.0.0.1'}:${this.server.port}`;
  }

  /** Current output at `clock.now()`. */
  sample(): DeviceSample {
    return this.model.sample(this.opts.clock.now());
  }

  /** Called whenever phase, kW, TH/s or mode changes (seen at a tick or a command). Returns an unsubscribe. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-sample at `clock.now()` and notify listeners if the output changed. */
  tick(): DeviceSample {
    const now = this.opts.clock.now();
    const s = this.integrate(now);
    const l = this.last;
    if (s.phase !== l.phase || s.kw !== l.kw || s.ths !== l.ths || s.modeIndex !== l.modeIndex) {
      this.last = s;
      for (const fn of this.listeners) fn(s, this);
    }
    return s;
  }

  /** When the output next changes (ramps sampled every `rampStepMs`, default 1 s). */
  nextChangeMs(rampStepMs = 1000): number | undefined {
    return this.model.nextChangeMs(this.opts.clock.now(), rampStepMs);
  }

  /** Switch fault injection at run time; `refuse` stops listening, leaving it listens on the same port again. */
  async setFault(fault: SimFault): Promise<void> {
    this.fault = fault;
    if (fault === 'refuse') await this.server.stopListening();
    else await this.server.listen();
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.server.close();
  }

  private answer(req: unknown): ApiAction {
    const now = this.opts.clock.now();
    const whenS = Math.floor((now - this.bootMs) / 1000);
    const command = isRequest(req) ? req.command : undefined;
    this.requestCounts.set(command ?? '(invalid)', (this.requestCounts.get(command ?? '(invalid)') ?? 0) + 1);
    if (this.fault === 'hang') return { kind: 'hang' };
    if (this.fault === 'close') return { kind: 'close' };
    this.integrate(now); // close the average's interval before a command changes the output
    let reply: string | undefined;
    if (command === undefined) {
      reply = statusOnly('E', 23, 'Invalid JSON', whenS);
    } else {
      const parameter = isRequest(req) && typeof req.parameter === 'string' ? req.parameter : undefined;
      reply = this.dispatch(command, parameter, now, whenS);
      this.tick();
    }
    if (reply === undefined) return { kind: 'close' };
    return { kind: 'reply', text: this.fault === 'garbage' ? `,"id":1}${reply}` : reply };
  }

  /** The reply text, or undefined to close without replying. */
  private dispatch(command: string, parameter: string | undefined, now: number, whenS: number): string | undefined {
    switch (command) {
      case 'estats':
      case 'stats':
      case 'litestats':
        return statsReply(this.snapshot(now, whenS));
      case 'devs':
        return devsReply(this.snapshot(now, whenS));
      case 'summary':
        return summaryReply(this.snapshot(now, whenS));
      case 'version':
        return versionReply(this.snapshot(now, whenS));
      case 'ascset':
        return this.ascset(parameter, now, whenS);
      default:
        return statusOnly('E', 14, 'Invalid command', whenS);
    }
  }

  private ascset(parameter: string | undefined, now: number, whenS: number): string | undefined {
    const cmd = parseAscset(parameter);
    switch (cmd.op) {
      case 'softoff':
        this.model.softOff(cmd.atS * 1000, now);
        return this.opts.softoffReply === 'ok' ? statusOnly('S', 119, 'ASC 0 set OK', whenS) : statusOnly('I', 118, `ASC 0 set info: success softoff:${cmd.atS}`, whenS);
      case 'softon':
        this.model.softOn(cmd.atS * 1000, now);
        if (this.opts.softonClosesWithoutReply) return undefined;
        return statusOnly('I', 118, `ASC 0 set info: success softon:${cmd.atS}`, whenS);
      case 'workmode': {
        const index = this.modeIndexFor(cmd.value);
        if (index < 0) return statusOnly('E', 120, `ASC 0 set failed: invalid workmode ${cmd.value}`, whenS);
        this.model.setMode(index, now);
        return statusOnly('S', 119, 'ASC 0 set OK', whenS);
      }
      case 'workmode-get':
        return statusOnly('I', 118, `ASC 0 set info: WORKMODE[${this.workmodeOf(this.model.sample(now).modeIndex)}]`, whenS);
      case 'error':
        return statusOnly('E', 120, `ASC 0 set failed: ${cmd.msg}`, whenS);
    }
  }

  private modeIndexFor(workmode: number): number {
    return this.opts.params.modes.findIndex((m, i) => (m.workmode ?? i) === workmode);
  }

  private workmodeOf(index: number): number {
    return this.opts.params.modes[index]?.workmode ?? index;
  }

  private snapshot(now: number, whenS: number): SimSnapshot {
    const sample = this.integrate(now);
    const mode = this.opts.params.modes[sample.modeIndex]!;
    const elapsedMs = now - this.bootMs;
    const id = this.opts.identity ?? {};
    return {
      sample,
      modeKw: mode.kw,
      modeThs: mode.ths,
      workmode: this.workmodeOf(sample.modeIndex),
      elapsedS: whenS,
      whenS,
      softOffReason: sample.phase === 'standby' ? 4 : 0,
      averageThs: elapsedMs > 0 ? this.hashThS / (elapsedMs / 1000) : sample.ths,
      identity: {
        prod: id.prod ?? 'AvalonMiner 15-194',
        model: id.model ?? '15-194',
        version: id.version ?? '15-194-24102401_25462b2_9ddf522',
        dna: id.dna ?? dnaFor(this.id),
        mac: id.mac ?? dnaFor(this.id).slice(4),
      },
    };
  }

  /**
   * Trapezoid integral of TH/s since the last call, for GHSavg / MHS av; an
   * approximation across ramps and steps, which is all an average needs.
   * Returns the sample at `now`.
   */
  private integrate(now: number): DeviceSample {
    const s = this.model.sample(now);
    if (now > this.integratedTo) {
      this.hashThS += ((this.integratedThs + s.ths) / 2) * ((now - this.integratedTo) / 1000);
      this.integratedTo = now;
    }
    this.integratedThs = s.ths;
    return s;
  }
}

function isRequest(v: unknown): v is { command: string; parameter?: unknown } {
  return typeof v === 'object' && v !== null && typeof (v as { command?: unknown }).command === 'string';
}

/** A stable fake DNA/MAC per device id (FNV-1a), so replies are reproducible. */
function dnaFor(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return `0201${h.toString(16).padStart(8, '0')}0000`;
}
