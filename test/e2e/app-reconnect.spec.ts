import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';
import { sandboxApp, sandboxFirm, type Firm, type SandboxApp } from '../support/relink-harness.js';
import type { TestSandbox } from '../support/sandbox.js';
import { approveInSandbox, connectedProfile, NEEDS_KEYCHAIN, screenshotPath, type BrowserMode } from '../support/browser-mode.js';
import { useE2eApp } from '../support/e2e-app.js';

/**
 * Something breaks in Xero (here: through the sandbox's control API), the advisor presses Check now, the window
 * says what broke and why, the advisor presses Reconnect, approves on the sandbox's consent page in their
 * browser (a second page), and the window shows the connections working again — or says which organisation is
 * still missing and why.
 *
 * Each test sets its profile up as it would be after an earlier session (the app added and connected once,
 * through Relink's real connect flow, in this process), then starts browser mode on it.
 */

const e2e = useE2eApp({ needsKeychain: true });

const APP = 'Practice Sync';

let sb: TestSandbox;
let run: BrowserMode | null = null;

test.beforeEach(async () => {
  sb = await e2e.sandbox();
});

async function registered(): Promise<SandboxApp & { name: string }> {
  return { ...(await sandboxApp(sb, { name: APP })), name: APP };
}

/** A profile where `who` connected `app` for `tenantIds`, and the window open on it. */
async function openConnected(page: Page, app: SandboxApp & { name: string }, who: string, tenantIds: string[]): Promise<void> {
  const profile = e2e.profile();
  await connectedProfile(sb, profile, app, [{ userId: who, tenantIds }]);
  run = await e2e.browserMode({ profile });
  await page.goto(run.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await expect(page.getByText('Nothing needs attention. Every connection Relink checked is working.')).toBeVisible();
}

async function checkNow(page: Page): Promise<void> {
  await page.getByRole('banner').getByRole('button', { name: 'Check now' }).click();
  await expect(page.getByRole('banner').getByRole('status')).toHaveText(/^Checked \d+ sign-ins?/);
}

function incident(page: Page, summary: string | RegExp): Locator {
  return page
    .getByRole('region', { name: 'Needs your attention' })
    .getByRole('listitem')
    .filter({ has: page.getByRole('heading', { level: 3, name: summary }) });
}

async function openOrganisations(page: Page): Promise<Locator> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organisations' }).click();
  const grid = page.getByRole('grid', { name: 'Organisations' });
  await expect(grid).toBeVisible();
  return grid;
}

/** The app's cell in an organisation's row (this profile has one app: column 2). */
function appCell(grid: Locator, org: string): Locator {
  return grid.getByRole('row', { name: org, exact: true }).getByRole('gridcell');
}

/** Presses a Reconnect button and returns the sign-in address the window offers to open again. */
async function pressReconnect(page: Page, button: Locator): Promise<{ authorizeUrl: string; progress: Locator }> {
  await button.click();
  const progress = button.locator('xpath=..').getByRole('status');
  await expect(progress).toContainText('Waiting for approval in your browser…');
  const link = progress.getByRole('link', { name: /Open the sign-in page again/ });
  const authorizeUrl = (await link.getAttribute('href'))!;
  expect(new URL(authorizeUrl).origin).toBe(sb.origin);
  return { authorizeUrl, progress };
}

async function approve(browser: Browser, authorizeUrl: string, email: string, tick: string[]): Promise<void> {
  const signIn = await browser.newPage();
  try {
    await approveInSandbox(signIn, authorizeUrl, email, tick, `${APP} wants access to your Xero data`);
  } finally {
    await signIn.close();
  }
}

/** The result of a sign-in, wherever the window shows it (under the button, or in the corner tray once the
 * incident that held the button has closed). */
function report(page: Page, headline: string | RegExp): Locator {
  const inPlace = page.getByRole('status').filter({ hasText: headline });
  const inTray = page.getByRole('complementary', { name: 'Sign-ins in progress' }).getByRole('listitem').filter({ hasText: headline });
  return inPlace.or(inTray).first();
}

/** Healthy again: nothing needs attention, and each organisation's cell says Healthy. */
async function allHealthy(page: Page, orgs: string[]): Promise<void> {
  const grid = await openOrganisations(page);
  for (const org of orgs) await expect(appCell(grid, org), `${org} is healthy again`).toHaveText(/^Healthy$/);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  await expect(page.getByText('Nothing needs attention. Every connection Relink checked is working.'), 'the overview has nothing left to fix').toBeVisible();
}

