import { fileURLToPath } from 'node:url';

/**
 * Worker threads must load compiled JS under Node 20 (no TypeScript loader).
 * When the caller itself runs from `src/*.ts` (vitest), point at the same file
 * under `dist/`; `npm test` builds first, so it is fresh.
 */
export function compiledSibling(fileName: string, metaUrl: string): string {
  const here = fileURLToPath(new URL(fileName, metaUrl));
  if (/[\\/]src[\\/]/.test(here) && !metaUrl.endsWith('.js')) {
    return toJs(here.replace(/([\\/])src([\\/])(?!.*[\\/]src[\\/])/, '$1dist$2'));
  }
  return toJs(here);
}

/** `.ts` compiles to `.js`, `.cts` to `.cjs`. */
function toJs(path: string): string {
  return path.replace(/\.(c?)ts$/, '.$1js');
}
