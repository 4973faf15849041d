import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../../main/electron/policy.js';

/**
 * The bundled shell (what `npm start` and a packaged build run), started under plain Node with stand-ins for
 * Electron's modules (support/fake-electron.cjs). This is the test of main.ts's wiring and of the bundle
 * itself — ESM-only dependencies, `import.meta.url`, the native keychain module — that the unit tests of each
 * piece cannot see. It uses a throwaway profile and keychain service name, never the advisor's.
 */
const run = promisify(execFile);
// Inside the repository so the bundle finds node_modules (the keychain module is loaded at run time).
const root = path.resolve('test-results', `electron-smoke-${randomBytes(4).toString('hex')}`);
let smoke: any;
let exitCode: number | null = null;

beforeAll(async () => {
  fs.mkdirSync(path.join(root, 'dist', 'renderer'), { recursive: true });
  fs.writeFileSync(path.join(root, 'dist', 'renderer', 'index.html'), '<!doctype html><title>Relink smoke</title>');
  await run(process.execPath, ['main/electron/build.mjs', '--outdir', path.join(root, 'dist', 'electron')]);
  let stdout = '';
  try {
    ({ stdout } = await run(
      process.execPath,
      ['--require', path.resolve('test/main/electron/support/fake-electron.cjs'), path.join(root, 'dist', 'electron', 'main.cjs')],
      {
        env: {
          ...process.env,
          SMOKE_APP_PATH: root,
          SMOKE_USER_DATA: path.join(root, 'userData'),
          RELINK_KEYCHAIN_SERVICE: `Relink Smoke ${randomBytes(4).toString('hex')}`,
        },
        timeout: 45_000,
      },
    ));
    exitCode = 0;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    exitCode = e.code ?? -1;
    stdout = e.stdout ?? '';
    if (!stdout.includes('SMOKE ')) throw new Error(`the bundled shell did not report: ${e.stderr}`);
  }
  const line = stdout.split('\n').find((l) => l.startsWith('SMOKE '));
  smoke = JSON.parse(line!.slice('SMOKE '.length));
}, 60_000);

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the bundled Electron shell', () => {
  it('starts, serves, and quits cleanly (exit 0) after closing Relink', () => {
    expect(smoke.logs.filter((l: string) => l.startsWith('smoke:') || l.startsWith('dialog:'))).toEqual([]);
    expect(exitCode).toBe(0);
    // before-quit is held until Relink has closed, then quit runs again and goes through.
    expect(smoke.quit).toEqual({ calls: 2 });
  });

  it('sandboxes every renderer, takes the single-instance lock and registers the app scheme before ready', () => {
    expect(smoke.sandboxEnabled).toBe(true);
    expect(smoke.singleInstanceLock).toBe(true);
    expect(smoke.privilegedSchemes).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
    expect(smoke.protocolSchemes).toEqual(['app']);
  });

  it('opens one hardened window on app://relink with the bundled preload', () => {
    expect(smoke.windows).toHaveLength(1);
    expect(smoke.windows[0].webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      preload: path.join(root, 'dist', 'electron', 'preload.cjs'),
    });
    expect(smoke.loadedUrls).toEqual(['app://relink/index.html']);
    expect(smoke.permissionRequestHandler).toBe(true);
    expect(smoke.permissionCheckHandler).toBe(true);
  });

  it('hardens a window or webview created after start-up as well (app-wide web-contents-created guard)', () => {
    expect(smoke.laterContents).toEqual({
      navigationBlocked: true,
      ownPageAllowed: true,
      webviewBlocked: true,
      newWindow: { action: 'deny' },
      permissionGranted: [false],
    });
  });

  it('answers Relink’s page through RelinkApp and refuses a foreign page', () => {
    expect(smoke.ipcHandlers).toEqual(['relink:invoke']);
    expect(smoke.requests.trusted).toMatchObject({ ok: true, value: { host: 'electron', version: '0.0.0-smoke' } });
    expect(smoke.requests.foreign).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(smoke.requests.badArgs).toMatchObject({ ok: false, error: { code: 'invalid-arguments' } });
  });

  it('serves the page with the CSP header', () => {
    expect(smoke.page).toEqual({ status: 200, csp: CONTENT_SECURITY_POLICY, body: '<!doctype html><title>Relink smoke</title>' });
  });

  it('puts Relink in the tray with its menu', () => {
    expect(smoke.tray.tooltip).toMatch(/^Relink — /);
    expect(smoke.tray.menu).toEqual(expect.arrayContaining(['Open Relink', 'Check now', 'Quit Relink']));
    expect(smoke.tray.destroyed).toBe(true);
  });
});
