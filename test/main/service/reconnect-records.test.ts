import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, HAS_SECRET_SERVICE, NO_KEYCHAIN, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * A reconnect gives an organisation a new Xero connection id. The old record must not linger as a second,
 * still-disconnected connection (which kept incidents open after everything was fixed).
 */
describe('service: the records of a reconnected organisation', () => {
  const sb = useSandbox({ resetEachTest: true });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`app disconnected in an org, then reconnected: one healthy connection per organisation, no incident${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 2);
    const sbApp = await sandboxApp(sb, { multiOrgConsent: true });
    const service = await h.open();
    const app = await h.addApp(service, sbApp, { name: 'Sync' });
    await h.connect(service, app, firm.userId, firm.tenantIds);
    const [gone] = firm.tenantIds;
    const before = service.status().connections.find((c) => c.orgId === gone)!;

    await sb.control('DELETE', `/sandbox/orgs/${gone}/apps/${sbApp.clientId}`);
    await service.check();
    expect(service.status().connections.find((c) => c.orgId === gone)).toMatchObject({ health: 'disconnected', cause: 'app-disconnected-in-org' });
    expect(service.status().incidents.map((i) => i.cause)).toEqual(['app-disconnected-in-org']);

    const report = await h.connect(service, app, firm.userId, firm.tenantIds);
    expect(report.reconnected.map((r) => r.tenantId)).toContain(gone);
    await service.check();
    const st = service.status();
    const forOrg = st.connections.filter((c) => c.orgId === gone);
    expect(forOrg).toHaveLength(1);
    expect(forOrg[0]!.id).not.toBe(before.id);
    expect(forOrg[0]).toMatchObject({ health: 'healthy' });
    expect(st.connections.every((c) => c.health === 'healthy')).toBe(true);
    expect(st.incidents).toEqual([]);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`a removed colleague's organisations taken over by another advisor: nothing left broken, no incident${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const ben = await sandboxFirm(sb, 3, { givenName: 'Ben', familyName: 'Leaving' });
    const aroha = await sandboxFirm(sb, 0, { givenName: 'Aroha', familyName: 'Partner' });
    for (const t of ben.tenantIds) await sb.control('PUT', `/sandbox/users/${aroha.userId}/orgs/${t}`, { role: 'adviser' });
    const sbApp = await sandboxApp(sb, { multiOrgConsent: true });
    const service = await h.open();
    const app = await h.addApp(service, sbApp, { name: 'Sync' });
    await h.connect(service, app, ben.userId, ben.tenantIds);

    const removed = ben.tenantIds.slice(0, 2);
    for (const t of removed) await sb.control('DELETE', `/sandbox/users/${ben.userId}/orgs/${t}`);
    await service.check();
    expect(service.status().incidents.map((i) => i.cause)).toEqual(['staff-removed']);

    await h.connect(service, app, aroha.userId, removed, { expectTenantIds: removed });
    await service.check();
    const st = service.status();
    expect(st.incidents).toEqual([]);
    expect(st.connections.every((c) => c.health === 'healthy')).toBe(true);
    // One connection per organisation: Aroha's for the two she took over, Ben's for the one he kept.
    for (const t of removed) expect(st.connections.filter((c) => c.orgId === t).map((c) => c.staffId)).toEqual([aroha.userId]);
    expect(st.connections.filter((c) => c.orgId === ben.tenantIds[2]).map((c) => c.staffId)).toEqual([ben.userId]);
  });
});
