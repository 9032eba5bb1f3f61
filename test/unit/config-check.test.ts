/**
 * Issue 13, "validate everything before binding anything": the problems the
 * schema cannot see alone (duplicate units, an exposed API without a token,
 * unknown models) are listed beside the schema's own, every one at once; the
 * fleet CSV (`fleet.import`) names file:line and column; discover's ranges.
 */
import { describe, expect, it } from 'vitest';
import { configProblems, formatProblems, resolveConfig } from '../../src/config/load.js';
import { mergeFleet, parseFleetCsv } from '../../src/config/fleet-import.js';
import { fleetCsv, fleetYaml, numberToIp, parseCidr, scanRange, type FoundDevice } from '../../src/fleet/discover.js';

const pools = [{ url: 'stratum+tcp://127.0.0.1:3333', user: 'acct' }];
const unit = (id: string, worker: string, model = 'generic') => ({ id, worker, model });

describe('configProblems', () => {
  it.each([
    [{ pools, fleet: { miners: [unit('a', 'w1'), unit('a', 'w2')] } }, /^fleet\.miners\[1\]\.id: duplicate id "a" \(first at fleet\.miners\[0\]\)/],
    [{ pools, fleet: { miners: [unit('a', 'w'), unit('b', 'w')] } }, /^fleet\.miners\[1\]\.worker: duplicate worker "w"/],
    [{ pools, http: { listen: '0.0.0.0:8080' } }, /^http\.listen: "0\.0\.0\.0:8080" is not a loopback address; set http\.token/],
    [{ pools, pool: { url: 'x' } }, /^unknown key pool \(did you mean pools\?\); allowed: listen, pools,/],
  ])('%j: %s', (raw, pattern) => {
    expect(configProblems(raw)[0]).toMatch(pattern);
    expect(() => resolveConfig(raw)).toThrow(pattern.source.replace(/^\^/, '') ? new RegExp(pattern.source.slice(1)) : pattern);
  });

  it('lists every problem at once, unknown keys first, and never echoes a secret', () => {
    const raw = {
      pool: [],
      listen: 'nope',
      http: { listen: '10.0.0.5:8080', token: 'short' },
      fleet: { miners: [unit('a', 'w1', 'antminer'), unit('a', 'w2')] },
    };
    const problems = configProblems(raw, { noPools: 'no pool configured' });
    expect(problems[0]).toMatch(/^unknown key pool/);
    expect(problems).toContain('no pool configured');
    expect(problems.some((p) => /^listen: must be "host:port".*, got "nope"$/.test(p))).toBe(true);
    expect(problems.some((p) => p.startsWith('http.token:') && !p.includes('short'))).toBe(true);
    expect(problems.some((p) => p.startsWith('fleet.miners[0].model: unknown model "antminer"'))).toBe(true);
    expect(problems.some((p) => p.startsWith('fleet.miners[1].id: duplicate id'))).toBe(true);
    // The token is set (if short): the loopback rule is not what is wrong.
    expect(problems.some((p) => p.startsWith('http.listen'))).toBe(false);
    expect(formatProblems(problems).split('\n')[0]).toBe(`invalid configuration (${problems.length} problems):`);
    expect(formatProblems(['x: y'])).toBe('invalid configuration: x: y');
  });

  it('accepts a loopback API without a token and a token-protected exposed one', () => {
    expect(configProblems({ pools, http: { listen: '127.0.0.1:8080' } })).toEqual([]);
    expect(configProblems({ pools, http: { listen: '0.0.0.0:8080', token: 'long-enough-token' } })).toEqual([]);
  });
});

