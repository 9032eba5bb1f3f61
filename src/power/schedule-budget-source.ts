import { readFile } from 'node:fs/promises';
import { every, type Clock, type Repeater } from '../clock.js';
import { ConfigError, InputError } from '../errors.js';
import { BaseBudgetSource } from './budget-source.js';
import { parseTrace, traceSpanMs, traceValueAt, type Interpolation, type Trace } from './trace-parse.js';
import { isValidTimeZone } from './trace-time.js';

export interface ScheduleOptions {
  interpolation: Interpolation;
  /** Replay speed: 60 = one trace minute per second (demo). */
  speed: number;
  loop: boolean;
  ttlS: number;
  /** How often the value is re-evaluated, ms of wall (clock) time. */
  pollMs?: number;
  /** IANA zone of file timestamps written without an offset (`budget.timezone`); UTC without it. */
  timeZone?: string | undefined;
}

/**
 * Budget from a forecast or a recorded day. Relative traces (minutes) start
 * when the source starts; absolute traces (timestamps) follow the clock at
 * speed 1, and are replayed from their first timestamp otherwise. Before the
 * first point there is no reading (the guard's fail-safe applies). The last
 * point's value lasts one more interval (the spacing before it); there a trace
 * that does not loop ends: its readings' TTL is cut to end with it, so the
 * guard holds the last value for `holdLastS` and then applies the fail-safe,
 * as for any source that stops. A day-ahead schedule never runs on stale.
 */
export class ScheduleBudgetSource extends BaseBudgetSource {
  readonly name: string;
  private timer: Repeater | undefined;
  private startMs = 0;
  private lastKw: number | undefined;
  private lastAtMs = -Infinity;
  /** What the parser accepted but changed (negative values, reordering): for the log. */
  readonly warnings: readonly string[];

  constructor(
    private readonly trace: Trace,
    private readonly opts: ScheduleOptions,
    clock: Clock,
    label = 'schedule',
  ) {
    super(clock);
    this.name = label;
    this.warnings = trace.warnings ?? [];
  }

  static async fromFile(file: string, opts: ScheduleOptions, clock: Clock): Promise<ScheduleBudgetSource> {
    if (opts.timeZone !== undefined && !isValidTimeZone(opts.timeZone)) {
      throw new ConfigError(`budget.timezone: unknown time zone "${opts.timeZone}"; use an IANA name such as "Europe/Berlin" or "UTC"`);
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new InputError(`budget.file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return new ScheduleBudgetSource(parseTrace(text, file, opts.timeZone !== undefined ? { timeZone: opts.timeZone } : {}), opts, clock);
  }

  /** Trace time (the points' time base) at clock time `nowMs`; undefined once a non-looping trace is over. */
  traceTimeAt(nowMs: number): number | undefined {
    const pts = this.trace.points;
    const first = pts[0]!.tMs;
    let t = this.realTime() ? nowMs : first + (nowMs - this.startMs) * this.opts.speed;
    if (this.opts.loop) t = first + ((t - first) % traceSpanMs(pts));
    else if (t >= first + traceSpanMs(pts)) return undefined;
    return t;
  }

  /** Clock time (ms) at which a non-looping trace ends; Infinity when it loops. */
  endsAtMs(): number {
    if (this.opts.loop) return Infinity;
    const pts = this.trace.points;
    const end = pts[0]!.tMs + traceSpanMs(pts);
    return this.realTime() ? end : this.startMs + (end - pts[0]!.tMs) / this.opts.speed;
  }

  /** For a trace that follows the clock (absolute, speed 1, no loop): the clock times it covers. */
  realTimeWindow(): { fromMs: number; toMs: number } | undefined {
    return this.realTime() ? { fromMs: this.trace.points[0]!.tMs, toMs: this.endsAtMs() } : undefined;
  }

  /** Absolute traces at speed 1 follow the clock itself. */
  private realTime(): boolean {
    return this.trace.timeBase === 'absolute' && this.opts.speed === 1 && !this.opts.loop;
  }

  protected async onStart(): Promise<void> {
    this.startMs = this.clock.now();
    this.lastKw = undefined;
    this.evaluate();
    this.timer = every(this.clock, this.opts.pollMs ?? 1000, () => this.evaluate()).unref();
  }

  protected async onStop(): Promise<void> {
    this.timer?.stop();
    this.timer = undefined;
  }

  private evaluate(): void {
    const now = this.clock.now();
    const t = this.traceTimeAt(now);
    if (t === undefined) return;
    const kw = traceValueAt(this.trace.points, t, this.opts.interpolation);
    if (kw === undefined) return;
    const ttlMs = this.opts.ttlS * 1000;
    // Publish changes at once; otherwise refresh before the reading's TTL runs out.
    if (kw !== this.lastKw || now - this.lastAtMs >= ttlMs / 2) {
      this.lastKw = kw;
      this.lastAtMs = now;
      // No reading outlives the schedule: past its end the guard's hold and fail-safe take over.
      this.publish(kw, Math.max(1, Math.min(ttlMs, Math.ceil(this.endsAtMs() - now))));
    }
  }
}
