import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, HAS_SECRET_SERVICE, NO_KEYCHAIN, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * Fixing what the advisor can fix from the window: a rotated client secret (pasted again), and another advisor
 * taking over organisations a removed colleague had connected (the report names any that did not come back).
 * Real HTTP to the sandbox, real keychain.
 */
describe('service: new client secret, and reconnecting organisations as another advisor', () => {
  const sb = useSandbox({ resetEachTest: true });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`a rotated secret stops the app; the new one, pasted in, brings every sign-in back${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 2);
    const web = await sandboxApp(sb, { type: 'web' });
    const service = await h.open();
    const app = await h.addApp(service, web, { name: 'Reporting' });
    const grant = await h.connect(service, app, firm.userId, [firm.tenantIds[0]!]);

    const { clientSecret } = await sb.control('POST', `/sandbox/apps/${web.clientId}/secret`);
    expect(await service.check()).toMatchObject({ appRejected: 1 });
    expect(service.status().apps[0]).toMatchObject({ credentialState: 'rejected' });

    // A wrong paste is tried and reported, and leaves the app rejected.
    expect(await service.updateClientSecret(app.id, 'not-the-secret')).toMatchObject({ appRejected: 1, refreshed: 0 });
    expect(await service.updateClientSecret(app.id, `  ${clientSecret}\n`)).toMatchObject({ refreshed: 1, appRejected: 0 });
    const st = service.status();
    expect(st.apps[0]).toMatchObject({ credentialState: 'ok' });
    expect(st.grants.find((g) => g.id === grant.grantId)).toMatchObject({ health: 'healthy' });
    expect(st.incidents.filter((i) => i.cause === 'credentials-rotated')).toHaveLength(0);
    expect(JSON.stringify(st)).not.toContain(clientSecret);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`refuses a secret for a PKCE app, and an empty one${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const service = await h.open();
    const pkce = await h.addApp(service, await sandboxApp(sb, { type: 'pkce' }), { name: 'Sync' });
    await expect(service.updateClientSecret(pkce.id, 'x')).rejects.toMatchObject({ code: 'usage', message: /PKCE/ });
    const web = await h.addApp(service, await sandboxApp(sb, { type: 'web' }), { name: 'Web' });
    await expect(service.updateClientSecret(web.id, '   ')).rejects.toMatchObject({ code: 'usage' });
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`another advisor reconnecting a removed colleague's organisations: the one they lack is reported missing${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 3, { givenName: 'Ben', familyName: 'Leaving' });
    const aroha = await sandboxFirm(sb, 0, { givenName: 'Aroha', familyName: 'Partner' });
    // Aroha has access to two of Ben's three organisations.
    for (const t of firm.tenantIds.slice(0, 2)) await sb.control('PUT', `/sandbox/users/${aroha.userId}/orgs/${t}`, { role: 'adviser' });
    const service = await h.open();
    const app = await h.addApp(service, await sandboxApp(sb, { multiOrgConsent: true }), { name: 'Sync' });
    await h.connect(service, app, firm.userId, firm.tenantIds);

    const report = await h.connect(service, app, aroha.userId, firm.tenantIds.slice(0, 2), { expectTenantIds: firm.tenantIds });
    expect(report.staff.id).toBe(aroha.userId);
    expect(report.connected.map((c) => c.tenantId).sort()).toEqual(firm.tenantIds.slice(0, 2).sort());
    expect(report.stillMissing.map((m) => m.tenantId)).toEqual([firm.tenantIds[2]]);
    expect(report.stillMissing[0]!.reason).toMatch(/Aroha Partner may have no access/);
  });
});
