import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trackedImportResultSchema } from '../../../shared/workflows.js';
import { SystemClock } from '../../../main/core/clock.js';
import { MemoryKeychain } from '../../../main/secrets/memory-keychain.js';
import { RelinkService, ServiceError } from '../../../main/service/relink-service.js';
import { ConfBackend } from '../../../main/store/document-file.js';

/**
 * The workflows through RelinkService itself, with an in-memory keychain and a seeded store (no sandbox): the
 * import's all-or-nothing rule, adding by hand, confirmations and moves with who and when, the guards that keep
 * a person from taking over from themselves, and a plan step whose consent cannot even start.
 */

const AT = '2026-03-01T09:00:00.000Z';
const HEADER = 'organisation,app,authorised_by,reconnect_url,notes';

describe('RelinkService firm workflows (in-memory keychain, seeded store)', () => {
  let dir: string;
  let service: RelinkService;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-wf-'));
    service = await RelinkService.open({
      dataDir: dir,
      keychainService: 'relink-wf-test',
      keychain: new MemoryKeychain(),
      backend: new ConfBackend(dir),
      clock: new SystemClock(),
      actor: 'advisor',
    });
    await service.store.update((d) => {
      d.organisations['t-acme'] = { tenantId: 't-acme', name: 'Acme Ltd', tenantType: 'ORGANISATION', firstSeenAt: AT };
      d.organisations['t-bay'] = { tenantId: 't-bay', name: 'Bayside Bakery', tenantType: 'ORGANISATION', firstSeenAt: AT };
      d.staff['u-jane'] = { id: 'u-jane', email: 'jane@firm.example', name: 'Jane Doe', status: 'active', firstSeenAt: AT };
      d.staff['u-ben'] = { id: 'u-ben', email: 'ben@firm.example', name: 'Ben Adviser', status: 'active', firstSeenAt: AT };
      d.apps.sync = {
        id: 'sync',
        name: 'Practice Sync',
        provider: 'xero',
        clientId: 'CLIENT-SYNC',
        authType: 'pkce',
        // Nothing listens here: a consent cannot even start.
        issuer: 'http://127.0.0.1:9',
        apiBase: 'http://127.0.0.1:9',
        redirectPorts: [5999],
        scopes: ['openid', 'profile', 'email', 'offline_access'],
        connectionCap: null,
        multiOrgConsent: true,
        createdBy: null,
        createdAt: AT,
      };
      d.grants['g-1'] = {
        id: 'g-1',
        appId: 'sync',
        staffId: 'u-jane',
        scopes: [],
        authEventIds: [],
        connectedAt: AT,
        refreshTokenIssuedAt: AT,
        lastRefreshAt: AT,
        lastProbeAt: AT,
        consecutiveFailures: 1,
        lastFailure: { kind: 'invalid-grant', at: AT, detail: '400 invalid_grant' },
        state: 'revoked',
        stateSince: AT,
      };
      d.connections['c-1'] = {
        id: 'c-1',
        appId: 'sync',
        grantId: 'g-1',
        staffId: 'u-jane',
        tenantId: 't-acme',
        authEventId: 'ae',
        createdDateUtc: '2026-03-01T09:00:00.0000000',
        updatedDateUtc: '2026-03-01T09:00:00.0000000',
        present: true,
        lastSeenAt: AT,
        missingSince: null,
        lastApiFailure: null,
      };
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
    const preview = service.previewTrackedImport(csv);
    expect(preview).toMatchObject({ fileError: null, rows: 3 });
    expect(preview.accepted.map((a) => a.line)).toEqual([2, 4]);
    expect(preview.rejected.map((r) => r.line)).toEqual([3]);
    expect(service.trackedConnections()).toEqual([]);

    const refused = trackedImportResultSchema.parse(await service.importTracked(csv));
    expect(refused).toMatchObject({ committed: false, imported: [], skipped: 0 });
    expect(refused.message).toBe('Nothing was imported: 1 row of 3 has a problem. Fix them and import again, or import with skip-invalid to leave them out.');
    expect(service.trackedConnections()).toEqual([]);
    expect(Object.keys(service.store.peek().tracked)).toEqual([]);
    expect(await activity()).not.toContain('tracked-imported');

    const done = await service.importTracked(csv, { skipInvalid: true });
    expect(done).toMatchObject({ committed: true, skipped: 1, message: 'Imported 2 tracked connections; skipped 1 invalid row.' });
    expect(done.imported.map((t) => [t.organisation, t.app, t.authorisedBy.staffId, t.notes, t.source])).toEqual([
      ['Acme Ltd', 'Gusto', 'u-jane', '', 'import'],
      ['Bayside Bakery', 'Shopify', 'u-ben', 'Shop, online', 'import'],
    ]);
    expect(service.trackedConnections()).toHaveLength(2);
    expect(await activity()).toContain('tracked-imported');

    // Importing the same file again: every row is now a duplicate, so nothing at all goes in.
    const again = await service.importTracked(csv, { skipInvalid: true });
    expect(again).toMatchObject({ committed: false, message: 'Nothing was imported: no row could be imported.' });
    expect(again.rejected.filter((r) => r.duplicate).map((r) => r.line)).toEqual([2, 4]);
    expect(service.trackedConnections()).toHaveLength(2);
  });

  it('a file error imports nothing and says what is wrong with the file', async () => {
    const r = await service.importTracked('org,app\nAcme,Gusto\n', { skipInvalid: true });
    expect(r).toMatchObject({ committed: false, fileError: expect.stringMatching(/^The first line must be exactly/), message: expect.stringMatching(/^Nothing was imported\. The first line must be exactly/) });
  });

  it('adding by hand validates like the import, refuses duplicates, and the flag follows Jane\'s password change', async () => {
    await expect(service.addTracked({ organisation: 'Acme', app: 'Gusto', authorisedBy: 'jane@firm.example' })).rejects.toThrow(
      /^No organisation called "Acme" is known to Relink/,
    );
    await expect(service.addTracked({ organisation: 'Acme Ltd', app: 'Gusto', authorisedBy: 'zoe@firm.example', reconnectUrl: 'http://x.example' })).rejects.toThrow(
      /^No staff member with the email zoe@firm\.example is known to Relink.*\. The reconnect address must start with https:\/\/ \(got http\)\.$/,
    );
    const gusto = await service.addTracked({ organisation: 'acme ltd', app: 'Gusto', authorisedBy: 'JANE@firm.example', reconnectUrl: 'https://gusto.example/xero', notes: 'payroll' });
    // Xero already refused Jane's one grant: the open (possible) password-change incident flags it at once.
    expect(gusto).toMatchObject({ tenantId: 't-acme', organisation: 'Acme Ltd', authorisedBy: { staffId: 'u-jane' }, state: 'needs-reconnect', source: 'manual' });
    await expect(service.addTracked({ organisation: 't-acme', app: 'GUSTO', authorisedBy: 'u-jane' })).rejects.toThrow(/already tracked/);

    const plan = await service.declarePasswordChanged('jane@firm.example');
    expect(plan.tracked).toEqual([expect.objectContaining({ id: gusto.id, state: 'needs-reconnect' })]);
    expect(plan.consents).toEqual([expect.objectContaining({ appId: 'sync', staffId: 'u-jane', orgIds: ['t-acme'] })]);
    const confirmed = await service.confirmTrackedReconnected(gusto.id);
    expect(confirmed).toMatchObject({ state: 'reconnected', confirmedBy: 'advisor', history: [expect.objectContaining({ action: 'reconnected', by: 'advisor', toStaffId: 'u-jane' })] });
    expect(service.exportTrackedCsv()).toMatch(/^organisation,app,authorised_by,reconnect_url,notes,tenant_id,state,state_reason,confirmed_at,confirmed_by\r\nAcme Ltd,Gusto,jane@firm\.example,https:\/\/gusto\.example\/xero,payroll,t-acme,reconnected,/);

    await service.removeTracked(gusto.id);
    expect(service.trackedConnections()).toEqual([]);
    expect(await activity()).toEqual(expect.arrayContaining(['tracked-added', 'password-change-declared', 'tracked-reconnected', 'tracked-removed']));
  });

  it('moves record who and when, and refuse nonsense: to the same person, to someone leaving, taking over from oneself', async () => {
    const t = await service.addTracked({ organisation: 'Acme Ltd', app: 'Gusto', authorisedBy: 'jane@firm.example' });
    await expect(service.moveTracked(t.id, 'u-jane')).rejects.toThrow(/already authorised by Jane Doe/);
    await expect(service.setOffboardingTarget('jane@firm.example', 'u-jane')).rejects.toThrow(/someone other than the person leaving/);
    await service.setStaffStatus('ben@firm.example', 'leaving');
    await expect(service.moveTracked(t.id, 'ben@firm.example')).rejects.toThrow(/Ben Adviser is marked as leaving: choose an active advisor/);
    await expect(service.setOffboardingTarget('u-jane', 'u-ben')).rejects.toThrow(/marked as leaving/);
    await service.setStaffStatus('ben@firm.example', 'active');
    const moved = await service.moveTracked(t.id, 'ben@firm.example');
    expect(moved).toMatchObject({ authorisedBy: { staffId: 'u-ben' }, history: [expect.objectContaining({ action: 'moved', fromStaffId: 'u-jane', toStaffId: 'u-ben', by: 'advisor' })] });
    const audit = service.auditStaff('jane@firm.example');
    expect(audit.tracked).toEqual([expect.objectContaining({ id: t.id, state: 'moved', movedTo: expect.objectContaining({ id: 'u-ben' }), movedAt: moved.history[0]!.at })]);
    await expect(service.markCreatedAppMoved('u-jane', 'sync', { how: 'recreated' })).rejects.toThrow(/not recorded as created by Jane Doe/);
    expect(() => service.auditStaff('nobody@firm.example')).toThrow(ServiceError);
    expect(() => service.auditStaff('nobody@firm.example')).toThrow(/No staff member "nobody@firm\.example" is known to Relink.*Known: jane@firm\.example, ben@firm\.example\./);
  });

  it('a plan step whose consent cannot start fails with the reason and stays retryable; pause, cancel and skip behave', async () => {
    const run = await service.startReconnectRun({ staff: 'jane@firm.example' });
    expect(run.items).toEqual([expect.objectContaining({ id: 'sync:u-jane', state: 'pending' })]);
    const failed = await service.runNextPlanItem(run.id, { open: async () => undefined, timeoutMs: 2_000 });
    expect(failed.outcome).toBe('failed');
    expect(failed.message).toMatch(/Run this step again when ready, or skip it\.$/);
    expect(failed.run.items[0]).toMatchObject({ state: 'failed', attempts: 1 });
    expect(failed.run.progress).toMatchObject({ failed: 1, remaining: 0 });
    expect((await service.runNextPlanItem(run.id, { open: async () => undefined, timeoutMs: 1 })).outcome).toBe('nothing-to-do');

    // Cancelled by the advisor while waiting: the step stays as it was.
    const controller = new AbortController();
    controller.abort();
    const cancelled = await service.runNextPlanItem(run.id, { open: async () => undefined, timeoutMs: 2_000, signal: controller.signal }, { itemId: 'sync:u-jane' });
    expect(cancelled.outcome).toBe('cancelled');

    const skipped = await service.skipPlanItem(run.id, 'sync:u-jane', 'Client is leaving the firm');
    expect(skipped).toMatchObject({ state: 'complete', progress: { skipped: 1 }, items: [expect.objectContaining({ reason: 'Client is leaving the firm' })] });
    await expect(service.pauseReconnectRun(run.id)).rejects.toThrow(/already complete/);
    const cancelledRun = await service.cancelReconnectRun(run.id);
    expect(cancelledRun.state).toBe('cancelled');
    await expect(service.runNextPlanItem(run.id, { open: async () => undefined, timeoutMs: 1 })).rejects.toThrow(/cancelled: start a new one/);
    expect(service.reconnectRuns().map((r) => r.id)).toEqual([run.id]);
    expect(await activity()).toEqual(expect.arrayContaining(['reconnect-plan-started', 'reconnect-plan-step-failed', 'reconnect-plan-step-skipped', 'reconnect-plan-cancelled']));
  });

  it('nothing to plan is said plainly; the activity export refuses a bad range', async () => {
    await expect(service.startReconnectRun({ staff: 'ben@firm.example' })).rejects.toThrow(/Nothing needs reconnecting for Ben Adviser/);
    await expect(service.exportActivityCsv({ from: '2026-03-05', to: '2026-03-01' })).rejects.toThrow(/must be after --from/);
    expect(await service.exportActivityCsv({ from: '2020-01-01', to: '2020-01-02' })).toBe('time,actor,action,app,staff,organisations,detail\r\n');
  });
});
