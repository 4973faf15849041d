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
    expect(a.progress).toEqual({ total: 6, moved: 0, remaining: 6 });
    expect(a.reasons).toEqual([
      "Payroll in Client o-1 still depends on Tom Walsh's approval (healthy).",
      "Sync in Client o-1 still depends on Tom Walsh's approval (healthy).",
      "Sync in Client o-2 still depends on Tom Walsh's approval (healthy).",
      "Sync in Client o-3 still depends on Tom Walsh's approval (healthy).",
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
    expect(a.progress).toEqual({ total: 6, moved: 3, remaining: 3 });
    expect(a.grants.find((g) => g.appId === 'sync')).toMatchObject({ organisations: 3, moved: 3 });
    expect(a.verdict).toBe('not-safe');

    // Payroll for o-1, the app Tom created, and the tracked Gusto.
    w.grantWith('payroll', 'ben', orgs.slice(0, 1));
    w.offboardings.tom!.moves.push(move({ kind: 'app', appId: 'payroll', toStaffId: 'ben', how: 'transferred', note: 'Moved to the firm login' }));
    w.tracked[gusto.id] = { ...gusto, authorisedBy: 'ben', confirmedAt: ago(0), confirmedBy: 'advisor', history: [{ at: ago(0), action: 'moved', by: 'advisor', fromStaffId: 'tom', toStaffId: 'ben' }] };
    a = auditReportSchema.parse(auditStaff(w.world(), 'tom'));
    expect(a.appsCreated[0]).toMatchObject({ state: 'moved', how: 'transferred', note: 'Moved to the firm login', movedTo: { id: 'ben' } });
    expect(a.tracked[0]).toMatchObject({ state: 'moved', movedTo: { id: 'ben' }, movedBy: 'Ben Adviser authorised it again (recorded by an advisor in Relink)', health: 'reconnected' });
    expect(a.verdict).toBe('safe-to-remove');
    expect(a.reasons).toEqual([]);
    expect(a.progress).toEqual({ total: 6, moved: 6, remaining: 0 });
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
    expect(a.reasons[1]).toMatch(/still depends on Tom Walsh's approval \(healthy\)\. Reached through Cara Clerk's approval/);
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
    expect(a).toMatchObject({ verdict: 'safe-to-remove', reasons: [], grants: [], connections: [], appsCreated: [], tracked: [], progress: { total: 0, moved: 0, remaining: 0 } });
  });
});
