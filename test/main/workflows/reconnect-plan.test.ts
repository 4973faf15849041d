import { describe, expect, it } from 'vitest';
import { reconnectPlanSchema } from '../../../shared/workflows.js';
import { planReconnect, previewPasswordChange } from '../../../main/workflows/reconnect-plan.js';
import { ago, DAY, FirmWorld, HOUR, MINUTE } from './fixtures.js';

/**
 * The bulk reconnect plan: the minimum number of consents Xero needs (one per app and person with
 * multi-organisation consent, one per organisation otherwise), what is left out and why, and the third-party
 * checklist.
 */

/** Jane: 3 apps × 12 organisations, one app with multi-organisation consent; Xero refused all of it. */
function janesPasswordChange() {
  const w = new FirmWorld();
  const orgs = w.orgs('acme', 12);
  w.app('practice-sync', { multiOrgConsent: true });
  w.app('payroll-bridge', { multiOrgConsent: false });
  w.app('reporting', { multiOrgConsent: false });
  w.person('jane', 'Jane Doe');
  w.person('ben', 'Ben Adviser');
  for (const app of ['practice-sync', 'payroll-bridge', 'reporting']) {
    const { grant } = w.grantWith(app, 'jane', orgs);
    w.revoke(grant.id, ago(20 * MINUTE));
  }
  // Ben's connection to the same app kept working: not in the plan.
  w.grantWith('practice-sync', 'ben', orgs.slice(0, 3));
  return { w, orgs };
}

