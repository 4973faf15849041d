// Bundles the Electron shell: main/electron/main.ts → dist/electron/main.cjs and main/electron/preload.ts →
// dist/electron/preload.cjs (`npm run build:electron`). Run from the repository root.
//
// - main.cjs bundles every dependency (electron-store and conf are ESM-only; bundling avoids require(esm))
//   except `electron` itself and @napi-rs/keyring, a native module resolved at run time from node_modules.
//   The sources are ESM and use `import.meta.url`, which CommonJS lacks, so it is defined from __filename.
// - preload.cjs runs in Electron's sandbox, where `require` knows little more than `electron`. The build
//   fails if the bundle requires anything else, instead of the window failing at start-up.
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

// `--outdir DIR` builds elsewhere (the bundle smoke test builds into a temporary folder).
const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist/electron' } } });
const outdir = values.outdir;

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  // Electron 45 runs Node 22 in the main process and Chromium 140 in the renderer.
  target: 'node22',
  sourcemap: true,
  logLevel: 'warning',
  metafile: true,
};

await build({
  ...common,
  entryPoints: { main: 'main/electron/main.ts' },
  outdir,
  outExtension: { '.js': '.cjs' },
  external: ['electron', '@napi-rs/keyring'],
  define: { 'import.meta.url': '__relinkImportMetaUrl' },
  banner: { js: "const __relinkImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});

const preload = await build({
  ...common,
  entryPoints: { preload: 'main/electron/preload.ts' },
  outdir,
  outExtension: { '.js': '.cjs' },
  external: ['electron'],
});

const required = Object.values(preload.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
const foreign = [...new Set(required)].filter((p) => p !== 'electron');
if (foreign.length > 0) {
  console.error(`build:electron: the preload requires ${foreign.join(', ')}, which Electron's sandbox cannot load. The preload may import 'electron' and, from shared/, types only.`);
  process.exit(1);
}
