import { describe, expect, it } from 'vitest';
import { reconnectRunSchema, reconnectRunViewSchema } from '../../../shared/workflows.js';
import { createRun, nextItem, progress, recordConsent, recordFailure, requeueItem, runView, setRunState, skipItem } from '../../../main/workflows/plan-run.js';
import { planReconnect } from '../../../main/workflows/reconnect-plan.js';
import { ago, FirmWorld, iso, NOW, report } from './fixtures.js';

/**
 * Working through a plan: each consent verified from its connect report — back, still queued with the reason,
 * ticked by mistake (reconciled), approved by the wrong person (not counted) — with progress, skip, pause and
 * completion.
 */

const JANE = { id: 'jane', email: 'jane.doe@firm.example', name: 'Jane Doe' };
const BEN = { id: 'ben', email: 'ben.adviser@firm.example', name: 'Ben Adviser' };
const T = (n: number) => iso(NOW + n * 1000);

function setup() {
  const w = new FirmWorld();
  const orgs = w.orgs('o', 3);
  w.app('sync', { multiOrgConsent: true });
  w.app('payroll', { multiOrgConsent: false });
  w.person('jane', 'Jane Doe');
  w.person('ben', 'Ben Adviser');
  const sync = w.grantWith('sync', 'jane', orgs);
  w.revoke(sync.grant.id);
  // Payroll connects one organisation per approval, and Xero had stopped listing both: one approval each.
  const payroll = w.grantWith('payroll', 'jane', orgs.slice(0, 2));
  for (const c of payroll.connections) w.vanish(c.id);
  w.revoke(payroll.grant.id);
  w.track(orgs[0]!, 'Gusto', 'jane');
  const world = w.world();
  const plan = planReconnect(world, { staffId: 'jane' });
  const run = reconnectRunSchema.parse(createRun(plan, { id: 'run-1', now: T(0), actor: 'advisor', person: 'Alex Reid (alex)', staffId: 'jane' }));
  return { w, world, orgs, plan, run, syncGrant: sync.grant };
}

