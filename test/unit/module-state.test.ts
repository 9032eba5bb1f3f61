/**
 * No module-level mutable state in the product (issue 14 item 2): state is
 * owned by an instance that a composition root (proxy.ts, site.ts, a
 * command, a worker entry) creates. test/support/module-state.ts finds
 * module-level `let`, `new Map/Set/WeakMap/...` singletons and empty literals
 * in src/; each one allowed below says why.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { moduleState, moduleStateOf } from '../support/module-state.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** `file name` -> why it may stay. A finding not listed fails; an entry that finds nothing fails too (remove it). */
const ALLOWED: Record<string, string> = {
  // True constants
  'shares/hashing/hex-record.ts NIBBLE': 'a lookup table (hex digit -> value) filled once while the module loads and only read after',
  // Composition roots
  'shares/hashing/hash-worker.cts batcher': "the hash worker thread's composition root: the thread's one HashBatcher, set once when hash-batch.js has loaded",
  // Pending: in files other engineers own this session (issue 14); each says where the state should go.
};

describe('module-level state in src/', () => {
  const found = moduleState(SRC);

  it('none, apart from the constants, roots and pending items allowed (each with its reason)', () => {
    const unexpected = found.filter((f) => !(`${f.file} ${f.name}` in ALLOWED)).map((f) => `src/${f.file}:${f.line} ${f.name} is ${f.what}; give it an owner (an instance a composition root creates) or, for a true constant, a Readonly type`);
    expect(unexpected).toEqual([]);
  });

  it('every allow-list entry still finds its state (remove the entry when the state is gone)', () => {
    const keys = new Set(found.map((f) => `${f.file} ${f.name}`));
    expect(Object.keys(ALLOWED).filter((k) => !keys.has(k))).toEqual([]);
  });
});

describe('the module-state finder', () => {
  it.each([
    ['let cache;', 'a module-level let'],
    ['var n = 0;', 'a module-level var'],
    ['const m = new Map<string, number>();', 'a module-level const holding new Map'],
    ['export const w = new WeakMap<object, number>();', 'a module-level const holding new WeakMap'],
    ['const scratch = new Int32Array(16);', 'a module-level const holding new Int32Array'],
    ['const T = new Int8Array(128).fill(-1);', 'a module-level const holding new Int8Array'],
    ['const fmt = new Intl.DateTimeFormat("en-US");', 'a module-level const holding new Intl.DateTimeFormat'],
    ['const list: number[] = [];', 'a module-level const holding an empty array'],
    ['const seen = {} as Record<string, true>;', 'a module-level const holding an empty object'],
    ['class A { static count = 0; }', 'a static field that is not readonly'],
    ['class A { static readonly all = new Set<string>(); }', 'a static field holding new Set'],
  ])('%s: %s', (text, what) => {
    expect(moduleStateOf(text).map((f) => f.what)).toEqual([what]);
  });

  it.each([
    'const N = 4;',
    "const NAMES: ReadonlySet<string> = new Set(['a', 'b']);",
    "const BY: ReadonlyMap<string, number> = new Map([['a', 1]]);",
    "const KINDS = ['a', 'b'] as const;",
    'export const DEFAULTS = { threads: 2 };',
    'function f() { let x = 0; const m = new Map(); return [x, m]; }',
    'class A { private readonly m = new Map(); static readonly N = 3; }',
    "const P = fileURLToPath(new URL('../x', import.meta.url));",
  ])('not state: %s', (text) => {
    expect(moduleStateOf(text)).toEqual([]);
  });
});
