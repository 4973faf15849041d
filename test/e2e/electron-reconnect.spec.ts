import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import { findElectronBinary } from '../../main/electron/electron-binary.mjs';
import { NapiKeychain } from '../../main/secrets/napi-keyring.js';
import { createHarness, HAS_SECRET_SERVICE, sandboxApp, sandboxFirm, type Firm, type Harness } from '../support/relink-harness.js';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.js';

/**
 * The reconnect journey in the real desktop app: a staff member's Xero password changes (the sandbox revokes
 * their grants), Relink's window shows the broken connection, the advisor presses Reconnect, approves on the
 * sandbox's consent page in a browser, and the window shows everything working again.
 *
 * The app runs from the build (`npm run build`: dist/electron + dist/renderer) on a throwaway profile
 * (RELINK_DATA_DIR, its own --user-data-dir) and its own keychain service name. The system browser is replaced
 * by a stub of `shell.openExternal` that records the sign-in address, which the test then opens in Chromium —
 * what a person does in their own browser.
 */

const electronBinary = findElectronBinary();
test.skip(
  !electronBinary.path,
  `SKIPPED: Electron is not installed here — ${electronBinary.why}. This journey needs the Electron binary; browser mode's specs cover the same window.`,
);
test.skip(
  !HAS_SECRET_SERVICE,
  'SKIPPED: no Secret Service (DBUS_SESSION_BUS_ADDRESS is not set): the desktop app keeps tokens in the OS keychain. Run via `bash .ci/with-keyring.sh npm run test:e2e`.',
);

// One app at a time: each run starts a sandbox, an Electron process and a browser.
test.describe.configure({ mode: 'serial', timeout: 90_000 });

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let sb: TestSandbox;
let harness: Harness;
let firm: Firm;
let app: ElectronApplication | null = null;
let userDataDir: string;

test.beforeAll(() => {
  for (const built of ['dist/electron/main.cjs', 'dist/electron/preload.cjs', 'dist/renderer/index.html']) {
    if (!fs.existsSync(path.join(ROOT, built))) {
      throw new Error(`${built} is missing: run \`npm run build\` before the Electron end-to-end specs (npm test does).`);
    }
  }
});

test.beforeEach(async () => {
  sb = await startTestSandbox({ seed: 'empty' });
  firm = await sandboxFirm(sb, 2, { givenName: 'Jane', familyName: 'Doe' });
  const registered = await sandboxApp(sb, { name: 'Practice Sync' });
  // Set the profile up the way the advisor would have: the app added and connected once, then Relink closed.
  harness = createHarness(sb, { keychain: new NapiKeychain() });
  const service = await harness.open();
  const added = await harness.addApp(service, registered, { name: 'Practice Sync' });
  await harness.connect(service, added, firm.userId, firm.tenantIds);
  await service.close();
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-electron-'));
});

test.afterEach(async () => {
  await app?.close().catch(() => undefined);
  app = null;
  await harness?.dispose();
  await sb?.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
});

async function launch(): Promise<{ app: ElectronApplication; window: Page }> {
  const launched = await electron.launch({
    executablePath: electronBinary.path!,
    // CI runs as root, where Chromium's OS sandbox cannot start (as in playwright.config.ts); the window's
    // own `sandbox: true` still gives the preload the sandboxed environment it is written for.
    args: [ROOT, `--user-data-dir=${userDataDir}`, '--no-sandbox', '--disable-gpu'],
    cwd: ROOT,
    env: {
      ...process.env,
      RELINK_DATA_DIR: harness.dataDir,
      RELINK_KEYCHAIN_SERVICE: harness.keychainService,
    } as Record<string, string>,
  });
  app = launched;
  // Stand in for the system browser: remember the sign-in address instead of opening a browser.
  await launched.evaluate(({ shell }) => {
    const opened: string[] = [];
    (globalThis as { __relinkOpened?: string[] }).__relinkOpened = opened;
    shell.openExternal = async (url: string) => {
      opened.push(url);
    };
  });
  const window = await launched.firstWindow();
  await window.waitForLoadState('domcontentloaded');
  return { app: launched, window };
}

test('a password change breaks a connection; Reconnect and one consent bring it back', async ({ page }) => {
  const { app: electronApp, window } = await launch();
  expect(window.url()).toMatch(/^app:\/\/relink\//);

  // Jane changes her Xero password: Xero (the sandbox) revokes every grant she approved.
  await sb.control('POST', `/sandbox/users/${firm.userId}/password`);

  // Relink finds out at its next refresh; the advisor asks for a check now instead of waiting.
  await window.getByRole('button', { name: /check now/i }).first().click();
  const reconnect = window.getByRole('button', { name: /reconnect/i }).first();
  await expect(reconnect).toBeVisible({ timeout: 20_000 });
  await expect(window.getByText(/password/i).first()).toBeVisible();

  await reconnect.click();
  await expect
    .poll(() => electronApp.evaluate(() => (globalThis as { __relinkOpened?: string[] }).__relinkOpened?.length ?? 0), { timeout: 10_000 })
    .toBeGreaterThan(0);
  const authorizeUrl = await electronApp.evaluate(() => (globalThis as { __relinkOpened?: string[] }).__relinkOpened![0]!);
  // The sign-in page is the sandbox's (the app's issuer), never anything else.
  expect(new URL(authorizeUrl).origin).toBe(sb.origin);

  // The advisor approves in their browser.
  await page.goto(authorizeUrl);
  await page.getByLabel('Log in as').selectOption(firm.email);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: /Practice Sync wants access/ })).toBeVisible();
  for (const name of firm.orgNames) await page.getByRole('checkbox', { name }).check();
  await page.getByRole('button', { name: 'Allow access' }).click();
  await expect(page.getByText('You can close this window')).toBeVisible();

  // Back in Relink: the connection works again and nothing needs attention.
  await expect(window.getByRole('button', { name: /reconnect/i })).toHaveCount(0, { timeout: 20_000 });
  await expect(window.getByText(/nothing needs attention/i)).toBeVisible();
  await window.screenshot({ path: 'test-results/screenshots/electron-reconnected.png' });
});
