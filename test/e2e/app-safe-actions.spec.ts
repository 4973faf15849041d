import { expect, test, type Locator, type Page } from '@playwright/test';
import { openWindow, screenshotPath, type BrowserMode } from '../support/browser-mode.js';
import { useE2eApp } from '../support/e2e-app.js';

/**
 * Every verdict true, every action safe (issue 10), as a new advisor meets them in the demo firm:
 *
 * - Reconnect is not offered for an app whose credentials Xero rejects (the sign-in would end in
 *   `invalid_client`): the button is disabled with the reason and the fix, wherever it appears.
 * - The waiting box and every incident card name the exact organisations to tick and the person to sign in
 *   as — Xero's consent page lists every organisation that person can reach — and, for a colleague who lost
 *   access, who could take the organisations over.
 * - The explainer says no more than the pasted message shows.
 *
 * One demo for the whole file (it takes a few seconds to build); each test leaves it as it found it (a sign-in
 * started is cancelled).
 */

test.describe.configure({ mode: 'serial' });

const e2e = useE2eApp({ until: 'file' });

let run: BrowserMode;

test.beforeAll(async () => {
  run = await e2e.browserMode({ demo: true, timeoutMs: 60_000 });
});

const SYNC = 'Harbour Practice Sync';
const REPORTING = 'Harbour Reporting';

async function overview(page: Page): Promise<void> {
  await openWindow(page, run);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
}

function card(page: Page, summary: string | RegExp): Locator {
  return page
    .getByRole('region', { name: 'Needs your attention' })
    .getByRole('listitem')
    .filter({ has: page.getByRole('heading', { level: 3, name: summary }) });
}

/** The names after "N organisations: " on a card (the short list, or the full one behind "and N more"). */
async function namedOrgs(scope: Locator): Promise<string[]> {
  const orgs = scope.locator('.incident-orgs');
  const full = orgs.locator('li');
  if ((await full.count()) > 0) return full.allInnerTexts();
  const text = await orgs.innerText();
  return text.replace(/^.*?organisations?: /, '').split(', ');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function openOrganisation(page: Page, org: string): Promise<Locator> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organisations' }).click();
  const grid = page.getByRole('grid', { name: 'Organisations' });
  await grid.getByRole('row', { name: org, exact: true }).getByRole('rowheader').click();
  const detail = page.getByRole('region', { name: org });
  await expect(detail).toBeVisible();
  return detail;
}

async function cancelSignIn(scope: Locator): Promise<void> {
  await scope.getByRole('button', { name: 'Cancel', exact: true }).click();
  await expect(scope).toContainText('Cancelled. Nothing was changed.');
}

