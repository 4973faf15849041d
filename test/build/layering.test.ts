import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/relink-cli.js';

/**
 * The layering rule of the house style, enforced: only adapter files import a platform module — Electron, the
 * keychain library, the metadata file library, PostgreSQL, or anything that opens a server or a socket.
 * Services take those adapters as constructor parameters, and one composition root wires them, so a second
 * implementation (a firm database, another host) never reaches into a service.
 *
 * Each allowed file says why it is an adapter. A new import of one of these modules anywhere else fails here
 * with the file, the line and the module.
 */

const ADAPTERS: Record<string, Record<string, string>> = {
  electron: {
    'main/electron/main.ts': 'the Electron composition root',
    'main/electron/preload.ts': 'the bridge the window talks through',
    'main/electron/window.ts': 'the window adapter (types only)',
    'main/electron/save-files.ts': 'the save dialog adapter (types only)',
  },
  '@napi-rs/keyring': {
    'main/secrets/napi-keyring.ts': 'the keychain adapter',
    'main/secrets/threaded-keychain.ts': 'the keychain adapter on worker threads',
  },
  conf: { 'main/store/document-file.ts': 'the metadata file adapter' },
  'electron-store': { 'main/store/electron-store-backend.ts': 'the Electron metadata backend' },
  pg: {},
  ws: { 'main/browser-mode/server.ts': "browser mode's WebSocket server" },
  'node:http': {
    'main/browser-mode/server.ts': "browser mode's server",
    'main/oauth/loopback-server.ts': 'the OAuth redirect listener',
    'main/sandbox/server.ts': "the sandbox's server",
    'main/demo/demo-firm.ts': "the demo's stand-in for a person's browser on the sandbox's consent page",
  },
  'node:https': {},
  'node:net': {
    'main/browser-mode/server.ts': "browser mode's server (its sockets)",
    'main/sandbox/server.ts': "the sandbox's server (its sockets)",
  },
};

/** Static imports, `import()` and `require()` of a bare module name, with their line numbers. */
export function importsOf(text: string): Array<{ module: string; line: number }> {
  // Comments may name a module (`require('electron')` in a sentence): blank them, keeping the line numbers.
  const source = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/^\s*\/\/.*$/gm, '');
  const found: Array<{ module: string; line: number }> = [];
  const patterns = [/\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire(?:\.resolve)?\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /^\s*import\s+['"]([^'"]+)['"]/gm, /\.resolve\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) {
    for (const m of source.matchAll(re)) {
      found.push({ module: m[1]!, line: source.slice(0, m.index).split('\n').length });
    }
  }
  return found;
}

/** Every import of a guarded module from a file not listed as its adapter. */
export function offenders(files: Array<{ file: string; source: string }>): string[] {
  const out: string[] = [];
  for (const { file, source } of files) {
    for (const { module, line } of importsOf(source)) {
      const allowed = ADAPTERS[module];
      if (allowed && !(file in allowed)) out.push(`${file}:${line} imports ${module}, which only adapters may (${Object.keys(allowed).join(', ') || 'none yet'})`);
    }
  }
  return [...new Set(out)];
}

function sources(dir: string): Array<{ file: string; source: string }> {
  const out: Array<{ file: string; source: string }> = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (/\.(ts|tsx|mts|mjs|cjs|js)$/.test(e.name)) out.push({ file: path.relative(ROOT, full).split(path.sep).join('/'), source: fs.readFileSync(full, 'utf8') });
    }
  };
  walk(path.join(ROOT, dir));
  return out;
}

describe('layering: only adapters import platform modules', () => {
  it('main/, shared/ and renderer/src/ import Electron, the keychain, storage libraries and servers only from their adapters', () => {
    const files = [...sources('main'), ...sources('shared'), ...sources('renderer/src')];
    expect(files.length).toBeGreaterThan(100);
    expect(offenders(files)).toEqual([]);
  });

  it('every listed adapter exists and still imports its module (the list cannot go stale)', () => {
    for (const [module, files] of Object.entries(ADAPTERS)) {
      for (const file of Object.keys(files)) {
        const source = fs.readFileSync(path.join(ROOT, file), 'utf8');
        expect(importsOf(source).map((i) => i.module), `${file} is listed as an adapter of ${module}`).toContain(module);
      }
    }
  });

  it('the check can fail: a service importing the keychain library or a server module is named, with its line', () => {
    expect(
      offenders([
        { file: 'main/service/relink-service.ts', source: "import { z } from 'zod';\nimport { Entry } from '@napi-rs/keyring';\n" },
        { file: 'main/workflows/world.ts', source: "const net = require('node:net');" },
        { file: 'main/secrets/napi-keyring.ts', source: "import { Entry } from '@napi-rs/keyring';" },
      ]),
    ).toEqual([
      'main/service/relink-service.ts:2 imports @napi-rs/keyring, which only adapters may (main/secrets/napi-keyring.ts, main/secrets/threaded-keychain.ts)',
      'main/workflows/world.ts:1 imports node:net, which only adapters may (main/browser-mode/server.ts, main/sandbox/server.ts)',
    ]);
  });
});
