import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { expect, test, type Page } from '@playwright/test';
import { sandboxApp } from '../support/relink-harness.js';
import type { TestSandbox } from '../support/sandbox.js';
import { connectedProfile, NEEDS_KEYCHAIN, screenshotPath, type BrowserMode } from '../support/browser-mode.js';
import { useE2eApp } from '../support/e2e-app.js';
import { approveLink, sandboxOrgs, sandboxPerson, signInLink, type Person } from '../support/workflows-e2e.js';

/**
 * The window says what came of what the advisor did (issue 10, item 15): a saved secret that Xero accepts says so
 * (the callout that asked for it simply vanished before); a finished reconnect plan sums up what is back and what
 * is not; the sign-ins tray sits below the view, never over its cards, and forgets a finished sign-in after a
 * minute; the activity export takes the on-screen filters and is named by the days it covers; a From date after
 * the Until date says so.
 *
 * One world for the file: a web app with a client secret connected by Ada, a multi-organisation app connected by
 * Jane. The tests run in order (each leaves the activity the next one reads).
 */

const e2e = useE2eApp({ until: 'file', needsKeychain: true });
test.describe.configure({ mode: 'serial' });

const REPORTING = 'Practice Reporting';
const SYNC = 'Practice Sync';

let sb: TestSandbox | null = null;
let run: BrowserMode | null = null;
let reportingClientId = '';
let ada: Person;
let jane: Person;
let janeOrgs: string[] = [];
let tmp = '';

test.beforeAll(async () => {
  sb = await e2e.sandbox();
  tmp = e2e.scratchDir('feedback');
  janeOrgs = ['Kauri Books', 'Rimu Joinery'];
  const adaOrgs = ['Totara Travel', 'Matai Motors'];
  const ids = await sandboxOrgs(sb, [...janeOrgs, ...adaOrgs]);
  jane = await sandboxPerson(sb, 'Jane', 'Doe', ids.slice(0, 2));
  ada = await sandboxPerson(sb, 'Ada', 'Adviser', ids.slice(2));
  const profile = e2e.profile('feedback');
  const reporting = await sandboxApp(sb, { name: REPORTING, type: 'web', multiOrgConsent: true });
  reportingClientId = reporting.clientId;
  await connectedProfile(sb, profile, { ...reporting, name: REPORTING }, [{ userId: ada.userId, tenantIds: ids.slice(2) }]);
  await connectedProfile(sb, profile, { ...(await sandboxApp(sb, { name: SYNC, multiOrgConsent: true })), name: SYNC }, [{ userId: jane.userId, tenantIds: ids.slice(0, 2) }]);
  run = await e2e.browserMode({ profile });
});

const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

async function open(page: Page): Promise<void> {
  await page.goto(run!.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
}

async function checkNow(page: Page): Promise<void> {
  await page.getByRole('banner').getByRole('button', { name: 'Check now' }).click();
  await expect(page.getByRole('banner').getByRole('status')).toHaveText(/^Checked \d+ sign-ins?/);
}

const focusIsOnBody = (page: Page) => page.evaluate(() => document.activeElement === document.body || document.activeElement === null);

test(`a new secret Xero accepts: a notice says the sign-in works again, and focus lands on it${NEEDS_KEYCHAIN}`, async ({ page }) => {
  await open(page);
  // Someone generated a new secret in Xero's developer portal: Relink's stops working.
  const { clientSecret } = await sb!.control<{ clientSecret: string }>('POST', `/sandbox/apps/${reportingClientId}/secret`);
  await checkNow(page);
  await nav(page, 'Apps');
  const callout = page.getByRole('region', { name: `Xero no longer accepts ${REPORTING}'s credentials` });
  await expect(callout).toBeVisible();
  await callout.getByLabel(`Client secret of ${REPORTING}`).fill(clientSecret);
  await callout.getByRole('button', { name: 'Save and check' }).press('Enter');

  await expect(callout).toHaveCount(0);
  const notice = page.locator('[data-notice]').filter({ hasText: `Saved. Xero accepts ${REPORTING}'s new secret: its sign-in works again.` });
  await expect(notice).toBeVisible();
  // A live region, so a screen reader hears it; and the keyboard carries on from it, not from the top.
  await expect(page.getByRole('status').filter({ has: notice })).toHaveCount(1);
  await expect(notice).toBeFocused();
  expect(await focusIsOnBody(page)).toBe(false);
  // It can be dismissed; focus stays in the window.
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: /^Dismiss: Saved\./ })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(notice).toHaveCount(0);
  expect(await focusIsOnBody(page)).toBe(false);
});

