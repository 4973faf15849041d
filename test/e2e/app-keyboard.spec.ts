import { expect, test, type Page } from '@playwright/test';
import { NEEDS_KEYCHAIN, type BrowserMode } from '../support/browser-mode.js';
import { useE2eApp } from '../support/e2e-app.js';

/**
 * The window by keyboard (issue 10, item 16): focus never falls back to <body> when the control that had it goes
 * away; Escape closes the organisation detail from anywhere in the window; Ctrl+Enter explains the pasted error.
 * One demo firm for the file.
 */

const e2e = useE2eApp({ until: 'file', needsKeychain: true });

let demo: BrowserMode | null = null;

test.beforeAll(async () => {
  demo = await e2e.browserMode({ demo: true });
});

async function openOrganisations(page: Page): Promise<void> {
  await page.goto(demo!.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organisations', exact: true }).press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Organisations' })).toBeFocused();
}

/** What has focus, in words, for a failure message ("BODY" is the bug). */
const focused = (page: Page) =>
  page.evaluate(() => {
    const a = document.activeElement as HTMLElement | null;
    return !a || a === document.body ? 'BODY' : `${a.tagName} ${a.getAttribute('aria-label') ?? a.textContent?.trim().slice(0, 40) ?? ''}`;
  });

/** Opens an organisation from the grid by keyboard: search, Tab to the grid, Enter. */
async function openByKeyboard(page: Page, org: string) {
  const search = page.getByRole('searchbox', { name: 'Search organisations' });
  await search.fill(org);
  const cell = page.getByRole('grid', { name: 'Organisations' }).getByRole('rowheader', { name: new RegExp(`^${org}`) });
  await cell.focus();
  await page.keyboard.press('Enter');
  const detail = page.getByRole('region', { name: org });
  await expect(detail.getByRole('heading', { level: 2, name: org })).toBeFocused();
  return { detail, cell, search };
}

test(`Escape closes the organisation detail from the panel, the filters and the sidebar${NEEDS_KEYCHAIN}`, async ({ page }) => {
  await openOrganisations(page);
  const org = 'Harbourside Dental';

  // From inside the panel: closed, and focus is back on the cell it was opened from.
  let { detail, cell, search } = await openByKeyboard(page, org);
  await page.keyboard.press('Escape');
  await expect(detail).toHaveCount(0);
  await expect(cell).toBeFocused();

  // From the filters (an empty search box: Escape has nothing else to do there).
  ({ detail, cell, search } = await openByKeyboard(page, org));
  await page.getByRole('combobox', { name: 'Health' }).focus();
  await page.keyboard.press('Escape');
  await expect(detail).toHaveCount(0);
  expect(await focused(page)).not.toBe('BODY');

  // From the sidebar.
  ({ detail } = await openByKeyboard(page, org));
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Apps', exact: true }).focus();
  await page.keyboard.press('Escape');
  await expect(detail).toHaveCount(0);
  await expect(page.getByRole('heading', { level: 1, name: 'Organisations' })).toBeVisible();

  // In a search box with text, Escape clears the text first (the browser's own meaning), and closes next time.
  ({ detail, search } = await openByKeyboard(page, org));
  await search.focus();
  await page.keyboard.press('Escape');
  await expect(search).toHaveValue('');
  await expect(detail).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(detail).toHaveCount(0);
});

test(`focus never lands on <body>: closing the detail, cancelling and dismissing a sign-in${NEEDS_KEYCHAIN}`, async ({ page }) => {
  await openOrganisations(page);
  const { detail, cell } = await openByKeyboard(page, 'Skyline Signage');

  // The detail's Close button, pressed with the keyboard: focus returns to the grid.
  await detail.getByRole('button', { name: 'Close Skyline Signage' }).press('Enter');
  await expect(detail).toHaveCount(0);
  await expect(cell).toBeFocused();

  // A sign-in started, cancelled and its result dismissed, all by keyboard: the Dismiss button disappears with
  // the result, and focus goes back to the Reconnect button that started it.
  const again = await openByKeyboard(page, 'Skyline Signage');
  const reconnect = again.detail.getByRole('button', { name: /^Reconnect Harbour Practice Sync for Skyline Signage/ });
  await reconnect.press('Enter');
  const progress = reconnect.locator('xpath=..').getByRole('status');
  await expect(progress).toContainText('Waiting for approval in your browser…');
  await progress.getByRole('button', { name: 'Cancel' }).press('Enter');
  await expect(progress).toContainText('Cancelled. Nothing was changed.');
  const dismiss = progress.getByRole('button', { name: 'Dismiss' });
  await dismiss.focus();
  await page.keyboard.press('Enter');
  await expect(dismiss).toHaveCount(0);
  expect(await focused(page), 'focus after the Dismiss button went away').not.toBe('BODY');
  await expect(reconnect).toBeFocused();
});

test(`Ctrl+Enter in the explainer explains, and focus moves to the answer${NEEDS_KEYCHAIN}`, async ({ page }) => {
  await page.goto(demo!.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Explain an error', exact: true }).press('Enter');
  const box = page.getByLabel('Error message');
  await box.fill('{"error":"invalid_client"} 400 Bad Request from https://identity.xero.com/connect/token');
  await expect(page.getByText('Press Ctrl+Enter to explain.')).toBeVisible();
  await box.press('Control+Enter');
  const answer = page.getByRole('region').filter({ has: page.getByRole('heading', { level: 3, name: 'What to do' }) });
  await expect(answer).toBeVisible();
  await expect(answer.getByRole('heading', { level: 2 })).toBeFocused();
  // The text was not changed by the key (no line break added).
  await expect(box).toHaveValue('{"error":"invalid_client"} 400 Bad Request from https://identity.xero.com/connect/token');
});
