import { InputError, PeerError } from '../errors.js';
import { parseAvalonStats, toDeviceStatus, type AvalonStats } from './avalon-stats.js';
import { CgminerClient, DeviceRefusedError, type CgminerClientOptions } from './cgminer-client.js';
import type { DeviceApi, DeviceStatus } from './control.js';

/**
 * DeviceApi for Canaan Avalon miners (A10..A15, Q, Nano) over the cgminer API.
 *
 * Commands (test/fixtures/avalon/SOURCES.md):
 * - softoff: `ascset` `0,softoff,1:<unix s>`; answers I/118 "success softoff:<t>" (Q)
 *   or S/119 "set OK" (A1466, asic-rs PR #223). Both are success.
 * - softon: `0,softon,1:<unix s>`; same shapes, and the A1466 closes the
 *   connection without replying, which is success too. A refused connection or
 *   a timeout is not: the command may never have arrived.
 * - workmode: `0,workmode,set,<n>` (the brief's form; the A10 manual's older
 *   form is `0,workmode,<n>`, selectable with `workmodeStyle: 'bare'`).
 * - status: `estats`, falling back to `stats` when estats is refused or has no
 *   MM ID string (older firmware only has `stats`).
 * The parameter is a string; a JSON array fails on the firmware ("Missing device id parameter").
 */

export interface AvalonDriverOptions extends CgminerClientOptions {
  /** `set` sends `0,workmode,set,<n>`; `bare` sends `0,workmode,<n>` (A10 manual). Default `set`. */
  workmodeStyle?: 'set' | 'bare';
}

export class AvalonDriver implements DeviceApi {
  readonly client: CgminerClient;
  private readonly workmodeStyle: 'set' | 'bare';

  /**
   * Driver for a `fleet.miners[].api` address: "host:port" or "[v6]:port".
   * `options` carries timeouts and the metrics hook.
   */
  static fromAddress(api: string, options: Omit<AvalonDriverOptions, 'host' | 'port'> = {}): AvalonDriver {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(api);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) throw new InputError(`device api address must be "host:port" with port 1..65535, got ${JSON.stringify(api)}`);
    return new AvalonDriver({ ...options, host: m[1] ?? m[2]!, port });
  }

  constructor(options: AvalonDriverOptions) {
    this.client = new CgminerClient(options);
    this.workmodeStyle = options.workmodeStyle ?? 'set';
  }

  get address(): string {
    return this.client.address;
  }

  async softOff(atUnixS: number): Promise<void> {
    checkTime('softOff', atUnixS);
    await this.client.request('ascset', `0,softoff,1:${atUnixS}`);
  }

  async softOn(atUnixS: number): Promise<void> {
    checkTime('softOn', atUnixS);
    await this.client.request('ascset', `0,softon,1:${atUnixS}`, { allowCloseWithoutReply: true });
  }

  async setWorkmode(mode: number): Promise<void> {
    if (!Number.isInteger(mode) || mode < 0 || mode > 255) throw new InputError(`setWorkmode: mode must be an integer 0..255, got ${mode}`);
    const parameter = this.workmodeStyle === 'set' ? `0,workmode,set,${mode}` : `0,workmode,${mode}`;
    await this.client.request('ascset', parameter);
  }

  async readStatus(): Promise<DeviceStatus> {
    return toDeviceStatus(await this.readStats());
  }

  /** The full parsed state string (power supply, MPO, fans, SoftOffTime...). */
  async readStats(): Promise<AvalonStats> {
    let firstReason: string;
    try {
      const answer = await this.client.request('estats', undefined, { idempotent: true });
      const parsed = parseAvalonStats(answer.reply!.body);
      if (parsed.ok) return parsed.stats;
      firstReason = parsed.reason;
    } catch (err) {
      // Only a device that answered "no" to estats gets the fallback; I/O failures propagate.
      if (!(err instanceof DeviceRefusedError)) throw err;
      firstReason = err.message;
    }
    const answer = await this.client.request('stats', undefined, { idempotent: true });
    const parsed = parseAvalonStats(answer.reply!.body);
    if (parsed.ok) return parsed.stats;
    throw new PeerError(`${this.address}: no device state in estats (${firstReason}) or stats (${parsed.reason})`);
  }

  close(): void {
    this.client.close();
  }
}

function checkTime(name: string, atUnixS: number): void {
  // Unix seconds, integral: the firmware parses "1:<t>" with an integer conversion.
  if (!Number.isInteger(atUnixS) || atUnixS <= 0) throw new InputError(`${name}: atUnixS must be a positive integer (Unix seconds), got ${atUnixS}`);
}
