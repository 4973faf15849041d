import { expect, test } from '@playwright/test';
import { startSandboxServer, type RunningSandbox } from '../../main/sandbox/server.js';
import { authorizeUrl, pkcePair } from '../support/sandbox.js';
import { startCallbackCatcher, type CallbackCatcher } from '../support/loopback-callback.js';

/**
 * The sandbox's consent pages, as a person meets them in Chromium: log in as a staff member, tick
 * organisations, allow or cancel. Demo mode and training depend on these pages, and later end-to-end
 * journeys (reconnect, bulk reconnect) go through them.
 */
let running: RunningSandbox;
let catcher: CallbackCatcher;

async function control<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${running.origin}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function firm(multiOrgConsent: boolean) {
  const names = ['Kowhai Landscaping Ltd', 'Bluegum Physiotherapy', 'Ridgeway Builders'];
  const tenantIds: string[] = [];
  for (const name of names) tenantIds.push((await control<{ tenantId: string }>('POST', '/sandbox/orgs', { name })).tenantId);
  const { userId } = await control<{ userId: string }>('POST', '/sandbox/users', {
    email: 'jane.doe@harbourfinch.example',
    givenName: 'Jane',
    familyName: 'Doe',
  });
  for (const t of tenantIds) await control('PUT', `/sandbox/users/${userId}/orgs/${t}`, { role: 'adviser' });
  const app = await control<{ clientId: string }>('POST', '/sandbox/apps', {
    name: multiOrgConsent ? 'Harbour Practice Sync' : 'Harbour Payroll Bridge',
    type: 'pkce',
    redirectUris: [catcher.redirectUri],
    tier: 'advanced',
    multiOrgConsent,
  });
  return { tenantIds, userId, clientId: app.clientId, names };
}

test.beforeEach(async () => {
  running = await startSandboxServer({ port: 0, seed: { seed: 'empty' } });
  catcher = await startCallbackCatcher();
});

test.afterEach(async () => {
  await catcher.close();
  await running.close();
});

test('a staff member logs in, ticks two organisations and the app receives a working code', async ({ page }) => {
  const world = await firm(true);
  const { verifier, challenge } = pkcePair();
  await page.goto(authorizeUrl(running.origin, { clientId: world.clientId, redirectUri: catcher.redirectUri, challenge, state: 'e2e-state' }));

  await expect(page.getByRole('heading', { name: 'Log in to Xero' })).toBeVisible();
  await page.screenshot({ path: 'test-results/screenshots/sandbox-login.png', fullPage: true });
  await page.getByLabel('Log in as').selectOption('jane.doe@harbourfinch.example');
  await page.getByRole('button', { name: 'Log in' }).click();

  await expect(page.getByRole('heading', { name: /Harbour Practice Sync wants access/ })).toBeVisible();
  await page.getByRole('checkbox', { name: 'Kowhai Landscaping Ltd' }).check();
  await page.getByRole('checkbox', { name: 'Ridgeway Builders' }).check();
  await page.screenshot({ path: 'test-results/screenshots/sandbox-consent.png', fullPage: true });
  const callback = catcher.next();
  await page.getByRole('button', { name: 'Allow access' }).click();

  const query = await callback;
  expect(query.get('state')).toBe('e2e-state');
  const code = query.get('code');
  expect(code).toBeTruthy();
  await expect(page.getByText('You can close this window')).toBeVisible();

  const token = await fetch(`${running.origin}/connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: catcher.redirectUri,
      code_verifier: verifier,
      client_id: world.clientId,
    }),
  });
  expect(token.status).toBe(200);
  const { access_token } = (await token.json()) as { access_token: string };
  const connections = (await (
    await fetch(`${running.origin}/connections`, { headers: { authorization: `Bearer ${access_token}` } })
  ).json()) as Array<{ tenantName: string }>;
  expect(connections.map((c) => c.tenantName).sort()).toEqual(['Kowhai Landscaping Ltd', 'Ridgeway Builders']);
});

test('an app without multi-organisation consent offers one organisation at a time, and Cancel denies', async ({ page }) => {
  const world = await firm(false);
  const { challenge } = pkcePair();
  await page.goto(authorizeUrl(running.origin, { clientId: world.clientId, redirectUri: catcher.redirectUri, challenge, state: 's2' }));
  await page.getByLabel('Log in as').selectOption('jane.doe@harbourfinch.example');
  await page.getByRole('button', { name: 'Log in' }).click();

  await expect(page.getByRole('radio', { name: 'Bluegum Physiotherapy' })).toBeVisible();
  await expect(page.getByRole('checkbox')).toHaveCount(0);
  await expect(page.getByText('This app connects one organisation at a time.')).toBeVisible();
  const callback = catcher.next();
  await page.getByRole('button', { name: 'Cancel' }).click();
  const query = await callback;
  expect(query.get('error')).toBe('access_denied');
  expect(query.get('state')).toBe('s2');
  expect(query.get('code')).toBeNull();
});

test('a bad redirect URI shows Xero-style error text and never leaves the sandbox', async ({ page }) => {
  const world = await firm(true);
  const { challenge } = pkcePair();
  const response = await page.goto(
    authorizeUrl(running.origin, { clientId: world.clientId, redirectUri: 'http://127.0.0.1:1/evil', challenge }),
  );
  expect(response?.status()).toBe(400);
  expect(new URL(page.url()).origin).toBe(running.origin);
  await expect(page.getByRole('alert')).toHaveText('Error: unauthorized_client : Invalid redirect_uri');
  await page.screenshot({ path: 'test-results/screenshots/sandbox-error.png', fullPage: true });
});