test(`a password change: Check now shows it on every organisation; Reconnect as the same person brings them all back${NEEDS_KEYCHAIN}`, async ({ page, browser }) => {
  const firm: Firm = await sandboxFirm(sb, 3, { givenName: 'Jane', familyName: 'Doe' });
  await openConnected(page, await registered(), firm.userId, firm.tenantIds);

  // Jane changes her Xero password: Xero revokes every sign-in she approved.
  await sb.control('POST', `/sandbox/users/${firm.userId}/password`);
  await checkNow(page);

  const card = incident(page, `Jane Doe's Xero password probably changed — 1 app, 3 organisations`);
  await expect(card).toBeVisible();
  await expect(card).toContainText('Needs reconnecting');
  await expect(card).toContainText('Reconnect as Jane Doe: they log in to Xero with their new password and approve again.');
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organisations' })).toHaveAccessibleDescription(
    '3 connections need attention',
  );
  await page.screenshot({ path: screenshotPath('app-reconnect-password-overview-light') });

  const grid = await openOrganisations(page);
  for (const org of firm.orgNames) {
    await expect(grid.getByRole('rowheader', { name: org })).toContainText('1 needs attention');
    await expect(appCell(grid, org)).toHaveText(/^Needs reconnect\s*Xero password changed$/);
  }

  // One consent as Jane, with her new password, covers all three.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  const { authorizeUrl } = await pressReconnect(page, card.getByRole('button', { name: `Reconnect ${APP} as Jane Doe` }));
  await approve(browser, authorizeUrl, firm.email, firm.orgNames);
  const done = report(page, 'Done: 3 organisations connected as Jane Doe.');
  await expect(done).toBeVisible();
  for (const org of firm.orgNames) await expect(done).toContainText(org);
  await expect(done).toContainText('Back again: ');

  await allHealthy(page, firm.orgNames);
});

test(`removed from several organisations: Check now says the person no longer has access; Reconnect as another advisor brings them back${NEEDS_KEYCHAIN}`, async ({ page, browser }) => {
  const firm = await sandboxFirm(sb, 3, { givenName: 'Ben', familyName: 'Carter' });
  // Aroha, a partner, has access to every client too.
  const aroha = await sb.control<{ userId: string }>('POST', '/sandbox/users', {
    email: 'aroha.ngata@firm.example',
    givenName: 'Aroha',
    familyName: 'Ngata',
  });
  for (const t of firm.tenantIds) await sb.control('PUT', `/sandbox/users/${aroha.userId}/orgs/${t}`, { role: 'adviser' });
  await openConnected(page, await registered(), firm.userId, firm.tenantIds);

  // Two clients remove Ben from their Xero organisations.
  const gone = [firm.orgNames[0]!, firm.orgNames[1]!];
  for (const t of firm.tenantIds.slice(0, 2)) await sb.control('DELETE', `/sandbox/users/${firm.userId}/orgs/${t}`);
  await checkNow(page);

  const card = incident(page, 'Ben Carter no longer has access to 2 organisations in Xero');
  await expect(card).toBeVisible();
  await expect(card).toContainText('Reconnect these organisations as another advisor who still has access');
  const grid = await openOrganisations(page);
  for (const org of gone) await expect(appCell(grid, org)).toHaveText(/Staff member lost access/);
  await expect(appCell(grid, firm.orgNames[2]!)).toHaveText(/^Healthy$/);

  // What an advisor does: the clients removed Ben on purpose, so reconnect as someone who still has access.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  const { authorizeUrl } = await pressReconnect(page, card.getByRole('button', { name: `Reconnect as another advisor: ${APP}` }));
  await approve(browser, authorizeUrl, 'aroha.ngata@firm.example', gone);
  const done = report(page, 'Done: 2 organisations connected as Aroha Ngata.');
  await expect(done).toBeVisible();
  for (const org of gone) await expect(done).toContainText(org);

  await allHealthy(page, firm.orgNames);
  // Each organisation is now reached through someone who has access to it.
  const after = await openOrganisations(page);
  await after.getByRole('row', { name: gone[0]!, exact: true }).getByRole('rowheader').click();
  await expect(page.getByRole('region', { name: gone[0]! })).toContainText(/Connected by\s*Aroha Ngata/);
});

