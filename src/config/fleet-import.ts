/**
 * `fleet.import`: a site's inventory as CSV (issue 13, "fleet onboarding"),
 * one unit a line, merged with `fleet.miners`. The parser is pure (text in,
 * units and problems out); every problem names file:line and the column.
 *
 *   id,worker,model,api
 *   r01-s01,site.r01s01,avalon-a1566ha,10.0.1.11:4028
 *
 * The header is required (it says which column is which); `api` and
 * `priority` may be left out or empty. Quoted fields ("a,b") are read as in
 * RFC 4180, without line breaks inside quotes.
 */
import { minerSchema, type MinerConfig } from './schema.js';

/** Columns a fleet CSV may have; the first three are required. */
export const FLEET_CSV_COLUMNS = ['id', 'worker', 'model', 'api', 'priority'] as const;
const REQUIRED = ['id', 'worker', 'model'] as const;

/** Bounds applied before any row is looked at: a site has hundreds to a few thousand units. */
export const FLEET_CSV_MAX_BYTES = 4 * 1024 * 1024;
export const FLEET_CSV_MAX_ROWS = 100_000;

export interface FleetCsv {
  /** Valid rows, each with the line it came from. */
  units: Array<{ line: number; miner: MinerConfig }>;
  /** One line per problem: `file:line: column X: what is wrong`. */
  problems: string[];
}

/** Splits one CSV line into fields; undefined when a quote is left open. */
function splitCsvLine(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return undefined;
        field += line.slice(i, q);
        i = q + 1;
        if (line[i] === '"') {
          field += '"';
          i++;
        } else break;
      }
      const comma = line.indexOf(',', i);
      field += (comma < 0 ? line.slice(i) : line.slice(i, comma)).trim();
      i = comma < 0 ? line.length + 1 : comma + 1;
    } else {
      const comma = line.indexOf(',', i);
      field = (comma < 0 ? line.slice(i) : line.slice(i, comma)).trim();
      i = comma < 0 ? line.length + 1 : comma + 1;
    }
    out.push(field);
    if (i > line.length) return out;
  }
}

const short = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);

/** Parses a fleet CSV; `file` is only used in messages. */
export function parseFleetCsv(text: string, file: string): FleetCsv {
  const problems: string[] = [];
  const units: FleetCsv['units'] = [];
  if (text.length > FLEET_CSV_MAX_BYTES) return { units, problems: [`${file}: larger than ${FLEET_CSV_MAX_BYTES} bytes; split the fleet`] };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let headerAt = lines.findIndex((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  if (headerAt < 0) return { units, problems: [`${file}: empty; the first line must be the header ${FLEET_CSV_COLUMNS.join(',')}`] };
  const header = (splitCsvLine(lines[headerAt]!) ?? []).map((h) => h.toLowerCase());
  const known = new Set<string>(FLEET_CSV_COLUMNS);
  const bad = header.filter((h) => !known.has(h));
  const missing = REQUIRED.filter((r) => !header.includes(r));
  if (bad.length > 0 || missing.length > 0) {
    const what = [
      ...bad.map((b) => `unknown column ${short(b)}`),
      ...(missing.length > 0 ? [`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`] : []),
    ];
    return { units, problems: [`${file}:${headerAt + 1}: header: ${what.join('; ')}; allowed: ${FLEET_CSV_COLUMNS.join(', ')} (id, worker, model required)`] };
  }
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup) return { units, problems: [`${file}:${headerAt + 1}: header: column ${dup} appears twice`] };
  headerAt++;
  let rows = 0;
  for (let n = headerAt; n < lines.length; n++) {
    const raw = lines[n]!;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const where = `${file}:${n + 1}`;
    if (++rows > FLEET_CSV_MAX_ROWS) {
      problems.push(`${where}: more than ${FLEET_CSV_MAX_ROWS} units; split the fleet`);
      break;
    }
    const fields = splitCsvLine(raw);
    if (!fields) {
      problems.push(`${where}: a quote is not closed`);
      continue;
    }
    if (fields.length !== header.length) {
      problems.push(`${where}: ${fields.length} fields, the header has ${header.length} (${header.join(',')})`);
      continue;
    }
    const row: Record<string, unknown> = {};
    header.forEach((h, i) => {
      const v = fields[i]!;
      if (v === '' && (h === 'api' || h === 'priority')) return;
      row[h] = h === 'priority' ? (/^-?\d+$/.test(v) ? Number(v) : v) : v;
    });
    const r = minerSchema.safeParse(row);
    if (!r.success) {
      for (const issue of r.error.issues) {
        const col = String(issue.path[0] ?? '?');
        const value = typeof row[col] === 'string' ? `, got ${short(row[col])}` : '';
        problems.push(`${where}: column ${col}: ${issue.message}${value}`);
      }
      continue;
    }
    units.push({ line: n + 1, miner: r.data });
  }
  return { units, problems };
}

/**
 * Appends the CSV's units to `existing` (fleet.miners). A unit whose id or
 * worker is already taken, in the file or the list, is a problem naming both
 * places, and is left out: the operator fixes one of the two.
 */
export function mergeFleet(existing: readonly unknown[], csv: FleetCsv, file: string): { miners: unknown[]; problems: string[] } {
  const problems = [...csv.problems];
  const ids = new Map<string, string>();
  const workers = new Map<string, string>();
  existing.forEach((m, i) => {
    const r = m !== null && typeof m === 'object' ? (m as Record<string, unknown>) : {};
    if (typeof r['id'] === 'string' && !ids.has(r['id'])) ids.set(r['id'], `fleet.miners[${i}]`);
    if (typeof r['worker'] === 'string' && !workers.has(r['worker'])) workers.set(r['worker'], `fleet.miners[${i}]`);
  });
  const miners = [...existing];
  for (const { line, miner } of csv.units) {
    const where = `${file}:${line}`;
    const idAt = ids.get(miner.id);
    const workerAt = workers.get(miner.worker);
    if (idAt) problems.push(`${where}: column id: duplicate id "${miner.id}" (already at ${idAt})`);
    if (workerAt) problems.push(`${where}: column worker: duplicate worker "${miner.worker}" (already at ${workerAt})`);
    if (idAt || workerAt) continue;
    ids.set(miner.id, where);
    workers.set(miner.worker, where);
    miners.push(miner);
  }
  return { miners, problems };
}
