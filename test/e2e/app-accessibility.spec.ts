import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { NEEDS_KEYCHAIN, screenshotPath, type BrowserMode } from '../support/browser-mode.js';
import { useE2eApp } from '../support/e2e-app.js';

/**
 * Every main view of the window, in the light and the dark theme (the window follows the OS's choice), at three
 * window sizes (800×600, the smallest the window supports; 1366×768, a common laptop; 1920×1080): axe-core finds
 * no serious or critical accessibility violation, and a screenshot of each is kept under
 * test-results/screenshots/app-<view>-<theme>-<size>.png. One test per view and theme opens the view once and
 * resizes the window, so the sizes cost a screenshot and an axe run each, not another start.
 *
 * The views show the demo firm (browser mode with --demo), which has every kind of content the views can
 * show: incidents with fixes, healthy and broken cells, rejected credentials, staff with problems, activity.
 * First run needs a profile without apps, so it has a browser-mode process of its own.
 */

const e2e = useE2eApp({ until: 'file', needsKeychain: true });

let demo: BrowserMode | null = null;
let empty: BrowserMode | null = null;

test.beforeAll(async () => {
  // Both at once: the demo builds its firm through the real consent flow (a few seconds).
  [demo, empty] = await Promise.all([e2e.browserMode({ demo: true }), e2e.browserMode()]);
});

const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

/** Opens the demo window on the overview (the window's first view). */
async function openDemo(page: Page): Promise<void> {
  await page.goto(demo!.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Needs your attention' }).getByRole('heading', { level: 3 }).first()).toBeVisible();
}

interface View {
  name: string;
  open(page: Page): Promise<void>;
}

const VIEWS: View[] = [
  { name: 'overview', open: openDemo },
  {
    name: 'organisations',
    async open(page) {
      await openDemo(page);
      await nav(page, 'Organisations');
      await expect(page.getByRole('grid', { name: 'Organisations' }).getByRole('row', { name: 'Harbourside Dental' })).toBeVisible();
    },
  },
  {
    name: 'organisation-detail',
    async open(page) {
      await openDemo(page);
      await nav(page, 'Organisations');
      await page.getByRole('grid', { name: 'Organisations' }).getByRole('rowheader', { name: /^Harbourside Dental/ }).click();
      const detail = page.getByRole('region', { name: 'Harbourside Dental' });
      await expect(detail.getByRole('button', { name: /^Reconnect Harbour Practice Sync for Harbourside Dental/ })).toBeVisible();
      // The evidence, opened, is part of what must be readable.
      await detail.getByText(/^Why Relink thinks so/).first().click();
    },
  },
  {
    name: 'organisations-ticked',
    async open(page) {
      await openDemo(page);
      await nav(page, 'Organisations');
      const grid = page.getByRole('grid', { name: 'Organisations' });
      // Two organisations ticked for a bulk action, and what it would take shown.
      // (The tick box is the pointer's way in; the row's aria-selected is what assistive technology reads.)
      for (const org of ['Bluegum Physiotherapy', 'Brightside Electrical']) await grid.getByRole('row', { name: org, exact: true }).locator('.row-tick').click();
      await page.getByRole('button', { name: /^Reconnect what is broken/ }).click();
      await expect(page.getByRole('region', { name: 'Ticked organisations' }).getByRole('button', { name: /^Reconnect Harbour Practice Sync/ }).first()).toBeVisible();
    },
  },
  {
    name: 'apps',
    async open(page) {
      await openDemo(page);
      await nav(page, 'Apps');
      await expect(page.getByRole('table').getByRole('row', { name: /^Harbour Reporting/ })).toBeVisible();
    },
  },
  {
    name: 'add-app',
    async open(page) {
      await openDemo(page);
      await nav(page, 'Apps');
      await page.getByRole('button', { name: 'Add an app' }).click();
      const form = page.getByRole('form', { name: 'Add your Xero app' });
      await form.getByText('Advanced', { exact: true }).click();
      await expect(form.getByLabel('Xero sign-in server (leave empty for Xero)')).toBeVisible();
      // With the errors showing too: an empty form sent.
      await form.getByRole('button', { name: 'Add app' }).click();
      await expect(form.getByRole('textbox', { name: 'App name' })).toHaveAttribute('aria-invalid', 'true');
    },
  },
  {
    name: 'staff',
    async open(page) {
      await openDemo(page);
      await nav(page, 'Staff');
      await expect(page.getByRole('table').getByRole('row', { name: /^Jane Doe/ })).toBeVisible();
    },
  },
  {
    name: 'tracked',
    async open(page) {
      await openDemo(page);
      await nav(page, 'Third-party apps');
      await expect(page.getByRole('heading', { level: 1, name: 'Third-party apps' })).toBeVisible();
    },
  },
  {
    name: 'activity',
    async open(page) {
      await openDemo(page);
      await nav(page, 'Activity');
      await expect(page.getByRole('table').getByRole('row', { name: /Problem found/ }).first()).toBeVisible();
    },
  },
  {
    name: 'explain',
    async open(page) {
      await openDemo(page);
      await nav(page, 'Explain an error');
      await page.getByLabel('Error message').fill('{"error":"invalid_grant"} 400 Bad Request from https://identity.xero.com/connect/token');
      await page.getByRole('button', { name: 'Explain' }).click();
      await expect(page.getByRole('region').filter({ has: page.getByRole('heading', { level: 3, name: 'What to do' }) })).toBeVisible();
    },
  },
  {
    name: 'settings',
    async open(page) {
      await openDemo(page);
      await nav(page, 'Settings');
      await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
      await expect(page.getByLabel('Firm name')).not.toHaveValue('');
    },
  },
  {
    name: 'first-run',
    async open(page) {
      await page.goto(empty!.url);
      await expect(page.getByRole('heading', { level: 1, name: 'Welcome to Relink' })).toBeVisible();
    },
  },
  {
    name: 'first-run-add-app',
    async open(page) {
      await page.goto(empty!.url);
      await page.getByRole('region', { name: 'Add your Xero app' }).getByRole('button', { name: 'Add your Xero app' }).click();
      await expect(page.getByRole('heading', { level: 1, name: 'Add your Xero app' })).toBeVisible();
    },
  },
];

interface Violation {
  id: string;
  impact?: string | null;
  help: string;
  helpUrl: string;
  nodes: Array<{ target: unknown[]; failureSummary?: string; html: string }>;
}

/** One paragraph per violation: rule, impact, what it asks, and every element it found, with axe's reasons. */
function describe(violations: Violation[]): string {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .map((n) => `    • ${n.target.join(' ')}\n      ${n.html.slice(0, 200)}\n      ${(n.failureSummary ?? '').replace(/\n/g, '\n      ')}`)
        .join('\n');
      return `[${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}`;
    })
    .join('\n\n');
}

