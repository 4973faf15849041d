import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { auditReportSchema, offboardingMoveResultSchema } from '../../../shared/workflows.js';
import type { RelinkService } from '../../../main/service/relink-service.js';
import { AUDIT_CSV_COLUMNS } from '../../../main/workflows/reports.js';
import { createHarness, HAS_SECRET_SERVICE, NO_KEYCHAIN, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';
import { arrange, forgetGrants, headless } from './support.js';

/**
 * The staff offboarding audit end to end (sandbox + real keychain): a staff member who authorised grants,
 * created an app and authorised tracked connections; a reconnect approved by the wrong person is warned about
 * and not counted; moving everything to the chosen advisor turns the verdict to safe to remove; the CSV and the
 * printable page list every dependency with who moved it and when.
 */
describe('offboarding audit (sandbox + real keychain)', () => {
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
    `Tom leaves: audit lists everything; a consent by Cara is not counted; moving all of it to Ben → safe to remove; CSV and HTML${NO_KEYCHAIN}`,
    async () => {
      h = createHarness(sb);
      const firm = await sandboxFirm(sb, 3, { givenName: 'Tom', familyName: 'Walsh' });
      const tom = { id: firm.userId, email: firm.email };
      const person = async (email: string, givenName: string, familyName: string) => {
        const { userId } = await sb.control('POST', '/sandbox/users', { email, givenName, familyName });
        for (const t of firm.tenantIds) await sb.control('PUT', `/sandbox/users/${userId}/orgs/${t}`, { role: 'adviser' });
        return userId as string;
      };
      const benId = await person('ben@firm.example', 'Ben', 'Adviser');
      const caraId = await person('cara@firm.example', 'Cara', 'Clerk');

      service = await h.open();
      await service.updateSettings({ firmName: 'Harbour & Finch' });
      const sync = await h.addApp(service, await sandboxApp(sb, { multiOrgConsent: true }), { name: 'Practice Sync', multiOrgConsent: true });
      const payroll = await h.addApp(service, await sandboxApp(sb, { multiOrgConsent: false, createdBy: tom.id }), {
        name: 'Payroll Bridge',
        multiOrgConsent: false,
        createdBy: tom.email,
      });
      await h.connect(service, sync, tom.id, firm.tenantIds);
      await h.connect(service, payroll, tom.id, [firm.tenantIds[0]!]);
      // Ben and Cara are known to Relink once they have connected something.
      await h.connect(service, payroll, benId, [firm.tenantIds[1]!]);
      await h.connect(service, payroll, caraId, [firm.tenantIds[2]!]);
      const gusto = await service.workflows.addTracked({ organisation: firm.orgNames[0]!, app: 'Gusto', authorisedBy: tom.email, reconnectUrl: 'https://app.gusto.example/xero' });
      const dext = await service.workflows.addTracked({ organisation: firm.tenantIds[1]!, app: 'Dext', authorisedBy: tom.id });

      await service.workflows.setStaffStatus(tom.email, 'leaving');
      let audit = auditReportSchema.parse(service.workflows.auditStaff(tom.email));
      expect(audit).toMatchObject({ firmName: 'Harbour & Finch', staff: { id: tom.id, name: 'Tom Walsh', status: 'leaving' }, target: null, verdict: 'not-safe' });
      expect(audit.grants.map((g) => [g.appName, g.organisations])).toEqual([
        ['Payroll Bridge', 1],
        ['Practice Sync', 3],
      ]);
      expect(audit.connections).toHaveLength(4);
      expect(audit.appsCreated).toEqual([expect.objectContaining({ appId: payroll.id, state: 'depends' })]);
      expect(audit.tracked.map((t) => [t.app, t.state, t.health])).toEqual([
        ['Gusto', 'depends', 'needs-reconnect'],
        ['Dext', 'depends', 'needs-reconnect'],
      ]);
      // Cara already reaches Payroll in her own organisation, which is not Tom's: nothing there counts for him.
      expect(audit.progress).toEqual({ total: 7, moved: 0, overridden: 0, remaining: 7 });
      expect(audit.reasons).toHaveLength(7);

      await expect(service.workflows.runOffboardingMove(tom.email, { appId: sync.id }, headless)).rejects.toThrow(/Choose who takes over from Tom Walsh first/);
      audit = await service.workflows.setOffboardingTarget(tom.email, 'ben@firm.example');
      expect(audit.target).toMatchObject({ id: benId, name: 'Ben Adviser' });

      // Cara approves instead of Ben: warned, not counted.
      await arrange(sb, sync, caraId, firm.tenantIds);
      const wrong = offboardingMoveResultSchema.parse(await service.workflows.runOffboardingMove(tom.email, { appId: sync.id }, headless));
      expect(wrong.outcome).toBe('wrong-person');
      expect(wrong.message).toMatch(/approved in Xero by Cara Clerk \(cara@firm\.example\), not by Ben Adviser, so it was not counted as moved/);
      expect(wrong.audit.connections.filter((c) => c.appId === sync.id).every((c) => c.state === 'depends' && /Reached through Cara Clerk's approval, not Ben Adviser's/.test(c.note ?? ''))).toBe(true);
      expect(wrong.audit.warnings).toEqual([expect.objectContaining({ message: wrong.message })]);
      expect(wrong.audit.verdict).toBe('not-safe');

      // Ben approves Practice Sync but ticks only two organisations: those two move, the third stays with its reason.
      await arrange(sb, sync, benId, firm.tenantIds.slice(0, 2));
      const partial = await service.workflows.runOffboardingMove(tom.email, { appId: sync.id }, headless);
      expect(partial.outcome).toBe('partial');
      expect(partial.message).toContain(`Still missing, so still depending on Tom Walsh: ${firm.orgNames[2]} (Not connected by this approval`);
      expect(partial.audit.connections.filter((c) => c.appId === sync.id).map((c) => c.state).sort()).toEqual(['depends', 'moved', 'moved']);

      // Then all three: one more consent.
      await arrange(sb, sync, benId, firm.tenantIds);
      const moved = await service.workflows.runOffboardingMove(tom.email, { appId: sync.id }, headless);
      expect(moved.outcome, moved.message).toBe('moved');
      expect(moved.report?.staff.id).toBe(benId);
      const movedSync = moved.audit.connections.filter((c) => c.appId === sync.id);
      expect(movedSync.every((c) => c.state === 'moved' && c.movedTo?.id === benId && /^Ben Adviser approved in Xero \(recorded by .+ with the relink command\)$/.test(c.movedBy ?? '') && c.movedAt)).toBe(true);
      expect(moved.audit.progress).toMatchObject({ moved: 3, remaining: 4 });

      // Payroll (one organisation per consent) for Tom's one organisation.
      await arrange(sb, payroll, benId, [firm.tenantIds[0]!]);
      const movedPayroll = await service.workflows.runOffboardingMove(tom.email, { appId: payroll.id, tenantId: firm.tenantIds[0]! }, headless);
      expect(movedPayroll.outcome, movedPayroll.message).toBe('moved');
      expect(await service.workflows.runOffboardingMove(tom.email, { appId: payroll.id }, headless)).toMatchObject({ outcome: 'nothing-to-do' });

      // The app Tom created: a replacement under Ben's login. Chosen before anything is connected through it, it is
      // not yet a move (a click is not a verification); once Ben has connected it for every organisation Payroll
      // Bridge reaches (Tom's, Ben's and Cara's), Relink counts it.
      const replacement = await h.addApp(service, await sandboxApp(sb, { multiOrgConsent: true, createdBy: benId }), {
        name: 'Payroll Bridge (firm)',
        multiOrgConsent: true,
        createdBy: 'ben@firm.example',
      });
      audit = await service.workflows.useReplacementApp(tom.id, payroll.id, replacement.id);
      expect(audit.appsCreated[0]).toMatchObject({ state: 'depends', replacement: { appId: replacement.id } });
      expect(audit.appsCreated[0]!.replacement!.organisations.map((o) => o.reached)).toEqual([false, false, false]);
      expect(audit.verdict).toBe('not-safe');
      await h.connect(service, replacement, benId, firm.tenantIds);
      audit = service.workflows.auditStaff(tom.id);
      expect(audit.appsCreated[0]).toMatchObject({ state: 'moved', override: null, replacement: { appId: replacement.id } });
      // Nothing about the app was rewritten: Relink's record still names Tom as Payroll Bridge's creator.
      expect(service.apps().find((a) => a.id === payroll.id)?.createdBy).toBe(tom.email);
      await service.workflows.moveTracked(gusto.id, benId);
      expect(service.workflows.auditStaff(tom.id).verdict).toBe('not-safe');
      await service.workflows.moveTracked(dext.id, 'ben@firm.example');

      audit = auditReportSchema.parse(service.workflows.auditStaff(tom.email));
      expect(audit.verdict).toBe('safe-to-remove');
      expect(audit.reasons).toEqual([]);
      expect(audit.progress).toEqual({ total: 7, moved: 7, overridden: 0, remaining: 0 });
      expect(audit.plan).toEqual([]);
      expect(audit.tracked.every((t) => t.state === 'moved' && t.movedTo?.id === benId)).toBe(true);
      // Ben's connections are healthy.
      expect(service.status().connections.filter((c) => c.staffId === benId).every((c) => c.health === 'healthy')).toBe(true);

      // Reports: the CSV and the printable page list every dependency, who moved it and when.
      const rows = parse(service.workflows.auditCsv(tom.email)) as string[][];
      expect(rows[0]).toEqual([...AUDIT_CSV_COLUMNS]);
      expect(rows.slice(1).map((r) => [r[5], r[6], r[9]])).toEqual([
        ['connection', 'Payroll Bridge', 'moved'],
        ...[...firm.orgNames].sort().map(() => ['connection', 'Practice Sync', 'moved']),
        ['app-created', 'Payroll Bridge', 'moved'],
        ['tracked', 'Gusto', 'moved'],
        ['tracked', 'Dext', 'moved'],
      ]);
      expect(rows.slice(1).every((r) => r[0] === 'Harbour & Finch' && r[2] === 'Tom Walsh' && r[4] === 'safe-to-remove' && r[10] === 'Ben Adviser <ben@firm.example>' && r[12])).toBe(true);
      const html = service.workflows.auditHtml(tom.email);
      expect(html).toContain('Verdict: Safe to remove');
      for (const name of [...firm.orgNames, 'Practice Sync', 'Payroll Bridge', 'Gusto', 'Dext', 'Harbour &amp; Finch', 'Tom Walsh']) expect(html).toContain(name);

      const actions = (await service.activity.read()).map((e) => e.action);
      expect(actions).toEqual(
        expect.arrayContaining(['staff-marked-leaving', 'offboarding-target-set', 'offboarding-move-wrong-person', 'offboarding-moved', 'offboarding-app-replacement-chosen', 'tracked-moved']),
      );
    },
    90_000,
  );
});