test("Reconnect is not offered for an app whose credentials Xero rejects: disabled, with the reason and the fix", async ({ page }) => {
  await overview(page);
  const rejected = card(page, `Xero no longer accepts ${REPORTING}'s credentials — 6 organisations`);
  await expect(rejected).toBeVisible();
  await expect(rejected.getByRole('button', { name: /^Reconnect/ }), 'the card offers the fix, not a sign-in').toHaveCount(0);
  const [org] = await namedOrgs(rejected);

  // An organisation it reaches: the fix, and no Reconnect for that app.
  let detail = await openOrganisation(page, org!);
  await expect(detail.getByRole('link', { name: `Review ${REPORTING} in Apps` }).first()).toBeVisible();
  await expect(detail.getByRole('button', { name: new RegExp(`^Reconnect ${REPORTING}`) })).toHaveCount(0);

  // An organisation it is not connected to: no "Connect" for that app either, but where the fix is.
  detail = await openOrganisation(page, 'Bellbird Books');
  await expect(detail.getByRole('button', { name: `Connect ${REPORTING} for Bellbird Books` })).toHaveCount(0);
  await expect(detail.getByRole('button', { name: `Connect Harbour Payroll Bridge for Bellbird Books` })).toBeEnabled();
  await detail.getByRole('link', { name: new RegExp(`${REPORTING}.*fix it in Apps`) }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Apps' })).toBeVisible();

  // Apps: Connect organisations for that app is disabled the same way; the others are not.
  const appsConnect = page.getByRole('button', { name: `Connect organisations to ${REPORTING}` });
  await expect(appsConnect).toBeDisabled();
  await expect(appsConnect).toHaveAccessibleDescription(
    `Xero rejects ${REPORTING}'s credentials (400 invalid_client), so this sign-in would fail at its last step. Update the app's secret first. Enter ${REPORTING}'s new secret in Apps`,
  );
  await appsConnect.click({ force: true });
  await expect(page.getByText('Waiting for approval in your browser'), 'pressing it anyway starts no sign-in').toHaveCount(0);
  await expect(page.getByRole('button', { name: `Connect organisations to ${SYNC}` })).toBeEnabled();
  await expect(page.getByRole('heading', { level: 2, name: `Xero no longer accepts ${REPORTING}'s credentials` })).toBeVisible();
  await page.screenshot({ path: screenshotPath('app-safe-actions-rejected-apps-light'), fullPage: true });
});

test('the removed colleague\'s card names the organisations and who could take them over; the waiting box names what to tick', async ({ page }) => {
  await overview(page);
  const ben = card(page, 'Ben Carter no longer has access to 3 organisations in Xero');
  await expect(ben).toBeVisible();
  await expect(ben).toContainText(/3 organisations: [^,]+, [^,]+, [^,.]+No one else/);
  const orgs = await namedOrgs(ben);
  expect(orgs).toHaveLength(3);
  // Who could take them over, from what Relink saw: in the demo nobody else's sign-in reaches these three (each
  // organisation is connected by one person), and the card says so rather than guess at Xero roles it cannot see.
  await expect(ben).toContainText(
    "No one else at the firm had a working connection to them at Relink's last check: ask each client's Xero admin to invite the advisor who should take them over.",
  );
  await page.screenshot({ path: screenshotPath('app-safe-actions-removed-card-light') });

  await ben.getByRole('button', { name: `Reconnect as another advisor: ${SYNC}` }).click();
  const waiting = ben.getByRole('status').filter({ hasText: 'Waiting for approval in your browser' });
  await expect(waiting).toContainText('Sign in to Xero as an advisor who has access to them.');
  await expect(waiting).toContainText(`Tick these 3 organisations: ${orgs[0]}, ${orgs[1]} and ${orgs[2]} for ${SYNC} and press Allow access.`);
  await page.screenshot({ path: screenshotPath('app-safe-actions-removed-waiting-light') });
  await cancelSignIn(ben);

  // Each named organisation really is one Ben lost (the grid says so for Practice Sync).
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organisations' }).click();
  const grid = page.getByRole('grid', { name: 'Organisations' });
  for (const org of orgs) {
    // The grid only draws the rows in view: search for each.
    await page.getByPlaceholder('Search organisations…').fill(org);
    await expect(grid.getByRole('row', { name: new RegExp(`^${escape(org)}( |$)`) })).toContainText('Staff member lost access');
  }
});

test("the password change: the waiting box names the person and every organisation to tick, which Xero's page lists among more", async ({ page, browser }) => {
  await overview(page);
  const jane = card(page, /^Jane Doe's Xero password probably changed/);
  await expect(jane).toContainText('Sign in as: Jane Doe (jane.doe@harbourfinch.example).');
  await jane.getByRole('button', { name: `Reconnect ${SYNC} as Jane Doe` }).click();
  const waiting = jane.getByRole('status').filter({ hasText: 'Waiting for approval in your browser' });
  await expect(waiting).toContainText('Sign in to Xero as Jane Doe (jane.doe@harbourfinch.example).');
  await expect(waiting).toContainText(/Tick these (\d+) organisations for Harbour Practice Sync and press Allow access\. Leave any others on Xero's page as they are\./);
  const named = await waiting.getByRole('list', { name: 'Organisations to tick' }).getByRole('listitem').allInnerTexts();
  const count = Number(/Tick these (\d+) organisations/.exec(await waiting.innerText())![1]);
  expect(named).toHaveLength(count);
  await page.screenshot({ path: screenshotPath('app-safe-actions-password-waiting-light') });

  // On Xero's (the sandbox's) page, as Jane: every named organisation is there, among others she can reach.
  const signIn = await browser.newPage();
  try {
    await signIn.goto((await waiting.getByRole('link', { name: 'Open the sign-in page again' }).getAttribute('href'))!);
    await signIn.getByLabel('Log in as').selectOption('jane.doe@harbourfinch.example');
    await signIn.getByRole('button', { name: 'Log in' }).click();
    const listed = await signIn.getByRole('checkbox').evaluateAll((boxes) => boxes.map((b) => (b.parentElement?.textContent ?? '').replace('Already connected', '').trim()));
    for (const org of named) expect(listed, `${org} is on Xero's page`).toContain(org);
    expect(listed.length, "Xero's page lists more than the ones to tick").toBeGreaterThan(named.length);
  } finally {
    await signIn.close();
  }
  await cancelSignIn(jane);
});

test('an organisation where the app was disconnected: the waiting box names it and the person', async ({ page }) => {
  await overview(page);
  const disconnected = card(page, new RegExp(`^${SYNC} was disconnected in (.+)$`));
  const org = /was disconnected in (.+)$/.exec(await disconnected.getByRole('heading', { level: 3 }).innerText())![1]!;
  await expect(disconnected).toContainText(`Organisation: ${org}`);
  await expect(disconnected).toContainText(/Sign in as: \S+ \S+ \(\S+@harbourfinch\.example\)\./);
  await disconnected.getByRole('button', { name: /^Reconnect/ }).click();
  const waiting = disconnected.getByRole('status').filter({ hasText: 'Waiting for approval in your browser' });
  await expect(waiting).toContainText(/Sign in to Xero as \S+ \S+ \(\S+@harbourfinch\.example\)\./);
  await expect(waiting).toContainText(`Tick ${org} for ${SYNC} and press Allow access.`);
  await cancelSignIn(disconnected);
});

test('the explainer says no more than the message shows', async ({ page }) => {
  await openWindow(page, run, 'explain');
  const explain = async (text: string) => {
    await page.getByLabel('Error message').fill(text);
    await page.getByRole('button', { name: 'Explain', exact: true }).click();
    return page.getByRole('region', { name: /./ }).filter({ has: page.locator('#explanation-title') });
  };

  let r = await explain('unauthorized_client');
  await expect(r.getByRole('heading', { level: 2 })).toHaveText('Xero refused to let this app sign in');
  const said = await r.innerText();
  expect(said.indexOf('redirect URI'), 'the commonest cause comes first').toBeLessThan(said.indexOf('client ID'));
  await expect(r).toContainText('possible');

  r = await explain('oauth_problem=token_rejected&oauth_problem_advice=Token THISISANACCESSTOKEN does not match an expected REQUEST token');
  await expect(r.getByRole('heading', { level: 2 })).toHaveText('The app lost track of its newest access key');
  await expect(r).toContainText('This message comes from OAuth 1.0a, the sign-in method Xero used before OAuth 2.0 and has since retired');
  await expect(r).toContainText('the app lost track of its latest token');
  await expect(r).not.toContainText('THISISANACCESSTOKEN');

  r = await explain('oauth_problem=timestamp_refused&oauth_problem_advice=The timestamp is too old');
  await expect(r).toContainText("for an app that runs online that is the app vendor's server, not this computer");

  r = await explain('403');
  await expect(r.getByRole('heading', { level: 2 })).toHaveText('Xero refused access to an organisation');
  await expect(r.locator('.confidence')).toHaveText('possible');
  await page.screenshot({ path: screenshotPath('app-safe-actions-explain-403-light') });
});
