import { expect, test } from '@playwright/test';
import { noKeychainEnv, screenshotPath, type BrowserMode } from '../support/browser-mode.js';
import { useE2eApp } from '../support/e2e-app.js';

/**
 * A computer without a keychain — a fresh Debian machine, no desktop session, no Secret Service — running the
 * README's first command, `npm run start:browser -- --demo`. The demo's tokens are the sandbox's and worthless
 * outside it, so the demo opens, holding them in memory and saying so in its banner; it never says "Unlock it"
 * (there is nothing to unlock) and never silently opens another profile. The firm's own profile cannot run
 * without a keychain: it says what is missing and how to get it on this operating system.
 *
 * Browser mode runs without D-Bus here (no DBUS_SESSION_BUS_ADDRESS, no display, an empty runtime folder), so
 * these tests need no keyring and run outside .ci/with-keyring.sh too.
 */

const e2e = useE2eApp();

let run: BrowserMode | null = null;

test('--demo without a keychain opens the demo, its sign-ins held in memory, and says so', async ({ page }) => {
  run = await e2e.browserMode({ demo: true, env: noKeychainEnv(), timeoutMs: 60_000 });
  await page.goto(run.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  const banner = page.getByRole('region', { name: 'Demo mode' });
  await expect(banner).toContainText('This is a demo firm');
  await expect(banner).toContainText(
    "Its sign-ins are held in memory only, because this computer has no keychain Relink can use: they are the sandbox's, worthless outside it, and end when Relink stops.",
  );
  // The header does not call a keychain that is not there "unlocked".
  await expect(page.getByRole('banner')).toContainText('Sign-ins in memory (demo)');
  await expect(page.getByRole('banner')).not.toContainText('Keychain unlocked');
  // The demo itself: its firm, connected and broken as promised.
  await expect(page.getByRole('heading', { level: 3, name: /Jane Doe's Xero password probably changed/ })).toBeVisible();
  await page.screenshot({ path: screenshotPath('app-no-keychain-demo-light') });

  expect(run.stderr()).toContain('This computer has no keychain Relink can use, so the demo holds its made-up sandbox sign-ins in memory');
  expect(run.stderr(), 'nothing to unlock, and no silent switch to another profile').not.toMatch(/Unlock it|Showing your own profile/);
});

test("the firm's own profile without a keychain says what is missing and how to get it; the demo still opens from there", async ({ page }) => {
  run = await e2e.browserMode({ env: noKeychainEnv() });
  await page.goto(run.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Welcome to Relink' })).toBeVisible();
  const notice = page.getByRole('alert').filter({ has: page.getByRole('heading', { name: "Relink can't find a keyring on this computer" }) });
  await expect(notice).toBeVisible();
  await expect(notice).toContainText("Relink keeps your firm's sign-ins only in the system keyring (a Secret Service such as GNOME Keyring), and none is running for this session.");
  await expect(notice.getByRole('listitem').first()).toContainText('on Debian or Ubuntu, sudo apt install gnome-keyring');
  await expect(notice).toContainText('Then restart Relink.');
  await page.screenshot({ path: screenshotPath('app-no-keychain-own-profile-light') });
  // The terminal says the same.
  expect(run.stderr()).toContain("Relink can't find a keyring on this computer.");
  expect(run.stderr()).toContain('1. Install GNOME Keyring');

  await page.getByRole('button', { name: 'Explore the demo firm' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole('region', { name: 'Demo mode' })).toContainText('Its sign-ins are held in memory only');
});
