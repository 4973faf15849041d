import { describe, expect, it } from 'vitest';
import type { App } from '../../../shared/domain.js';
import { auditReportSchema, reconnectPlanSchema } from '../../../shared/workflows.js';
import type { Provider } from '../../../main/providers/provider.js';
import { xeroProvider } from '../../../main/providers/xero/provider.js';
import { auditStaff } from '../../../main/workflows/offboarding-audit.js';
import { createRun, recordConsent, runView } from '../../../main/workflows/plan-run.js';
import { planReconnect } from '../../../main/workflows/reconnect-plan.js';
import { auditHtml } from '../../../main/workflows/reports.js';
import { trackedHealth } from '../../../main/workflows/tracked-health.js';
import { resolveTracked } from '../../../main/workflows/tracked-inventory.js';
import { FirmWorkflows, type WorkflowHost } from '../../../main/workflows/workflow-service.js';
import type { WorkflowWorld } from '../../../main/workflows/world.js';
import { ago, FirmWorld, MINUTE, report } from './fixtures.js';

/**
 * The workflows follow the app's provider, not Xero's rules: a provider whose consent connects ONE organisation,
 * whose password change ends nothing and whose apps outlive their creator. It comes in through the world's
 * `providerOf` — the lookup FirmWorkflows puts in every world from its host (the registry's in the product).
 */
const ledgerly: Provider = {
  ...xeroProvider,
  name: 'Ledgerly',
  terms: {
    ...xeroProvider.terms,
    name: 'Ledgerly',
    developerPortal: "Ledgerly's app console",
    login: 'Ledgerly account',
  },
  policy: {
    ...xeroProvider.policy,
    consent: 'one-organisation',
    passwordChangeRevokesGrants: false,
    appDeletedWithCreator: false,
  },
};

/** Xero's rules, Ledgerly's words: only the consent shape differs. */
const oneOrgOnly: Provider = { ...ledgerly, policy: { ...xeroProvider.policy, consent: 'one-organisation' } };

const under = (world: WorkflowWorld, provider: Provider): WorkflowWorld => ({ ...world, providerOf: () => provider });

/** Jane: 3 apps × 4 organisations, one app with multi-organisation consent; her sign-ins were all refused. */
function janesRefusedSignIns() {
  const w = new FirmWorld();
  const orgs = w.orgs('acme', 4);
  w.app('practice-sync', { multiOrgConsent: true });
  w.app('payroll-bridge', { multiOrgConsent: false });
  w.app('reporting', { multiOrgConsent: false });
  w.person('jane', 'Jane Doe');
  for (const app of ['practice-sync', 'payroll-bridge', 'reporting']) w.revoke(w.grantWith(app, 'jane', orgs).grant.id, ago(20 * MINUTE));
  return { w, orgs };
}

