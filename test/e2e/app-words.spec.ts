import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { expect, test, type Page } from '@playwright/test';
import type { StatusSnapshot } from '../../shared/api.js';
import { CAUSES, HEALTH_STATES } from '../../shared/domain.js';
import { ACTIVITY_ACTION_WORDS } from '../../shared/plain-words.js';
import { sandboxApp } from '../support/relink-harness.js';
import type { TestSandbox } from '../support/sandbox.js';
import { connectedProfile, NEEDS_KEYCHAIN, type BrowserMode } from '../support/browser-mode.js';
import { useE2eApp } from '../support/e2e-app.js';
import { apiCall } from '../support/workflows-e2e.js';

/**
 * Every verdict true, in a bookkeeper's words (issue 10, items 2, 5, 12 and 13), in the demo firm as a new advisor
 * meets it: no lifetime forecast on a connection that does not work; an empty profile says it is empty; a sign-in
 * about to end on its own gets a dated card naming its clients, and its grid cells say how many days are left;
 * no slug, bare code, "(s)" or other date format anywhere in the window or the activity CSV.
 *
 * One demo for the whole file (the refresh test, which changes it, runs last), and one profile with an app but no
 * connection for the empty state.
 */

const e2e = useE2eApp({ until: 'file', needsKeychain: true });
test.describe.configure({ mode: 'serial' });

let demo: BrowserMode | null = null;
let bare: BrowserMode | null = null;
let sb: TestSandbox | null = null;

test.beforeAll(async () => {
  sb = await e2e.sandbox();
  const profile = e2e.profile('words');
  // An app added, nothing connected yet: what an advisor has after first run if they skip the Connect step.
  await connectedProfile(sb, profile, { ...(await sandboxApp(sb, { name: 'Practice Sync' })), name: 'Practice Sync' }, []);
  [demo, bare] = await Promise.all([e2e.browserMode({ demo: true }), e2e.browserMode({ profile })]);
});

const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

async function openDemo(page: Page): Promise<StatusSnapshot> {
  await page.goto(demo!.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  return apiCall<StatusSnapshot>(page, demo!.key, 'status.get', {});
}

/** Opens an organisation's detail from the grid (searched for first: rows out of view are not in the page). */
async function openOrg(page: Page, org: string) {
  await page.getByRole('searchbox', { name: 'Search organisations' }).fill(org);
  await page.getByRole('grid', { name: 'Organisations' }).getByRole('rowheader', { name: new RegExp(`^${org}`) }).click();
  const detail = page.getByRole('region', { name: org });
  await expect(detail.getByRole('heading', { level: 2, name: org })).toBeVisible();
  return detail;
}

/** One connection's part of the organisation detail, by its app. */
const connectionIn = (detail: ReturnType<Page['getByRole']>, app: string) =>
  detail.getByRole('listitem').filter({ has: detail.page().getByRole('heading', { level: 3, name: new RegExp(`^${app}`) }) });

// ── what the window must never say ───────────────────────────────────────────────────────────────────────────

const hyphenated = (xs: readonly string[]) => xs.filter((x) => x.includes('-'));
const SLUGS = [...new Set([...hyphenated(HEALTH_STATES), ...hyphenated(CAUSES), ...hyphenated(Object.keys(ACTIVITY_ACTION_WORDS))])];
const SLUG = new RegExp(`(?<![\\w-])(${SLUGS.join('|')})(?![\\w-])`);
const CODE = /\b(invalid_grant|invalid_client|unauthorized_client|invalid_scope|insufficient_scope|AuthenticationUnsuccessful|AuthorizationUnsuccessful)\b/g;
const JARGON = /\b(grants?|dependenc(y|ies)|tenants?|tokens?)\b/i;
const OTHER_DATES = [/\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}\b/, /\b\d{1,2}:\d{2}\s?(AM|PM)\b/i, /\b\d{1,2}\/\d{1,2}\/\d{2,4}\b/];

/** What a bookkeeper reads, checked line by line so a failure names the line. */
function problems(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (SLUG.test(line)) out.push(`slug: ${line}`);
    if (/\w\(s\)/.test(line)) out.push(`"(s)": ${line}`);
    if (JARGON.test(line)) out.push(`jargon: ${line}`);
    for (const d of OTHER_DATES) if (d.test(line)) out.push(`date format: ${line}`);
    // A code Xero sent may follow plain words, in brackets, for support; never on its own.
    for (const m of line.matchAll(CODE)) {
      const before = line.slice(0, m.index);
      const open = before.lastIndexOf('(');
      const inBrackets = open >= 0 && !before.slice(open).includes(')') && line.slice(m.index).includes(')');
      if (!inBrackets || !/[a-z]{3}/i.test(before.slice(0, open))) out.push(`bare code: ${line}`);
    }
  }
  return out;
}

