import { expect, test, type Page } from '@playwright/test';
import { sandboxApp } from '../support/relink-harness.js';
import type { TestSandbox } from '../support/sandbox.js';
import { NEEDS_KEYCHAIN, screenshotPath, type BrowserMode } from '../support/browser-mode.js';
import { useE2eApp } from '../support/e2e-app.js';

/**
 * Adding the firm's app on first run (issue 10, item 9): Relink checks what it can before saying the app is
 * added — the client id's form, that the sign-in server answers with valid settings, and that Xero accepts the
 * client id (and a web app's secret) — and says what only the first sign-in can show. Offline it says "Relink
 * can't reach Xero", not ENOTFOUND. Nothing is saved when a check fails, so first run stays on the form.
 */

const e2e = useE2eApp({ until: 'file', needsKeychain: true });
test.describe.configure({ mode: 'serial' });

let sb: TestSandbox;
let run: BrowserMode;

test.beforeAll(async () => {
  sb = await e2e.sandbox();
  run = await e2e.browserMode();
});

async function fill(page: Page, f: { name: string; clientId: string; issuer: string; web?: string; ports?: number[] }): Promise<void> {
  const form = page.getByRole('form', { name: 'Add your Xero app' });
  await form.getByLabel('App name').fill(f.name);
  await form.getByLabel('Client id').fill(f.clientId);
  if (f.web !== undefined) {
    await form.getByRole('radio', { name: /Web app/ }).check();
    await form.getByRole('textbox', { name: 'Client secret', exact: true }).fill(f.web);
  } else {
    await form.getByRole('radio', { name: /Mobile or desktop app/ }).check();
  }
  if (f.ports) await form.getByLabel('Redirect ports').fill(f.ports.join(', '));
  const advanced = form.locator('details.advanced');
  if (!(await advanced.evaluate((d: HTMLDetailsElement) => d.open))) await advanced.locator('summary').click();
  await form.getByLabel(/Xero sign-in server/).fill(f.issuer);
  await form.getByRole('button', { name: 'Add app' }).click();
}

test(`first run refuses what Xero would refuse, says why, and saves nothing${NEEDS_KEYCHAIN}`, async ({ page }) => {
  await page.goto(run.url);
  await page.getByRole('button', { name: 'Add your Xero app' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Add your Xero app' })).toBeVisible();
  const form = page.getByRole('form', { name: 'Add your Xero app' });

  // Not a client id at all: said under the field, with what one looks like.
  await fill(page, { name: 'Practice Sync', clientId: 'not a client id', issuer: sb.origin });
  await expect(form.getByLabel('Client id')).toHaveAccessibleDescription(/^(⚠ )?"not a client id" is not a Xero client id: Xero's client ids are 32 letters and digits/);
  await page.screenshot({ path: screenshotPath('app-add-app-not-a-client-id-light') });

  // A well-formed client id Xero does not know.
  await fill(page, { name: 'Practice Sync', clientId: 'ABCDEF0123456789ABCDEF0123456789', issuer: sb.origin });
  await expect(form.getByRole('alert')).toHaveText(/^⚠? ?Xero does not accept this client id without a secret \(40[01] invalid_client\)\. Nothing was saved/);

  // A web app whose secret is wrong.
  const web = await sandboxApp(sb, { type: 'web' });
  await fill(page, { name: 'Reporting', clientId: web.clientId, issuer: sb.origin, web: 'not-the-secret', ports: web.ports });
  await expect(form.getByRole('alert')).toHaveText(/Xero does not accept this client id and secret \(40[01] invalid_client\)\. Nothing was saved/);

  // Offline (a sign-in server whose name does not resolve): in words, with the code for support at the end.
  await fill(page, { name: 'Practice Sync', clientId: web.clientId, issuer: 'https://identity.xero.invalid', web: web.clientSecret!, ports: web.ports });
  const offline = form.getByRole('alert');
  await expect(offline).toHaveText(
    /Relink can't reach Xero's sign-in server at identity\.xero\.invalid, so it could not check Practice Sync\. Nothing was saved: check this computer's internet connection \(and any proxy or VPN\), then add the app again\. \((ENOTFOUND|EAI_AGAIN)\)$/,
  );
  await page.screenshot({ path: screenshotPath('app-add-app-offline-light') });

  // Still first run: nothing was added.
  await expect(page.getByRole('heading', { level: 1, name: 'Add your Xero app' })).toBeVisible();
});

test(`a real app is added, saying what was verified with Xero and what the first sign-in checks${NEEDS_KEYCHAIN}`, async ({ page }) => {
  const web = await sandboxApp(sb, { type: 'web' });
  await page.goto(run.url);
  await page.getByRole('button', { name: 'Add your Xero app' }).click();
  await fill(page, { name: 'Reporting', clientId: web.clientId, issuer: sb.origin, web: web.clientSecret!, ports: web.ports });
  await expect(page.getByRole('heading', { level: 1, name: 'Connect Reporting' })).toBeVisible();
  await expect(page.getByText('Reporting is added.', { exact: false })).toBeVisible();
  const checks = page.locator('.app-checks');
  await expect(checks).toContainText("The client id has Xero's form (32 letters and digits).");
  await expect(checks).toContainText(`Xero's sign-in server at ${new URL(sb.origin).host} answered with valid sign-in settings.`);
  await expect(checks).toContainText('Xero accepts the client id and secret.');
  await expect(checks).toContainText(`That the redirect URIs http://127.0.0.1:${web.ports[0]}/callback`);
  await expect(checks).toContainText('Xero checks them only when someone signs in.');
  await expect(page.getByText(/is set up/)).toHaveCount(0);
  await page.screenshot({ path: screenshotPath('app-add-app-checked-light') });
});
