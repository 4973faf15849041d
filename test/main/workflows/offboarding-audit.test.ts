import { describe, expect, it } from 'vitest';
import { auditReportSchema, type OffboardingMove } from '../../../shared/workflows.js';
import { auditStaff, remainingOrgs } from '../../../main/workflows/offboarding-audit.js';
import { ago, FirmWorld, MINUTE } from './fixtures.js';

/**
 * The offboarding audit: everything that depends on a person, and the verdict's transitions as each
 * dependency moves to the advisor taking over — and only to them.
 */

function tomIsLeaving() {
  const w = new FirmWorld();
  const orgs = w.orgs('o', 3);
  w.app('sync', { multiOrgConsent: true });
  w.app('payroll', { multiOrgConsent: false, createdBy: 'tom.walsh@firm.example' });
  w.person('tom', 'Tom Walsh', { status: 'leaving' });
  w.person('ben', 'Ben Adviser');
  w.person('cara', 'Cara Clerk');
  const sync = w.grantWith('sync', 'tom', orgs);
  w.grantWith('payroll', 'tom', orgs.slice(0, 1));
  const gusto = w.track(orgs[0]!, 'Gusto', 'tom');
  return { w, orgs, sync, gusto };
}

const move = (over: Partial<OffboardingMove>): OffboardingMove => ({
  at: ago(MINUTE),
  kind: 'connection',
  appId: null,
  tenantId: null,
  trackedId: null,
  toStaffId: null,
  by: 'advisor',
  how: 'reconnected',
  note: null,
  ...over,
});

