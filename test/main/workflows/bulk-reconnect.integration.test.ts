import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { ACTIVITY_CSV_COLUMNS, planStepResultSchema, reconnectPlanSchema, reconnectRunViewSchema } from '../../../shared/workflows.js';
import type { RelinkService } from '../../../main/service/relink-service.js';
import { createHarness, HAS_SECRET_SERVICE, NO_KEYCHAIN, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';
import { forgetGrants, headless, runStep } from './support.js';

/**
 * Bulk reconnect after a password change, end to end against the sandbox over loopback HTTP with refresh
 * tokens in the REAL OS keychain: the password change Relink detects → the plan with the minimum number of
 * consents → every consent run through the sandbox's consent flow and verified → everything healthy. An
 * organisation left unticked stays queued with its reason; a consent by the wrong person is not counted; a
 * restart resumes the plan; a declared password change plans grants Relink has not seen fail yet.
 */
describe('bulk reconnect (sandbox + real keychain)', () => {
  const sb = useSandbox({ resetEachTest: true });
  let h: Harness | undefined;
  let service: RelinkService | undefined;
  afterEach(async () => {
    await forgetGrants(h, service);
    await h?.dispose();
    h = undefined;
    service = undefined;
  });

  it.skipIf(!HAS_SECRET_SERVICE)(
    `password change across 3 apps × 4 organisations (one multi-org) → 9 consents planned → run (with a restart half-way) → healthy${NO_KEYCHAIN}`,
    async () => {
      h = createHarness(sb);
      const firm = await sandboxFirm(sb, 4);
      service = await h.open();
      const syncApp = await sandboxApp(sb, { multiOrgConsent: true });
      const payrollApp = await sandboxApp(sb, { multiOrgConsent: false });
      const reportingApp = await sandboxApp(sb, { type: 'web', multiOrgConsent: false });
      const sync = await h.addApp(service, syncApp, { name: 'Practice Sync', multiOrgConsent: true });
      const payroll = await h.addApp(service, payrollApp, { name: 'Payroll Bridge', multiOrgConsent: false });
      const reporting = await h.addApp(service, reportingApp, { name: 'Reporting', multiOrgConsent: false });
      await h.connect(service, sync, firm.userId, firm.tenantIds);
      for (const app of [payroll, reporting]) for (const t of firm.tenantIds) await h.connect(service, app, firm.userId, [t]);
      const gusto = await service.workflows.addTracked({ organisation: firm.orgNames[0]!, app: 'Gusto', authorisedBy: firm.email, reconnectUrl: 'https://app.gusto.example/xero' });
      expect(service.workflows.planReconnect().consents).toEqual([]);

      await sb.control('POST', `/sandbox/users/${firm.userId}/password`);
      // Reporting was also removed in every organisation (so each of its organisations really needs its own
      // consent); Payroll's connections survive the password change, as the sandbox keeps them.
      for (const t of firm.tenantIds) await sb.control('DELETE', `/sandbox/orgs/${t}/apps/${reportingApp.clientId}`);
      await service.check();
      expect(service.status().incidents).toEqual([expect.objectContaining({ cause: 'password-changed', staffId: firm.userId })]);

      // One consent per organisation for the two apps without multi-organisation consent (a refused sign-in may
      // have taken its connections with it), and the plan says it may take as few as 3 if Xero kept them.
      const plan = reconnectPlanSchema.parse(service.workflows.planReconnect({ staff: firm.email }));
      expect(plan.totals).toEqual({ consents: 9, fewestConsents: 3, organisations: 4, connections: 12, apps: 3, staff: 1, tracked: 1 });
      expect(plan.consents.filter((c) => c.appId === sync.id)).toEqual([expect.objectContaining({ orgIds: expect.arrayContaining(firm.tenantIds) })]);
      expect(plan.consents.filter((c) => c.appId === payroll.id)).toHaveLength(4);
      expect(plan.consents.filter((c) => c.appId === reporting.id)).toHaveLength(4);
      expect(plan.countNote).toMatch(/^9 approvals at most, perhaps as few as 3/);
      expect(plan.triggers).toEqual([expect.objectContaining({ kind: 'detected', staffId: firm.userId })]);
      expect(plan.tracked).toEqual([expect.objectContaining({ id: gusto.id, state: 'needs-reconnect', reconnectUrl: 'https://app.gusto.example/xero' })]);

      let run = reconnectRunViewSchema.parse(await service.workflows.startReconnectRun({ staff: firm.userId }));
      expect(run.progress).toEqual({ total: 9, done: 0, remaining: 9, failed: 0, skipped: 0 });
      // Starting again returns the same unfinished run rather than a second one.
      expect((await service.workflows.startReconnectRun({ staff: firm.email })).id).toBe(run.id);

      const steps: string[] = [];
      const step = async () => {
        const r = planStepResultSchema.parse(await runStep(sb, service!, run.id));
        expect(r.outcome, r.message).toBe('done');
        expect(r.report?.staff.id).toBe(firm.userId);
        steps.push(r.itemId!);
        run = r.run;
        return r;
      };
      // The first Payroll consent: Xero lists all four of Ada's Payroll organisations again for the new token,
      // so the three other queued Payroll consents are reconciled as done — fewer consents than planned.
      const first = await step();
      expect(first.itemId).toMatch(new RegExp(`^${payroll.id}:`));
      expect(run.items.filter((i) => i.appId === payroll.id).map((i) => i.state)).toEqual(['done', 'done', 'done', 'done']);
      await step(); // Practice Sync: one consent for all four organisations
      await step(); // Reporting, first organisation (Xero had removed these: each needs its own)
      await service.workflows.pauseReconnectRun(run.id);

      // Relink restarts: the run is where it was, still paused.
      await service.close();
      service = await h.open();
      run = service.workflows.reconnectRun(run.id);
      expect(run).toMatchObject({ state: 'paused', nextItemId: null, progress: { done: 6, remaining: 3 } });
      await expect(service.workflows.runNextPlanItem(run.id, headless)).rejects.toThrow(/paused: resume it/);
      run = await service.workflows.resumeReconnectRun(run.id);
      while (run.nextItemId) await step();

      expect(steps).toHaveLength(6); // 1 Payroll + 1 Practice Sync + 4 Reporting
      expect(run).toMatchObject({ state: 'complete', progress: { total: 9, done: 9, remaining: 0, failed: 0, skipped: 0 } });
      expect(run.items.every((i) => i.remainingOrgIds.length === 0)).toBe(true);

      const st = service.status();
      for (const app of [sync, payroll, reporting]) {
        for (const t of firm.tenantIds) {
          expect(st.connections.some((c) => c.appId === app.id && c.orgId === t && c.health === 'healthy'), `${app.name} ${t}`).toBe(true);
        }
      }
      expect(st.grants.every((g) => g.health === 'healthy')).toBe(true);
      expect(st.incidents.filter((i) => i.cause === 'password-changed')).toEqual([]);
      expect(service.workflows.planReconnect().consents).toEqual([]);
      const summary = await service.check();
      expect(summary).toMatchObject({ grants: 3, refreshed: 3, revoked: 0 });

      // The third-party checklist: still to do in Gusto itself, until the advisor ticks it off.
      expect(run.tracked).toEqual([expect.objectContaining({ id: gusto.id, state: 'needs-reconnect' })]);
      await service.workflows.confirmTrackedReconnected(gusto.id);
      expect(service.workflows.reconnectRun(run.id).tracked).toEqual([expect.objectContaining({ id: gusto.id, state: 'reconnected' })]);

      // The activity log says what happened, and exports as CSV.
      const actions = (await service.activity.read()).map((e) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['reconnect-plan-started', 'reconnect-plan-step', 'reconnect-plan-paused', 'reconnect-plan-resumed', 'reconnect-plan-complete', 'tracked-reconnected']));
      const today = new Date().toISOString().slice(0, 10);
      const csv = parse(await service.workflows.exportActivityCsv({ from: today, to: today })) as string[][];
      expect(csv[0]).toEqual([...ACTIVITY_CSV_COLUMNS]);
      const col = (name: (typeof ACTIVITY_CSV_COLUMNS)[number]) => ACTIVITY_CSV_COLUMNS.indexOf(name);
      // The action in words, as the window says it.
      const stepRow = csv.find((r) => r[col('action')] === 'Reconnect plan step' && r[col('app')] === 'Practice Sync')!;
      expect(stepRow[col('staff')]).toBe(`Ada Adviser <${firm.email}>`);
      expect(stepRow[col('organisations')]!.split('; ').sort()).toEqual([...firm.orgNames].sort());
    },
    90_000,
  );

  it.skipIf(!HAS_SECRET_SERVICE)(`an organisation left unticked stays queued with its reason; the next consent finishes it${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 3);
    service = await h.open();
    const sbApp = await sandboxApp(sb, { multiOrgConsent: true });
    const app = await h.addApp(service, sbApp, { multiOrgConsent: true });
    await h.connect(service, app, firm.userId, firm.tenantIds);
    const [a, b, c] = firm.tenantIds as [string, string, string];

    await sb.control('POST', `/sandbox/users/${firm.userId}/password`);
    // The sandbox keeps connections across a password change, so "left unticked" needs A's connection gone too.
    await sb.control('DELETE', `/sandbox/orgs/${a}/apps/${sbApp.clientId}`);
    await service.check();

    const run = await service.workflows.startReconnectRun();
    expect(run.items).toEqual([expect.objectContaining({ appId: app.id, staffId: firm.userId, remainingOrgIds: expect.arrayContaining([a, b, c]) })]);
    const partial = await runStep(sb, service, run.id, { tenantIds: [b, c] });
    expect(partial.outcome).toBe('partial');
    const item = partial.run.items[0]!;
    expect(item).toMatchObject({ state: 'pending', remainingOrgIds: [a], attempts: 1 });
    expect(item.reconnectedOrgIds.sort()).toEqual([b, c].sort());
    expect(item.reason).toBe(`Still missing: ${firm.orgNames[0]} (Not ticked on the consent page, so Xero did not connect it. Reconnect and tick it.).`);
    expect(partial.message).toMatch(new RegExp(`not finished\\. Still missing: ${firm.orgNames[0]} — `));
    expect(partial.run.nextItemId).toBe(item.id);
    // Still broken where it should be, healthy elsewhere.
    const mid = service.status().connections;
    expect(mid.find((x) => x.orgId === a)?.health).toBe('disconnected');
    expect(mid.filter((x) => x.orgId !== a).every((x) => x.health === 'healthy')).toBe(true);

    const done = await runStep(sb, service, run.id, { tenantIds: [a] });
    expect(done.outcome).toBe('done');
    expect(done.run).toMatchObject({ state: 'complete', progress: { done: 1, remaining: 0 } });
    // Every organisation is reachable and healthy again, and nothing is left to plan. (A's old connection record,
    // replaced by the new connection Xero made, stays in the engine's history marked missing: it is not planned.)
    const after = service.status().connections;
    for (const t of firm.tenantIds) expect(after.some((x) => x.orgId === t && x.health === 'healthy')).toBe(true);
    expect(service.workflows.planReconnect().consents).toEqual([]);
  }, 60_000);

  it.skipIf(!HAS_SECRET_SERVICE)(`a consent approved by someone else is not counted: the step fails with the warning, and succeeds when run again as the right person${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 2);
    const { userId: benId } = await sb.control('POST', '/sandbox/users', { email: 'ben@firm.example', givenName: 'Ben', familyName: 'Bookkeeper' });
    for (const t of firm.tenantIds) await sb.control('PUT', `/sandbox/users/${benId}/orgs/${t}`, { role: 'adviser' });
    service = await h.open();
    const app = await h.addApp(service, await sandboxApp(sb, { multiOrgConsent: true }), { multiOrgConsent: true });
    await h.connect(service, app, firm.userId, firm.tenantIds);
    await sb.control('POST', `/sandbox/users/${firm.userId}/password`);
    await service.check();

    const run = await service.workflows.startReconnectRun({ staff: firm.email });
    const wrong = await runStep(sb, service, run.id, { userId: benId });
    expect(wrong.outcome).toBe('wrong-person');
    expect(wrong.report?.warning).toMatch(/approved by Ben Bookkeeper \(ben@firm\.example\)/);
    expect(wrong.run.items[0]).toMatchObject({ state: 'failed', reconnectedOrgIds: [], approvedBy: { id: benId } });
    expect(wrong.run.items[0]!.reason).toMatch(/not by Ada Adviser, so it does not count/);
    expect(wrong.run.progress).toMatchObject({ done: 0, failed: 1 });
    // Ada's own connections are still broken.
    expect(service.status().connections.filter((c) => c.staffId === firm.userId).every((c) => c.health === 'needs-reconnect')).toBe(true);

    const right = await runStep(sb, service, run.id, { itemId: wrong.run.items[0]!.id, userId: firm.userId, tenantIds: firm.tenantIds });
    expect(right.outcome).toBe('done');
    expect(right.run).toMatchObject({ state: 'complete', progress: { done: 1, failed: 0 } });
    expect((await service.activity.read()).map((e) => e.action)).toContain('reconnect-plan-wrong-person');
  }, 60_000);

  it.skipIf(!HAS_SECRET_SERVICE)(`"Ada changed her password" declared before Relink noticed → the plan includes her working-looking grants; a declined consent fails the step with the reason${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 2);
    service = await h.open();
    const app = await h.addApp(service, await sandboxApp(sb, { multiOrgConsent: true }), { multiOrgConsent: true });
    await h.connect(service, app, firm.userId, firm.tenantIds);
    await sb.control('POST', `/sandbox/users/${firm.userId}/password`);

    const plan = await service.workflows.declarePasswordChanged(firm.email);
    expect(plan.consents).toEqual([expect.objectContaining({ appId: app.id, staffId: firm.userId })]);
    expect(plan.triggers).toEqual([expect.objectContaining({ kind: 'declared' })]);
    expect(service.status().connections.every((c) => c.health === 'healthy')).toBe(true); // Relink has not tried yet
    expect((await service.activity.read()).map((e) => e.action)).toContain('password-change-declared');

    const run = await service.workflows.startReconnectRun({ staff: firm.email });
    await sb.control('POST', '/sandbox/consents', { clientId: app.clientId, userId: firm.userId, tenantIds: firm.tenantIds, decision: 'deny' });
    const declined = await service.workflows.runNextPlanItem(run.id, headless);
    expect(declined.outcome).toBe('failed');
    expect(declined.message).toMatch(/declined in Xero, so nothing changed\. Run this step again when ready, or skip it\./);

    const retried = await runStep(sb, service, run.id, { itemId: run.items[0]!.id, tenantIds: firm.tenantIds });
    expect(retried.outcome).toBe('done');
    expect(service.workflows.planReconnect({ staff: firm.email }).consents).toEqual([]);
  }, 60_000);
});
