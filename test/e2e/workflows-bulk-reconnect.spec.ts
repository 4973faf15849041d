import { expect, test } from '@playwright/test';
import type { ReconnectPlan, ReconnectRunView } from '../../shared/workflows.js';
import { NEEDS_KEYCHAIN, screenshotPath, type BrowserMode } from '../support/browser-mode.js';
import { useE2eApp } from '../support/e2e-app.js';
import type { TestSandbox } from '../support/sandbox.js';
import { apiCall, approveLink, buildWorld, expectAccessible, sandboxOrgs, sandboxPerson, signInLink } from '../support/workflows-e2e.js';

/**
 * Bulk reconnect after a password change (issue 5, first acceptance item), in Chromium against browser mode and
 * the sandbox: Jane Doe's connections across 3 apps and 12 organisations (Practice Sync with multi-organisation
 * consent for 8 of them; Payroll Bridge and Receipts Hub connect one organisation per approval, 2 each) all die
 * when she changes her Xero password. The incident leads to the plan, which asks for 1 + 2 + 2 = 5 approvals
 * and says it may take as few as 3 if Xero kept her earlier connections (issue 10, item 4); each is given on the
 * sandbox's consent page as Jane; one organisation deliberately left unticked stays queued with its reason;
 * everything else is healthy; then the third-party checklist.
 */

const e2e = useE2eApp({ needsKeychain: true });

const ORGS = [
  'Kowhai Landscaping',
  'Bluegum Physiotherapy',
  'Ridgeway Builders',
  'Harbour Dental',
  'Tui Bakery',
  'Moana Surf School',
  'Pohutukawa Cafe',
  'Rimu Joinery',
  'Kauri Electrical',
  'Totara Vets',
  'Weka Print Co',
  'Kea Outdoor Gear',
];
const SYNC = 'Practice Sync';
const PAYROLL = 'Payroll Bridge';
const RECEIPTS = 'Receipts Hub';
/** Left unticked on Practice Sync's consent page. */
const UNTICKED = 'Rimu Joinery';

let sb: TestSandbox;
let run: BrowserMode | null = null;

test.beforeEach(async () => {
  sb = await e2e.sandbox();
});

