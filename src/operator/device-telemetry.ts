import type { Clock } from '../clock.js';
import type { DeviceApi, DeviceStatus } from '../fleet/control.js';
import type { CommandView } from './snapshots.js';

/** Where command latencies go (SiteMetrics implements it). */
export interface CommandObserver {
  observeCommand(command: string, seconds: number): void;
}

export interface DeviceReading {
  status: DeviceStatus;
  atMs: number;
}

/** The most recent failed command or status read of a unit (kept after it recovers: the operator wants to know). */
export interface DeviceFailure {
  command: string;
  /** One line, at most 200 characters (device text reaches the page only through this bound). */
  message: string;
  atMs: number;
}

/**
 * Wraps each unit's DeviceApi so the operator surface sees what the
 * scheduler's own commands and status reads produced, without a second
 * poller hitting the devices: command latency (to the histogram), sent and
 * failed counts, and the last status each unit reported.
 */
export class DeviceTelemetry {
  private sent = 0;
  private failed = 0;
  private lastLatencyMs: number | null = null;
  private readonly readings = new Map<string, DeviceReading>();
  private readonly failing = new Set<string>();
  private readonly lastErrors = new Map<string, DeviceFailure>();

  constructor(
    private readonly clock: Clock,
    /** Settable after construction: the metrics may be built after the drivers. */
    public observer?: CommandObserver,
  ) {}

  /** A DeviceApi that behaves exactly like `api` and reports to this telemetry. */
  wrap(unitId: string, api: DeviceApi): DeviceApi {
    const timed = <T>(command: string, run: () => Promise<T>): Promise<T> => this.time(unitId, command, run);
    return {
      softOff: (atUnixS) => timed('softoff', () => api.softOff(atUnixS)),
      softOn: (atUnixS) => timed('softon', () => api.softOn(atUnixS)),
      setWorkmode: (mode) => timed('workmode', () => api.setWorkmode(mode)),
      readStatus: async () => {
        const status = await timed('status', () => api.readStatus());
        this.readings.set(unitId, { status, atMs: this.clock.now() });
        return status;
      },
      close: () => api.close(),
      // Passed through so the scheduler can ask what the device is (fleet/control.ts).
      ...(api.identify ? { identify: () => api.identify!() } : {}),
    };
  }

  /** The unit's last successful status read; undefined before the first. */
  reading(unitId: string): DeviceReading | undefined {
    return this.readings.get(unitId);
  }

  /** The unit's most recent failure, if any ever happened. */
  lastError(unitId: string): DeviceFailure | undefined {
    return this.lastErrors.get(unitId);
  }

  /** True while the unit's most recent command or status read failed. */
  isFailing(unitId: string): boolean {
    return this.failing.has(unitId);
  }

  view(): CommandView {
    return { sent: this.sent, failed: this.failed, lastLatencyMs: this.lastLatencyMs };
  }

  private async time<T>(unitId: string, command: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    this.sent += 1;
    try {
      const out = await run();
      this.failing.delete(unitId);
      return out;
    } catch (err) {
      this.failed += 1;
      this.failing.add(unitId);
      const message = (err instanceof Error ? err.message : 'failed').replace(/\s+/g, ' ').slice(0, 200);
      this.lastErrors.set(unitId, { command, message, atMs: this.clock.now() });
      throw err;
    } finally {
      const ms = performance.now() - started;
      this.lastLatencyMs = ms;
      this.observer?.observeCommand(command, ms / 1000);
    }
  }
}
