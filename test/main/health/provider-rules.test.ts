import { describe, expect, it } from 'vitest';
import { assessHealth } from '../../../main/health/assess.js';
import { fixFor, summaryFor } from '../../../main/health/fixes.js';
import { providersOfApps, type ProviderFacts } from '../../../main/health/provider-facts.js';
import { xeroProvider } from '../../../main/providers/xero/provider.js';
import { DAY, MINUTE, NOW, World, ago, iso } from './world.js';

/**
 * The health rules follow the app's provider: its nouns in every sentence, and its policy deciding which
 * Xero-shaped sentences and judgements apply at all. The provider comes in through assessHealth's second
 * parameter (the registry's `providerOf` in the product).
 */

/** Another provider's words, Xero's rules. */
const ledgerlyWords: ProviderFacts = {
  id: 'xero',
  terms: {
    ...xeroProvider.terms,
    name: 'Ledgerly',
    developerPortal: "Ledgerly's app console",
    login: 'Ledgerly account',
    approverRoles: 'the Accountant role',
    statusPage: 'the Ledgerly status page',
  },
  policy: xeroProvider.policy,
};

/** Ledgerly's words and rules that are not Xero's: one organisation per consent, a password change ends nothing, apps outlive their creator, and tokens live 100 days from issue whatever their use. */
const ledgerly: ProviderFacts = {
  ...ledgerlyWords,
  policy: {
    refreshTokenLifetimeDays: 100,
    refreshTokenRolling: false,
    rotationGraceMs: null,
    consent: 'one-organisation',
    passwordChangeRevokesGrants: false,
    appDeletedWithCreator: false,
  },
};

const as = (p: ProviderFacts) => () => p;
const text = (r: unknown) => JSON.stringify(r);

/** Jane's two sign-ins, refused within the hour; Bob's kept working. */
function janeRefused() {
  const w = new World();
  w.app('practice-sync');
  w.app('receipts-bridge');
  w.person('u-jane', 'Jane Doe');
  w.person('u-bob', 'Bob Smith');
  const a = w.orgs('a', 4);
  const sync = w.grantWith('practice-sync', 'u-jane', a.slice(0, 3));
  const receipts = w.grantWith('receipts-bridge', 'u-jane', a.slice(1));
  w.grantWith('practice-sync', 'u-bob', ['a-1']);
  w.revoke(sync.grant.id, ago(50 * MINUTE));
  w.revoke(receipts.grant.id, ago(20 * MINUTE));
  return w;
}

