import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../observability/logger.js';
import type { BudgetReading } from '../power/budget-source.js';
import type { FleetState } from './fleet-state.js';
import { DAY_MS } from './policy-wear.js';

/**
 * Persisted scheduler state (issue 7): per unit on/off, mode, since, the
 * last command and the switch-ons of the last 24 h (the wear budget spent), so a restart while half the fleet is curtailed resumes the
 * plan instead of switching everything back on at once. Encoding, decoding
 * and applying are pure; `StateStore` is the I/O edge. A save is atomic
 * (temp file, fsync, rename, fsync of the directory), so a crash leaves
 * either the old file or the new one, never a torn one. A missing or corrupt
 * file is logged and ignored: the scheduler then starts as it would without
 * one.
 */

export const STATE_VERSION = 1;

const finiteOrNull = z.number().finite().nullable();

/** Switch-ons kept per unit: far above any wear budget (minOnS + minOffS bound a day's count), a cap on the file. */
const MAX_ONS = 10_000;

const unitSchema = z.strictObject({
  id: z.string().min(1).max(256),
  on: z.boolean(),
  /** Mode name (names survive a reordering of the configured modes; indices would not). */
  mode: z.string().max(256),
  /** When `on` last changed, ms on the scheduler clock; null when unknown. */
  sinceMs: finiteOrNull,
  changedAtMs: finiteOrNull,
  lastCommand: z.strictObject({ action: z.string().max(32), atMs: z.number().finite() }).nullable(),
  /**
   * The unit's switch-ons in the 24 h before the save (the wear budget spent, policy-wear.ts), so a
   * restart does not hand every unit a fresh day's cycles. Absent in files written before it.
   */
  onsMs: z.array(z.number().finite()).max(MAX_ONS).optional(),
});

/**
 * The last budget reading and its expiry (issue 12 item 5): a restart resumes it (live within its
 * TTL, then held, then the fail-safe) instead of starting blind. `ttlMs` null: never expires.
 */
const budgetSchema = z.strictObject({
  kw: z.number().finite().min(0),
  atMs: z.number().finite(),
  ttlMs: z.number().finite().positive().nullable(),
  source: z.string().min(1).max(64),
});

const stateSchema = z.strictObject({
  version: z.literal(STATE_VERSION),
  savedAtMs: z.number().finite(),
  units: z.array(unitSchema).max(1_000_000),
  /** Absent in files written before issue 12, or when no reading had arrived. */
  budget: budgetSchema.optional(),
});

export type PersistedUnit = z.infer<typeof unitSchema>;
export type PersistedState = z.infer<typeof stateSchema>;

export type DecodedState = { ok: true; state: PersistedState } | { ok: false; reason: string };

const orNull = (ms: number): number | null => (Number.isFinite(ms) ? ms : null);

/** Snapshot of the fleet as the loop last commanded it. */
export function captureState(
  fleet: FleetState,
  nowMs: number,
  lastCommands: ReadonlyMap<string, { action: string; atMs: number }> = new Map(),
  reading?: BudgetReading,
): PersistedState {
  return {
    version: STATE_VERSION,
    savedAtMs: nowMs,
    ...(reading ? { budget: { kw: reading.kw, atMs: reading.atMs, ttlMs: Number.isFinite(reading.ttlMs) ? reading.ttlMs : null, source: reading.source.slice(0, 64) } } : {}),
    units: fleet.units.map((u) => ({
      id: u.id,
      on: u.on,
      mode: u.modes[u.mode]!.name,
      sinceMs: orNull(u.sinceMs),
      changedAtMs: orNull(u.changedAtMs),
      lastCommand: lastCommands.get(u.id) ?? null,
      ...(u.onsMs && u.onsMs.length > 0 ? { onsMs: u.onsMs.filter((t) => t > nowMs - DAY_MS).slice(-MAX_ONS) } : {}),
    })),
  };
}

export function encodeState(state: PersistedState): string {
  return JSON.stringify(state) + '\n';
}