describe("the reconnect plan follows the provider's consent shape", () => {
  it("many organisations per consent (Xero): one consent for the multi-organisation app, and 'perhaps as few as'", () => {
    const { w } = janesRefusedSignIns();
    const plan = planReconnect(under(w.world(), xeroProvider));
    expect(plan.totals).toMatchObject({ consents: 9, fewestConsents: 3, organisations: 4, connections: 12 });
    expect(plan.countNote).toMatch(/^9 approvals at most, perhaps as few as 3: .* but if Xero still holds the earlier connections, one approval brings them all back\./);
  });

  it('one organisation per consent: one consent per organisation for every app, the count is exact, and nothing "brings them back"', () => {
    const { w, orgs } = janesRefusedSignIns();
    const plan = reconnectPlanSchema.parse(planReconnect(under(w.world(), oneOrgOnly)));
    expect(plan.totals).toEqual({ consents: 12, fewestConsents: 12, organisations: 4, connections: 12, apps: 3, staff: 1, tracked: 0 });
    expect(plan.countNote).toBeNull();
    for (const app of ['practice-sync', 'payroll-bridge', 'reporting']) {
      const queue = plan.consents.filter((c) => c.appId === app);
      expect(queue.map((c) => c.orgIds)).toEqual(orgs.map((o) => [o]));
      expect(queue.every((c) => c.multiOrgConsent === false && c.note === null)).toBe(true);
    }
    const sync = plan.consents.find((c) => c.appId === 'practice-sync')!;
    expect(sync.id).toBe('practice-sync:jane:acme-1');
    expect(sync.instruction).toBe('Sign in to Ledgerly as Jane Doe (jane.doe@firm.example) and approve Practice Sync for Client acme-1 (Practice Sync connects one organisation per approval).');
    // (The trigger is the health layer's incident, in its own words.)
    const words = JSON.stringify({ consents: plan.consents, countNote: plan.countNote, notes: plan.notes });
    expect(words).not.toMatch(/brings? (them|those)( all)? back|still holds|Xero/);
  });

  it('a run of a one-organisation plan shows no multi-organisation step and speaks of the provider', () => {
    const { w } = janesRefusedSignIns();
    const world = under(w.world(), oneOrgOnly);
    const run = createRun(planReconnect(world, { staffId: 'jane' }), { id: 'r', now: ago(0), actor: 'advisor', staffId: 'jane' });
    expect(runView(run, world).items.every((i) => !i.multiOrgConsent)).toBe(true);
    const judged = recordConsent(run, 'practice-sync:jane:acme-1', report({ appId: 'practice-sync', staff: { id: 'ben', name: 'Ben Adviser', email: '' } }), world, ago(0));
    expect(judged.outcome).toBe('wrong-person');
    expect(judged.message).toMatch(/^Approved in Ledgerly by Ben Adviser, not by Jane Doe, .* Sign in to Ledgerly as Jane Doe and run this step again/);
  });

  it("the offboarding plan reconnects a multi-organisation app one organisation at a time under a one-organisation provider", () => {
    const w = new FirmWorld();
    const orgs = w.orgs('o', 3);
    w.app('sync', { multiOrgConsent: true });
    w.person('tom', 'Tom Walsh', { status: 'leaving' });
    w.grantWith('sync', 'tom', orgs);
    const xero = auditStaff(under(w.world(), xeroProvider), 'tom');
    expect(xero.plan.filter((p) => p.kind === 'reconnect').map((p) => p.tenantIds)).toEqual([orgs]);
    const one = auditStaff(under(w.world(), oneOrgOnly), 'tom');
    expect(one.plan.filter((p) => p.kind === 'reconnect').map((p) => p.tenantIds)).toEqual(orgs.map((o) => [o]));
  });
});

