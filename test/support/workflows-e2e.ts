import { randomBytes } from 'node:crypto';
import { expect, type Browser, type Page } from '@playwright/test';
import { SystemClock } from '../../main/core/clock.js';
import { NapiKeychain } from '../../main/secrets/napi-keyring.js';
import { createRelink, localProfile } from '../../main/app/create-relink.js';
import type { RelinkService } from '../../main/service/relink-service.js';
import { ConfBackend } from '../../main/store/document-file.js';
import { approveInSandbox, type E2eProfile } from './browser-mode.js';
import { followAuthorize } from './headless-browser.js';
import { sandboxApp } from './relink-harness.js';
import type { TestSandbox } from './sandbox.js';

/**
 * Worlds for the firm-workflow specs (issue 5): several apps, some connecting one organisation per approval,
 * connected in this process through Relink's real connect flow (consents arranged with the sandbox's control
 * API, the headless follower as the "system browser"), then closed so browser mode can open the profile.
 */

export interface Person {
  userId: string;
  email: string;
  name: string;
}

/** A sandbox user with adviser access to `tenantIds`. */
export async function sandboxPerson(sb: TestSandbox, givenName: string, familyName: string, tenantIds: string[]): Promise<Person> {
  const email = `${givenName.toLowerCase()}.${familyName.toLowerCase()}-${randomBytes(2).toString('hex')}@firm.example`;
  const { userId } = await sb.control<{ userId: string }>('POST', '/sandbox/users', { email, givenName, familyName });
  for (const t of tenantIds) await sb.control('PUT', `/sandbox/users/${userId}/orgs/${t}`, { role: 'adviser' });
  return { userId, email, name: `${givenName} ${familyName}` };
}

export async function sandboxOrgs(sb: TestSandbox, names: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const name of names) ids.push((await sb.control<{ tenantId: string }>('POST', '/sandbox/orgs', { name })).tenantId);
  return ids;
}

export interface WorldApp {
  name: string;
  multiOrgConsent: boolean;
  createdBy?: Person;
  /** Each consent: who approved, which organisations. */
  consents: Array<{ who: Person; tenantIds: string[] }>;
}

export interface BuiltApp {
  name: string;
  appId: string;
  clientId: string;
}

/** Adds and connects every app on the profile (Relink closed again afterwards). */
export async function buildWorld(
  sb: TestSandbox,
  profile: E2eProfile,
  apps: WorldApp[],
  extra: (service: RelinkService, built: BuiltApp[]) => Promise<void> = async () => {},
): Promise<BuiltApp[]> {
  const service = await createRelink({
    storage: localProfile({ dataDir: profile.dataDir, keychainService: profile.keychainService, keychain: new NapiKeychain(), backend: new ConfBackend(profile.dataDir) }),
    clock: new SystemClock(),
    actor: 'cli',
  });
  try {
    const built: BuiltApp[] = [];
    for (const a of apps) {
      const reg = await sandboxApp(sb, { name: a.name, multiOrgConsent: a.multiOrgConsent, ...(a.createdBy ? { createdBy: a.createdBy.userId } : {}) });
      const added = await service.addApp(
        {
          name: a.name,
          clientId: reg.clientId,
          authType: 'pkce',
          issuer: sb.origin,
          redirectPorts: reg.ports,
          multiOrgConsent: a.multiOrgConsent,
          ...(a.createdBy ? { createdBy: a.createdBy.email } : {}),
        },
        null,
      );
      for (const c of a.consents) {
        await sb.control('POST', '/sandbox/consents', { clientId: reg.clientId, userId: c.who.userId, tenantIds: c.tenantIds });
        await service.connect(added.id, { open: async (url) => void (await followAuthorize(url)), timeoutMs: 10_000 });
      }
      built.push({ name: a.name, appId: added.id, clientId: reg.clientId });
    }
    await extra(service, built);
    return built;
  } finally {
    await service.close();
  }
}

/** Approves a sign-in link the window shows, in a second page (the advisor's own browser). */
export async function approveLink(browser: Browser, authorizeUrl: string, email: string, tick: string[], appName: string): Promise<void> {
  const signIn = await browser.newPage();
  try {
    await approveInSandbox(signIn, authorizeUrl, email, tick, `${appName} wants access to your Xero data`);
  } finally {
    await signIn.close();
  }
}

/** The sign-in address in the progress region under a button, once it waits for approval. */
export async function signInLink(page: Page, region: ReturnType<Page['getByRole']>): Promise<string> {
  await expect(region).toContainText('Waiting for approval in your browser…');
  const href = await region.getByRole('link', { name: /Open the sign-in page again/ }).getAttribute('href');
  expect(href).toBeTruthy();
  return href!;
}

/**
 * One request to Relink's API from the window's own origin, on a second WebSocket with the run's key (what the
 * window itself does), so a spec can compare what the window shows with what the API answers.
 */
export async function apiCall<T = unknown>(page: Page, key: string, channel: string, args: unknown): Promise<T> {
  const result = await page.evaluate(
    ({ key, channel, args }) =>
      new Promise<{ ok: boolean; value?: unknown; error?: { message: string } }>((resolve, reject) => {
        const ws = new WebSocket(`ws://${window.location.host}/api`);
        const timer = setTimeout(() => reject(new Error('no answer')), 10_000);
        ws.onopen = () => {
          ws.send(JSON.stringify({ type: 'hello', key }));
          ws.send(JSON.stringify({ type: 'request', id: 1, channel, args }));
        };
        ws.onmessage = (ev) => {
          const msg = JSON.parse(String(ev.data));
          if (msg.type === 'response' && msg.id === 1) {
            clearTimeout(timer);
            ws.close();
            resolve(msg.result);
          }
        };
        ws.onerror = () => reject(new Error('socket error'));
      }),
    { key, channel, args },
  );
  if (!result.ok) throw new Error(`${channel}: ${result.error?.message}`);
  return result.value as T;
}

/** axe on the page as it is: no serious or critical violations (moderate ones are printed, not failed on). */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  const { default: AxeBuilder } = await import('@axe-core/playwright');
  const result = await new AxeBuilder({ page }).analyze();
  expect(result.passes.length, `axe passed rules on ${label}`).toBeGreaterThan(20);
  const describe = (vs: typeof result.violations) =>
    vs.map((v) => `[${v.impact}] ${v.id}: ${v.help}\n${v.nodes.map((n) => `    • ${n.target.join(' ')} ${n.html.slice(0, 160)}`).join('\n')}`).join('\n');
  if (result.violations.length) console.log(`axe on ${label}:\n${describe(result.violations)}`);
  const blocking = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(blocking, `serious or critical accessibility violations on ${label}:\n${describe(blocking)}`).toEqual([]);
}