test(`a password change across 3 apps and 12 organisations: the incident → the plan (5 approvals at most, perhaps 3) → run through the consent pages → healthy, one unticked organisation still queued${NEEDS_KEYCHAIN}`, async ({ page, browser }) => {
  // World setup connects 3 apps 5 times through the real connect flow (~5 s), then 5 consents in Chromium
  // (~3 s each with verification) and the checks around them; 120 s leaves room on the 2-core CI machines.
  test.setTimeout(120_000);
  const tenantIds = await sandboxOrgs(sb, ORGS);
  const jane = await sandboxPerson(sb, 'Jane', 'Doe', tenantIds);
  const t = (name: string) => tenantIds[ORGS.indexOf(name)]!;
  const syncOrgs = ORGS.slice(0, 8);
  const payrollOrgs = ORGS.slice(8, 10);
  const receiptsOrgs = ORGS.slice(10, 12);

  const profile = e2e.profile('wf-bulk');
  const apps = await buildWorld(
    sb,
    profile,
    [
      { name: SYNC, multiOrgConsent: true, consents: [{ who: jane, tenantIds: syncOrgs.map(t) }] },
      { name: PAYROLL, multiOrgConsent: false, consents: payrollOrgs.map((o) => ({ who: jane, tenantIds: [t(o)] })) },
      { name: RECEIPTS, multiOrgConsent: false, consents: receiptsOrgs.map((o) => ({ who: jane, tenantIds: [t(o)] })) },
    ],
    async (service) => {
      await service.workflows.addTracked({ organisation: 'Kowhai Landscaping', app: 'Gusto', authorisedBy: jane.email, reconnectUrl: 'https://app.gusto.example/settings/xero' });
    },
  );
  const clientId = (name: string) => apps.find((a) => a.name === name)!.clientId;

  // Jane changes her Xero password. The sandbox keeps connections across it, so to make each one-organisation
  // app need its own approval (and the unticked organisation really stay missing) those apps are also removed
  // in their organisations.
  await sb.control('POST', `/sandbox/users/${jane.userId}/password`);
  for (const o of payrollOrgs) await sb.control('DELETE', `/sandbox/orgs/${t(o)}/apps/${clientId(PAYROLL)}`);
  for (const o of receiptsOrgs) await sb.control('DELETE', `/sandbox/orgs/${t(o)}/apps/${clientId(RECEIPTS)}`);
  await sb.control('DELETE', `/sandbox/orgs/${t(UNTICKED)}/apps/${clientId(SYNC)}`);

  run = await e2e.browserMode({ profile });
  await page.goto(run.url);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await page.getByRole('banner').getByRole('button', { name: 'Check now' }).click();
  await expect(page.getByRole('banner').getByRole('status')).toHaveText(/^Checked \d+ sign-ins?/);

  // The incident → "Plan the reconnection".
  const card = page
    .getByRole('region', { name: 'Needs your attention' })
    .getByRole('listitem')
    .filter({ has: page.getByRole('heading', { level: 3, name: /Jane Doe's Xero password probably changed/ }) });
  await expect(card).toBeVisible();
  await card.getByRole('link', { name: 'Plan the reconnection: everything Jane Doe authorised' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Reconnect everything Jane Doe authorised' })).toBeVisible();

  // The plan: exactly the minimum number of approvals, as the API plans it.
  const plan = await apiCall<ReconnectPlan>(page, run.key, 'plan.get', { staffId: jane.userId });
  // Payroll Bridge and Receipts Hub connect one organisation per approval: one each (a refused sign-in may have
  // taken its connections with it), and the plan says how few it may take if Xero kept them (issue 10, item 4).
  expect(plan.consents).toHaveLength(5); // 1 (Practice Sync, all 8) + 2 (Payroll Bridge) + 2 (Receipts Hub)
  expect(plan.consents.map((c) => c.orgIds.length).sort((a, b) => a - b)).toEqual([1, 1, 1, 1, 8]);
  await expect(page.getByRole('heading', { level: 2, name: `${plan.consents.length} approvals bring back 12 organisations` })).toBeVisible();
  await expect(page.getByText(/^5 approvals at most, perhaps as few as 3: /)).toBeVisible();
  const syncGroup = page.getByRole('region', { name: SYNC });
  await expect(syncGroup).toContainText('One approval brings back all 8 organisations.');
  for (const o of syncOrgs) await expect(syncGroup).toContainText(o);
  await expect(page.getByRole('region', { name: PAYROLL })).toContainText('This app connects one organisation per approval: 2 approvals, perhaps fewer');
  await expect(page.getByRole('region', { name: PAYROLL }).getByRole('listitem')).toHaveCount(2);
  await expect(page.getByRole('region', { name: RECEIPTS }).getByRole('listitem')).toHaveCount(2);
  await page.screenshot({ path: screenshotPath('workflows-plan'), fullPage: true });
  await expectAccessible(page, 'the plan');

  // Start → the run.
  await page.getByRole('button', { name: 'Start reconnecting' }).click();
  const progress = page.getByRole('region', { name: 'Progress' });
  await expect(progress).toBeVisible();
  await expect(progress.getByRole('definition')).toHaveText(['0', '5', '0', '0', '5']);
  const rows = page.getByRole('table').getByRole('row');
  await expect(rows).toHaveCount(6);

  // Each approval in turn. The first through "Open the next approval", the rest by their own row's button (the
  // partly done Practice Sync item stays first in the queue).
  const stepStatus = progress.getByRole('status');
  const giveApproval = async (button: ReturnType<typeof page.getByRole>, app: string, tick: string[]) => {
    await button.click();
    const url = await signInLink(page, stepStatus);
    await approveLink(browser, url, jane.email, tick, app);
    await expect(stepStatus).not.toContainText('Waiting for approval', { timeout: 15_000 });
    await expect(stepStatus).not.toContainText('Approved. Checking', { timeout: 15_000 });
  };

  const firstRow = rows.nth(1);
  const firstApp = (await firstRow.getByRole('rowheader').innerText()).split('\n')[0]!.trim();
  const handled = new Set<string>();
  const orgsOf = async (row: ReturnType<typeof page.getByRole>) =>
    (await row.locator('.org-states li').allInnerTexts()).map((s) => s.replace(/: (queued|back)$/, '').trim());
  const tickFor = (app: string, orgs: string[]) => (app === SYNC ? orgs.filter((o) => o !== UNTICKED) : orgs);

  {
    const orgs = await orgsOf(firstRow);
    await giveApproval(page.getByRole('button', { name: 'Open the next approval' }), firstApp, tickFor(firstApp, orgs));
    handled.add(`${firstApp}|${orgs.join(',')}`);
    await page.screenshot({ path: screenshotPath('workflows-run-step'), fullPage: true });
    // Pause: nothing opens until Resume.
    await progress.getByRole('button', { name: 'Pause' }).click();
    await expect(progress).toContainText('Paused');
    await expect(progress.getByRole('button', { name: 'Open the next approval' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: /^Open this approval/ })).toHaveCount(0);
    await progress.getByRole('button', { name: 'Resume' }).click();
    await expect(progress.getByRole('button', { name: 'Open the next approval' })).toBeVisible();
  }
  for (let i = 0; i < 6; i++) {
    let next: { row: ReturnType<typeof page.getByRole>; app: string; orgs: string[] } | null = null;
    for (const row of await rows.all()) {
      if (!(await row.getByRole('button', { name: /^Open this approval/ }).count())) continue;
      const app = (await row.getByRole('rowheader').innerText()).split('\n')[0]!.trim();
      const orgs = await orgsOf(row);
      if (handled.has(`${app}|${orgs.join(',')}`)) continue;
      next = { row, app, orgs };
      break;
    }
    if (!next) break;
    handled.add(`${next.app}|${next.orgs.join(',')}`);
    await giveApproval(next.row.getByRole('button', { name: /^Open this approval/ }), next.app, tickFor(next.app, next.orgs));
  }

  // 4 approvals done; Practice Sync's stays queued for the unticked organisation, with the reason.
  await expect(progress.getByRole('definition')).toHaveText(['4', '1', '0', '0', '5']);
  const syncRow = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(`^${SYNC}`) }) });
  await expect(syncRow).toContainText('Queued');
  await expect(syncRow).toContainText(`${UNTICKED}: queued`);
  await expect(syncRow).toContainText(/not (ticked|connected)/i);
  for (const o of syncOrgs.filter((o) => o !== UNTICKED)) await expect(syncRow).toContainText(`${o}: back`);
  const runs = await apiCall<ReconnectRunView[]>(page, run.key, 'plan.runs', {});
  const mine = runs.find((r) => r.staffId === jane.userId)!;
  expect(mine.progress).toEqual({ total: 5, done: 4, remaining: 1, failed: 0, skipped: 0 });
  const syncItem = mine.items.find((i) => i.appName === SYNC)!;
  expect(syncItem.remainingOrgIds).toEqual([t(UNTICKED)]);
  expect(syncItem.reason).toBeTruthy();
  await expect(syncRow).toContainText(syncItem.reason!);
  await page.screenshot({ path: screenshotPath('workflows-run-queue'), fullPage: true });
  await expectAccessible(page, 'the running queue');

  // The advisor decides the unticked client can wait: skipped with a reason, and the plan is finished.
  await syncRow.getByRole('button', { name: /^Skip: Practice Sync/ }).click();
  await syncRow.getByLabel(/^Why skip Practice Sync/).fill('Rimu Joinery is moving to another firm');
  await syncRow.getByRole('button', { name: 'Skip this approval' }).click();
  await expect(syncRow).toContainText('Skipped');
  await expect(syncRow).toContainText('Rimu Joinery is moving to another firm');
  await expect(progress.getByRole('definition')).toHaveText(['4', '0', '0', '1', '5']);
  await expect(progress).toContainText('Finished');

  // The third-party checklist: where to reconnect Gusto, then ticked off.
  const checklist = page.getByRole('list', { name: 'Third-party apps to reconnect' });
  const gusto = checklist.getByRole('listitem').filter({ hasText: 'Gusto' });
  await expect(gusto).toContainText('Needs reconnecting');
  await expect(gusto.locator('code')).toHaveText('https://app.gusto.example/settings/xero');
  await expect(gusto.getByRole('link', { name: /Open Gusto's reconnect page/ })).toHaveAttribute('target', '_blank');
  await gusto.getByRole('button', { name: 'Mark reconnected: Gusto for Kowhai Landscaping' }).click();
  await expect(gusto).toContainText('Reconnected');
  await expect(gusto.getByRole('button')).toHaveCount(0);

  // Everything except the unticked organisation is healthy.
  const status = await apiCall<{ connections: Array<{ orgName: string; appId: string; health: string }> }>(page, run.key, 'status.get', {});
  const janeConnections = status.connections;
  for (const c of janeConnections) {
    const unticked = c.orgName === UNTICKED && c.appId === apps.find((a) => a.name === SYNC)!.appId;
    if (!unticked) expect(c.health, `${c.orgName}`).toBe('healthy');
    else expect(c.health).not.toBe('healthy');
  }
  expect(janeConnections.filter((c) => c.health === 'healthy')).toHaveLength(11);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organisations' }).click();
  const grid = page.getByRole('grid', { name: 'Organisations' });
  await expect(grid.getByRole('row', { name: 'Kowhai Landscaping', exact: true })).toContainText('Healthy');
  await expect(grid.getByRole('rowheader', { name: UNTICKED })).toContainText('1 needs attention');
});