test(`a reconnect plan that finishes sums up what is back${NEEDS_KEYCHAIN}`, async ({ page, browser }) => {
  await open(page);
  await sb!.control('POST', `/sandbox/users/${jane.userId}/password`);
  await checkNow(page);
  const card = page
    .getByRole('region', { name: 'Needs your attention' })
    .getByRole('listitem')
    .filter({ has: page.getByRole('heading', { level: 3, name: /Jane Doe's Xero password probably changed/ }) });
  await card.getByRole('link', { name: /^Plan the reconnection/ }).click();
  await page.getByRole('button', { name: 'Start reconnecting' }).click();
  const progress = page.getByRole('region', { name: 'Progress' });
  await progress.getByRole('button', { name: 'Open the next approval' }).click();
  await approveLink(browser, await signInLink(page, progress), jane.email, janeOrgs, SYNC);

  const summary = page.getByRole('region', { name: /^Plan finished/ });
  await expect(summary).toBeVisible({ timeout: 15_000 });
  await expect(summary).toHaveAccessibleName('Plan finished: everything is back');
  await expect(summary).toContainText('1 approval given. 2 of 2 organisations are back.');
  await page.screenshot({ path: screenshotPath('app-feedback-plan-summary-1280x800') });
});

test(`the sign-ins tray sits below the view, never over it, and forgets a finished sign-in after a minute${NEEDS_KEYCHAIN}`, async ({ page }) => {
  await page.clock.install();
  await page.setViewportSize({ width: 1366, height: 768 });
  await open(page);
  await nav(page, 'Apps');
  await page.getByRole('button', { name: `Connect organisations to ${SYNC}` }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Waiting for approval in your browser…' })).toBeVisible();
  // Moving on: the sign-in is followed in the tray.
  await nav(page, 'Overview');
  const tray = page.getByRole('complementary', { name: 'Sign-ins in progress' });
  await expect(tray).toContainText('Waiting for approval in your browser…');
  const main = (await page.locator('#main').boundingBox())!;
  const t = (await tray.boundingBox())!;
  expect(t.y, 'the tray starts below the view: it covers none of its cards').toBeGreaterThanOrEqual(main.y + main.height - 0.5);
  expect(t.y + t.height).toBeLessThanOrEqual(768.5);
  await page.screenshot({ path: screenshotPath('app-feedback-tray-1366x768') });

  await tray.getByRole('button', { name: 'Cancel' }).click();
  await expect(tray).toContainText('Cancelled. Nothing was changed.');
  // A minute later the finished sign-in has left the tray (the Activity view keeps the history).
  await page.clock.fastForward(61_000);
  await expect(tray).toHaveCount(0);
});

test(`the activity export takes the on-screen filters and is named by the days it covers; From after Until says so${NEEDS_KEYCHAIN}`, async ({ page }) => {
  await open(page);
  await nav(page, 'Activity');
  await expect(page.getByRole('table').getByRole('row', { name: /Problem found/ }).first()).toBeVisible();
  await page.getByLabel('What happened').selectOption({ label: 'Problem found' });
  await expect(page.getByRole('table').getByRole('row').nth(1)).toContainText('Problem found');
  const shown = (await page.getByRole('table').getByRole('row').count()) - 1;

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const today = await page.evaluate(() => {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  });
  // Everything here happened today: the file says so, not "1970-01-01".
  expect(download.suggestedFilename()).toBe(`relink-activity-${today}-to-${today}.csv`);
  const file = path.join(tmp, download.suggestedFilename());
  await download.saveAs(file);
  const rows = parse(fs.readFileSync(file, 'utf8'), { bom: true }) as string[][];
  const action = rows[0]!.indexOf('action');
  expect(rows.length - 1, 'the export holds what the screen shows').toBe(shown);
  expect(rows.slice(1).every((r) => r[action] === 'Problem found')).toBe(true);
  await expect(page.getByRole('status').filter({ hasText: /^Exported / })).toHaveText(new RegExp(`^Exported ${shown} entr(y|ies) from .+ as relink-activity-${today}-to-${today}\\.csv\\.$`));

  // A From after the Until: said, not an empty list that looks like "nothing happened".
  const tomorrow = await page.evaluate(() => {
    const d = new Date();
    d.setDate(d.getDate() + 1);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  });
  await page.getByLabel('From').fill(tomorrow);
  await page.getByLabel('Until').fill(today);
  await expect(page.getByRole('alert')).toContainText(/^The From date \(.+\) is after the Until date \(.+\), so nothing can match\. Change one of them\.$/);
  await expect(page.getByText('Nothing recorded for these filters.')).toHaveCount(0);
  await expect(page.getByRole('table')).toHaveCount(0);
});
