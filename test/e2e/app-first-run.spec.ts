import { expect, test, type Locator, type Page } from '@playwright/test';
import { sandboxApp, sandboxFirm } from '../support/relink-harness.js';
import type { TestSandbox } from '../support/sandbox.js';
import { approveInSandbox, NEEDS_KEYCHAIN, screenshotPath, type BrowserMode } from '../support/browser-mode.js';
import { useE2eApp } from '../support/e2e-app.js';

/**
 * First run in browser mode, as an advisor meets it on a new computer: Relink has no app yet and offers two ways
 * in. (a) Explore the built-in sandbox: the demo firm comes up already broken the ways real firms break, and
 * the overview and grid say so. (b) Add the firm's own Xero app (here an app registered in a sandbox, whose
 * address goes in Advanced → "Xero sign-in server") and connect it through the sandbox's login and consent
 * pages in a second browser page.
 */

const e2e = useE2eApp({ needsKeychain: true });

let run: BrowserMode | null = null;
let sb: TestSandbox | null = null;

function grid(page: Page): Locator {
  return page.getByRole('grid', { name: 'Organisations' });
}

/** The grid cell of `org` in the column of `app` (the columns follow the header's order). */
async function cell(page: Page, org: string, app: string): Promise<Locator> {
  const headers = await grid(page).getByRole('columnheader').allTextContents();
  const col = headers.findIndex((h) => h.trim() === app);
  expect(col, `a column for ${app} in ${JSON.stringify(headers)}`).toBeGreaterThan(0);
  return grid(page).getByRole('row', { name: org, exact: true }).locator(`[aria-colindex="${col + 1}"]`);
}

test(`first run → Explore with the built-in sandbox → the overview shows the demo firm’s incidents and the grid healthy and broken cells${NEEDS_KEYCHAIN}`, async ({ page }) => {
  run = await e2e.browserMode();
  await page.goto(run.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Welcome to Relink' })).toBeVisible();

  const demo = page.getByRole('region', { name: 'Explore with the built-in sandbox' });
  await demo.getByRole('button', { name: 'Explore the demo firm' }).click();
  // Building the demo firm connects 16 sign-ins through the real consent flow, then checks them all.
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible({ timeout: 20_000 });
  await expect(page.getByRole('region', { name: 'Demo mode' })).toBeVisible();

  // Every incident the demo story contains, each in one sentence with its cause, and its fix.
  const attention = page.getByRole('region', { name: 'Needs your attention' });
  const incident = (summary: RegExp) => attention.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3, name: summary }) });

  const password = incident(/^Jane Doe's Xero password probably changed — 2 apps, \d+ organisations$/);
  await expect(password).toBeVisible();
  await expect(password).toContainText('Needs reconnecting');
  await expect(password.getByRole('button', { name: 'Reconnect Harbour Practice Sync as Jane Doe' })).toBeVisible();
  await expect(password.getByRole('button', { name: 'Reconnect Harbour Payroll Bridge as Jane Doe' })).toBeVisible();

  const rotated = incident(/^Xero no longer accepts Harbour Reporting's credentials — \d+ organisations$/);
  await expect(rotated).toContainText('App not accepted');
  await expect(rotated.getByRole('link', { name: 'Review Harbour Reporting in Apps' })).toBeVisible();

  const removed = incident(/^Ben Carter no longer has access to 3 organisations in Xero$/);
  await expect(removed).toBeVisible();
  await expect(removed.getByRole('button', { name: /^Reconnect as another advisor: Harbour Practice Sync/ })).toBeVisible();

  const disconnected = incident(/^Harbour Practice Sync was disconnected in (.+)$/);
  await expect(disconnected).toHaveCount(1);
  const disconnectedOrg = /disconnected in (.+)$/.exec((await disconnected.getByRole('heading', { level: 3 }).textContent())!)![1]!;
  await expect(disconnected.getByRole('button', { name: `Reconnect Harbour Practice Sync for ${disconnectedOrg}` })).toBeVisible();
  // The four incidents, and the card of the seasonal sign-in about to end on its own (issue 10).
  await expect(attention.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3 }) })).toHaveCount(5);
  await expect(attention.getByRole('heading', { level: 3, name: /stop working on .+, in \d+ days$/ })).toHaveCount(1);

  // The counts by health name every state in words, not colour alone.
  const byHealth = page.getByRole('region', { name: 'Connections by health' });
  await expect(byHealth.getByRole('link', { name: /^\d+ Healthy$/ })).toBeVisible();
  await expect(byHealth.getByRole('link', { name: /^\d+ Needs reconnecting$/ })).toBeVisible();

  // The grid: healthy and broken cells side by side, each saying why.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organisations' }).click();
  await expect(grid(page)).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: /^40 organisations$/ })).toBeVisible();
  await expect(await cell(page, 'Bellbird Books', 'Harbour Practice Sync')).toHaveText(/^Healthy$/);
  await expect(await cell(page, 'Harbourside Dental', 'Harbour Practice Sync')).toHaveText(/Needs reconnect\s*Xero password changed/);
  await expect(await cell(page, 'Harbourside Dental', 'Harbour Reporting')).toHaveText(/App rejected\s*App's credentials changed/);
  await expect(await cell(page, 'Bellbird Books', 'Harbour Reporting')).toHaveText(/^—\s*Not connected$/);

  // The disconnected organisation, found by name.
  await page.getByRole('searchbox', { name: 'Search organisations' }).fill(disconnectedOrg);
  await expect(grid(page).getByRole('row', { name: disconnectedOrg, exact: true })).toBeVisible();
  await expect(await cell(page, disconnectedOrg, 'Harbour Practice Sync')).toHaveText(/Disconnected\s*App disconnected in this organisation/);

  // Ben Carter's three organisations, found by the reason filter.
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.getByRole('combobox', { name: 'Reason' }).selectOption({ label: 'Staff member lost access' });
  await expect(page.getByRole('status').filter({ hasText: /^Showing 3 of 40 organisations$/ })).toBeVisible();
  await expect(grid(page).getByRole('row').filter({ hasText: 'Staff member lost access' })).toHaveCount(3);
});