async function expectPlainWords(page: Page, where: string): Promise<void> {
  // Closed <details> hide their evidence from innerText; open every one first.
  await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
  const text = await page.evaluate(() => document.body.innerText);
  expect(text.length, `${where} shows something`).toBeGreaterThan(50);
  expect(problems(text), `words on ${where}`).toEqual([]);
}

// ── the tests ────────────────────────────────────────────────────────────────────────────────────────────────

test(`a broken connection has no "keeps working" forecast; a working one has it, dated${NEEDS_KEYCHAIN}`, async ({ page }) => {
  const snapshot = await openDemo(page);
  await nav(page, 'Organisations');
  const detail = await openOrg(page, 'Harbourside Dental');
  const rejected = connectionIn(detail, 'Harbour Reporting');
  const refused = connectionIn(detail, 'Harbour Practice Sync');
  await expect(rejected).toContainText('App not accepted');
  await expect(refused).toContainText('Needs reconnecting');
  for (const broken of [rejected, refused]) await expect(broken).not.toContainText('Keeps working unused');
  // Xero's answer in words, its code after them.
  await expect(rejected).toContainText("Xero no longer accepts the app's secret (400 invalid_client)");
  await expect(refused).toContainText('Xero refused the sign-in (400 invalid_grant)');
  // Reconnecting an app Xero rejects cannot work, so it is not offered; the real fix is.
  await expect(rejected.getByRole('button', { name: /^Reconnect/ })).toHaveCount(0);
  await expect(rejected.getByRole('link', { name: 'Review Harbour Reporting in Apps' })).toBeVisible();

  // A healthy connection keeps its forecast, with the date in the window's one format.
  const healthy = snapshot.connections.find((c) => c.health === 'healthy' && c.orgName === 'Bellbird Books')!;
  const grant = snapshot.grants.find((g) => g.id === healthy.grantId)!;
  const ends = new Date(grant.refreshTokenExpiresAt);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  await page.keyboard.press('Escape');
  const bellbird = await openOrg(page, 'Bellbird Books');
  await expect(bellbird).toContainText(`Keeps working unused for${grant.daysLeft} more days (until ${ends.getDate()} ${months[ends.getMonth()]} ${ends.getFullYear()})`);

  // The Staff view says the same: Jane's sign-ins are broken, so none of them has a forecast.
  await nav(page, 'Staff');
  const jane = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: /^Jane Doe/ }) });
  await jane.getByRole('button', { name: /^Jane Doe/ }).click();
  const signIns = page.locator('.staff-detail-row:not([hidden]) .signin');
  await expect(signIns.first()).toBeVisible();
  await expect(signIns).toHaveCount(3);
  for (const s of await signIns.all()) await expect(s).not.toContainText('Keeps working unused');
});

