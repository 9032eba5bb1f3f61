import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { importCycles, importEdges, layerViolations } from '../support/layers.js';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../../src');

describe('the layers of src/ (ARCHITECTURE.md)', () => {
  it('has no import cycle between folders', () => {
    expect(importCycles(importEdges(SRC))).toEqual([]);
  });

  it('has no upward or sideways import, and every folder is in the layer table', () => {
    expect(layerViolations(importEdges(SRC))).toEqual([]);
  });
});

describe('the layer check itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'surplus-layers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  write('wire/a.ts', "import type { B } from '../net/b.js';\nexport type A = 1;\n");
  write('net/b.ts', "import type { A } from '../wire/a.js';\nexport type B = A;\n");
  write('shares/c.ts', "import { x } from '../errors.js';\nimport type { Z } from '../mystery/z.js';\nexport const c = x;\n");
  write('errors.ts', 'export const x = 1;\n');
  write('mystery/z.ts', "const m = await import('../site.js');\nexport type Z = typeof m;\n");
  write('site.ts', 'export {};\n');

  it('finds a cycle and names its folders', () => {
    expect(importCycles(importEdges(dir))).toEqual([['net', 'wire']]);
  });

  it('reports an upward import with the file that makes it, a sideways one, and an unknown folder', () => {
    const v = layerViolations(importEdges(dir));
    expect(v).toContain('wire (layer 1) -> net (layer 2): upward import, wire/a.ts imports ../net/b.js');
    expect(v.some((l) => l.startsWith('mystery: not in the layer table'))).toBe(true);
    expect(v.some((l) => l.startsWith('shares (layer 2) -> errors.ts'))).toBe(false);
    const sideways = layerViolations([{ from: 'upstream', to: 'scheduler', example: 'upstream/x.ts imports ../scheduler/y.js' }]);
    expect(sideways).toEqual(['upstream (layer 5) -> scheduler (layer 5): sideways import, upstream/x.ts imports ../scheduler/y.js']);
  });
});