/** Validates a state file's text. Never throws. */
export function decodeState(text: string): DecodedState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const r = stateSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    return { ok: false, reason: `${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  return { ok: true, state: r.data };
}

/** The persisted budget reading as a reading again (its original time and TTL), if the file has one. */
export function restoredReading(state: PersistedState): BudgetReading | undefined {
  const b = state.budget;
  if (!b) return undefined;
  return Object.freeze({ kw: b.kw, atMs: b.atMs, ttlMs: b.ttlMs ?? Infinity, source: b.source });
}

export interface ApplyResult {
  /** Units whose state was restored. */
  restored: string[];
  /** Units restored as off (the loop re-asserts their fail-safe). */
  off: string[];
  /** Why some entries were not applied (unit no longer configured, unknown mode). */
  skipped: string[];
}

/**
 * Puts persisted state into a freshly built fleet. A unit persisted off stays
 * off *since its recorded time*, so minOffS still holds it and its return is
 * subject to the ramp limit, as if the process had never stopped. Times in
 * the future (a clock that stepped back) are clamped to now.
 */
export function applyState(fleet: FleetState, state: PersistedState, nowMs: number): ApplyResult {
  const out: ApplyResult = { restored: [], off: [], skipped: [] };
  const clamp = (ms: number | null): number => (ms === null ? -Infinity : Math.min(ms, nowMs));
  for (const p of state.units) {
    const u = fleet.byId.get(p.id);
    if (!u) {
      out.skipped.push(`${p.id}: not in the fleet config any more`);
      continue;
    }
    const mode = u.modes.findIndex((m) => m.name === p.mode);
    if (mode < 0) out.skipped.push(`${p.id}: mode "${p.mode}" unknown; keeping ${u.modes[u.mode]!.name}`);
    // A Stratum-only unit cannot be told a mode; it keeps the one the fleet assumed.
    else if (u.lever === 'api') u.mode = mode;
    u.on = p.on;
    u.sinceMs = clamp(p.sinceMs);
    u.changedAtMs = clamp(p.changedAtMs);
    // Cycles spent in the last 24 h stay spent across a restart (issue 12 item 2).
    if (p.onsMs) u.onsMs = p.onsMs.map((t) => Math.min(t, nowMs)).filter((t) => t > nowMs - DAY_MS).sort((a, b) => a - b);
    out.restored.push(u.id);
    if (!u.on) out.off.push(u.id);
  }
  return out;
}

/** The file side: atomic save, forgiving load. One save in flight; a newer one replaces a queued one. */
export class StateStore {
  private writing: Promise<void> | undefined;
  private queued: PersistedState | undefined;
  private seq = 0;
  saves = 0;
  saveFailures = 0;

  constructor(
    readonly file: string,
    private readonly logger: Logger,
  ) {}

  /** The persisted state, or undefined (missing or corrupt: logged, never thrown). */
  async load(): Promise<PersistedState | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') this.logger.info({ file: this.file }, 'no scheduler state file yet: starting fresh');
      else this.logger.warn({ file: this.file, err: code ?? (err as Error).message }, 'scheduler state file unreadable: starting fresh');
      return undefined;
    }
    const d = decodeState(text);
    if (!d.ok) {
      this.logger.warn({ file: this.file, reason: d.reason }, 'scheduler state file corrupt: ignored, starting fresh');
      return undefined;
    }
    return d.state;
  }

  /** Queues a save; resolves once this state (or a newer one) is on disk. Failures are logged and counted. */
  save(state: PersistedState): Promise<void> {
    this.queued = state;
    if (!this.writing) {
      this.writing = this.drain().finally(() => {
        this.writing = undefined;
      });
    }
    return this.writing;
  }

  /** Waits for any save in flight (e.g. before exit). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.queued) {
      const s = this.queued;
      this.queued = undefined;
      try {
        await this.writeAtomic(encodeState(s));
        this.saves++;
      } catch (err) {
        this.saveFailures++;
        this.logger.error({ file: this.file, err: (err as Error).message }, 'scheduler state not saved');
      }
    }
  }

  private async writeAtomic(text: string): Promise<void> {
    const dir = dirname(this.file);
    await mkdir(dir, { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}-${++this.seq}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    // fsync the directory so the rename itself survives a power cut (POSIX).
    const d = await open(dir, 'r').catch(() => undefined);
    if (d) {
      await d.sync().catch(() => undefined);
      await d.close();
    }
  }
}
