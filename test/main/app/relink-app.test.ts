import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventName, Operation, StatusDelta, StatusSnapshot } from '../../../shared/api.js';
import { HELP_URLS } from '../../../shared/help-links.js';
import { RelinkApp } from '../../../main/app/relink-app.js';
import type { RelinkAppOptions } from '../../../main/app/host-options.js';
import { SystemClock } from '../../../main/core/clock.js';
import { NapiKeychain } from '../../../main/secrets/napi-keyring.js';
import { KeychainVault } from '../../../main/secrets/vault.js';
import { ConfBackend } from '../../../main/store/document-file.js';
import { followAuthorize } from '../../support/headless-browser.js';
import { HAS_SECRET_SERVICE, sandboxApp, sandboxFirm, NO_KEYCHAIN } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * RelinkApp, the object both window hosts run, driven exactly as a window drives it: requests through
 * `dispatch` (schema-checked both ways), events through `subscribe`. Against the sandbox and the real
 * keychain; skipped, visibly, without a Secret Service.
 */
const sb = useSandbox({ resetEachTest: true });

const opened: Array<{ app: RelinkApp; dir: string; service: string }> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.app.close();
    // Remove what the profile and its demo left in the keychain.
    const vault = new KeychainVault(new NapiKeychain(), o.service, new SystemClock());
    const demo = new KeychainVault(new NapiKeychain(), `${o.service} Demo`, new SystemClock());
    for (const [v, dir] of [[vault, o.dir], [demo, path.join(o.dir, 'demo')]] as const) {
      const file = path.join(dir, 'relink.json');
      if (!fs.existsSync(file)) continue;
      const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { grants: Record<string, unknown>; apps: Record<string, { authType: string }> };
      for (const id of Object.keys(doc.grants)) await v.deleteGrant(id).catch(() => undefined);
      for (const [id, a] of Object.entries(doc.apps)) if (a.authType === 'web') await v.deleteClientSecret(id).catch(() => undefined);
    }
    fs.rmSync(o.dir, { recursive: true, force: true });
  }
});

async function openApp(extra: Partial<RelinkAppOptions> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-app-'));
  const service = `Relink-app-${process.pid}-${randomBytes(5).toString('hex')}`;
  const helpOpened: string[] = [];
  const app = await RelinkApp.open({
    host: 'browser',
    version: '0.0.0-test',
    dataDir: dir,
    keychainService: service,
    keychain: new NapiKeychain(),
    backendFor: (d) => new ConfBackend(d),
    clock: new SystemClock(),
    openAuthorizeUrl: async (url) => void (await followAuthorize(url)),
    openHelpUrl: async (url) => void helpOpened.push(url),
    ...extra,
  });
  opened.push({ app, dir, service });
  const events: Array<{ event: EventName; payload: unknown }> = [];
  app.subscribe((event, payload) => events.push({ event, payload }));
  return { app, dir, helpOpened, events };
}

async function value<T>(p: Promise<{ ok: boolean; value?: unknown; error?: unknown }>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new Error(`request failed: ${JSON.stringify(r.error)}`);
  return r.value as T;
}

async function until<T>(fn: () => T | undefined, ms = 15_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('timed out waiting');
}