async function audit(page: Page, testInfo: TestInfo, label: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  // axe really looked at the page (an empty or broken page passes no rules).
  expect(result.passes.length, `axe passed rules on ${label}`).toBeGreaterThan(20);
  const all = result.violations as Violation[];
  if (all.length > 0) {
    const text = describe(all);
    // Moderate and minor findings are reported, not failed on; they are worth reading.
    console.log(`axe on ${label}: ${all.length} violation(s)\n${text}`);
    await testInfo.attach(`axe-${label}.txt`, { body: text, contentType: 'text/plain' });
  }
  const blocking = all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(blocking, `serious or critical accessibility violations on ${label}:\n${describe(blocking)}`).toEqual([]);
}

const SIZES = [
  { width: 800, height: 600 },
  { width: 1366, height: 768 },
  { width: 1920, height: 1080 },
] as const;

for (const theme of ['light', 'dark'] as const) {
  test.describe(`${theme} theme`, () => {
    test.use({ colorScheme: theme, viewport: SIZES[1] });

    for (const view of VIEWS) {
      test(`${view.name}: no serious or critical axe violations at 800×600, 1366×768 and 1920×1080; screenshots${NEEDS_KEYCHAIN}`, async ({ page }, testInfo) => {
        await page.emulateMedia({ colorScheme: theme });
        await view.open(page);
        // The theme really applies (the page follows prefers-color-scheme).
        expect(await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches)).toBe(theme === 'dark');
        for (const size of SIZES) {
          const label = `${size.width}x${size.height}`;
          await page.setViewportSize(size);
          // The layout follows the size (sidebar, detail overlay) before anything is measured.
          await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
          // Nothing sticks out of the window sideways: the page itself never scrolls horizontally.
          expect(await page.evaluate(() => document.documentElement.scrollWidth), `${view.name} fits ${label} across`).toBeLessThanOrEqual(size.width);
          // The window's views scroll inside the window (header and navigation stay put), so the screenshot is the
          // window as the advisor sees it; no blinking caret or running spinners, so runs compare.
          await page.screenshot({ path: screenshotPath(`app-${view.name}-${theme}-${label}`), animations: 'disabled', caret: 'hide' });
          await audit(page, testInfo, `${view.name} (${theme}, ${label})`);
        }
      });
    }
  });
}
