import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, HAS_SECRET_SERVICE, NO_KEYCHAIN, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * RelinkService.connect against the sandbox over real HTTP, with the refresh token and client secret in the
 * REAL OS keychain (gnome-keyring on CI): the ConnectReport, status(), and reconnect after a break.
 */
describe('service: connect and reconnect (sandbox + real keychain)', () => {
  const sb = useSandbox({ resetEachTest: true });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  const byTenant = <T extends { tenantId: string }>(xs: T[]) => [...xs].sort((a, b) => a.tenantId.localeCompare(b.tenantId));

  for (const type of ['pkce', 'web'] as const) {
    it.skipIf(!HAS_SECRET_SERVICE)(`${type} app: connects exactly the ticked organisations, staff from the id_token, healthy in status()${NO_KEYCHAIN}`, async () => {
      h = createHarness(sb);
      const firm = await sandboxFirm(sb, 3);
      const sbApp = await sandboxApp(sb, { type });
      const service = await h.open();
      const app = await h.addApp(service, sbApp);

      if (type === 'web') {
        // The secret lives in the keychain, and only there.
        await expect(service.vault.readClientSecret(app.id)).resolves.toBe(sbApp.clientSecret);
        expect(JSON.stringify(service.store.peek())).not.toContain(sbApp.clientSecret!);
      } else {
        await expect(service.vault.readClientSecret(app.id)).resolves.toBeNull();
      }

      const ticked = [firm.tenantIds[0]!, firm.tenantIds[2]!];
      const report = await h.connect(service, app, firm.userId, ticked);

      expect(report.appId).toBe(app.id);
      expect(report.staff).toEqual({ id: firm.userId, email: firm.email, name: 'Ada Adviser' });
      expect(byTenant(report.connected)).toEqual(
        byTenant([
          { tenantId: firm.tenantIds[0]!, name: firm.orgNames[0]! },
          { tenantId: firm.tenantIds[2]!, name: firm.orgNames[2]! },
        ]),
      );
      expect(report.reconnected).toEqual([]);
      expect(report.stillMissing).toEqual([]);
      expect(report.warning).toBeNull();

      // The refresh token is in the keychain under the grant.
      const stored = await service.vault.readGrant(report.grantId);
      expect(stored?.refreshToken).toMatch(/.{20,}/);

      const st = service.status();
      expect(st.keychain).toBe('available');
      expect(st.staff).toEqual([{ id: firm.userId, email: firm.email, name: 'Ada Adviser', status: 'active' }]);
      expect(st.grants).toEqual([expect.objectContaining({ id: report.grantId, appId: app.id, staffId: firm.userId, health: 'healthy', cause: null })]);
      expect(st.connections.map((c) => c.orgId).sort()).toEqual([...ticked].sort());
      expect(st.connections.every((c) => c.health === 'healthy' && c.grantId === report.grantId && c.cause === null)).toBe(true);
      expect(st.incidents).toEqual([]);
      expect(st.apps).toEqual([expect.objectContaining({ id: app.id, authType: type, connectionCount: 2 })]);

      // A full check right after keeps everything healthy (refresh rotates, /connections and the API answer).
      const summary = await service.check();
      expect(summary).toMatchObject({ grants: 1, refreshed: 1, transient: 0, revoked: 0, appRejected: 0, probed: 1 });
      expect(service.status().connections.map((c) => c.health)).toEqual(['healthy', 'healthy']);
      const rotated = await service.vault.readGrant(report.grantId);
      expect(rotated?.refreshToken).not.toBe(stored?.refreshToken);
      expect(rotated?.previous).toBe(stored?.refreshToken);
    });
  }

  it.skipIf(!HAS_SECRET_SERVICE)(`reconnect after a password change brings every organisation back under the same grant id${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 3);
    const sbApp = await sandboxApp(sb, { type: 'web' });
    const service = await h.open();
    const app = await h.addApp(service, sbApp);
    const first = await h.connect(service, app, firm.userId, firm.tenantIds);

    await sb.control('POST', `/sandbox/users/${firm.userId}/password`);
    await service.check();
    const broken = service.status();
    expect(broken.grants[0]).toMatchObject({ id: first.grantId, health: 'needs-reconnect' });
    expect(broken.connections.every((c) => c.health === 'needs-reconnect')).toBe(true);

    const again = await h.connect(service, app, firm.userId, firm.tenantIds, { expectStaffId: firm.userId });
    expect(again.grantId).toBe(first.grantId);
    expect(again.connected).toEqual([]);
    expect(byTenant(again.reconnected)).toEqual(byTenant(firm.tenantIds.map((tenantId, i) => ({ tenantId, name: firm.orgNames[i]! }))));
    expect(again.stillMissing).toEqual([]);
    expect(again.warning).toBeNull();

    const st = service.status();
    // One grant per (app, staff member): the reconnect replaced the token, not the grant.
    expect(st.grants).toHaveLength(1);
    expect(st.grants[0]).toMatchObject({ id: first.grantId, health: 'healthy', cause: null });
    expect(st.connections).toHaveLength(3);
    expect(st.connections.every((c) => c.health === 'healthy' && c.grantId === first.grantId)).toBe(true);
    expect(st.incidents).toEqual([]);

    // And the new token works.
    const summary = await service.check();
    expect(summary).toMatchObject({ refreshed: 1, revoked: 0 });
    expect(service.status().grants[0]!.health).toBe('healthy');
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`an organisation not ticked on reconnect (multi-org app) is reported still missing, with a reason${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 3);
    const sbApp = await sandboxApp(sb, { type: 'pkce', multiOrgConsent: true });
    const service = await h.open();
    const app = await h.addApp(service, sbApp, { multiOrgConsent: true });
    const [a, b, c] = firm.tenantIds as [string, string, string];
    const first = await h.connect(service, app, firm.userId, [a, b, c]);

    // The sandbox keeps connections across a password change, so "not ticked" needs the connection gone
    // first: the organisation's admin disconnects the app in A.
    await sb.control('DELETE', `/sandbox/orgs/${a}/apps/${sbApp.clientId}`);
    await service.check();
    expect(service.status().connections.find((x) => x.orgId === a)).toMatchObject({ health: 'disconnected', cause: 'app-disconnected-in-org' });

    // Reconnect ticking only B.
    const again = await h.connect(service, app, firm.userId, [b]);
    expect(again.grantId).toBe(first.grantId);
    expect(again.connected).toEqual([]);
    // C was never lost, so it is reachable again too; A was not ticked.
    expect(again.reconnected.map((x) => x.tenantId).sort()).toEqual([b, c].sort());
    expect(again.stillMissing).toEqual([{ tenantId: a, name: firm.orgNames[0]!, reason: expect.stringMatching(/not ticked/i) }]);

    const st = service.status();
    expect(st.connections.find((x) => x.orgId === a)).toMatchObject({ health: 'disconnected' });
    expect(st.connections.filter((x) => x.orgId !== a).every((x) => x.health === 'healthy')).toBe(true);
  });
});