describe("health speaks the provider's nouns", () => {
  it('a password change under another name: the same judgement, none of Xero in any sentence', () => {
    const r = assessHealth(janeRefused().input(), as(ledgerlyWords));
    expect(r.findings.map((f) => [f.cause, f.confidence])).toEqual([['password-changed', 'likely']]);
    expect(r.findings[0]!.summary).toBe("Jane Doe's Ledgerly password probably changed — 2 apps, 4 organisations");
    expect(r.findings[0]!.evidence[0]).toMatch(/^Every one of Jane Doe's 2 connections was refused by Ledgerly \(invalid_grant\)/);
    expect(text(r)).not.toMatch(/xero/i);
  });

  it('every cause, in every wording, names the provider it is given and never Xero', () => {
    for (const cause of ['password-changed', 'staff-removed', 'credentials-rotated', 'app-deleted', 'role-restricted', 'clock-skew', 'rate-limited', 'provider-outage', 'network', 'key-missing', 'refresh-token-expired'] as const) {
      const words = summaryFor(cause, { who: 'Jane Doe', app: 'Sync', org: 'Acme', minutes: 7 }, ledgerly) + ' ' + fixFor(cause, { who: 'Jane Doe', app: 'Sync', org: 'Acme' }, ledgerly).text;
      expect(words, cause).not.toMatch(/xero/i);
    }
    expect(fixFor('role-restricted', { who: 'Jane Doe', org: 'Acme' }, ledgerly).text).toBe(
      "Ask Acme's Ledgerly admin to give Jane Doe the Accountant role, then reconnect — or reconnect as someone who has it.",
    );
    // A term that opens a sentence is capitalised there.
    expect(fixFor('provider-outage', {}, ledgerly).text).toMatch(/ The Ledgerly status page says more\.$/);
  });

  it('without a provider, the words are the default provider’s (what a new app gets)', () => {
    expect(summaryFor('network', {})).toBe(summaryFor('network', {}, xeroProvider));
    expect(fixFor('app-deleted', {})).toEqual(fixFor('app-deleted', {}, xeroProvider));
  });
});

describe("health follows the provider's policy", () => {
  it('where a password change ends nothing, refusals all at once are revoked approvals, not a password change', () => {
    const r = assessHealth(janeRefused().input(), as(ledgerly));
    expect(r.findings.map((f) => [f.key, f.confidence])).toEqual([['grant-revoked:staff:u-jane', 'possible']]);
    const f = r.findings[0]!;
    expect(text(f)).not.toMatch(/password/i);
    expect(f.evidence[1]).toBe('The approval was revoked or the Ledgerly account removed; the two look the same from here.');
    // One refusal on its own: the same reading, and never "a password change is the usual reason".
    const w = new World();
    w.app('practice-sync');
    w.person('u-jane', 'Jane Doe');
    w.revoke(w.grantWith('practice-sync', 'u-jane', ['a-1']).grant.id);
    expect(assessHealth(w.input(), as(ledgerly)).findings.map((x) => x.cause)).toEqual(['grant-revoked']);
    expect(assessHealth(w.input(), as(ledgerlyWords)).findings[0]!.evidence[1]).toBe(
      'A password change is the usual reason; a revoked approval or a removed Ledgerly account looks the same.',
    );
  });

  it('where apps outlive their creator, a rejected app whose creator left had its secret changed, not deleted', () => {
    const w = new World();
    w.app('payroll', { authType: 'web', createdBy: 'u-ann' });
    w.person('u-ann', 'Ann Lee', { status: 'removed' });
    w.person('u-jane', 'Jane Doe');
    w.revoke(w.grantWith('payroll', 'u-jane', ['a-1']).grant.id, ago(5 * MINUTE), 'invalid-client');
    const xeroRules = assessHealth(w.input(), as(ledgerlyWords)).findings[0]!;
    expect(xeroRules.cause).toBe('app-deleted');
    expect(xeroRules.evidence).toContain('The app was created by Ann Lee, who is marked as removed.');
    expect(xeroRules.fix.text).toContain("(deleting its creator's Ledgerly account deletes it)");
    const own = assessHealth(w.input(), as(ledgerly)).findings[0]!;
    expect(own.cause).toBe('credentials-rotated');
    expect(text(own)).not.toMatch(/Ann Lee/);
    expect(fixFor('app-deleted', { app: 'Payroll' }, ledgerly).text).toBe(
      "Check Payroll in Ledgerly's app console. If it is gone, create it again, enter the new client id in Relink and reconnect.",
    );
  });

  it('one approval per app brings back every organisation only where one consent covers many', () => {
    expect(fixFor('password-changed', { who: 'Jane Doe' }, ledgerlyWords).text).toMatch(/One approval per app brings back every organisation it covered\.$/);
    const oneOrg = fixFor('password-changed', { who: 'Jane Doe' }, ledgerly).text;
    expect(oneOrg).not.toMatch(/One approval per app/);
    expect(oneOrg).toMatch(/Each organisation needs its own approval\.$/);
  });

  it("the refresh token's lifetime is the provider's: 70 idle days are past Xero's 60 but within 100", () => {
    const w = new World();
    w.app('practice-sync');
    w.person('u-jane', 'Jane Doe');
    const idle = w.grantWith('practice-sync', 'u-jane', ['a-1'], { refreshTokenIssuedAt: iso(NOW - 70 * DAY), lastRefreshAt: iso(NOW - 70 * DAY) });
    const xeroRules = assessHealth(w.input(), as(ledgerlyWords));
    expect(xeroRules.grants[idle.grant.id]).toMatchObject({ health: 'needs-reconnect', cause: 'refresh-token-expired', daysLeft: 0 });
    expect(xeroRules.findings[0]!.evidence[0]).toBe(
      'Relink last renewed this connection 70 days ago; Ledgerly ends connections after 60 days without renewal. The next check confirms it.',
    );
    const own = assessHealth(w.input(), as(ledgerly));
    expect(own.findings).toEqual([]);
    expect(own.grants[idle.grant.id]).toMatchObject({ health: 'expiring', daysLeft: 30 });
    // Past 100 days: expired, in the words of a lifetime that use does not renew.
    w.now = NOW + 31 * DAY;
    const later = assessHealth(w.input(), as(ledgerly));
    expect(later.findings.map((f) => f.cause)).toEqual(['refresh-token-expired']);
    expect(later.findings[0]!.summary).toBe("Jane Doe's connection to Practice Sync expired at the end of its 100 days — 1 organisation");
    expect(later.findings[0]!.evidence[0]).toMatch(/Ledgerly ends connections after 100 days, however often they are used\./);
    expect(text(later.findings)).not.toMatch(/without (use|renewal)/);
  });
});

describe('providersOfApps: one provider speaks for a finding across apps', () => {
  // Only Xero is in the registry today: a second provider id stands in for the day there are two.
  const other: ProviderFacts = { ...ledgerly, id: 'zeta' as ProviderFacts['id'] };
  const w = new World();
  const apps = { ...Object.fromEntries(['x1', 'x2'].map((id) => [id, w.app(id)])), z1: { ...w.app('z1'), provider: 'zeta' as 'xero' }, z2: { ...w.app('z2'), provider: 'zeta' as 'xero' } };
  const lookup = (app: { provider: string }) => (app.provider === 'zeta' ? other : ledgerlyWords);
  const providers = providersOfApps(apps, lookup);

  it('the provider most of the apps belong to', () => {
    expect(providers.among(['x1', 'z1', 'z2']).id).toBe('zeta');
    expect(providers.among(['x1', 'x2', 'z1']).id).toBe('xero');
  });

  it('a tie goes to the id that sorts first, whatever order the apps come in', () => {
    expect(providers.among(['z1', 'x1']).id).toBe('xero');
    expect(providers.among(['x1', 'z1']).id).toBe('xero');
  });

  it('an app Relink no longer knows, or no apps at all: the default provider', () => {
    expect(providers.ofApp('gone').id).toBe('xero');
    expect(providers.ofApp(null).id).toBe('xero');
    expect(providers.among([]).id).toBe('xero');
  });
});