describe('RelinkApp', () => {
  it('refuses unknown channels and bad arguments as values, and never calls out for them', async () => {
    const { app, helpOpened } = await openApp({ keychain: new NapiKeychain() });
    expect(await app.dispatch('tokens.dump', {})).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    expect(await app.dispatch('help.open', { topic: 'https://evil.example' })).toMatchObject({ ok: false, error: { code: 'invalid-arguments' } });
    expect(await app.dispatch('connect.start', { appId: 'x' })).toMatchObject({ ok: false, error: { code: 'invalid-arguments' } });
    expect(await app.dispatch('connect.start', { appId: 'nope', staffId: null, tenantId: null })).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(helpOpened).toEqual([]);
  });

  it('opens help pages only from the fixed list', async () => {
    const { app, helpOpened } = await openApp();
    expect(await app.dispatch('help.open', { topic: 'xero-pkce-setup' })).toEqual({ ok: true, value: { opened: true } });
    expect(helpOpened).toEqual([HELP_URLS['xero-pkce-setup']]);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`first run: adds an app, connects it through the browser, and reports the organisations${NO_KEYCHAIN}`, async () => {
    const firm = await sandboxFirm(sb, 2);
    const sbApp = await sandboxApp(sb, { multiOrgConsent: true });
    const { app, events } = await openApp();
    expect(await value<{ firstRun: boolean }>(app.dispatch('session.get', {}))).toMatchObject({ firstRun: true, demo: false, engineRunning: true });

    const added = await value<{ id: string }>(
      app.dispatch('apps.add', {
        app: { name: 'Firm Sync', clientId: sbApp.clientId, authType: 'pkce', issuer: sb.origin, redirectPorts: sbApp.ports },
        clientSecret: null,
      }),
    );
    expect(await value<{ firstRun: boolean }>(app.dispatch('session.get', {}))).toMatchObject({ firstRun: false });

    await sb.control('POST', '/sandbox/consents', { clientId: sbApp.clientId, userId: firm.userId, tenantIds: firm.tenantIds });
    const op = await value<Operation>(app.dispatch('connect.start', { appId: added.id, staffId: null, tenantId: null }));
    expect(op.state).toBe('waiting-for-approval');
    const done = await until(() =>
      events.map((e) => e.payload as Operation).find((p) => p && (p as Operation).id === op.id && (p as Operation).finishedAt),
    );
    expect(done.state).toBe('succeeded');
    expect(done.report!.connected.map((c) => c.name).sort()).toEqual([...firm.orgNames].sort());
    expect(events.some((e) => e.event === 'operation' && (e.payload as Operation).state === 'verifying')).toBe(true);

    const status = await value<StatusSnapshot>(app.dispatch('status.get', {}));
    expect(status.connections).toHaveLength(2);
    // The change was pushed to the window too (whole or as a delta), with the same connections.
    const pushedConnections = () =>
      new Map(
        events.flatMap((e) =>
          e.event === 'status'
            ? (e.payload as StatusSnapshot).connections
            : e.event === 'statusDelta'
              ? ((e.payload as StatusDelta).connections?.upsert ?? [])
              : [],
        ).map((c) => [c.id, c] as const),
      );
    const pushed = await until(() => (pushedConnections().size === 2 ? [...pushedConnections().values()] : undefined));
    expect(pushed.map((c) => c.id).sort()).toEqual(status.connections.map((c) => c.id).sort());
    expect(pushed.every((c) => c.health === 'healthy' || c.health === 'unverified')).toBe(true);
    // Nothing a window receives carries a token.
    expect(JSON.stringify(events)).not.toMatch(/refresh_token|access_token|eyJ[A-Za-z0-9_-]{10,}\./);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`a second Reconnect for the same app and person shows the consent already open; cancel ends it${NO_KEYCHAIN}`, async () => {
    const sbApp = await sandboxApp(sb, { multiOrgConsent: true });
    const { app, events } = await openApp({ openAuthorizeUrl: async () => undefined });
    const added = await value<{ id: string }>(
      app.dispatch('apps.add', { app: { name: 'Waiting App', clientId: sbApp.clientId, authType: 'pkce', issuer: sb.origin, redirectPorts: sbApp.ports }, clientSecret: null }),
    );
    const first = await value<Operation>(app.dispatch('connect.start', { appId: added.id, staffId: null, tenantId: null }));
    const again = await value<Operation>(app.dispatch('connect.start', { appId: added.id, staffId: null, tenantId: null }));
    expect(again.id).toBe(first.id);
    const withUrl = await until(() => events.map((e) => e.payload as Operation).find((p) => p?.id === first.id && p.authorizeUrl));
    expect(new URL(withUrl.authorizeUrl!).origin).toBe(sb.origin);
    expect(await value(app.dispatch('connect.cancel', { operationId: first.id }))).toEqual({ cancelled: true });
    const ended = await until(() => events.map((e) => e.payload as Operation).find((p) => p?.id === first.id && p.finishedAt));
    expect(ended.state).toBe('cancelled');
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`demo mode shows the demo firm with every kind of breakage, in its own profile${NO_KEYCHAIN}`, async () => {
    const { app, dir } = await openApp();
    const session = await value<{ demo: boolean; engineRunning: boolean }>(app.dispatch('demo.start', {}));
    expect(session).toMatchObject({ demo: true, engineRunning: false, firstRun: false });
    const status = await value<StatusSnapshot>(app.dispatch('status.get', {}));
    const causes = new Set(status.connections.map((c) => c.cause));
    for (const cause of ['password-changed', 'staff-removed', 'app-disconnected-in-org', 'credentials-rotated']) expect(causes).toContain(cause);
    expect(status.connections.some((c) => c.health === 'healthy')).toBe(true);
    expect(status.grants.some((g) => g.health === 'expiring' && g.daysLeft <= 15)).toBe(true);
    expect(status.incidents.map((i) => i.cause).sort()).toEqual(['app-disconnected-in-org', 'credentials-rotated', 'password-changed', 'staff-removed']);
    // The advisor's own profile stayed empty.
    expect(fs.existsSync(path.join(dir, 'demo', 'relink.json'))).toBe(true);
    const ownFile = path.join(dir, 'relink.json');
    const own = fs.existsSync(ownFile) ? (JSON.parse(fs.readFileSync(ownFile, 'utf8')) as { apps: object }) : { apps: {} };
    expect(Object.keys(own.apps)).toHaveLength(0);
    expect(await until(() => (app.attentionCount() > 0 ? app.attentionCount() : undefined))).toBe(status.connections.filter((c) => ["needs-reconnect", "disconnected", "forbidden", "app-broken"].includes(c.health)).length);
  });

  it('settings changes are validated and returned', async () => {
    const { app } = await openApp();
    expect(await app.dispatch('settings.update', { probeIntervalMinutes: 0 })).toMatchObject({ ok: false, error: { code: 'invalid-arguments' } });
    expect(await value(app.dispatch('settings.update', { probeIntervalMinutes: 30, notifications: false }))).toMatchObject({ probeIntervalMinutes: 30, notifications: false });
    expect(app.notificationsEnabled()).toBe(false);
    const entries = await value<Array<{ action: string }>>(app.dispatch('activity.list', { action: 'settings-changed' }));
    expect(entries.map((e) => e.action)).toEqual(['settings-changed']);
  });
});