describe('offboarding audit', () => {
  it('lists every grant, connection, app created and tracked connection; not safe, one reason per dependency', () => {
    const { w } = tomIsLeaving();
    const a = auditReportSchema.parse(auditStaff(w.world(), 'tom'));
    expect(a.staff).toEqual({ id: 'tom', email: 'tom.walsh@firm.example', name: 'Tom Walsh', status: 'leaving' });
    expect(a.target).toBeNull();
    expect(a.firmName).toBe('Your firm');
    expect(a.grants.map((g) => [g.appName, g.organisations, g.moved, g.health])).toEqual([
      ['Payroll', 1, 0, 'healthy'],
      ['Sync', 3, 0, 'healthy'],
    ]);
    expect(a.connections.map((c) => [c.appName, c.organisation, c.state])).toEqual([
      ['Payroll', 'Client o-1', 'depends'],
      ['Sync', 'Client o-1', 'depends'],
      ['Sync', 'Client o-2', 'depends'],
      ['Sync', 'Client o-3', 'depends'],
    ]);
    expect(a.appsCreated).toEqual([
      expect.objectContaining({ appId: 'payroll', organisations: 1, state: 'depends', guidance: expect.stringMatching(/^Tom Walsh created Payroll in Xero's developer portal\. Deleting Tom Walsh's Xero user deletes the app/) }),
    ]);
    expect(a.tracked).toEqual([expect.objectContaining({ app: 'Gusto', organisation: 'Client o-1', state: 'depends', health: 'needs-reconnect' })]);
    expect(a.verdict).toBe('not-safe');
    expect(a.progress).toEqual({ total: 6, moved: 0, overridden: 0, remaining: 6 });
    expect(a.overrides).toEqual([]);
    // Apps that could replace the one Tom created: any not created by him.
    expect(a.appsCreated[0]!.replacementCandidates).toEqual([{ appId: 'sync', appName: 'Sync' }]);
    expect(a.reasons).toEqual([
      "Payroll in Client o-1 still depends on Tom Walsh's approval (Healthy).",
      "Sync in Client o-1 still depends on Tom Walsh's approval (Healthy).",
      "Sync in Client o-2 still depends on Tom Walsh's approval (Healthy).",
      "Sync in Client o-3 still depends on Tom Walsh's approval (Healthy).",
      "Tom Walsh created Payroll in Xero's developer portal: deleting their Xero user deletes it (1 organisation).",
      'Gusto in Client o-1 was authorised by Tom Walsh.',
    ]);
    // The move plan: one consent for the multi-org app, one per organisation otherwise, the app, the tracked app.
    expect(a.plan.map((p) => [p.kind, p.appId, p.tenantIds.length])).toEqual([
      ['reconnect', 'payroll', 1],
      ['reconnect', 'sync', 3],
      ['app', 'payroll', 0],
      ['tracked', null, 1],
    ]);
    expect(a.plan[1]!.text).toMatch(/Reconnect Sync as the advisor who takes over \(choose one first\), ticking Client o-1, Client o-2 and Client o-3\./);
  });

  it('verdict transitions: each move to the chosen advisor counts, until it is safe to remove', () => {
    const { w, orgs, gusto } = tomIsLeaving();
    w.offboarding('tom', { targetStaffId: 'ben' });
    let a = auditStaff(w.world(), 'tom');
    expect(a.target).toMatchObject({ id: 'ben', name: 'Ben Adviser' });
    expect(a.plan[1]!.text).toMatch(/as Ben Adviser/);
    expect(remainingOrgs(a, 'sync')).toEqual(orgs);

    // Ben reconnects Sync for all three.
    w.grantWith('sync', 'ben', orgs);
    w.offboardings.tom!.moves.push(...orgs.map((t) => move({ appId: 'sync', tenantId: t, toStaffId: 'ben' })));
    a = auditStaff(w.world(), 'tom');
    expect(a.connections.filter((c) => c.appId === 'sync').every((c) => c.state === 'moved' && c.movedTo?.id === 'ben')).toBe(true);
    expect(a.connections.find((c) => c.appId === 'sync')!.movedBy).toBe('Ben Adviser approved in Xero (recorded by an advisor in Relink)');
    expect(a.progress).toEqual({ total: 6, moved: 3, overridden: 0, remaining: 3 });
    expect(a.grants.find((g) => g.appId === 'sync')).toMatchObject({ organisations: 3, moved: 3 });
    expect(a.verdict).toBe('not-safe');

    // The app Tom created is replaced by one created under Ben's login, connected by Ben for o-1 (which also
    // covers Tom's own Payroll connection there: it would not survive the app), and the tracked Gusto moves.
    w.app('payroll-firm', { name: 'Payroll (firm)', multiOrgConsent: false, createdBy: 'ben.adviser@firm.example' });
    w.grantWith('payroll-firm', 'ben', orgs.slice(0, 1));
    w.offboardings.tom!.moves.push(move({ kind: 'app', appId: 'payroll', how: 'recreated', replacementAppId: 'payroll-firm', tenantIds: ['o-1'], person: 'Alex Reid (alex)' }));
    w.tracked[gusto.id] = {
      ...gusto,
      authorisedBy: 'ben',
      confirmedAt: ago(0),
      confirmedBy: 'advisor',
      history: [{ at: ago(0), action: 'moved', by: 'advisor', person: 'Alex Reid (alex)', fromStaffId: 'tom', toStaffId: 'ben' }],
    };
    a = auditReportSchema.parse(auditStaff(w.world(), 'tom'));
    expect(a.appsCreated[0]).toMatchObject({
      state: 'moved',
      how: 'recreated',
      override: null,
      replacement: { appId: 'payroll-firm', appName: 'Payroll (firm)', createdBy: 'ben.adviser@firm.example', organisations: [{ tenantId: 'o-1', name: 'Client o-1', reached: true }] },
      movedBy: 'Replaced by Payroll (firm): Relink checked that its organisation is reached through it (chosen by Alex Reid (alex))',
    });
    expect(a.connections.find((c) => c.appId === 'payroll')).toMatchObject({ state: 'moved', movedBy: 'Ben Adviser already had it connected through Payroll (firm), the replacement app' });
    expect(a.tracked[0]).toMatchObject({ state: 'moved', movedTo: { id: 'ben' }, movedBy: 'Ben Adviser authorised it again (recorded by Alex Reid (alex) in Relink)', health: 'reconnected' });
    expect(a.verdict).toBe('safe-to-remove');
    expect(a.reasons).toEqual([]);
    expect(a.overrides).toEqual([]);
    expect(a.progress).toEqual({ total: 6, moved: 6, overridden: 0, remaining: 0 });
    expect(a.plan).toEqual([]);

    // A moved connection that breaks again (Ben's grant refused) depends on Tom's once more.
    w.revoke(`g-sync-ben`);
    a = auditStaff(w.world(), 'tom');
    expect(a.verdict).toBe('not-safe');
    expect(a.connections.filter((c) => c.appId === 'sync').every((c) => c.state === 'depends')).toBe(true);
  });

  it("with an advisor chosen, someone else's reconnect is not counted (and says so); without one, any active colleague's counts", () => {
    const { w, orgs } = tomIsLeaving();
    w.grantWith('sync', 'cara', orgs);
    // No one chosen yet: Cara already reaches Sync in every organisation, so Sync does not depend on Tom.
    let a = auditStaff(w.world(), 'tom');
    expect(a.connections.filter((c) => c.appId === 'sync').map((c) => [c.state, c.movedTo?.id, c.movedBy])).toEqual(
      orgs.map(() => ['moved', 'cara', 'Cara Clerk already had it connected']),
    );
    // Ben is chosen: Cara's approvals no longer count.
    w.offboarding('tom', { targetStaffId: 'ben' });
    a = auditStaff(w.world(), 'tom');
    const sync = a.connections.filter((c) => c.appId === 'sync');
    expect(sync.every((c) => c.state === 'depends')).toBe(true);
    expect(sync[0]!.note).toBe("Reached through Cara Clerk's approval, not Ben Adviser's (the advisor chosen to take over): reconnect as Ben Adviser, or choose Cara Clerk instead.");
    expect(a.reasons[1]).toMatch(/still depends on Tom Walsh's approval \(Healthy\)\. Reached through Cara Clerk's approval/);
  });

  it("a colleague who is leaving too, or whose grant is refused, does not take anything over", () => {
    const { w, orgs } = tomIsLeaving();
    w.person('dan', 'Dan Departing', { status: 'leaving' });
    w.grantWith('sync', 'dan', orgs);
    w.revoke(w.grantWith('sync', 'ben', orgs).grant.id);
    const a = auditStaff(w.world(), 'tom');
    expect(a.connections.every((c) => c.state === 'depends')).toBe(true);
  });

  it('someone with nothing depending on them is safe to remove at once', () => {
    const w = new FirmWorld();
    w.person('amy', 'Amy New');
    const a = auditReportSchema.parse(auditStaff(w.world(), 'amy'));
    expect(a).toMatchObject({ verdict: 'safe-to-remove', reasons: [], grants: [], connections: [], appsCreated: [], tracked: [], progress: { total: 0, moved: 0, overridden: 0, remaining: 0 } });
  });

  it('"Mark recreated" is not a verdict: the app Tom created depends on him until its replacement reaches every organisation it reached', () => {
    // The demo's story: Tom created Reporting, used by 6 organisations (his 4 and Jane's other 2).
    const w = new FirmWorld();
    const orgs = w.orgs('o', 6);
    w.app('reporting', { multiOrgConsent: false, createdBy: 'tom' });
    w.app('reporting-firm', { name: 'Reporting (firm)', multiOrgConsent: true, createdBy: 'aroha@firm.example' });
    w.person('tom', 'Tom Walsh', { status: 'leaving' });
    w.person('jane', 'Jane Doe');
    w.grantWith('reporting', 'tom', orgs.slice(0, 4));
    w.grantWith('reporting', 'jane', orgs.slice(4));
    w.offboarding('tom');
    let a = auditStaff(w.world(), 'tom');
    expect(a.appsCreated[0]).toMatchObject({ organisations: 6, state: 'depends', replacement: null });

    // The replacement is chosen while nothing is connected through it yet: still not safe, and the audit says which.
    w.offboardings.tom!.moves.push(move({ kind: 'app', appId: 'reporting', how: 'recreated', replacementAppId: 'reporting-firm', tenantIds: orgs }));
    a = auditReportSchema.parse(auditStaff(w.world(), 'tom'));
    expect(a.verdict).toBe('not-safe');
    expect(a.appsCreated[0]).toMatchObject({ state: 'depends', movedAt: null, replacement: { appId: 'reporting-firm' } });
    expect(a.appsCreated[0]!.replacement!.organisations.every((o) => !o.reached)).toBe(true);
    expect(a.reasons.at(-1)).toBe(
      "Tom Walsh created Reporting in Xero's developer portal. Its replacement Reporting (firm) does not reach 6 organisations of 6 yet (Client o-1, Client o-2, Client o-3, Client o-4, Client o-5 and 1 more): connect Reporting (firm) for them first.",
    );
    expect(a.plan.find((p) => p.kind === 'app')).toMatchObject({ appId: 'reporting', tenantIds: orgs });

    // Jane connects the replacement for Tom's four and one of her own two: one is still missing.
    const jane = w.grantWith('reporting-firm', 'jane', orgs.slice(0, 5));
    a = auditStaff(w.world(), 'tom');
    expect(a.appsCreated[0]!.state).toBe('depends');
    expect(a.appsCreated[0]!.replacement!.organisations.filter((o) => !o.reached).map((o) => o.tenantId)).toEqual(['o-6']);
    // Tom's own connections are covered through the replacement (they would not survive his app anyway).
    expect(a.connections.map((c) => [c.tenantId, c.state])).toEqual([
      ['o-1', 'moved'],
      ['o-2', 'moved'],
      ['o-3', 'moved'],
      ['o-4', 'moved'],
    ]);

    // The sixth reached too: verified, safe to remove — no override involved.
    w.connection(jane.grant.id, 'o-6');
    a = auditReportSchema.parse(auditStaff(w.world(), 'tom'));
    expect(a.appsCreated[0]).toMatchObject({ state: 'moved', override: null });
    expect(a.verdict).toBe('safe-to-remove');

    // The replacement's sign-in refused: not verified any more.
    w.revoke(jane.grant.id);
    expect(auditStaff(w.world(), 'tom').verdict).toBe('not-safe');
  });

  it("a transfer Relink cannot see is an override: named, dated, quoted, shown as such, and never a plain 'safe to remove'", () => {
    const { w, orgs, gusto } = tomIsLeaving();
    w.offboarding('tom', { targetStaffId: 'ben' });
    w.grantWith('sync', 'ben', orgs);
    w.grantWith('payroll', 'ben', orgs.slice(0, 1));
    w.tracked[gusto.id] = { ...gusto, authorisedBy: 'ben', confirmedAt: ago(0), confirmedBy: 'advisor', history: [{ at: ago(0), action: 'moved', by: 'advisor', fromStaffId: 'tom', toStaffId: 'ben' }] };
    // The app record now names Ben (the override changed it), with the override recorded.
    w.apps.payroll = { ...w.apps.payroll!, createdBy: 'ben.adviser@firm.example' };
    w.offboardings.tom!.moves.push(
      move({ kind: 'app', appId: 'payroll', how: 'transferred', toStaffId: 'ben', note: 'Xero support moved it (case 123)', newOwner: 'ben.adviser@firm.example', previousCreatedBy: 'tom.walsh@firm.example', person: 'Alex Reid (alex)' }),
    );
    let a = auditReportSchema.parse(auditStaff(w.world(), 'tom'));
    expect(a.appsCreated[0]).toMatchObject({
      state: 'overridden',
      how: 'transferred',
      movedTo: { id: 'ben' },
      movedBy: 'Override by Alex Reid (alex): marked transferred to Ben Adviser; not verified by Relink',
      override: { by: 'Alex Reid (alex)', reason: 'Xero support moved it (case 123)', newOwner: 'Ben Adviser' },
    });
    expect(a.verdict).toBe('safe-by-override');
    expect(a.reasons).toEqual([]);
    expect(a.progress).toEqual({ total: 6, moved: 5, overridden: 1, remaining: 0 });
    expect(a.overrides).toEqual([
      expect.stringMatching(
        /^Payroll: Tom Walsh created it in Xero's developer portal\. Alex Reid \(alex\) marked it transferred to Ben Adviser on .* \("Xero support moved it \(case 123\)"\)\. Relink cannot see Xero's developer portal, so this rests on their word/,
      ),
    ]);

    // Withdrawn (and the record of who created it restored): it depends on Tom again.
    w.apps.payroll = { ...w.apps.payroll!, createdBy: 'tom.walsh@firm.example' };
    w.offboardings.tom!.moves.push(move({ kind: 'app', appId: 'payroll', how: 'withdrawn' }));
    a = auditStaff(w.world(), 'tom');
    expect(a.appsCreated[0]).toMatchObject({ state: 'depends', override: null, replacement: null });
    expect(a.verdict).toBe('not-safe');
  });

  it('an old "transferred"/"recreated" record without a replacement counts only as an override', () => {
    const { w } = tomIsLeaving();
    w.offboarding('tom', { moves: [move({ kind: 'app', appId: 'payroll', how: 'recreated', note: null })] });
    const a = auditStaff(w.world(), 'tom');
    expect(a.appsCreated[0]).toMatchObject({ state: 'overridden', override: { by: 'an advisor', reason: 'No reason was recorded.' } });
  });

  it('connections made that nobody asked for are listed with the warning, while they are still there', () => {
    const { w, orgs } = tomIsLeaving();
    w.org('o-9', 'Stray Ltd');
    const ben = w.grantWith('sync', 'ben', [...orgs, 'o-9']);
    w.offboarding('tom', {
      targetStaffId: 'ben',
      warnings: [{ at: ago(MINUTE), kind: 'unplanned', appId: 'sync', tenantIds: ['o-9'], approvedBy: { id: 'ben', email: 'ben.adviser@firm.example', name: 'Ben Adviser' }, message: 'Not planned: …' }],
    });
    let a = auditReportSchema.parse(auditStaff(w.world(), 'tom'));
    expect(a.warnings).toEqual([
      expect.objectContaining({ unplanned: [{ connectionId: ben.connections[3]!.id, appId: 'sync', appName: 'Sync', tenantId: 'o-9', organisation: 'Stray Ltd' }] }),
    ]);
    delete w.connections[ben.connections[3]!.id];
    a = auditStaff(w.world(), 'tom');
    expect(a.warnings[0]!.unplanned).toEqual([]);
  });
});