describe("password changes and app creators follow the provider's policy", () => {
  it('where a password change ends nothing, a declaration plans nothing, explains nothing and flags no tracked app', () => {
    const w = new FirmWorld();
    const orgs = w.orgs('o', 2);
    w.app('sync', { multiOrgConsent: true });
    w.person('jane', 'Jane Doe');
    w.grantWith('sync', 'jane', orgs);
    const t = w.track(orgs[0]!, 'Gusto', 'jane');
    w.declare('jane', ago(5 * MINUTE));

    const xero = under(w.world(), xeroProvider);
    expect(planReconnect(xero).consents).toHaveLength(1);
    expect(planReconnect(xero).triggers[0]?.summary).toMatch(/^Jane Doe's Xero password change was reported/);
    expect(trackedHealth(t, xero).reason).toMatch(/^Jane Doe's Xero password change was reported/);

    const other = under(w.world(), ledgerly);
    const plan = planReconnect(other);
    expect(plan.consents).toEqual([]);
    expect(plan.triggers).toEqual([]);
    expect(trackedHealth(t, other)).toEqual({ state: 'ok', reason: null });
  });

  it("with Xero's rules and another provider's words, the password change is that provider's", () => {
    const w = new FirmWorld();
    w.app('sync');
    w.person('jane', 'Jane Doe');
    w.grantWith('sync', 'jane', w.orgs('o', 1));
    const t = w.track('o-1', 'Gusto', 'jane');
    w.declare('jane', ago(5 * MINUTE));
    const world = under(w.world(), oneOrgOnly);
    expect(planReconnect(world).triggers[0]?.summary).toMatch(/^Jane Doe's Ledgerly password change was reported/);
    expect(trackedHealth(t, world).reason).toMatch(/^Jane Doe's Ledgerly password change was reported/);
  });

  it("where an app outlives its creator, the app a leaver created is not a dependency; where it does not, it is, in the provider's words", () => {
    const w = new FirmWorld();
    const orgs = w.orgs('o', 2);
    w.app('payroll', { multiOrgConsent: false, createdBy: 'tom.walsh@firm.example' });
    w.person('tom', 'Tom Walsh', { status: 'leaving' });
    w.person('ben', 'Ben Adviser');
    w.grantWith('payroll', 'ben', orgs);

    const xero = auditReportSchema.parse(auditStaff(under(w.world(), xeroProvider), 'tom'));
    expect(xero.appsCreated.map((a) => [a.appId, a.state])).toEqual([['payroll', 'depends']]);
    expect(xero.verdict).toBe('not-safe');

    const words = auditReportSchema.parse(auditStaff(under(w.world(), oneOrgOnly), 'tom'));
    expect(words.appsCreated[0]?.guidance).toMatch(
      /^Tom Walsh created Payroll in Ledgerly's app console\. Deleting Tom Walsh's Ledgerly user deletes the app.*\(ask Ledgerly whether it can be transferred\)/,
    );
    expect(words.reasons).toEqual(["Tom Walsh created Payroll in Ledgerly's app console: deleting their Ledgerly user deletes it (2 organisations)."]);
    expect(auditHtml(words, oneOrgOnly)).toContain("<h2>Apps they created in Ledgerly's app console (1)</h2>");

    const other = auditReportSchema.parse(auditStaff(under(w.world(), ledgerly), 'tom'));
    expect(other.appsCreated).toEqual([]);
    expect(other.verdict).toBe('safe-to-remove');
    expect(JSON.stringify(other)).not.toMatch(/deletes/);
  });

  it("an organisation is named as the firm's provider shows it", () => {
    const w = new FirmWorld();
    w.app('sync');
    w.person('jane', 'Jane Doe');
    const cells = { organisation: 'Nobody Ltd', app: 'Gusto', authorisedBy: 'jane.doe@firm.example', reconnectUrl: '', notes: '' };
    const r = resolveTracked(cells, under(w.world(), ledgerly));
    expect(r).toEqual({ ok: false, reasons: [expect.stringMatching(/^no organisation called "Nobody Ltd" is known to Relink: use the name exactly as Ledgerly shows it/)] });
  });
});

/** FirmWorkflows on a hand-built host whose provider lookup is `provider` (records which apps it was asked about). */
function firmOn(w: FirmWorld, provider: Provider): { workflows: FirmWorkflows; lookups: Array<App['provider']> } {
  const world = w.world();
  const lookups: Array<App['provider']> = [];
  const host = {
    store: {
      peek: () => ({ ...world, reconnectRuns: {} }),
      update: async () => {
        throw new Error('nothing is written in these tests');
      },
    },
    activity: { append: async () => {}, read: async () => [] },
    clock: { now: () => world.now },
    actor: 'advisor',
    person: () => 'Alex Reid (alex)',
    status: () => ({
      connections: Object.entries(world.health.connections).map(([id, h]) => ({ id, ...h })),
      grants: Object.entries(world.health.grants).map(([id, h]) => ({ id, ...h })),
    }),
    connect: async () => {
      throw new Error('not in these tests');
    },
    error: (_code: string, message: string) => new Error(message),
    providerOf: (app: Pick<App, 'provider'>) => {
      lookups.push(app.provider);
      return provider;
    },
  } as unknown as WorkflowHost;
  return { workflows: new FirmWorkflows(host), lookups };
}

describe('FirmWorkflows hands its host provider lookup to the workflows', () => {
  it("the plan the service returns follows the host's provider", () => {
    const { w } = janesRefusedSignIns();
    const { workflows, lookups } = firmOn(w, oneOrgOnly);
    const plan = workflows.planReconnect();
    expect(lookups.length).toBeGreaterThan(0);
    expect(plan.totals).toMatchObject({ consents: 12, fewestConsents: 12 });
    expect(plan.consents[0]?.instruction).toMatch(/^Sign in to Ledgerly as Jane Doe/);
  });

  it('tracked views and the password-change declaration follow it too', async () => {
    const w = new FirmWorld();
    w.app('sync');
    w.person('jane', 'Jane Doe');
    w.grantWith('sync', 'jane', w.orgs('o', 1));
    w.track('o-1', 'Gusto', 'jane');
    w.declare('jane', ago(5 * MINUTE));
    expect(firmOn(w, oneOrgOnly).workflows.trackedConnections()[0]?.reason).toMatch(/^Jane Doe's Ledgerly password change was reported/);
    const other = firmOn(w, ledgerly).workflows;
    expect(other.trackedConnections()[0]?.state).toBe('ok');
    await expect(other.declarePasswordChanged('jane')).rejects.toThrow(
      "A password change does not end sign-ins to Ledgerly, so Jane Doe's connections need no reconnecting for it: nothing was recorded.",
    );
  });
});
