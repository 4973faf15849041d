// Where the Electron executable is, found without running electron's own index.js: `require('electron')`
// downloads the binary when it is missing, which on machines without network access fails slowly and noisily.
// Used by `npm start` (launch.mjs) and the Electron end-to-end spec (to skip with a reason when absent).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** @returns {{ path: string, why: null } | { path: null, why: string }} */
export function findElectronBinary(env = process.env) {
  const require = createRequire(import.meta.url);
  let dir;
  try {
    dir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return { path: null, why: 'the electron package is not installed (run npm ci)' };
  }
  // The same lookup as node_modules/electron/index.js, minus the download.
  const pathFile = path.join(dir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const full = path.join(env.ELECTRON_OVERRIDE_DIST_PATH, relative || 'electron');
    return existsSync(full) ? { path: full, why: null } : { path: null, why: `ELECTRON_OVERRIDE_DIST_PATH names ${full}, which does not exist` };
  }
  if (!relative) {
    return { path: null, why: 'its binary was never downloaded (dependencies were installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1)' };
  }
  const full = path.join(dir, 'dist', relative);
  return existsSync(full) ? { path: full, why: null } : { path: null, why: `its binary ${full} is missing` };
}
