/**
 * `surplus discover --range CIDR`: probe the cgminer API port of every address
 * in the range (bounded concurrency, a timeout per host) and print the devices
 * found as `fleet.miners` YAML, or as the CSV `fleet.import` reads (--csv).
 * Read-only: only `version` / `estats` / `stats` are sent.
 */
import { InputError } from '../errors.js';
import { fleetCsv, fleetYaml, parseCidr, scanRange } from '../fleet/discover.js';
import { parseArgs } from './args.js';

const FLAGS = {
  range: { type: 'string' },
  port: { type: 'number' },
  'timeout-ms': { type: 'number' },
  concurrency: { type: 'number' },
  csv: { type: 'boolean' },
} as const;

export async function run(args: string[]): Promise<number> {
  const { flags, positional } = parseArgs(args, FLAGS);
  if (positional.length > 0) throw new InputError(`unexpected argument "${positional[0]}"; the addresses are given with --range CIDR`);
  const text = flags['range'];
  if (typeof text !== 'string') throw new InputError('option --range CIDR is required (e.g. --range 10.0.1.0/24)');
  const range = parseCidr(text);
  const port = (flags['port'] as number | undefined) ?? 4028;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InputError(`option --port must be an integer 1..65535, got ${port}`);
  const timeoutMs = (flags['timeout-ms'] as number | undefined) ?? 1500;
  if (!(timeoutMs >= 50 && timeoutMs <= 60_000)) throw new InputError(`option --timeout-ms must be in 50..60000 ms, got ${timeoutMs}`);
  const concurrency = (flags['concurrency'] as number | undefined) ?? 64;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) throw new InputError(`option --concurrency must be an integer 1..1024, got ${concurrency}`);

  const started = Date.now();
  const total = range.last - range.first + 1;
  const devices = await scanRange(range, { port, timeoutMs, concurrency });
  const header = `surplus discover --range ${text} --port ${port}: ${devices.length} device${devices.length === 1 ? '' : 's'} of ${total} addresses`;
  process.stdout.write(flags['csv'] ? fleetCsv(devices) : fleetYaml(devices, header));
  process.stderr.write(`${header} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  return 0;
}