describe('reconnect plan runs', () => {
  it('starts with every consent queued, the tracked checklist captured, progress counted', () => {
    const { run, world, orgs } = setup();
    expect(run.items.map((i) => [i.id, i.state, i.remainingOrgIds])).toEqual([
      ['payroll:jane:o-1', 'pending', ['o-1']],
      ['payroll:jane:o-2', 'pending', ['o-2']],
      ['sync:jane', 'pending', [...orgs].sort()],
    ]);
    expect(run.state).toBe('running');
    expect(run.person).toBe('Alex Reid (alex)');
    expect(run.trackedIds).toHaveLength(1);
    expect(progress(run)).toEqual({ total: 3, done: 0, remaining: 3, failed: 0, skipped: 0 });
    const view = reconnectRunViewSchema.parse(runView(run, world));
    expect(view.nextItemId).toBe('payroll:jane:o-1');
    expect(view.tracked).toEqual([expect.objectContaining({ app: 'Gusto', state: 'needs-reconnect' })]);
    expect(view.items[2]).toMatchObject({ appName: 'Sync', staffName: 'Jane Doe', multiOrgConsent: true });
  });

  it('a consent that brings everything back marks the item done', () => {
    const { run, world, orgs } = setup();
    const judged = recordConsent(run, 'sync:jane', report({ staff: JANE }, { reconnected: orgs }), world, T(1));
    expect(judged.outcome).toBe('done');
    const item = judged.run.items.find((i) => i.id === 'sync:jane')!;
    expect(item).toMatchObject({ state: 'done', remainingOrgIds: [], attempts: 1, finishedAt: T(1), approvedBy: JANE, reason: null });
    expect([...item.reconnectedOrgIds].sort()).toEqual(orgs);
    expect(progress(judged.run)).toMatchObject({ done: 1, remaining: 2 });
    expect(judged.message).toMatch(/^Sync: .* back as Jane Doe\.$/);
  });

  it('an organisation left unticked stays queued in the same item, with the reason; the next consent finishes it', () => {
    const { run, world } = setup();
    const first = recordConsent(
      run,
      'sync:jane',
      report({ staff: JANE }, { reconnected: ['o-2', 'o-3'], stillMissing: [['o-1', 'Not ticked on the consent page, so Xero did not connect it. Reconnect and tick it.']] }),
      world,
      T(1),
    );
    expect(first.outcome).toBe('partial');
    const item = first.run.items.find((i) => i.id === 'sync:jane')!;
    expect(item).toMatchObject({ state: 'pending', remainingOrgIds: ['o-1'], reconnectedOrgIds: ['o-2', 'o-3'], attempts: 1 });
    expect(item.reason).toBe('Still missing: Client o-1 (Not ticked on the consent page, so Xero did not connect it. Reconnect and tick it.).');
    expect(first.message).toBe(
      'Sync: not finished. Still missing: Client o-1 — Not ticked on the consent page, so Xero did not connect it. Reconnect and tick it. Back: Client o-2 and Client o-3.',
    );
    const view = runView(first.run, world);
    expect(view.items.find((i) => i.id === 'sync:jane')!.organisations.map((o) => [o.tenantId, o.state])).toEqual([
      ['o-1', 'queued'],
      ['o-2', 'reconnected'],
      ['o-3', 'reconnected'],
    ]);

    const second = recordConsent(first.run, 'sync:jane', report({ staff: JANE }, { reconnected: ['o-1', 'o-2', 'o-3'] }), world, T(2));
    expect(second.outcome).toBe('done');
    expect(second.run.items.find((i) => i.id === 'sync:jane')).toMatchObject({ state: 'done', remainingOrgIds: [], attempts: 2 });
  });

  it('an organisation ticked by mistake is flagged as a connection nobody asked for, never a plain "done", and offered for disconnecting', () => {
    const { run, orgs, w, syncGrant } = setup();
    w.org('o-9', 'Stray Ltd');
    // The connect stored the new connection (what Xero lists now).
    const stray = w.connection(syncGrant.id, 'o-9');
    const judged = recordConsent(run, 'sync:jane', report({ staff: JANE }, { reconnected: orgs, connected: ['o-9'] }), w.world(), T(1));
    expect(judged.outcome).toBe('unplanned');
    expect(judged.message).toBe(
      'Sync: Client o-1, Client o-2 and Client o-3 back as Jane Doe. Not planned: this approval also connected Stray Ltd to Sync, which the plan did not ask for. If it was ticked by mistake, disconnect it.',
    );
    const item = judged.run.items.find((i) => i.id === 'sync:jane')!;
    expect(item).toMatchObject({ state: 'done', extraOrgIds: ['o-9'] });
    expect(item.reason).toBe('Not planned: this approval also connected Stray Ltd to Sync, which the plan did not ask for. If it was ticked by mistake, disconnect it.');
    const orgsOf = () => reconnectRunViewSchema.parse(runView(judged.run, w.world())).items.find((i) => i.id === 'sync:jane')!.organisations;
    expect(orgsOf().at(-1)).toEqual({ tenantId: 'o-9', name: 'Stray Ltd', state: 'unplanned', connectionId: stray.id });
    // Once disconnected (the record is gone), the view says so and offers nothing more.
    delete w.connections[stray.id];
    expect(orgsOf().at(-1)).toEqual({ tenantId: 'o-9', name: 'Stray Ltd', state: 'disconnected', connectionId: null });
    // Planned organisations are never shown as "not planned".
    expect(orgsOf().slice(0, 3).map((o) => o.state)).toEqual(['reconnected', 'reconnected', 'reconnected']);
  });

  it('an organisation another step of the same plan asks for is not "unplanned": it completes that step', () => {
    const { run, world } = setup();
    const judged = recordConsent(run, 'payroll:jane:o-1', report({ appId: 'payroll', staff: JANE }, { reconnected: ['o-1', 'o-2'] }), world, T(1));
    expect(judged.outcome).toBe('done');
    expect(judged.run.items.find((i) => i.id === 'payroll:jane:o-1')!.extraOrgIds).toEqual([]);
    expect(judged.run.items.find((i) => i.id === 'payroll:jane:o-2')).toMatchObject({ state: 'done' });
  });

  it('one organisation per approval, Xero still holding some: one approval brings those back and completes their steps', () => {
    const w = new FirmWorld();
    const orgs = w.orgs('o', 3);
    w.app('payroll', { multiOrgConsent: false });
    w.person('jane', 'Jane Doe');
    w.revoke(w.grantWith('payroll', 'jane', orgs).grant.id);
    const world = w.world();
    const run = createRun(planReconnect(world), { id: 'r', now: T(0), actor: 'advisor', staffId: null });
    expect(run.items.map((i) => [i.id, i.orgIds])).toEqual(orgs.map((o) => [`payroll:jane:${o}`, [o]]));
    // Chose o-1 on Xero's page: o-2 came back with it; o-3 Xero had removed after all.
    const judged = recordConsent(run, 'payroll:jane:o-1', report({ appId: 'payroll', staff: JANE }, { reconnected: ['o-1', 'o-2'] }), world, T(1));
    expect(judged.outcome).toBe('done');
    expect(judged.run.items.map((i) => [i.id, i.state])).toEqual([
      ['payroll:jane:o-1', 'done'],
      ['payroll:jane:o-2', 'done'],
      ['payroll:jane:o-3', 'pending'],
    ]);
    expect(progress(judged.run)).toMatchObject({ total: 3, done: 2, remaining: 1 });
  });

  it('one organisation per approval: choosing another queued organisation completes that one instead', () => {
    const { run, world } = setup();
    // The advisor was asked for o-1 but chose o-2 on Xero's page.
    const judged = recordConsent(
      run,
      'payroll:jane:o-1',
      report({ staff: JANE }, { reconnected: ['o-2'], stillMissing: [['o-1', 'Payroll connects one organisation per approval: reconnect again and choose Client o-1.']] }),
      world,
      T(1),
    );
    expect(judged.outcome).toBe('partial');
    expect(judged.run.items.find((i) => i.id === 'payroll:jane:o-1')).toMatchObject({ state: 'pending', reason: expect.stringMatching(/choose Client o-1/) });
    expect(judged.run.items.find((i) => i.id === 'payroll:jane:o-2')).toMatchObject({
      state: 'done',
      reason: 'Brought back by another approval for Payroll in this plan.',
      reconnectedOrgIds: ['o-2'],
    });
    expect(nextItem(judged.run)?.id).toBe('payroll:jane:o-1');
  });

  it('a consent approved by someone else fails with the warning and is not counted', () => {
    const { run, world, orgs } = setup();
    const judged = recordConsent(
      run,
      'sync:jane',
      report({ staff: BEN, warning: 'This was approved by Ben Adviser (ben.adviser@firm.example), not by the staff member expected; the connection now depends on Ben Adviser.' }, { connected: orgs }),
      world,
      T(1),
    );
    expect(judged.outcome).toBe('wrong-person');
    const item = judged.run.items.find((i) => i.id === 'sync:jane')!;
    expect(item).toMatchObject({ state: 'failed', reconnectedOrgIds: [], approvedBy: BEN, warning: expect.stringMatching(/approved by Ben Adviser/) });
    expect(item.remainingOrgIds).toHaveLength(3);
    expect(item.reason).toMatch(/Approved in Xero by Ben Adviser \(ben\.adviser@firm\.example\), not by Jane Doe, so it does not count.*Sign in to Xero as Jane Doe/);
    expect(progress(judged.run)).toMatchObject({ done: 0, failed: 1, remaining: 2 });
    // Run again: back in the queue.
    expect(requeueItem(judged.run, 'sync:jane', T(2)).items.find((i) => i.id === 'sync:jane')!.state).toBe('pending');
  });

  it('skip, failure, pause and completion', () => {
    const { run, world, orgs } = setup();
    let r = recordFailure(run, 'payroll:jane:o-1', 'The approval was declined in Xero, so nothing changed.', T(1));
    expect(r.items[0]).toMatchObject({ state: 'failed', attempts: 1, reason: expect.stringMatching(/declined/) });
    r = setRunState(r, 'paused', T(2));
    expect(runView(r, world).nextItemId).toBeNull();
    r = setRunState(r, 'running', T(3));
    r = skipItem(r, 'payroll:jane:o-1', 'Client o-1 stopped using Payroll.', T(4));
    r = skipItem(r, 'payroll:jane:o-2', 'Not needed.', T(4));
    expect(r.state).toBe('running');
    r = recordConsent(r, 'sync:jane', report({ staff: JANE }, { reconnected: orgs }), world, T(5)).run;
    expect(progress(r)).toEqual({ total: 3, done: 1, remaining: 0, failed: 0, skipped: 2 });
    expect(r).toMatchObject({ state: 'complete', stateSince: T(5) });
    expect(nextItem(r)).toBeUndefined();
    expect(reconnectRunSchema.parse(r)).toEqual(r);
    // A done item is never skipped.
    expect(skipItem(r, 'sync:jane', 'x', T(6)).items.find((i) => i.id === 'sync:jane')!.state).toBe('done');
  });

  it('an empty plan gives a complete run', () => {
    const w = new FirmWorld();
    w.person('jane', 'Jane Doe');
    const run = createRun(planReconnect(w.world()), { id: 'r', now: ago(0), actor: 'cli', staffId: null });
    expect(run).toMatchObject({ state: 'complete', items: [], trackedIds: [] });
  });
});
