/**
 * Loads the optional N-API addon built from native/ at install time. Any
 * failure (not built, wrong ABI, missing file) is reported as a value so the
 * caller can fall back to pure JS.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's exports (native/src/addon.c). */
export interface NativeAddon {
  /** impl 0 = best available (SHA-NI when present), 1 = portable C. */
  checkBatch(ctx: Uint8Array, shares: Uint8Array, count: number, out: Uint8Array, impl?: 0 | 1): void;
  readonly shaNi: boolean;
}

/**
 * A file of the repository: relative to this module (the same from src/ and
 * dist/), else relative to the working directory (benchmarks compiled to a
 * scratch outDir run from the repo root).
 */
export function repoFile(rel: string): string {
  const here = fileURLToPath(new URL(`../../../${rel}`, import.meta.url));
  if (existsSync(here)) return here;
  const cwd = resolve(rel);
  return existsSync(cwd) ? cwd : here;
}

/** Where `npm install` (node-gyp rebuild -C native) leaves the addon. */
export const DEFAULT_ADDON_PATH = repoFile('native/build/Release/surplus_hash.node');

const require = createRequire(import.meta.url);

export function loadNativeAddon(path: string = DEFAULT_ADDON_PATH): { addon: NativeAddon } | { error: string } {
  try {
    const mod = require(path) as Partial<NativeAddon>;
    if (typeof mod.checkBatch !== 'function' || typeof mod.shaNi !== 'boolean') {
      return { error: `${path} does not export checkBatch and shaNi` };
    }
    return { addon: mod as NativeAddon };
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0] ?? 'unknown error' };
  }
}
