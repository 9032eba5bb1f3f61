import { InputError, PeerError } from '../errors.js';
import { deviceDetails, parseAvalonStats, toDeviceStatus, type AvalonStats, type PowerLayout } from './avalon-stats.js';
import { identityFromVer, matchProfile, parseVersionReply, type DeviceIdentity, type ProfileMatch } from './avalon-version.js';
import { CgminerClient, DeviceAccessDeniedError, DeviceRefusedError, type CgminerAnswer, type CgminerClientOptions } from './cgminer-client.js';
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
 * - identity: `version` (PROD/MODEL/firmware), else the state string's `Ver[...]`.
 * The parameter is a string; a JSON array fails on the firmware ("Missing device id parameter").
 *
 * An `ascset` answered I/118 is success only when its text is not an error:
 * firmware that returns the handler's text as "set info" also returns its
 * "Unknown option"/"Invalid ..." texts that way, and an option it does not
 * know may be answered with its help list.
 */

export interface AvalonDriverOptions extends CgminerClientOptions {
  /** `set` sends `0,workmode,set,<n>`; `bare` sends `0,workmode,<n>` (A10 manual). Default `set`. */
  workmodeStyle?: 'set' | 'bare';
  /** Where this model keeps wall power in PS[] (default index 6; null: nowhere). */
  powerLayout?: PowerLayout;
}

/** Who the device says it is, and the profile that fits. */
export interface DeviceIdentification {
  identity?: DeviceIdentity;
  match: ProfileMatch;
  /** Which reply said it: `version`, or the state string's `Ver[...]`. */
  source: 'version' | 'stats' | 'none';
}

/** Error texts a firmware may return as I/118 "set info: <text>". */
const SET_INFO_ERROR = /unknown option|invalid|fail|error|not support|unsupported|missing|out of range|not allowed|denied|busy/i;

export class AvalonDriver implements DeviceApi {
  readonly client: CgminerClient;
  private readonly workmodeStyle: 'set' | 'bare';
  private readonly powerLayout: PowerLayout;
  /** Elapsed of the last status read, to see a restart. */
  private lastElapsedS: number | undefined;

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
    this.powerLayout = options.powerLayout ?? {};
  }

  get address(): string {
    return this.client.address;
  }

  async softOff(atUnixS: number): Promise<void> {
    checkTime('softOff', atUnixS);
    this.checkSet('softoff', await this.client.request('ascset', `0,softoff,1:${atUnixS}`));
  }

  async softOn(atUnixS: number): Promise<void> {
    checkTime('softOn', atUnixS);
    this.checkSet('softon', await this.client.request('ascset', `0,softon,1:${atUnixS}`, { allowCloseWithoutReply: true }));
  }

  async setWorkmode(mode: number): Promise<void> {
    if (!Number.isInteger(mode) || mode < 0 || mode > 255) throw new InputError(`setWorkmode: mode must be an integer 0..255, got ${mode}`);
    const parameter = this.workmodeStyle === 'set' ? `0,workmode,set,${mode}` : `0,workmode,${mode}`;
    this.checkSet('workmode', await this.client.request('ascset', parameter));
  }

  /**
   * The device's state as the scheduler sees it. `notes` say what the reply
   * could not (no wall-power reading, a module missing); `restarted` marks the
   * first read after the device's uptime went back (a reboot or power cut).
   */
  async readStatus(): Promise<DeviceStatus> {
    const stats = await this.readStats();
    const status = toDeviceStatus(stats);
    status.details = deviceDetails(stats);
    const before = this.lastElapsedS;
    if (stats.elapsedS !== undefined) {
      this.lastElapsedS = stats.elapsedS;
      if (before !== undefined && stats.elapsedS < before) {
        status.restarted = true;
        status.notes = [...(status.notes ?? []), `device restarted: uptime ${stats.elapsedS} s after ${before} s at the previous read`];
      }
    }
    return status;
  }

  /** Reads `version` (or, without one, the state string's `Ver[...]`) and picks the profile; never fails on an unknown model. */
  async identify(available?: readonly string[]): Promise<DeviceIdentification> {
    let versionReason: string | undefined;
    try {
      const answer = await this.client.request('version', undefined, { idempotent: true });
      const identity = parseVersionReply(answer.reply!.body);
      if (identity && (identity.product !== undefined || identity.model !== undefined)) return { identity, match: matchProfile(identity, available), source: 'version' };
      versionReason = 'the version reply has no PROD or MODEL';
    } catch (err) {
      if (!(err instanceof DeviceRefusedError) || err instanceof DeviceAccessDeniedError) throw err;
      versionReason = err.message;
    }
    const identity = identityFromVer((await this.readStats()).version);
    const match = matchProfile(identity, available);
    if (!identity) return { match: { ...match, warning: `${match.warning} (${versionReason}; no Ver[...] in the device state)` }, source: 'none' };
    return { identity, match, source: 'stats' };
  }

  /** The full parsed state string (power supply, MPO, fans, SoftOffTime...). */
  async readStats(): Promise<AvalonStats> {
    let firstReason: string;
    try {
      const answer = await this.client.request('estats', undefined, { idempotent: true });
      const parsed = parseAvalonStats(answer.reply!.body, this.powerLayout);
      if (parsed.ok) return parsed.stats;
      firstReason = parsed.reason;
    } catch (err) {
      // Only a device that answered "no" to estats gets the fallback; I/O failures and a
      // refused host (stats would be refused alike) propagate.
      if (!(err instanceof DeviceRefusedError) || err instanceof DeviceAccessDeniedError) throw err;
      firstReason = err.message;
    }
    const answer = await this.client.request('stats', undefined, { idempotent: true });
    const parsed = parseAvalonStats(answer.reply!.body, this.powerLayout);
    if (parsed.ok) return parsed.stats;
    throw new PeerError(`${this.address}: no device state in estats (${firstReason}) or stats (${parsed.reason})`);
  }

  close(): void {
    this.client.close();
  }

  /** An I/118 "set info" whose text is an error (or the help list) is a refusal, not a success. */
  private checkSet(option: string, answer: CgminerAnswer): void {
    const s = answer.status;
    if (!s || s.status !== 'I') return;
    const text = (s.msg ?? '').replace(/^ASC \d+ set (?:info|help):\s*/i, '');
    // The help reply is a "|"-separated option list ("help|voltage|fan-spd|...").
    const helpList = text.includes('|');
    if (/^success\b/i.test(text) || (!SET_INFO_ERROR.test(text) && !helpList)) return;
    const why = helpList ? `the firmware answered with its option list, so it does not know "${option}"` : 'the text is an error';
    throw new DeviceRefusedError(`${this.address}: "ascset" ${option} refused: STATUS I/${s.code ?? '?'} ${JSON.stringify((s.msg ?? '').slice(0, 200))} (${why})`, s);
  }
}

function checkTime(name: string, atUnixS: number): void {
  // Unix seconds, integral: the firmware parses "1:<t>" with an integer conversion.
  if (!Number.isInteger(atUnixS) || atUnixS <= 0) throw new InputError(`${name}: atUnixS must be a positive integer (Unix seconds), got ${atUnixS}`);
}
