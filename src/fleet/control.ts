/**
 * Contracts between the scheduler and the levers it pulls. The scheduler
 * knows only these interfaces; the Avalon driver and the proxy implement them.
 */

/** Implemented by the proxy: Stratum-level fail-safe for miners with no (working) device API. */
export interface StratumLever {
  /**
   * Stop sending new jobs to this worker's connections; after `graceS`
   * disconnect them (staggered) and refuse their reconnection until `release`.
   */
  withhold(worker: string, graceS: number): void;
  /** Let the worker back in and send it the current job with clean_jobs. */
  release(worker: string): void;
  /** The worker's planned hashrate changed: retarget its difficulty before the shares do. */
  expectHashrate(worker: string, ths: number): void;
  /** True while at least one connection authorized as this worker is open. */
  isConnected(worker: string): boolean;
}

/** What a device reports about itself (cgminer `estats`/`stats` on Avalon). */
export interface DeviceStatus {
  /** Measured wall power, W (Avalon WALLPOWER or PS[6]); undefined when not reported. */
  wallPowerW?: number;
  workmode?: number;
  /** SoftOFF[n] != 0. */
  softOff: boolean;
  state: 'init' | 'working' | 'idle' | 'fault' | 'unknown';
  /** Current hashrate (GHSspd / MHS 30s / MHS 5s), TH/s. */
  hashrateThs?: number;
  /**
   * What the report could not say, for the operator (e.g. no wall-power
   * reading: the unit counts at its model's nominal draw). Absent when none.
   */
  notes?: string[];
  /** Present (true) on the first report after the device restarted (its uptime went back). */
  restarted?: true;
  /** What the operator looks at per unit (dashboard, /api/miners, /metrics); absent fields were not reported. */
  details?: DeviceDetails;
}

/** Per-unit health as the device reports it (issue 13: temperature, fans, uptime, firmware). */
export interface DeviceDetails {
  /** Hottest chip/board temperature, °C (Avalon TMax, the maximum over modules). */
  tempMaxC?: number;
  /** Inlet/ambient temperature, °C (Avalon Temp or ITemp). */
  inletC?: number;
  /** Every fan, rpm (Avalon Fan1..FanN over all modules). */
  fansRpm?: number[];
  /** Seconds since the miner software started (cgminer Elapsed). */
  uptimeS?: number;
  /** Firmware as the device names it (Avalon Ver[...]), at most 80 characters. */
  firmware?: string;
}

/** What a device says it is, mapped to a miner profile (avalon-version.ts). */
export interface DeviceModelMatch {
  /** The profile that fits: the model's when known and available, else `generic`. */
  profile: string;
  /** The model family recognised (`A1566`, `Q`, `Nano 3`), if any. */
  family?: string;
  /** True when the device was recognised and its profile is available. */
  exact: boolean;
  /** Why the generic profile is used, for the operator. */
  warning?: string;
}

/** Implemented by device drivers (Avalon cgminer API on TCP 4028). */
export interface DeviceApi {
  /** Schedule a soft-off at `atUnixS` (Avalon needs a time a few seconds ahead). */
  softOff(atUnixS: number): Promise<void>;
  softOn(atUnixS: number): Promise<void>;
  setWorkmode(mode: number): Promise<void>;
  readStatus(): Promise<DeviceStatus>;
  /** Which model the device says it is (optional: drivers that can ask). Never fails on an unknown model. */
  identify?(): Promise<{ match: DeviceModelMatch }>;
  close(): void;
}