test(`first run → Add your Xero app (a sandbox app) → Connect → consent in the browser → the organisations show healthy${NEEDS_KEYCHAIN}`, async ({ page, browser }) => {
  sb = await e2e.sandbox();
  const firm = await sandboxFirm(sb, 3, { givenName: 'Jane', familyName: 'Doe' });
  const registered = await sandboxApp(sb, { name: 'Harbour Practice Sync' });
  run = await e2e.browserMode();

  await page.goto(run.url);
  await page.getByRole('region', { name: 'Add your Xero app' }).getByRole('button', { name: 'Add your Xero app' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Add your Xero app' })).toBeFocused();

  const form = page.getByRole('form', { name: 'Add your Xero app' });
  await form.getByLabel('App name').fill('Practice Sync');
  await form.getByLabel('Client id').fill(registered.clientId);
  await expect(form.getByRole('radio', { name: /Mobile or desktop app \(PKCE\)/ })).toBeChecked();
  await form.getByLabel('Redirect ports').fill(registered.ports.join(', '));
  // The help under the ports lists the exact redirect URIs to register in Xero.
  await expect(form.getByText(`http://127.0.0.1:${registered.ports[0]}/callback`)).toBeVisible();
  await form.getByText('Advanced', { exact: true }).click();
  await form.getByLabel('Xero sign-in server (leave empty for Xero)').fill(sb.origin);
  await page.screenshot({ path: screenshotPath('app-first-run-add-app-filled-light'), fullPage: true });
  await form.getByRole('button', { name: 'Add app' }).click();

  await expect(page.getByRole('heading', { level: 1, name: 'Connect Practice Sync' })).toBeVisible();
  await page.getByRole('button', { name: 'Connect organisations to Practice Sync' }).click();
  const again = page.getByRole('link', { name: /Open the sign-in page again/ });
  await expect(again).toBeVisible();
  await expect(page.getByText('Waiting for approval in your browser…')).toBeVisible();
  const authorizeUrl = (await again.getAttribute('href'))!;
  // The sign-in page is the configured server's, never anything else.
  expect(new URL(authorizeUrl).origin).toBe(sb.origin);

  // The advisor approves in their browser: logs in, ticks two of the three organisations.
  const signIn = await browser.newPage();
  await approveInSandbox(signIn, authorizeUrl, firm.email, [firm.orgNames[0]!, firm.orgNames[2]!], 'Harbour Practice Sync wants access to your Xero data');
  await signIn.close();

  // Back in Relink: the window says which organisations are connected, as whom.
  const report = page.getByRole('status').filter({ hasText: /^Done:/ });
  await expect(report).toContainText('Done: 2 organisations connected as Jane Doe.');
  await expect(report).toContainText('Connected for the first time: ');
  await expect(report).toContainText(firm.orgNames[0]!);
  await expect(report).toContainText(firm.orgNames[2]!);
  await expect(report).not.toContainText(firm.orgNames[1]!);
  await page.screenshot({ path: screenshotPath('app-first-run-connected-light'), fullPage: true });
  await page.getByRole('button', { name: 'Continue to Relink' }).click();

  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await expect(page.getByText('Nothing needs attention. Every connection Relink checked is working.')).toBeVisible();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organisations' }).click();
  await expect(grid(page).getByRole('row')).toHaveCount(3); // the header and the two organisations
  for (const org of [firm.orgNames[0]!, firm.orgNames[2]!]) await expect(await cell(page, org, 'Practice Sync')).toHaveText(/^Healthy$/);
  await expect(grid(page).getByRole('row', { name: firm.orgNames[1]! })).toHaveCount(0);
  await page.screenshot({ path: screenshotPath('app-first-run-grid-healthy-light') });
});
