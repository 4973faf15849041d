import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../../shared/api.js';
import type { Cause } from '../../../shared/domain.js';
import { OffsetClock, createHarness, HAS_SECRET_SERVICE, NO_KEYCHAIN, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * Every breakage control of the sandbox, then `service.check()`: the health and cause status() shows for the
 * grants, connections and incidents (DESIGN.md §4). Real HTTP, real keychain.
 */
describe('service: each way a connection breaks → the right health and cause', () => {
  const sb = useSandbox({ resetEachTest: true });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  const DAY_S = 86_400;
  const connectionsOf = (st: StatusSnapshot, grantId: string) => st.connections.filter((c) => c.grantId === grantId);
  const open = (st: StatusSnapshot, cause: Cause) => st.incidents.filter((i) => i.cause === cause);
  /** DESIGN.md §4: the causes an organisation vanishing from an otherwise working grant's /connections can mean. */
  const CAUSES_FOR_A_MISSING_ORG: Cause[] = ['app-disconnected-in-org', 'staff-removed', 'token-replaced'];

  it.skipIf(!HAS_SECRET_SERVICE)(`password change, grants on 2 apps → needs-reconnect, ONE password-changed incident (likely) spanning both apps${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 3);
    const other = await sandboxFirm(sb, 0, { givenName: 'Ben', familyName: 'Other' });
    for (const t of firm.tenantIds) await sb.control('PUT', `/sandbox/users/${other.userId}/orgs/${t}`, { role: 'standard' });
    const pkce = await sandboxApp(sb, { type: 'pkce' });
    const web = await sandboxApp(sb, { type: 'web' });
    const service = await h.open();
    const a1 = await h.addApp(service, pkce, { name: 'Practice Sync' });
    const a2 = await h.addApp(service, web, { name: 'Reporting' });
    const g1 = await h.connect(service, a1, firm.userId, firm.tenantIds);
    const g2 = await h.connect(service, a2, firm.userId, firm.tenantIds.slice(0, 2));
    const bens = await h.connect(service, a1, other.userId, firm.tenantIds);

    await sb.control('POST', `/sandbox/users/${firm.userId}/password`);
    const summary = await service.check();
    expect(summary).toMatchObject({ grants: 3, revoked: 2, refreshed: 1 });

    const st = service.status();
    for (const id of [g1.grantId, g2.grantId]) {
      expect(st.grants.find((g) => g.id === id)).toMatchObject({ health: 'needs-reconnect', cause: 'password-changed' });
      expect(connectionsOf(st, id).every((c) => c.health === 'needs-reconnect' && c.cause === 'password-changed' && c.confidence === 'likely')).toBe(true);
    }
    // Ben's grant on the same app is untouched.
    expect(st.grants.find((g) => g.id === bens.grantId)).toMatchObject({ health: 'healthy', cause: null });
    expect(connectionsOf(st, bens.grantId).every((c) => c.health === 'healthy')).toBe(true);

    expect(st.incidents).toHaveLength(1);
    const [incident] = st.incidents;
    expect(incident).toMatchObject({
      cause: 'password-changed',
      confidence: 'likely',
      staffId: firm.userId,
      appId: null, // both apps
      connectionCount: 5,
      organisationCount: 3,
      fix: expect.objectContaining({ action: 'reconnect' }),
    });
    expect(incident!.summary).toContain('2 apps');
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`removed from one org, connected to it through 2 apps → those connections disconnected, staff-removed; the rest healthy${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 3);
    const service = await h.open();
    const a1 = await h.addApp(service, await sandboxApp(sb, { type: 'pkce' }));
    const a2 = await h.addApp(service, await sandboxApp(sb, { type: 'web' }));
    const g1 = await h.connect(service, a1, firm.userId, firm.tenantIds);
    const g2 = await h.connect(service, a2, firm.userId, firm.tenantIds);
    const gone = firm.tenantIds[1]!;

    await sb.control('DELETE', `/sandbox/users/${firm.userId}/orgs/${gone}`);
    const summary = await service.check();
    expect(summary).toMatchObject({ refreshed: 2, revoked: 0 });

    const st = service.status();
    for (const g of [g1, g2]) expect(st.grants.find((x) => x.id === g.grantId)).toMatchObject({ health: 'healthy' });
    const lost = st.connections.filter((c) => c.orgId === gone);
    expect(lost).toHaveLength(2);
    for (const c of lost) expect(c).toMatchObject({ health: 'disconnected', cause: 'staff-removed', confidence: 'likely' });
    expect(st.connections.filter((c) => c.orgId !== gone).every((c) => c.health === 'healthy' && c.cause === null)).toBe(true);
    expect(st.incidents).toEqual([
      expect.objectContaining({ cause: 'staff-removed', staffId: firm.userId, connectionCount: 2, organisationCount: 1 }),
    ]);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`removed from one org, connected through a single app → disconnected, app-disconnected-in-org (likely)${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 3);
    const service = await h.open();
    const app = await h.addApp(service, await sandboxApp(sb));
    const g = await h.connect(service, app, firm.userId, firm.tenantIds);
    const gone = firm.tenantIds[0]!;

    await sb.control('DELETE', `/sandbox/users/${firm.userId}/orgs/${gone}`);
    await service.check();

    const st = service.status();
    expect(st.grants.find((x) => x.id === g.grantId)).toMatchObject({ health: 'healthy' });
    const lost = st.connections.find((c) => c.orgId === gone)!;
    // One organisation gone from one app's list looks exactly like the org's admin disconnecting the app:
    // Relink says the likelier, narrower cause, which is one DESIGN §4 lists for this evidence.
    expect(lost).toMatchObject({ health: 'disconnected', cause: 'app-disconnected-in-org', confidence: 'likely' });
    expect(CAUSES_FOR_A_MISSING_ORG).toContain(lost.cause);
    expect(st.connections.filter((c) => c.orgId !== gone).every((c) => c.health === 'healthy')).toBe(true);
    expect(st.incidents).toEqual([expect.objectContaining({ cause: 'app-disconnected-in-org', appId: app.id, organisationCount: 1 })]);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`user deleted → needs-reconnect on every grant of theirs${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 2);
    const service = await h.open();
    const app = await h.addApp(service, await sandboxApp(sb));
    const g = await h.connect(service, app, firm.userId, firm.tenantIds);

    await sb.control('DELETE', `/sandbox/users/${firm.userId}`);
    const summary = await service.check();
    expect(summary).toMatchObject({ revoked: 1 });

    const st = service.status();
    expect(st.grants[0]).toMatchObject({ id: g.grantId, health: 'needs-reconnect' });
    expect(st.connections.every((c) => c.health === 'needs-reconnect')).toBe(true);
    // invalid_grant on a person's only grant: Relink cannot tell a deleted login from a password change or a
    // revoked approval, so it names one of the person-level causes, and says so with low confidence.
    expect(['password-changed', 'staff-removed', 'grant-revoked']).toContain(st.grants[0]!.cause);
    expect(st.incidents).toHaveLength(1);
    expect(st.incidents[0]).toMatchObject({ staffId: firm.userId, confidence: 'possible', connectionCount: 2 });
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`app disconnected in one org → that connection disconnected (app-disconnected-in-org), the other orgs healthy${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 3);
    const sbApp = await sandboxApp(sb);
    const service = await h.open();
    const app = await h.addApp(service, sbApp);
    const g = await h.connect(service, app, firm.userId, firm.tenantIds);
    const t = firm.tenantIds[2]!;

    await sb.control('DELETE', `/sandbox/orgs/${t}/apps/${sbApp.clientId}`);
    await service.check();

    const st = service.status();
    expect(st.grants[0]).toMatchObject({ id: g.grantId, health: 'healthy' });
    expect(st.connections.find((c) => c.orgId === t)).toMatchObject({
      health: 'disconnected',
      cause: 'app-disconnected-in-org',
      confidence: 'likely',
      fix: expect.any(String),
    });
    expect(st.connections.filter((c) => c.orgId !== t).map((c) => c.health)).toEqual(['healthy', 'healthy']);
    expect(st.incidents).toEqual([expect.objectContaining({ cause: 'app-disconnected-in-org', appId: app.id, organisationCount: 1, connectionCount: 1 })]);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`web app secret rotated → app-broken, credentials-rotated${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 2);
    const sbApp = await sandboxApp(sb, { type: 'web' });
    const service = await h.open();
    const app = await h.addApp(service, sbApp);
    await h.connect(service, app, firm.userId, firm.tenantIds);

    await sb.control('POST', `/sandbox/apps/${sbApp.clientId}/secret`);
    const summary = await service.check();
    expect(summary).toMatchObject({ appRejected: 1 });

    const st = service.status();
    expect(st.grants[0]).toMatchObject({ health: 'app-broken', cause: 'credentials-rotated' });
    expect(st.connections.every((c) => c.health === 'app-broken' && c.cause === 'credentials-rotated')).toBe(true);
    expect(st.apps[0]).toMatchObject({ id: app.id, credentialState: 'rejected' });
    expect(st.incidents).toEqual([
      expect.objectContaining({ cause: 'credentials-rotated', appId: app.id, fix: expect.objectContaining({ action: 'update-app-credentials' }) }),
    ]);
  });

  for (const type of ['pkce', 'web'] as const) {
    it.skipIf(!HAS_SECRET_SERVICE)(`${type} app deleted → app-broken, ${type === 'pkce' ? 'app-deleted (a PKCE app has no secret to rotate)' : 'app-deleted or credentials-rotated'}${NO_KEYCHAIN}`, async () => {
      h = createHarness(sb);
      const firm = await sandboxFirm(sb, 2);
      const sbApp = await sandboxApp(sb, { type });
      const service = await h.open();
      const app = await h.addApp(service, sbApp);
      await h.connect(service, app, firm.userId, firm.tenantIds);

      await sb.control('DELETE', `/sandbox/apps/${sbApp.clientId}`);
      const summary = await service.check();
      expect(summary).toMatchObject({ appRejected: 1 });

      const st = service.status();
      expect(st.grants[0]!.health).toBe('app-broken');
      if (type === 'pkce') {
        // invalid_client for an app with no secret can only mean the client id is gone.
        expect(st.grants[0]!.cause).toBe('app-deleted');
      } else {
        // A web app's invalid_client reads the same whether its secret was rotated or the app deleted.
        expect(['app-deleted', 'credentials-rotated']).toContain(st.grants[0]!.cause);
      }
      expect(st.connections.every((c) => c.health === 'app-broken' && c.cause === st.grants[0]!.cause)).toBe(true);
      expect(st.incidents).toEqual([expect.objectContaining({ cause: st.grants[0]!.cause, appId: app.id })]);
    });
  }

  it.skipIf(!HAS_SECRET_SERVICE)(`role changed to invoice-only, app with accounting.reports.read → forbidden, role-restricted${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 2);
    const scopes = ['accounting.settings.read', 'accounting.reports.read'];
    const sbApp = await sandboxApp(sb, { scopes });
    const service = await h.open();
    const app = await h.addApp(service, sbApp, { scopes });
    await h.connect(service, app, firm.userId, firm.tenantIds);
    await service.check();
    expect(service.status().connections.every((c) => c.health === 'healthy')).toBe(true);

    const narrowed = firm.tenantIds[0]!;
    await sb.control('PUT', `/sandbox/users/${firm.userId}/orgs/${narrowed}`, { role: 'invoice-only' });
    await service.check();

    const st = service.status();
    expect(st.grants[0]).toMatchObject({ health: 'healthy' });
    expect(st.connections.find((c) => c.orgId === narrowed)).toMatchObject({ health: 'forbidden', cause: 'role-restricted' });
    expect(st.connections.find((c) => c.orgId !== narrowed)).toMatchObject({ health: 'healthy', cause: null });
    expect(open(st, 'role-restricted')).toEqual([expect.objectContaining({ staffId: firm.userId, appId: app.id, organisationCount: 1 })]);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`61 days without a refresh → needs-reconnect, refresh-token-expired (confirmed)${NO_KEYCHAIN}`, async () => {
    const clock = new OffsetClock();
    h = createHarness(sb, { clock });
    const firm = await sandboxFirm(sb, 2);
    const service = await h.open();
    const app = await h.addApp(service, await sandboxApp(sb));
    const g = await h.connect(service, app, firm.userId, firm.tenantIds);

    await sb.control('POST', '/sandbox/clock', { advanceSeconds: 61 * DAY_S });
    clock.offsetMs = 61 * DAY_S * 1000;
    // Before anyone asks Xero, the age alone says it has expired (Xero's 60 days are a fixed rule), not "0 days left"…
    await service.assess();
    expect(service.status().grants[0]).toMatchObject({ health: 'needs-reconnect', cause: 'refresh-token-expired', daysLeft: 0 });

    // …and Xero's invalid_grant makes it certain.
    const summary = await service.check();
    expect(summary).toMatchObject({ revoked: 1 });
    const st = service.status();
    expect(st.grants[0]).toMatchObject({ id: g.grantId, health: 'needs-reconnect', cause: 'refresh-token-expired' });
    expect(st.connections.every((c) => c.health === 'needs-reconnect' && c.cause === 'refresh-token-expired' && c.confidence === 'confirmed')).toBe(true);
    expect(st.incidents).toEqual([expect.objectContaining({ cause: 'refresh-token-expired', confidence: 'confirmed', appId: app.id, staffId: firm.userId })]);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`Xero's clock 15 minutes ahead → connect and check still succeed, and a clock-skew incident appears${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 2);
    const service = await h.open();
    const app = await h.addApp(service, await sandboxApp(sb, { type: 'web' }));
    await sb.control('PUT', '/sandbox/settings', { clockSkewSeconds: 900 });

    const report = await h.connect(service, app, firm.userId, firm.tenantIds);
    expect(report.connected).toHaveLength(2);
    const summary = await service.check();
    expect(summary).toMatchObject({ refreshed: 1, transient: 0, revoked: 0, probed: 1 });
    expect(Math.round(service.clockSkewMs! / 60_000)).toBe(15);

    const st = service.status();
    expect(st.grants[0]).toMatchObject({ health: 'healthy' });
    expect(st.connections.every((c) => c.health === 'healthy')).toBe(true);
    expect(st.incidents).toEqual([
      expect.objectContaining({ cause: 'clock-skew', fix: expect.objectContaining({ action: 'check-clock' }), summary: expect.stringContaining('15 minutes') }),
    ]);
  });
});
