/**
 * `surplus discover` (issue 13, fleet onboarding): which addresses of a range
 * answer the cgminer API, and what each device says it is. The range and the
 * output are pure; the probe reads only (`version`, else the state string's
 * `Ver[...]`) through the same AvalonDriver the scheduler uses, so a device
 * is identified here exactly as it will be at run time.
 */
import { InputError } from '../errors.js';
import { AvalonDriver } from './avalon-driver.js';
import type { DeviceIdentity } from './avalon-version.js';
import type { DeviceModelMatch } from './control.js';

/** Largest range probed at once: a /16 (65,536 addresses). */
export const DISCOVER_MIN_PREFIX = 16;

export interface Ipv4Range {
  /** First and last address probed, as 32-bit numbers. */
  first: number;
  last: number;
  prefix: number;
}

const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipToNumber(ip: string): number | undefined {
  const m = ipv4.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function numberToIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * "10.0.1.0/24" (or one address, a /32). Ranges wider than a /16 are refused;
 * from /30 down the network and broadcast addresses are skipped (no host has them).
 */
export function parseCidr(text: string): Ipv4Range {
  const [ip, bits, extra] = text.trim().split('/');
  const base = ipToNumber(ip ?? '');
  const prefix = bits === undefined ? 32 : /^\d{1,2}$/.test(bits) ? Number(bits) : NaN;
  if (base === undefined || extra !== undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new InputError(`--range must be an IPv4 CIDR such as 10.0.1.0/24, got ${JSON.stringify(text.slice(0, 60))}`);
  }
  if (prefix < DISCOVER_MIN_PREFIX) {
    throw new InputError(`--range ${text} has ${2 ** (32 - prefix)} addresses; the largest range probed at once is a /${DISCOVER_MIN_PREFIX} (65536): split it`);
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (base & mask) >>> 0;
  const broadcast = (network | (~mask >>> 0)) >>> 0;
  if (prefix <= 30) return { first: network + 1, last: broadcast - 1, prefix };
  return { first: network, last: broadcast, prefix };
}

/** One device that answered. */
export interface FoundDevice {
  host: string;
  port: number;
  identity?: DeviceIdentity;
  match: DeviceModelMatch;
}

export interface ProbeOptions {
  port: number;
  /** Connect and reply timeout per host, ms. */
  timeoutMs: number;
  /** Profiles the output may name (default: the built-ins). */
  profiles?: readonly string[];
}

/** Asks one address; undefined when nothing cgminer-like answers there. */
export async function probeHost(host: string, opts: ProbeOptions): Promise<FoundDevice | undefined> {
  const driver = new AvalonDriver({ host, port: opts.port, connectTimeoutMs: opts.timeoutMs, replyTimeoutMs: opts.timeoutMs, settleMs: Math.min(500, opts.timeoutMs), readRetries: 0, maxReplyBytes: 256 * 1024 });
  try {
    const id = await driver.identify(opts.profiles);
    return { host, port: opts.port, ...(id.identity ? { identity: id.identity } : {}), match: id.match };
  } catch {
    return undefined;
  } finally {
    driver.client.close();
  }
}

export interface ScanOptions extends ProbeOptions {
  /** Probes in flight at once. */
  concurrency: number;
  /** Called after each address (for progress). */
  onProbed?: (done: number, total: number) => void;
}

/** Probes every address of the range with bounded concurrency; results in address order. */
export async function scanRange(range: Ipv4Range, opts: ScanOptions, probe: (host: string) => Promise<FoundDevice | undefined> = (h) => probeHost(h, opts)): Promise<FoundDevice[]> {
  const total = range.last - range.first + 1;
  const found: Array<FoundDevice | undefined> = [];
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      found[i] = await probe(numberToIp(range.first + i));
      opts.onProbed?.(++done, total);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, total)) }, worker));
  return found.filter((f): f is FoundDevice => f !== undefined);
}

/** An id from the address: stable across runs and unique within a site. */
export function unitId(d: FoundDevice): string {
  return `m-${d.host.replace(/\./g, '-')}${d.port === 4028 ? '' : `-${d.port}`}`;
}

const apiOf = (d: FoundDevice): string => `${d.host}:${d.port}`;

/** What the device said, for a comment beside its entry (quotes and line breaks removed). */
function said(d: FoundDevice): string {
  const clean = (s: string): string => s.replace(/[^\x20-\x7e]/g, '').replace(/["#]/g, '').slice(0, 60);
  const parts: string[] = [];
  if (d.identity?.product) parts.push(`PROD ${clean(d.identity.product)}`);
  if (d.identity?.model) parts.push(`MODEL ${clean(d.identity.model)}`);
  if (d.identity?.firmware) parts.push(`firmware ${clean(d.identity.firmware)}`);
  if (parts.length === 0) parts.push('no version information');
  if (!d.match.exact) parts.push('no exact profile: check model');
  return parts.join(', ');
}

/**
 * `fleet:` YAML for the config file. The worker name is a placeholder: the
 * Stratum worker each miner authorizes with is set on the miner, and the
 * API does not say which one surplus will see.
 */
export function fleetYaml(devices: readonly FoundDevice[], header: string): string {
  const lines = [
    `# ${header}`,
    '# worker: set each to the Stratum worker name that miner authorizes with (its pool user).',
    'fleet:',
    devices.length === 0 ? '  miners: []' : '  miners:',
  ];
  for (const d of devices) {
    const id = unitId(d);
    lines.push(`    - { id: ${id}, worker: ${id}, model: ${d.match.profile}, api: "${apiOf(d)}" }  # ${said(d)}`);
  }
  return lines.join('\n') + '\n';
}

/** The CSV `fleet.import` reads. */
export function fleetCsv(devices: readonly FoundDevice[]): string {
  return ['id,worker,model,api', ...devices.map((d) => `${unitId(d)},${unitId(d)},${d.match.profile},${apiOf(d)}`)].join('\n') + '\n';
}