test(`a profile with nothing connected says so, not "every connection is working"${NEEDS_KEYCHAIN}`, async ({ page }) => {
  await page.goto(bare!.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  const attention = page.getByRole('region', { name: 'Needs your attention' });
  await expect(attention).toContainText('Nothing connected yet.');
  await expect(attention.getByRole('link', { name: 'Connect organisations in Apps' })).toBeVisible();
  await expect(page.getByText(/Every connection Relink checked is working/)).toHaveCount(0);
  // No tile counting "0 Healthy".
  const byHealth = page.getByRole('region', { name: 'Connections by health' });
  await expect(byHealth).toHaveText(/No connections yet\./);
  await expect(byHealth.getByRole('link')).toHaveCount(0);
});

test(`words: no slug, bare code, "(s)", jargon or second date format anywhere in the window${NEEDS_KEYCHAIN}`, async ({ page }) => {
  const snapshot = await openDemo(page);
  await expectPlainWords(page, 'Overview');
  await nav(page, 'Organisations');
  await expectPlainWords(page, 'Organisations');
  for (const org of ['Harbourside Dental', 'Skyline Signage', 'Totara Timber Co', 'Brightside Electrical']) {
    await openOrg(page, org);
    await expectPlainWords(page, `the detail of ${org}`);
    await page.keyboard.press('Escape');
  }
  await nav(page, 'Apps');
  await expectPlainWords(page, 'Apps');
  await nav(page, 'Staff');
  const closed = page.getByRole('table').getByRole('button', { expanded: false });
  await expect(closed.first()).toBeVisible();
  while ((await closed.count()) > 0) await closed.first().click();
  await expectPlainWords(page, 'Staff, every person open');
  await nav(page, 'Activity');
  await expect(page.getByRole('table').getByRole('row', { name: /Problem found/ }).first()).toBeVisible();
  await expectPlainWords(page, 'Activity');
  await nav(page, 'Third-party apps');
  await expectPlainWords(page, 'Third-party apps');
  // The offboarding audit and its report (the PDF's page) of someone with broken connections.
  const jane = snapshot.staff.find((s) => s.name === 'Jane Doe')!;
  await page.evaluate((id) => (window.location.hash = `#/offboarding/${encodeURIComponent(id)}`), jane.id);
  await expect(page.getByRole('heading', { level: 1, name: /Jane Doe/ })).toBeVisible();
  await expect(page.getByText(/still depends on/).first()).toBeVisible();
  await expectPlainWords(page, "Jane Doe's offboarding audit");
  await page.evaluate((id) => (window.location.hash = `#/reports/offboarding/${encodeURIComponent(id)}`), jane.id);
  await expect(page.getByRole('heading', { level: 2, name: /^Verdict/ })).toBeVisible();
  await expectPlainWords(page, "Jane Doe's offboarding report");

  // The activity CSV: the same words (the time stays ISO, for spreadsheets).
  await nav(page, 'Activity');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'relink-words-')), download.suggestedFilename());
  await download.saveAs(file);
  const rows = parse(fs.readFileSync(file, 'utf8'), { bom: true }) as string[][];
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  expect(rows.length).toBeGreaterThan(10);
  const header = rows[0]!;
  const cells = rows.slice(1).map((r) => r.filter((_, i) => header[i] !== 'time' && header[i] !== 'actor').join('\n'));
  expect(problems(cells.join('\n')), 'words in the activity CSV').toEqual([]);
  expect(cells.some((c) => c.includes('Xero refused the sign-in (400 invalid_grant)'))).toBe(true);
});

test(`a sign-in about to end gets a dated card with its clients; its cells say the days left; Refresh now says it worked${NEEDS_KEYCHAIN}`, async ({ page }) => {
  const snapshot = await openDemo(page);
  const expiring = snapshot.connections.filter((c) => c.health === 'expiring');
  expect(expiring.length, 'the demo has a seasonal sign-in close to its 60 days').toBeGreaterThan(0);
  const grant = snapshot.grants.find((g) => g.id === expiring[0]!.grantId)!;
  const app = snapshot.apps.find((a) => a.id === grant.appId)!.name;
  const who = snapshot.staff.find((s) => s.id === grant.staffId)!.name;
  const orgs = expiring.filter((c) => c.grantId === grant.id).map((c) => c.orgName);
  const ends = await page.evaluate((iso) => {
    const d = new Date(iso);
    return `${d.getDate()} ${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()]} ${d.getFullYear()}`;
  }, grant.refreshTokenExpiresAt);

  const card = page
    .getByRole('region', { name: 'Needs your attention' })
    .getByRole('listitem')
    .filter({ has: page.getByRole('heading', { level: 3, name: `${app} through ${who}: ${orgs.length} organisations stop working on ${ends}, in ${grant.daysLeft} days` }) });
  await expect(card).toBeVisible();
  await expect(card).toContainText('Expiring soon');
  for (const org of orgs) await expect(card).toContainText(org);

  // Each of those cells in the grid says how long it has.
  await nav(page, 'Organisations');
  const grid = page.getByRole('grid', { name: 'Organisations' });
  const appColumn = (await grid.getByRole('columnheader').allInnerTexts()).findIndex((t) => t.trim() === app);
  expect(appColumn).toBeGreaterThan(0);
  await page.getByRole('searchbox', { name: 'Search organisations' }).fill(orgs[0]!);
  await expect(grid.getByRole('row', { name: orgs[0]!, exact: true }).getByRole('gridcell').nth(appColumn - 1)).toHaveText(new RegExp(`^Expiring\\s*${grant.daysLeft} days left$`));

  // Refresh now: the card goes (the sign-in works for 60 more days) and a notice says so, with focus on it.
  await nav(page, 'Overview');
  await card.getByRole('button', { name: 'Refresh now' }).click();
  const notice = page.getByRole('status').filter({ hasText: `Refreshed. ${app} through ${who} keeps working` });
  await expect(notice).toBeVisible();
  await expect(card).toHaveCount(0);
  await expect(page.locator('[data-notice]').first()).toBeFocused();
});
