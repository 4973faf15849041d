import { expect, test, type Page } from '@playwright/test';
import { openWindow, screenshotPath, type BrowserMode } from '../support/browser-mode.js';
import { useE2eApp } from '../support/e2e-app.js';

/**
 * The demo's "rotated credentials" incident, followed to its end (issue 10, item 11). Its fix is "copy the
 * current client secret from the developer portal"; the demo's apps live only in its sandbox, so the link opens
 * the sandbox's own stand-in for Xero's developer portal (labelled as such), never developer.xero.com. There
 * the advisor reveals and copies Harbour Reporting's current secret, pastes it into Relink, and its
 * connections work again; generating a new secret there stops them until that one is pasted too.
 */

const e2e = useE2eApp({ until: 'file' });

let run: BrowserMode;

test.beforeAll(async () => {
  run = await e2e.browserMode({ demo: true, timeoutMs: 60_000 });
});

const REPORTING = 'Harbour Reporting';

/** The address Relink opened for a help link: with `--browser none` browser mode prints it. */
async function openedAddress(before: number): Promise<string> {
  let url = '';
  await expect
    .poll(() => {
      const m = /Open this address in a browser for the help page:\n(\S+)/.exec(run.stderr().slice(before));
      url = m?.[1] ?? '';
      return url;
    }, { message: 'Relink opens a page for the developer-portal link' })
    .not.toBe('');
  return url;
}

async function pasteSecret(page: Page, secret: string): Promise<void> {
  await page.getByLabel(`Client secret of ${REPORTING}`).fill(secret);
  await page.getByRole('button', { name: 'Save and check' }).click();
  await expect(page.getByRole('status').filter({ hasText: new RegExp(`^Saved\\. Xero accepts ${REPORTING}'s new secret: .*works? again\\.$`) }).last()).toBeVisible({ timeout: 15_000 });
  const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(`^${REPORTING}`) }) });
  await expect(row).toContainText('Accepted');
}

test("the rotated-credentials incident leads to the demo's developer portal, where the current secret is revealed, copied and pasted back", async ({ page, context }) => {
  await openWindow(page, run);
  await page.getByRole('link', { name: `Review ${REPORTING} in Apps` }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Apps' })).toBeVisible();

  const before = run.stderr().length;
  await page.getByRole('button', { name: "Open My Apps in the demo's developer portal" }).click();
  const address = await openedAddress(before);
  expect(address, 'not the real developer portal').not.toContain('developer.xero.com');
  expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/developer-portal$/);

  // The portal, as the advisor's browser shows it.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(address).origin });
  const portal = await context.newPage();
  await portal.goto(address);
  await expect(portal.getByRole('heading', { level: 1, name: 'My Apps' })).toBeVisible();
  await expect(portal.getByRole('note')).toContainText("The demo's stand-in for Xero's developer portal.");
  await expect(portal.getByRole('note')).toContainText('it exists only in the sandbox');
  const app = portal.getByRole('region', { name: REPORTING });
  await expect(app).toContainText('Web app');
  await app.getByRole('link', { name: `Show secret of ${REPORTING}` }).click();
  const field = portal.getByRole('textbox', { name: `Client secret of ${REPORTING}` });
  const secret = await field.inputValue();
  expect(secret.length).toBeGreaterThan(20);
  await portal.getByRole('button', { name: `Copy the secret of ${REPORTING}` }).click();
  await expect(portal.getByRole('region', { name: REPORTING }).getByRole('status')).toHaveText('Copied.');
  expect(await portal.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  await portal.screenshot({ path: screenshotPath('app-demo-portal-revealed-light') });

  // Back in Relink: paste it; Xero (the sandbox) accepts the app again and its connections work.
  await pasteSecret(page, secret);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  await expect(page.getByRole('heading', { level: 3, name: new RegExp(`^Xero no longer accepts ${REPORTING}'s credentials`) })).toHaveCount(0);

  // Generating a new secret in the portal stops the old one at once, as in Xero.
  await portal.getByRole('button', { name: `Generate a new secret for ${REPORTING}` }).click();
  await expect(portal.getByRole('status').filter({ hasText: 'New secret generated. The old one no longer works' })).toBeVisible();
  const next = await portal.getByRole('textbox', { name: `Client secret of ${REPORTING}` }).inputValue();
  expect(next).not.toBe(secret);
  await page.getByRole('banner').getByRole('button', { name: 'Check now' }).click();
  await expect(page.getByRole('heading', { level: 3, name: new RegExp(`^Xero no longer accepts ${REPORTING}'s credentials`) })).toBeVisible({ timeout: 15_000 });
  await page.getByRole('link', { name: `Review ${REPORTING} in Apps` }).click();
  await pasteSecret(page, next);
  await portal.close();
});