describe('planReconnect', () => {
  it('3 apps × 12 organisations, one with multi-organisation consent → 1 + 12 + 12 = 25 consents, perhaps as few as 3', () => {
    const { w, orgs } = janesPasswordChange();
    const plan = reconnectPlanSchema.parse(planReconnect(w.world()));
    expect(plan.totals).toEqual({ consents: 25, fewestConsents: 3, organisations: 12, connections: 36, apps: 3, staff: 1, tracked: 0 });
    expect(plan.consents).toHaveLength(25);

    const multi = plan.consents.filter((c) => c.appId === 'practice-sync');
    expect(multi).toHaveLength(1);
    expect(multi[0]).toMatchObject({ staffId: 'jane', multiOrgConsent: true, id: 'practice-sync:jane', note: null });
    expect([...multi[0]!.orgIds].sort()).toEqual([...orgs].sort());
    expect(multi[0]!.instruction).toMatch(/Sign in to Xero as Jane Doe \(jane\.doe@firm\.example\) and approve Practice Sync, ticking all 12 organisations/);

    // An app that connects one organisation per approval: one consent each, as a refused grant may have taken its
    // connections with it; where Xero still holds them, the first approval brings back the rest (the note says so).
    for (const app of ['payroll-bridge', 'reporting']) {
      const queue = plan.consents.filter((c) => c.appId === app);
      expect(queue).toHaveLength(12);
      expect(queue.every((c) => c.orgIds.length === 1 && !c.multiOrgConsent && c.staffId === 'jane')).toBe(true);
      expect(new Set(queue.map((c) => c.orgIds[0]))).toEqual(new Set(orgs));
      expect(queue[0]!.instruction).toMatch(/connects one organisation per approval/);
      expect(queue.every((c) => /^If Xero still holds Jane Doe's other connections to .*, this approval brings them back too/.test(c.note ?? ''))).toBe(true);
    }
    expect(plan.countNote).toMatch(/^25 approvals at most, perhaps as few as 3: Payroll Bridge as Jane Doe and Reporting as Jane Doe connect one organisation per approval/);
    // The shape the issue requires: consents[] {appId, staffId, orgIds} and tracked[].
    expect(plan.consents[0]).toEqual(expect.objectContaining({ appId: expect.any(String), staffId: 'jane', orgIds: expect.any(Array) }));
    expect(plan.tracked).toEqual([]);
    // Relink saw it happen: the incident is the trigger.
    expect(plan.triggers).toEqual([expect.objectContaining({ kind: 'detected', staffId: 'jane', declarationId: null })]);
  });

  it('one organisation per approval: how few it may take counts only the connections Xero still listed', () => {
    const w = new FirmWorld();
    const orgs = w.orgs('o', 4);
    w.app('payroll', { multiOrgConsent: false });
    w.person('jane', 'Jane Doe');
    const { grant, connections } = w.grantWith('payroll', 'jane', orgs);
    // Xero stopped listing two of them (disconnected in the organisation), then refused the sign-in.
    w.vanish(connections[1]!.id);
    w.vanish(connections[3]!.id);
    w.revoke(grant.id, ago(5 * MINUTE));
    const plan = reconnectPlanSchema.parse(planReconnect(w.world()));
    expect(plan.consents.map((c) => c.orgIds)).toEqual([['o-1'], ['o-2'], ['o-3'], ['o-4']]);
    expect(plan.totals).toMatchObject({ consents: 4, fewestConsents: 2, organisations: 4 });
    expect(plan.countNote).toMatch(/^4 approvals at most, perhaps as few as 2/);

    // Nothing Xero still lists: nothing can come back with another approval, so the count is exact.
    const v = new FirmWorld();
    v.app('payroll', { multiOrgConsent: false });
    v.person('jane', 'Jane Doe');
    const two = v.grantWith('payroll', 'jane', v.orgs('p', 2));
    for (const c of two.connections) v.vanish(c.id);
    v.revoke(two.grant.id);
    const exact = planReconnect(v.world());
    expect(exact.consents.map((c) => c.orgIds)).toEqual([['p-1'], ['p-2']]);
    expect(exact.consents.every((c) => c.note === null)).toBe(true);
    expect(exact.totals).toMatchObject({ consents: 2, fewestConsents: 2 });
    expect(exact.countNote).toBeNull();
  });

  it('never asks for more consents than Xero requires: one per (app, person) for every multi-org group', () => {
    const w = new FirmWorld();
    const orgs = w.orgs('o', 40);
    w.app('sync', { multiOrgConsent: true });
    w.person('jane', 'Jane Doe');
    w.person('ben', 'Ben Adviser');
    w.revoke(w.grantWith('sync', 'jane', orgs).grant.id);
    w.revoke(w.grantWith('sync', 'ben', orgs.slice(0, 25)).grant.id);
    const plan = planReconnect(w.world());
    expect(plan.consents.map((c) => [c.appId, c.staffId, c.orgIds.length])).toEqual([
      ['sync', 'ben', 25],
      ['sync', 'jane', 40],
    ]);
    expect(plan.totals).toMatchObject({ consents: 2, organisations: 40, connections: 65, staff: 2 });
  });

  it('--staff narrows the plan to one person (and their tracked apps)', () => {
    const { w, orgs } = janesPasswordChange();
    w.revoke(w.grantWith('reporting', 'ben', orgs.slice(0, 2)).grant.id);
    w.track(orgs[0]!, 'Gusto', 'jane');
    w.track(orgs[1]!, 'Dext', 'ben');
    const all = planReconnect(w.world());
    expect(new Set(all.consents.map((c) => c.staffId))).toEqual(new Set(['jane', 'ben']));
    const janes = planReconnect(w.world(), { staffId: 'jane' });
    expect(janes.staff).toEqual({ id: 'jane', email: 'jane.doe@firm.example', name: 'Jane Doe' });
    expect(janes.consents.every((c) => c.staffId === 'jane')).toBe(true);
    expect(janes.totals.consents).toBe(25);
    expect(janes.tracked.map((t) => [t.app, t.authorisedBy.staffId, t.state])).toEqual([['Gusto', 'jane', 'needs-reconnect']]);
    expect(janes.tracked[0]).toMatchObject({ organisation: 'Client acme-1', reconnectUrl: 'https://gusto.example/settings/xero' });
  });

  it('a declared password change plans grants Relink has not seen fail yet, and drops them once they work again', () => {
    const w = new FirmWorld();
    const orgs = w.orgs('o', 3);
    w.app('sync', { multiOrgConsent: true });
    w.app('payroll', { multiOrgConsent: false });
    w.person('jane', 'Jane Doe');
    const sync = w.grantWith('sync', 'jane', orgs).grant; // refreshed an hour ago: still "healthy"
    w.grantWith('payroll', 'jane', orgs.slice(0, 1));
    expect(planReconnect(w.world()).consents).toEqual([]);

    w.declare('jane', ago(5 * MINUTE));
    const plan = planReconnect(w.world(), { staffId: 'jane' });
    expect(plan.consents.map((c) => [c.appId, c.orgIds.length])).toEqual([
      ['payroll', 1],
      ['sync', 3],
    ]);
    expect(plan.triggers).toEqual([expect.objectContaining({ kind: 'declared', staffId: 'jane', summary: expect.stringMatching(/Jane Doe's Xero password change was reported/) })]);

    // Reconnected (or refreshed successfully) after the declaration: no longer in the plan.
    w.update(sync.id, { lastRefreshAt: ago(1 * MINUTE), refreshTokenIssuedAt: ago(1 * MINUTE) });
    expect(planReconnect(w.world()).consents.map((c) => c.appId)).toEqual(['payroll']);
  });

  it('an organisation missing from a working grant is planned on its own (tick it again)', () => {
    const w = new FirmWorld();
    const orgs = w.orgs('o', 4);
    w.app('sync', { multiOrgConsent: true });
    w.person('jane', 'Jane Doe');
    const { connections } = w.grantWith('sync', 'jane', orgs);
    w.vanish(connections[2]!.id);
    const plan = planReconnect(w.world());
    expect(plan.consents).toEqual([expect.objectContaining({ appId: 'sync', staffId: 'jane', orgIds: [orgs[2]] })]);
    expect(plan.consents[0]!.organisations).toEqual([{ tenantId: orgs[2], name: 'Client o-3', health: 'disconnected', cause: 'app-disconnected-in-org' }]);
  });

  it("an old connection record replaced by a new one for the same grant and organisation is history, not planned", () => {
    const w = new FirmWorld();
    const orgs = w.orgs('o', 2);
    w.app('sync', { multiOrgConsent: true });
    w.person('jane', 'Jane Doe');
    const { grant, connections } = w.grantWith('sync', 'jane', orgs);
    // Xero re-created the connection to o-1 (a new id) after the app was disconnected and ticked again.
    w.vanish(connections[0]!.id);
    w.connection(grant.id, orgs[0]!);
    expect(planReconnect(w.world()).consents).toEqual([]);
  });

  it('leaves out what a reconnect as the same person cannot fix, and says what to do instead', () => {
    const w = new FirmWorld();
    const orgs = w.orgs('o', 3);
    w.app('sync', { multiOrgConsent: true });
    w.app('reporting', { authType: 'web' });
    w.person('jane', 'Jane Doe');
    w.person('tom', 'Tom Walsh', { status: 'leaving' });
    w.person('ben', 'Ben Adviser');
    // Reporting's credentials are rejected: update the app, not the grant.
    w.revoke(w.grantWith('reporting', 'jane', orgs).grant.id, ago(HOUR), 'invalid-client');
    // Tom is leaving and Xero refused his grant: move it.
    w.revoke(w.grantWith('sync', 'tom', orgs).grant.id);
    // Ben lost access to two organisations at once: staff-removed.
    const ben = w.grantWith('sync', 'ben', orgs).connections;
    w.vanish(ben[0]!.id);
    w.vanish(ben[1]!.id);

    const plan = planReconnect(w.world());
    expect(plan.consents).toEqual([]);
    expect(plan.notes).toEqual([
      expect.stringMatching(/Xero rejects Reporting's app credentials, so reconnecting cannot help/),
      expect.stringMatching(/Tom Walsh is marked as leaving: move their 3 connections to another advisor instead \(the offboarding audit: relink audit staff tom\.walsh@firm\.example\)/),
      expect.stringMatching(/Ben Adviser no longer reaches Client o-1 and Client o-2/),
    ]);
  });

  it('the tracked checklist lists every third-party app whose authoriser is affected, with where to reconnect it', () => {
    const { w, orgs } = janesPasswordChange();
    w.track(orgs[0]!, 'Gusto', 'jane');
    w.track(orgs[1]!, 'Shopify', 'jane.doe@firm.example', { reconnectUrl: null });
    w.track(orgs[2]!, 'Dext', 'ben'); // Ben is fine
    const plan = reconnectPlanSchema.parse(planReconnect(w.world(), { staffId: 'jane' }));
    expect(plan.tracked.map((t) => [t.organisation, t.app, t.reconnectUrl, t.state])).toEqual([
      ['Client acme-1', 'Gusto', 'https://gusto.example/settings/xero', 'needs-reconnect'],
      ['Client acme-2', 'Shopify', null, 'needs-reconnect'],
    ]);
    expect(plan.tracked[0]!.reason).toMatch(/Jane Doe's Xero password probably changed .*reconnect Gusto for Client acme-1 in Gusto's own settings \(https:\/\/gusto\.example\/settings\/xero\)/);
    expect(plan.totals.tracked).toBe(2);
  });

  it('is deterministic and empty for a healthy firm', () => {
    const w = new FirmWorld();
    w.app('sync');
    w.person('jane', 'Jane Doe');
    w.grantWith('sync', 'jane', w.orgs('o', 5));
    const plan = planReconnect(w.world());
    expect(plan).toMatchObject({ consents: [], tracked: [], notes: [], triggers: [], totals: { consents: 0, organisations: 0 } });
    expect(planReconnect(w.world())).toEqual(plan);
    w.now += DAY;
    expect(planReconnect(w.world()).consents).toEqual([]);
  });

  it('previewing a password change records nothing and says how much of it works right now', () => {
    const w = new FirmWorld();
    const orgs = w.orgs('o', 22);
    w.app('sync', { multiOrgConsent: true });
    w.app('payroll', { multiOrgConsent: false });
    w.person('aroha', 'Aroha Ngata');
    w.grantWith('sync', 'aroha', orgs.slice(0, 20));
    w.grantWith('payroll', 'aroha', orgs.slice(20));
    const before = JSON.stringify(w.passwordChanges);
    const preview = previewPasswordChange(w.world(), 'aroha');
    expect(JSON.stringify(w.passwordChanges)).toBe(before);
    expect(preview).toMatchObject({ staff: { id: 'aroha', name: 'Aroha Ngata' }, signIns: 2, workingNow: 22, alreadyDeclaredAt: null });
    expect(preview.plan.totals).toMatchObject({ consents: 3, fewestConsents: 2, organisations: 22, connections: 22 });
    // The hypothetical declaration is not presented as one that was made.
    expect(preview.plan.triggers).toEqual([]);
    expect(planReconnect(w.world()).consents).toEqual([]);

    const d = w.declare('aroha', ago(MINUTE));
    expect(previewPasswordChange(w.world(), 'aroha').alreadyDeclaredAt).toBe(d.declaredAt);
  });

  it('a withdrawn declaration no longer plans anything, is no trigger, and no longer flags tracked apps', () => {
    const w = new FirmWorld();
    const orgs = w.orgs('o', 3);
    w.app('sync', { multiOrgConsent: true });
    w.person('jane', 'Jane Doe');
    w.grantWith('sync', 'jane', orgs);
    w.track(orgs[0]!, 'Gusto', 'jane', { createdAt: ago(DAY) });
    const d = w.declare('jane', ago(5 * MINUTE));
    const declared = planReconnect(w.world(), { staffId: 'jane' });
    expect(declared.totals.consents).toBe(1);
    expect(declared.triggers).toEqual([expect.objectContaining({ kind: 'declared', declarationId: d.id, by: 'an advisor' })]);
    expect(declared.tracked).toHaveLength(1);

    w.passwordChanges[d.id] = { ...d, withdrawnAt: ago(MINUTE), withdrawnBy: 'advisor', withdrawnPerson: 'Alex Reid (alex)' };
    const withdrawn = planReconnect(w.world(), { staffId: 'jane' });
    expect(withdrawn).toMatchObject({ consents: [], triggers: [], tracked: [] });
  });

  it('a declaration names who made it', () => {
    const w = new FirmWorld();
    w.app('sync', { multiOrgConsent: true });
    w.person('jane', 'Jane Doe');
    w.grantWith('sync', 'jane', w.orgs('o', 1));
    const d = w.declare('jane', ago(5 * MINUTE));
    w.passwordChanges[d.id] = { ...d, person: 'Alex Reid (alex)' };
    expect(planReconnect(w.world()).triggers[0]!.summary).toMatch(/^Jane Doe's Xero password change was reported on .* by Alex Reid \(alex\)\.$/);
  });
});
