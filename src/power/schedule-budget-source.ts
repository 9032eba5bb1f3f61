import { readFile } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import { InputError } from '../errors.js';
import { BaseBudgetSource } from './budget-source.js';
import { parseTrace, traceSpanMs, traceValueAt, type Interpolation, type Trace } from './trace-parse.js';

export interface ScheduleOptions {
  interpolation: Interpolation;
  /** Replay speed: 60 = one trace minute per second (demo). */
  speed: number;
  loop: boolean;
  ttlS: number;
  /** How often the value is re-evaluated, ms of wall (clock) time. */
  pollMs?: number;
}

/**
 * Budget from a forecast or a recorded day. Relative traces (minutes) start
 * when the source starts; absolute traces (timestamps) follow the clock at
 * speed 1, and are replayed from their first timestamp otherwise. Past the
 * end of a trace that does not loop the source falls silent, and the budget
 * guard's hold and fail-safe apply, as for any source that stops.
 */
export class ScheduleBudgetSource extends BaseBudgetSource {
  readonly name: string;
  private timer: NodeJS.Timeout | undefined;
  private startMs = 0;
  private lastKw: number | undefined;
  private lastAtMs = -Infinity;

  constructor(
    private readonly trace: Trace,
    private readonly opts: ScheduleOptions,
    clock: Clock,
    label = 'schedule',
  ) {
    super(clock);
    this.name = label;
  }

  static async fromFile(file: string, opts: ScheduleOptions, clock: Clock): Promise<ScheduleBudgetSource> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new InputError(`budget.file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return new ScheduleBudgetSource(parseTrace(text, file), opts, clock);
  }

  /** Trace time (the points' time base) at clock time `nowMs`; undefined once a non-looping trace is over. */
  traceTimeAt(nowMs: number): number | undefined {
    const pts = this.trace.points;
    const first = pts[0]!.tMs;
    const realTime = this.trace.timeBase === 'absolute' && this.opts.speed === 1 && !this.opts.loop;
    let t = realTime ? nowMs : first + (nowMs - this.startMs) * this.opts.speed;
    if (this.opts.loop) t = first + ((t - first) % traceSpanMs(pts));
    else if (t >= first + traceSpanMs(pts)) return undefined;
    return t;
  }

  protected async onStart(): Promise<void> {
    this.startMs = this.clock.now();
    this.lastKw = undefined;
    this.evaluate();
    this.timer = setInterval(() => this.evaluate(), this.opts.pollMs ?? 1000);
    this.timer.unref?.();
  }

  protected async onStop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
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
      this.publish(kw, ttlMs);
    }
  }
}
