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
  'electron-store': { 'main/electron/electron-store-backend.ts': 'the Electron metadata backend' },
  pg: {
    'main/firm/db/pool.ts': "the firm database's connection pool (address, password, TLS, the session's schema version)",
    'main/firm/db/migrate.ts': "the firm database's migration runner and schema check (types only: it runs on the pool's clients)",
  },
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

/** The hosts: each is wired by its own entry point, and what two of them share lives in main/app. */
const HOSTS = ['main/cli', 'main/electron', 'main/browser-mode'];

const hostOf = (file: string) => HOSTS.find((h) => file.startsWith(`${h}/`)) ?? null;

/**
 * Every import by a host's file of another host's file (relative imports, resolved against the importing
 * file). A host that imports another drags its wiring along — browser mode would load the CLI's commands,
 * Electron a terminal's signal handling — and a helper two hosts need belongs in main/app instead.
 */
export function crossHostImports(files: Array<{ file: string; source: string }>): string[] {
  const out: string[] = [];
  for (const { file, source } of files) {
    const host = hostOf(file);
    if (!host) continue;
    for (const { module, line } of importsOf(source)) {
      if (!module.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), module));
      const other = hostOf(target);
      if (other && other !== host) out.push(`${file}:${line} imports ${target}, from another host (${other}); shared host helpers live in main/app`);
    }
  }
  return [...new Set(out)];
}

/**
 * The services — the service, the workflows, the refresh engine, health — see storage only through its ports:
 * from main/store, the ports and the document's schema; from main/secrets, the keychain port and its errors.
 * The implementations (the metadata file, the activity log, the journal, the keychain vault, the grant lock)
 * are chosen by the composition root (main/app/create-relink.ts), so a firm database needs no service change.
 */
const SERVICE_FOLDERS = ['main/service', 'main/workflows', 'main/refresh', 'main/health'];
const PORT_FILES = new Set(['main/store/ports.ts', 'main/store/schema.ts', 'main/secrets/keychain.ts']);
const STORAGE_FOLDERS = ['main/store', 'main/secrets'];
/** A storage implementation that lives beside the services it serves (the local GrantLockPort). */
const STORAGE_IMPLEMENTATIONS = new Set(['main/refresh/grant-lock.ts']);

export function storageReachIns(files: Array<{ file: string; source: string }>): string[] {
  const out: string[] = [];
  for (const { file, source } of files) {
    if (!SERVICE_FOLDERS.some((f) => file.startsWith(`${f}/`)) || STORAGE_IMPLEMENTATIONS.has(file)) continue;
    for (const { module, line } of importsOf(source)) {
      if (!module.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), module)).replace(/\.js$/, '.ts');
      const storage = STORAGE_FOLDERS.some((f) => target.startsWith(`${f}/`)) || STORAGE_IMPLEMENTATIONS.has(target);
      if (storage && !PORT_FILES.has(target)) out.push(`${file}:${line} imports ${target}, a storage implementation; services use main/store/ports.ts`);
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

  it('no host (main/cli, main/electron, main/browser-mode) imports another: what they share lives in main/app', () => {
    const files = sources('main');
    expect(files.filter((f) => hostOf(f.file)).length).toBeGreaterThan(10);
    expect(crossHostImports(files)).toEqual([]);
  });

  it('the host check can fail: a host importing another host is named, with its line; main/app and same-host imports are not', () => {
    expect(
      crossHostImports([
        { file: 'main/browser-mode/start.ts', source: "import { RelinkApp } from '../app/relink-app.js';\nimport { EXIT } from '../cli/commands.js';\nimport { startBrowserServer } from './server.js';\n" },
        { file: 'main/electron/main.ts', source: "import path from 'node:path';\nconst p = await import('../browser-mode/launch-page.js');" },
        { file: 'main/cli/relink.ts', source: "import * as commands from './commands.js';\nimport { resolveProfile } from '../app/profile.js';" },
        { file: 'main/app/relink-app.ts', source: "import { EXIT } from '../cli/commands.js';" },
      ]),
    ).toEqual([
      'main/browser-mode/start.ts:2 imports main/cli/commands.js, from another host (main/cli); shared host helpers live in main/app',
      'main/electron/main.ts:2 imports main/browser-mode/launch-page.js, from another host (main/browser-mode); shared host helpers live in main/app',
    ]);
  });

  it('services reach storage only through its ports (main/store/ports.ts)', () => {
    expect(storageReachIns(sources('main'))).toEqual([]);
  });

  it('the storage check can fail: a service importing the metadata store, the vault or the grant lock is named', () => {
    expect(
      storageReachIns([
        { file: 'main/service/relink-service.ts', source: "import type { DocumentStore } from '../store/ports.js';\nimport { MetadataStore } from '../store/metadata-store.js';" },
        { file: 'main/workflows/workflow-service.ts', source: "import { KeychainVault } from '../secrets/vault.js';\nimport type { MetadataDocument } from '../store/schema.js';" },
        { file: 'main/refresh/engine.ts', source: "import { GrantLock } from './grant-lock.js';" },
        { file: 'main/app/local-profile.ts', source: "import { MetadataStore } from '../store/metadata-store.js';" },
      ]),
    ).toEqual([
      'main/service/relink-service.ts:2 imports main/store/metadata-store.ts, a storage implementation; services use main/store/ports.ts',
      'main/workflows/workflow-service.ts:1 imports main/secrets/vault.ts, a storage implementation; services use main/store/ports.ts',
      'main/refresh/engine.ts:1 imports main/refresh/grant-lock.ts, a storage implementation; services use main/store/ports.ts',
    ]);
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
