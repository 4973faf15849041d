import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trackedImportResultSchema } from '../../../shared/workflows.js';
import { SystemClock } from '../../../main/core/clock.js';
import { MemoryKeychain } from '../../../main/secrets/memory-keychain.js';
import { createRelink, localProfile } from '../../../main/app/create-relink.js';
import { RelinkService, ServiceError } from '../../../main/service/relink-service.js';
import { ConfBackend } from '../../../main/store/document-file.js';
import { TRACKED_CSV_HEADER as HEADER, seededApp, seededConnection, seededGrant, seededOrganisation, seededStaff } from '../../support/seeded-metadata.js';

/**
 * The workflows through RelinkService itself, with an in-memory keychain and a seeded store (no sandbox): the
 * import's all-or-nothing rule, adding by hand, confirmations and moves with who and when, the guards that keep
 * a person from taking over from themselves, and a plan step whose consent cannot even start.
 */

describe('RelinkService firm workflows (in-memory keychain, seeded store)', () => {
  let dir: string;
  let service: RelinkService;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-wf-'));
    service = await createRelink({
      storage: localProfile({ dataDir: dir, keychainService: 'relink-wf-test', keychain: new MemoryKeychain(), backend: new ConfBackend(dir) }),
      clock: new SystemClock(),
      actor: 'advisor',
      osUser: 'alex',
    });
    await service.store.update((d) => {
      d.organisations['t-acme'] = seededOrganisation('t-acme', 'Acme Ltd');
      d.organisations['t-bay'] = seededOrganisation('t-bay', 'Bayside Bakery');
      d.staff['u-jane'] = seededStaff('u-jane', 'jane@firm.example', 'Jane Doe');
      d.staff['u-ben'] = seededStaff('u-ben', 'ben@firm.example', 'Ben Adviser');
      // Nothing listens on its sign-in server: a consent cannot even start.
      d.apps.sync = seededApp('sync', 'Practice Sync', { clientId: 'CLIENT-SYNC' });
      const grant = seededGrant('g-1', 'sync', 'u-jane', 'revoked');
      d.grants[grant.id] = grant;
      d.connections['c-1'] = seededConnection('c-1', grant, 't-acme');
    }, { durable: true });
    await service.assess();
  });

  afterEach(async () => {
    await service.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const activity = async () => (await service.activity.read()).map((e) => e.action);

  it('an import with any invalid row writes nothing and logs nothing; with skipInvalid only the good rows go in', async () => {
    const csv = [HEADER, 'Acme Ltd,Gusto,jane@firm.example,https://gusto.example/xero,', 'Nowhere Ltd,Dext,jane@firm.example,,', 't-bay,Shopify,BEN@firm.example,,"Shop, online"'].join('\r\n');
    const preview = service.workflows.previewTrackedImport(csv);
    expect(preview).toMatchObject({ fileError: null, rows: 3 });
    expect(preview.accepted.map((a) => a.line)).toEqual([2, 4]);
    expect(preview.rejected.map((r) => r.line)).toEqual([3]);
    expect(service.workflows.trackedConnections()).toEqual([]);

    const refused = trackedImportResultSchema.parse(await service.workflows.importTracked(csv));
    expect(refused).toMatchObject({ committed: false, imported: [], skipped: 0 });
    expect(refused.message).toBe('Nothing was imported: 1 row of 3 has a problem. Fix them and import again, or import with skip-invalid to leave them out.');
    expect(service.workflows.trackedConnections()).toEqual([]);
    expect(Object.keys(service.store.peek().tracked)).toEqual([]);
    expect(await activity()).not.toContain('tracked-imported');

    const done = await service.workflows.importTracked(csv, { skipInvalid: true });
    expect(done).toMatchObject({ committed: true, skipped: 1, message: 'Imported 2 tracked connections; skipped 1 invalid row.' });
    expect(done.imported.map((t) => [t.organisation, t.app, t.authorisedBy.staffId, t.notes, t.source])).toEqual([
      ['Acme Ltd', 'Gusto', 'u-jane', '', 'import'],
      ['Bayside Bakery', 'Shopify', 'u-ben', 'Shop, online', 'import'],
    ]);
    expect(service.workflows.trackedConnections()).toHaveLength(2);
    expect(await activity()).toContain('tracked-imported');

    // Importing the same file again: every row is now a duplicate, so nothing at all goes in.
    const again = await service.workflows.importTracked(csv, { skipInvalid: true });
    expect(again).toMatchObject({ committed: false, message: 'Nothing was imported: no row could be imported.' });
    expect(again.rejected.filter((r) => r.duplicate).map((r) => r.line)).toEqual([2, 4]);
    expect(service.workflows.trackedConnections()).toHaveLength(2);
  });

  it('a file error imports nothing and says what is wrong with the file', async () => {
    const r = await service.workflows.importTracked('org,app\nAcme,Gusto\n', { skipInvalid: true });
    expect(r).toMatchObject({ committed: false, fileError: expect.stringMatching(/^The first line must be exactly/), message: expect.stringMatching(/^Nothing was imported\. The first line must be exactly/) });
  });

  it('adding by hand validates like the import, refuses duplicates, and the flag follows Jane\'s password change', async () => {
    await expect(service.workflows.addTracked({ organisation: 'Acme', app: 'Gusto', authorisedBy: 'jane@firm.example' })).rejects.toThrow(
      /^No organisation called "Acme" is known to Relink/,
    );
    await expect(service.workflows.addTracked({ organisation: 'Acme Ltd', app: 'Gusto', authorisedBy: 'zoe@firm.example', reconnectUrl: 'http://x.example' })).rejects.toThrow(
      /^No staff member with the email zoe@firm\.example is known to Relink.*\. The reconnect address must start with https:\/\/ \(got http\)\.$/,
    );
    const gusto = await service.workflows.addTracked({ organisation: 'acme ltd', app: 'Gusto', authorisedBy: 'JANE@firm.example', reconnectUrl: 'https://gusto.example/xero', notes: 'payroll' });
    // Xero already refused Jane's one grant: the open (possible) password-change incident flags it at once.
    expect(gusto).toMatchObject({ tenantId: 't-acme', organisation: 'Acme Ltd', authorisedBy: { staffId: 'u-jane' }, state: 'needs-reconnect', source: 'manual' });
    await expect(service.workflows.addTracked({ organisation: 't-acme', app: 'GUSTO', authorisedBy: 'u-jane' })).rejects.toThrow(/already tracked/);

    const plan = await service.workflows.declarePasswordChanged('jane@firm.example');
    expect(plan.tracked).toEqual([expect.objectContaining({ id: gusto.id, state: 'needs-reconnect' })]);
    expect(plan.consents).toEqual([expect.objectContaining({ appId: 'sync', staffId: 'u-jane', orgIds: ['t-acme'] })]);
    const confirmed = await service.workflows.confirmTrackedReconnected(gusto.id);
    expect(confirmed).toMatchObject({ state: 'reconnected', confirmedBy: 'advisor', history: [expect.objectContaining({ action: 'reconnected', by: 'advisor', toStaffId: 'u-jane' })] });
    expect(service.workflows.exportTrackedCsv()).toMatch(/^organisation,app,authorised_by,reconnect_url,notes,tenant_id,state,state_reason,confirmed_at,confirmed_by\r\nAcme Ltd,Gusto,jane@firm\.example,https:\/\/gusto\.example\/xero,payroll,t-acme,reconnected,/);

    await service.workflows.removeTracked(gusto.id);
    expect(service.workflows.trackedConnections()).toEqual([]);
    expect(await activity()).toEqual(expect.arrayContaining(['tracked-added', 'password-change-declared', 'tracked-reconnected', 'tracked-removed']));
  });

  it('moves record who and when, and refuse nonsense: to the same person, to someone leaving, taking over from oneself', async () => {
    const t = await service.workflows.addTracked({ organisation: 'Acme Ltd', app: 'Gusto', authorisedBy: 'jane@firm.example' });
    await expect(service.workflows.moveTracked(t.id, 'u-jane')).rejects.toThrow(/already authorised by Jane Doe/);
    await expect(service.workflows.setOffboardingTarget('jane@firm.example', 'u-jane')).rejects.toThrow(/someone other than the person leaving/);
    await service.workflows.setStaffStatus('ben@firm.example', 'leaving');
    await expect(service.workflows.moveTracked(t.id, 'ben@firm.example')).rejects.toThrow(/Ben Adviser is marked as leaving: choose an active advisor/);
    await expect(service.workflows.setOffboardingTarget('u-jane', 'u-ben')).rejects.toThrow(/marked as leaving/);
    await service.workflows.setStaffStatus('ben@firm.example', 'active');
    const moved = await service.workflows.moveTracked(t.id, 'ben@firm.example');
    expect(moved).toMatchObject({ authorisedBy: { staffId: 'u-ben' }, history: [expect.objectContaining({ action: 'moved', fromStaffId: 'u-jane', toStaffId: 'u-ben', by: 'advisor' })] });
    const audit = service.workflows.auditStaff('jane@firm.example');
    expect(audit.tracked).toEqual([expect.objectContaining({ id: t.id, state: 'moved', movedTo: expect.objectContaining({ id: 'u-ben' }), movedAt: moved.history[0]!.at })]);
    await expect(service.workflows.useReplacementApp('u-jane', 'sync', 'sync')).rejects.toThrow(/not recorded as created by Jane Doe/);
    await expect(service.workflows.overrideCreatedApp('u-jane', 'sync', { newOwner: 'ben@firm.example', reason: 'x' })).rejects.toThrow(/not recorded as created by Jane Doe/);
    expect(() => service.workflows.auditStaff('nobody@firm.example')).toThrow(ServiceError);
    expect(() => service.workflows.auditStaff('nobody@firm.example')).toThrow(/No staff member "nobody@firm\.example" is known to Relink.*Known: jane@firm\.example, ben@firm\.example\./);
  });

  it('a plan step whose consent cannot start fails with the reason and stays retryable; pause, cancel and skip behave', async () => {
    const run = await service.workflows.startReconnectRun({ staff: 'jane@firm.example' });
    expect(run.items).toEqual([expect.objectContaining({ id: 'sync:u-jane', state: 'pending' })]);
    const failed = await service.workflows.runNextPlanItem(run.id, { open: async () => undefined, timeoutMs: 2_000 });
    expect(failed.outcome).toBe('failed');
    expect(failed.message).toMatch(/Run this step again when ready, or skip it\.$/);
    expect(failed.run.items[0]).toMatchObject({ state: 'failed', attempts: 1 });
    expect(failed.run.progress).toMatchObject({ failed: 1, remaining: 0 });
    expect((await service.workflows.runNextPlanItem(run.id, { open: async () => undefined, timeoutMs: 1 })).outcome).toBe('nothing-to-do');

    // Cancelled by the advisor while waiting: the step stays as it was.
    const controller = new AbortController();
    controller.abort();
    const cancelled = await service.workflows.runNextPlanItem(run.id, { open: async () => undefined, timeoutMs: 2_000, signal: controller.signal }, { itemId: 'sync:u-jane' });
    expect(cancelled.outcome).toBe('cancelled');

    const skipped = await service.workflows.skipPlanItem(run.id, 'sync:u-jane', 'Client is leaving the firm');
    expect(skipped).toMatchObject({ state: 'complete', progress: { skipped: 1 }, items: [expect.objectContaining({ reason: 'Client is leaving the firm' })] });
    await expect(service.workflows.pauseReconnectRun(run.id)).rejects.toThrow(/already complete/);
    const cancelledRun = await service.workflows.cancelReconnectRun(run.id);
    expect(cancelledRun.state).toBe('cancelled');
    await expect(service.workflows.runNextPlanItem(run.id, { open: async () => undefined, timeoutMs: 1 })).rejects.toThrow(/cancelled: start a new one/);
    expect(service.workflows.reconnectRuns().map((r) => r.id)).toEqual([run.id]);
    expect(await activity()).toEqual(expect.arrayContaining(['reconnect-plan-started', 'reconnect-plan-step-failed', 'reconnect-plan-step-skipped', 'reconnect-plan-cancelled']));
  });

  it("the activity export takes the window's filters and says how many entries it holds and from when to when", async () => {
    const at = (h: number) => `2026-03-0${h}T10:00:00.000Z`;
    for (const [i, e] of [
      { action: 'incident-opened', staffId: 'u-jane', appId: 'sync', detail: 'one' },
      { action: 'grant-refused', staffId: 'u-jane', appId: 'sync', detail: '400 invalid_grant' },
      { action: 'incident-opened', staffId: 'u-ben', detail: 'two' },
      { action: 'incident-opened', staffId: 'u-jane', appId: 'sync', detail: 'three' },
    ].entries()) {
      await service.activity.append({ ts: at(i + 2), actor: 'engine', ...e });
    }
    const all = await service.workflows.exportActivity({ from: '2026-03-01', to: '2026-03-31' });
    expect(all).toMatchObject({ count: 4, first: at(2), last: at(5) });
    const janes = await service.workflows.exportActivity({ from: '2026-03-01', to: '2026-03-31', action: 'incident-opened', staffId: 'u-jane', appId: 'sync' });
    expect(janes).toMatchObject({ count: 2, first: at(2), last: at(5) });
    const rows = janes.csv.trim().split('\r\n').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.includes('Problem found') && !r.includes('incident-opened'))).toBe(true);
    // A bare code in a detail reaches the file after the plain words.
    expect((await service.workflows.exportActivity({ from: '2026-03-01', to: '2026-03-31', action: 'grant-refused' })).csv).toContain('Xero refused the sign-in (400 invalid_grant)');
    expect(await service.workflows.exportActivity({ from: '2026-03-01', to: '2026-03-31', staffId: 'u-nobody' })).toMatchObject({ count: 0, first: null, last: null });
  });

  it('nothing to plan is said plainly; the activity export refuses a bad range', async () => {
    await expect(service.workflows.startReconnectRun({ staff: 'ben@firm.example' })).rejects.toThrow(/Nothing needs reconnecting for Ben Adviser/);
    await expect(service.workflows.exportActivityCsv({ from: '2026-03-05', to: '2026-03-01' })).rejects.toThrow(/must be after --from/);
    expect(await service.workflows.exportActivityCsv({ from: '2020-01-01', to: '2020-01-02' })).toBe('time,actor,person,action,app,staff,organisations,detail\r\n');
  });

  it('every record names the person: the computer user, and the name set in Settings once there is one', async () => {
    await service.workflows.setStaffStatus('u-ben', 'leaving');
    await service.updateSettings({ advisorName: 'Alex Reid' });
    // A patch that leaves the name out keeps it.
    await service.updateSettings({ probeIntervalMinutes: 20 });
    expect(service.settings().advisorName).toBe('Alex Reid');
    const plan = await service.workflows.declarePasswordChanged('jane@firm.example');
    expect(plan.triggers.find((t) => t.kind === 'declared')).toMatchObject({ by: 'Alex Reid (alex)', summary: expect.stringMatching(/by Alex Reid \(alex\)\.$/) });
    const entries = await service.activity.read();
    expect(entries.find((e) => e.action === 'staff-marked-leaving')).toMatchObject({ actor: 'advisor', person: 'alex' });
    expect(entries.find((e) => e.action === 'password-change-declared')).toMatchObject({ actor: 'advisor', person: 'Alex Reid (alex)' });
    expect(Object.values(service.store.peek().passwordChanges)[0]).toMatchObject({ declaredBy: 'advisor', person: 'Alex Reid (alex)' });
    const csv = await service.workflows.exportActivityCsv({ from: '2000-01-01', to: '2100-01-01' });
    expect(csv).toMatch(/,advisor,Alex Reid \(alex\),Password change declared,/);
  });

  it('a password change can be previewed (nothing recorded), declared, and withdrawn (logged)', async () => {
    // Jane's one sign-in is refused already; Ben's would be planned from healthy.
    const preview = service.workflows.previewPasswordChange('jane@firm.example');
    expect(preview).toMatchObject({ signIns: 1, workingNow: 0, alreadyDeclaredAt: null, plan: { totals: { consents: 1 } } });
    expect(service.store.peek().passwordChanges).toEqual({});
    expect(await activity()).not.toContain('password-change-declared');

    await service.workflows.declarePasswordChanged('jane@firm.example');
    await expect(service.workflows.withdrawPasswordChange('ben@firm.example')).rejects.toThrow(/No password change is recorded for Ben Adviser/);
    const after = await service.workflows.withdrawPasswordChange('jane@firm.example');
    expect(after.triggers.filter((t) => t.kind === 'declared')).toEqual([]);
    expect(Object.values(service.store.peek().passwordChanges)[0]).toMatchObject({ withdrawnBy: 'advisor', withdrawnPerson: 'alex', withdrawnAt: expect.any(String) });
    expect(await activity()).toEqual(expect.arrayContaining(['password-change-declared', 'password-change-withdrawn']));
    await expect(service.workflows.withdrawPasswordChange('jane@firm.example')).rejects.toThrow(/nothing to withdraw/);
  });

  it('"Stop this plan" can be undone: the plan reopens where it was, unless a newer one is open', async () => {
    const run = await service.workflows.startReconnectRun({ staff: 'jane@firm.example' });
    await expect(service.workflows.reopenReconnectRun(run.id)).rejects.toThrow(/not stopped: there is nothing to reopen/);
    await service.workflows.cancelReconnectRun(run.id);
    const reopened = await service.workflows.reopenReconnectRun(run.id);
    expect(reopened).toMatchObject({ state: 'running', nextItemId: 'sync:u-jane', items: [expect.objectContaining({ state: 'pending' })] });
    expect(await activity()).toEqual(expect.arrayContaining(['reconnect-plan-cancelled', 'reconnect-plan-reopened']));
    await service.workflows.cancelReconnectRun(run.id);
    const newer = await service.workflows.startReconnectRun({ staff: 'jane@firm.example' });
    expect(newer.id).not.toBe(run.id);
    await expect(service.workflows.reopenReconnectRun(run.id)).rejects.toThrow(/A newer plan for the same people is open/);
  });

  it('an app the leaver created: a replacement must not be theirs; a transfer is an override that changes the creator, and withdrawing restores it', async () => {
    await service.store.update((d) => {
      d.apps.sync!.createdBy = 'jane@firm.example';
      d.apps.other = { ...d.apps.sync!, id: 'other', name: 'Other Sync', clientId: 'CLIENT-OTHER', createdBy: 'u-jane' };
    }, { durable: true });
    await expect(service.workflows.useReplacementApp('u-jane', 'sync', 'other')).rejects.toThrow(/Other Sync is also recorded as created by Jane Doe/);
    await expect(service.workflows.overrideCreatedApp('u-jane', 'sync', { newOwner: 'ben@firm.example', reason: '  ' })).rejects.toThrow(/Say what you checked/);
    await expect(service.workflows.overrideCreatedApp('u-jane', 'sync', { newOwner: 'jane@firm.example', reason: 'x' })).rejects.toThrow(/would still be Jane Doe's/);

    const audit = await service.workflows.overrideCreatedApp('u-jane', 'sync', { newOwner: 'ben@firm.example', reason: 'Xero support moved it (case 77)' });
    expect(audit.appsCreated.find((a) => a.appId === 'sync')).toMatchObject({ state: 'overridden', override: { by: 'alex', reason: 'Xero support moved it (case 77)', newOwner: 'Ben Adviser' } });
    // Apps says the same as the audit now.
    expect(service.status().apps.find((a) => a.id === 'sync')!.createdBy).toBe('ben@firm.example');
    expect(audit.verdict).not.toBe('safe-to-remove');

    const back = await service.workflows.withdrawAppResolution('u-jane', 'sync');
    expect(back.appsCreated.find((a) => a.appId === 'sync')).toMatchObject({ state: 'depends', override: null });
    expect(service.status().apps.find((a) => a.id === 'sync')!.createdBy).toBe('jane@firm.example');
    await expect(service.workflows.withdrawAppResolution('u-jane', 'sync')).rejects.toThrow(/Nothing is recorded for Practice Sync to withdraw/);
    expect(await activity()).toEqual(expect.arrayContaining(['offboarding-app-override', 'offboarding-app-withdrawn']));
  });
});
