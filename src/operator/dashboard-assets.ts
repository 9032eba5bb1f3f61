import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';

export interface Asset {
  contentType: string;
  body: Buffer;
}

/**
 * The dashboard's files, read once at start and served from memory: the page
 * and its scripts from `public/` (two levels up from both `src/observability/`
 * and `dist/observability/`), uPlot from the installed package (no CDN: the
 * dashboard works on a site with no internet).
 */
export async function loadDashboardAssets(publicDir = fileURLToPath(new URL('../../public/', import.meta.url))): Promise<Map<string, Asset>> {
  const require = createRequire(import.meta.url);
  const files: Array<[string, string, string]> = [
    ['/', `${publicDir}/index.html`, 'text/html; charset=utf-8'],
    ['/dashboard.js', `${publicDir}/dashboard.js`, 'text/javascript; charset=utf-8'],
    ['/dashboard-format.js', `${publicDir}/dashboard-format.js`, 'text/javascript; charset=utf-8'],
    ['/miner-table.js', `${publicDir}/miner-table.js`, 'text/javascript; charset=utf-8'],
    ['/dashboard.css', `${publicDir}/dashboard.css`, 'text/css; charset=utf-8'],
  ];
  try {
    files.push(['/vendor/uPlot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8']);
    files.push(['/vendor/uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8']);
  } catch (err) {
    throw new ConfigError(`dashboard: cannot find the uplot package (is it installed?): ${(err as Error).message}`, { cause: err });
  }
  const assets = new Map<string, Asset>();
  for (const [route, file, contentType] of files) {
    try {
      assets.set(route, { contentType, body: await readFile(file) });
    } catch (err) {
      throw new ConfigError(`dashboard: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  }
  return assets;
}
