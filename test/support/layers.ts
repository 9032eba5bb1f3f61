import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * The layers of src/, lowest first (ARCHITECTURE.md draws the same table). A
 * module may import its own folder and any folder of a strictly lower layer;
 * anything else is an upward or sideways import. Top-level files are named one
 * by one: the leaves every layer may use, and the composition roots above all.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['clock.ts', 'errors.ts', 'redact.ts', 'worker-path.ts'],
  ['wire', 'observability', 'vardiff'],
  ['net', 'shares'],
  ['config'],
  ['fleet', 'power'],
  ['upstream', 'scheduler', 'miner'],
  ['server', 'whatif', 'demo'],
  ['operator'],
  ['proxy.ts'],
  ['site.ts'],
  ['commands'],
  ['cli.ts'],
];

/** An import edge between two units of src/ (a folder, or a top-level file). */
export interface ImportEdge {
  from: string;
  to: string;
  /** One file and specifier that makes the edge, for the message. */
  example: string;
}

const SPEC = /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** The unit a path under `srcDir` belongs to: its first folder, or its own name at the top. */
export function unitOf(srcDir: string, file: string): string {
  const parts = relative(srcDir, file).split(sep);
  if (parts.length > 1) return parts[0]!;
  // a `.js` specifier names a `.ts` or `.cts` source
  return parts[0]!.replace(/\.js$/, '.ts').replace(/\.cjs$/, '.cts');
}

/** Every edge between different units, read from the relative imports under `srcDir`. */
export function importEdges(srcDir: string): ImportEdge[] {
  const root = resolve(srcDir);
  const edges = new Map<string, ImportEdge>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|cts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts')) {
        const from = unitOf(root, p);
        const text = readFileSync(p, 'utf8');
        for (const m of text.matchAll(SPEC)) {
          const spec = (m[1] ?? m[2])!;
          const target = resolve(dirname(p), spec);
          if (!target.startsWith(root + sep)) continue;
          const to = unitOf(root, target);
          if (to === from || edges.has(`${from}>${to}`)) continue;
          edges.set(`${from}>${to}`, { from, to, example: `${relative(root, p)} imports ${spec}` });
        }
      }
    }
  };
  walk(root);
  return [...edges.values()];
}

/** One line per import that does not point strictly down the layer table, or names an unknown unit. */
export function layerViolations(edges: readonly ImportEdge[], layers: readonly (readonly string[])[] = LAYERS): string[] {
  const rank = new Map<string, number>();
  layers.forEach((units, i) => units.forEach((u) => rank.set(u, i)));
  const out: string[] = [];
  const unknown = new Set<string>();
  for (const e of edges) {
    for (const u of [e.from, e.to]) {
      if (!rank.has(u) && !unknown.has(u)) {
        unknown.add(u);
        out.push(`${u}: not in the layer table (test/support/layers.ts); add it to the layer it belongs to`);
      }
    }
    const a = rank.get(e.from);
    const b = rank.get(e.to);
    if (a === undefined || b === undefined) continue;
    if (b >= a) out.push(`${e.from} (layer ${a}) -> ${e.to} (layer ${b}): ${b === a ? 'sideways' : 'upward'} import, ${e.example}`);
  }
  return out;
}

/** The cycles between units (strongly connected components of more than one unit). */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  let i = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, i);
    low.set(v, i++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) cycles.push(c.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return cycles;
}