test(`an app disconnected in one organisation: the detail says so; a Reconnect without ticking it says it is still missing and why; ticking it brings it back${NEEDS_KEYCHAIN}`, async ({ page, browser }) => {
  const firm = await sandboxFirm(sb, 3, { givenName: 'Jane', familyName: 'Doe' });
  const app = await registered();
  await openConnected(page, app, firm.userId, firm.tenantIds);
  const org = firm.orgNames[1]!;

  // Someone in the client's organisation removes the app under Settings → Connected Apps.
  await sb.control('DELETE', `/sandbox/orgs/${firm.tenantIds[1]}/apps/${app.clientId}`);
  await checkNow(page);

  await expect(incident(page, `${APP} was disconnected in ${org}`)).toBeVisible();
  const grid = await openOrganisations(page);
  await expect(appCell(grid, org)).toHaveText(/^Disconnected\s*App disconnected in this organisation$/);
  for (const other of [firm.orgNames[0]!, firm.orgNames[2]!]) await expect(appCell(grid, other)).toHaveText(/^Healthy$/);

  // The organisation's detail: what happened, what to do, and Reconnect for that organisation.
  await appCell(grid, org).click();
  const detail = page.getByRole('region', { name: org });
  await expect(detail).toBeVisible();
  await expect(detail).toContainText(`Why: ${APP} was disconnected in ${org}`);
  await expect(detail).toContainText(`What to do: Someone removed ${APP} under Settings → Connected apps in ${org}.`);
  await page.screenshot({ path: screenshotPath('app-reconnect-detail-light') });

  // Jane approves, but ticks another client instead of this one.
  const first = await pressReconnect(page, detail.getByRole('button', { name: `Reconnect ${APP} for ${org}` }));
  await expect(appCell(grid, org), 'the grid shows the sign-in under way in that cell').toHaveText(/Reconnecting…/);
  await approve(browser, first.authorizeUrl, firm.email, [firm.orgNames[0]!]);
  const partly = report(page, /Partly done: \d+ organisations? connected, 1 organisation still missing\./);
  await expect(partly).toBeVisible();
  await expect(partly.getByRole('listitem').filter({ hasText: org })).toHaveText(
    `${org}: Not ticked on the consent page, so Xero did not connect it. Reconnect and tick it.`,
  );
  await page.screenshot({ path: screenshotPath('app-reconnect-still-missing-light') });
  await expect(appCell(grid, org)).toHaveText(/^Disconnected\s*App disconnected in this organisation/);

  // Second try, ticking it.
  const second = await pressReconnect(page, detail.getByRole('button', { name: `Reconnect ${APP} for ${org}` }).first());
  await approve(browser, second.authorizeUrl, firm.email, [org]);
  const done = report(page, /Done: \d+ organisations? connected as Jane Doe\./);
  await expect(done).toBeVisible();
  await expect(done).toContainText(new RegExp(`Back again: .*${org}`));

  await expect(detail, 'the organisation detail shows one working connection').toContainText('1 app connected; all working.');
  await allHealthy(page, firm.orgNames);
});

test(`a Reconnect that ticks a client nobody asked for says so and offers to disconnect it, asking first${NEEDS_KEYCHAIN}`, async ({ page, browser }) => {
  const firm = await sandboxFirm(sb, 3, { givenName: 'Jane', familyName: 'Doe' });
  const app = await registered();
  // The firm connected two of Jane's three organisations; the third is not a client of this app.
  await openConnected(page, app, firm.userId, firm.tenantIds.slice(0, 2));
  const [, org, stranger] = firm.orgNames as [string, string, string];

  await sb.control('DELETE', `/sandbox/orgs/${firm.tenantIds[1]}/apps/${app.clientId}`);
  await checkNow(page);
  const grid = await openOrganisations(page);
  await appCell(grid, org).click();
  const detail = page.getByRole('region', { name: org });

  // Jane ticks the organisation asked for, and by mistake one more.
  const { authorizeUrl } = await pressReconnect(page, detail.getByRole('button', { name: `Reconnect ${APP} for ${org}` }));
  await approve(browser, authorizeUrl, firm.email, [org, stranger]);
  const result = report(page, 'Connected, and 1 organisation more than you set out to connect.');
  await expect(result, 'never a plain "Done"').toBeVisible();
  await expect(result).toContainText(new RegExp(`Back again: .*${org}`));
  await expect(result).toContainText(`Not what you set out to connect${stranger}: ticked on Xero's page, so ${APP} now reaches it too.`);
  await page.screenshot({ path: screenshotPath('app-reconnect-unintended-light') });

  // Disconnecting cannot be undone: the dialog says so, and Cancel changes nothing.
  await result.getByRole('button', { name: `Disconnect ${stranger} from ${APP}…` }).click();
  const dialog = page.getByRole('dialog', { name: `Disconnect ${stranger} from ${APP}?` });
  await expect(dialog).toContainText('This cannot be undone.');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  let xero = await sb.control('GET', '/sandbox/state');
  expect(xero.connections.filter((c: any) => c.tenantId === firm.tenantIds[2] && c.clientId === app.clientId)).toHaveLength(1);

  await result.getByRole('button', { name: `Disconnect ${stranger} from ${APP}…` }).click();
  await dialog.getByRole('button', { name: `Disconnect ${stranger}` }).click();
  await expect(dialog).toBeHidden();
  xero = await sb.control('GET', '/sandbox/state');
  expect(xero.connections.filter((c: any) => c.tenantId === firm.tenantIds[2] && c.clientId === app.clientId)).toHaveLength(0);
  await allHealthy(page, firm.orgNames.slice(0, 2));
  await expect(grid.getByRole('row', { name: stranger, exact: true })).toHaveCount(0);
});
