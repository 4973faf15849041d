import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { findElectronBinary } from '../../../main/electron/electron-binary.mjs';

const run = promisify(execFile);

describe('npm start (main/electron/launch.mjs)', () => {
  it('without the Electron binary, says so in one line, names browser mode and exits 1 before building', async () => {
    const missing = path.join(os.tmpdir(), `no-electron-here-${process.pid}`);
    const outcome = await run(process.execPath, ['main/electron/launch.mjs'], {
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: missing },
      timeout: 20_000,
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
    );
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toBe('');
    const lines = outcome.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Relink cannot open its desktop window because Electron is not installed here: /);
    expect(lines[0]).toContain('npm run start:browser');
  });
});

describe('findElectronBinary', () => {
  it('finds a binary where ELECTRON_OVERRIDE_DIST_PATH points at one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'electron-dist-'));
    try {
      const names = ['electron', 'Electron.app/Contents/MacOS/Electron', 'electron.exe'];
      for (const name of names) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), '');
      }
      const found = findElectronBinary({ ELECTRON_OVERRIDE_DIST_PATH: dir });
      expect(found.why).toBeNull();
      expect(names.map((n) => path.join(dir, n))).toContain(found.path);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says why when there is none', () => {
    const found = findElectronBinary({ ELECTRON_OVERRIDE_DIST_PATH: path.join(os.tmpdir(), 'nothing-here') });
    expect(found.path).toBeNull();
    expect(found.why).toMatch(/does not exist/);
  });
});

describe('what gets packaged', () => {
  it('package.json starts the bundled shell, and electron-builder ships it with the renderer and nothing else', () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
    expect(pkg.main).toBe('dist/electron/main.cjs');
    const files: string[] = parse(fs.readFileSync('electron-builder.yml', 'utf8')).files;
    expect(files).toEqual(expect.arrayContaining(['dist/electron/**/*', 'dist/renderer/**/*', 'package.json']));
    // No pattern reaches sources, tests or other build output.
    for (const pattern of files.filter((f) => !f.startsWith('!'))) {
      expect(pattern, pattern).toMatch(/^(dist\/electron\/|dist\/renderer\/|package\.json$)/);
    }
  });
});