describe('fleet.import CSV', () => {
  it('reads units with the header naming the columns, in any order, with quotes, comments and blank lines', () => {
    const csv = parseFleetCsv('\uFEFF# site A\nworker,id,model,api,priority\r\nsite.r1,r1,avalon-a1566ha,10.0.1.1:4028,2\n\n"site.r2",r2,generic,,\n', 'fleet.csv');
    expect(csv.problems).toEqual([]);
    expect(csv.units).toEqual([
      { line: 3, miner: { id: 'r1', worker: 'site.r1', model: 'avalon-a1566ha', api: '10.0.1.1:4028', priority: 2 } },
      { line: 5, miner: { id: 'r2', worker: 'site.r2', model: 'generic', priority: 0 } },
    ]);
  });

  it.each([
    ['', /^f\.csv: empty; the first line must be the header id,worker,model,api,priority$/],
    ['id,worker\na,b\n', /^f\.csv:1: header: missing column model; allowed: id, worker, model, api, priority/],
    ['id,worker,model,ip\n', /^f\.csv:1: header: unknown column "ip"; allowed/],
    ['id,worker,model,api\na,w,generic,10.0.0.1\n', /^f\.csv:2: column api: must be "host:port".*, got "10\.0\.0\.1"$/],
    ['id,worker,model\na,w\n', /^f\.csv:2: 2 fields, the header has 3 \(id,worker,model\)$/],
    ['id,worker,model\n,w,generic\n', /^f\.csv:2: column id: /],
    ['id,worker,model\n"a,w,generic\n', /^f\.csv:2: a quote is not closed$/],
    ['id,worker,model,priority\na,w,generic,high\n', /^f\.csv:2: column priority: /],
  ])('%j: %s', (text, pattern) => {
    expect(parseFleetCsv(text, 'f.csv').problems[0]).toMatch(pattern);
  });

  it('merges with fleet.miners; an id or worker in both (or twice in the file) is a problem naming both places', () => {
    const csv = parseFleetCsv('id,worker,model\nb,wb,generic\na,wx,generic\nc,wb,generic\nd,wd,generic\n', 'f.csv');
    const merged = mergeFleet([unit('a', 'wa')], csv, 'f.csv');
    expect(merged.miners.map((m) => (m as { id: string }).id)).toEqual(['a', 'b', 'd']);
    expect(merged.problems).toEqual([
      'f.csv:3: column id: duplicate id "a" (already at fleet.miners[0])',
      'f.csv:4: column worker: duplicate worker "wb" (already at f.csv:2)',
    ]);
  });
});

describe('discover ranges and output', () => {
  it.each([
    ['10.0.1.0/24', '10.0.1.1', '10.0.1.254'],
    ['10.0.1.77/24', '10.0.1.1', '10.0.1.254'],
    ['127.0.0.8/30', '127.0.0.9', '127.0.0.10'],
    ['127.0.0.8/31', '127.0.0.8', '127.0.0.9'],
    ['192.168.5.9', '192.168.5.9', '192.168.5.9'],
    ['10.1.0.0/16', '10.1.0.1', '10.1.255.254'],
  ])('%s probes %s .. %s', (cidr, first, last) => {
    const r = parseCidr(cidr);
    expect([numberToIp(r.first), numberToIp(r.last)]).toEqual([first, last]);
  });

  it.each([
    ['10.0.0.0/15', /has 131072 addresses; the largest range probed at once is a \/16/],
    ['0.0.0.0/0', /largest range probed at once is a \/16/],
    ['10.0.0.256/24', /must be an IPv4 CIDR such as 10\.0\.1\.0\/24, got "10\.0\.0\.256\/24"/],
    ['10.0.0.0/33', /must be an IPv4 CIDR/],
    ['fe80::/64', /must be an IPv4 CIDR/],
    ['10.0.0.0/24/1', /must be an IPv4 CIDR/],
  ])('refuses %s', (cidr, pattern) => {
    expect(() => parseCidr(cidr)).toThrow(pattern);
  });

  it('keeps at most `concurrency` probes in flight and returns the devices in address order', async () => {
    let inFlight = 0;
    let most = 0;
    const found = await scanRange(parseCidr('10.0.0.0/28'), { port: 4028, timeoutMs: 100, concurrency: 3 }, async (host) => {
      most = Math.max(most, ++inFlight);
      // Later addresses answer sooner: the output must still be in address order.
      await new Promise<void>((r) => queueMicrotask(r));
      inFlight--;
      return host.endsWith('.3') || host.endsWith('.12') ? { host, port: 4028, match: { profile: 'generic', exact: false } } : undefined;
    });
    expect(most).toBe(3);
    expect(found.map((f) => f.host)).toEqual(['10.0.0.3', '10.0.0.12']);
  });

  it('prints YAML and CSV that fleet.import and the schema accept', () => {
    const devices: FoundDevice[] = [
      { host: '10.0.0.3', port: 4028, identity: { product: 'AvalonMiner 15-194', model: '15-194', firmware: '24102401_x"#' }, match: { profile: 'avalon-a1566', family: 'A1566', exact: true } },
      { host: '10.0.0.4', port: 4029, match: { profile: 'generic', exact: false } },
    ];
    const csv = parseFleetCsv(fleetCsv(devices), 'out.csv');
    expect(csv.problems).toEqual([]);
    expect(csv.units.map((u) => u.miner)).toEqual([
      { id: 'm-10-0-0-3', worker: 'm-10-0-0-3', model: 'avalon-a1566', api: '10.0.0.3:4028', priority: 0 },
      { id: 'm-10-0-0-4-4029', worker: 'm-10-0-0-4-4029', model: 'generic', api: '10.0.0.4:4029', priority: 0 },
    ]);
    const yaml = fleetYaml(devices, 'header');
    expect(yaml).toContain('# PROD AvalonMiner 15-194, MODEL 15-194, firmware 24102401_x\n');
    expect(yaml).toContain('# no version information, no exact profile: check model');
  });
});
