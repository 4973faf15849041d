import { describe, expect, it } from 'vitest';
import { trackedHealth, trackedView } from '../../../main/workflows/tracked-health.js';
import { ago, DAY, FirmWorld, HOUR, MINUTE } from './fixtures.js';

/**
 * A tracked third-party connection's inferred health: flagged on the same events that break Relink's own
 * connections (a detected or declared password change, the authoriser leaving), cleared only by the advisor's
 * confirmation (or, for someone leaving, by moving it to someone else).
 */
function firm() {
  const w = new FirmWorld();
  const orgs = w.orgs('o', 2);
  w.app('sync');
  w.person('jane', 'Jane Doe');
  w.person('ben', 'Ben Adviser');
  return { w, orgs };
}

describe('tracked connections: inferred health', () => {
  it('ok while nothing happened to the authoriser', () => {
    const { w, orgs } = firm();
    const t = w.track(orgs[0]!, 'Gusto', 'jane');
    expect(trackedHealth(t, w.world())).toEqual({ state: 'ok', reason: null });
  });

  it('needs-reconnect on an open password-changed incident, until the advisor confirms; then reconnected', () => {
    const { w, orgs } = firm();
    const t = w.track(orgs[0]!, 'Gusto', 'jane');
    const { grant } = w.grantWith('sync', 'jane', orgs);
    w.grantWith('sync', 'ben', orgs);
    const g2 = w.app('payroll');
    w.revoke(grant.id, ago(30 * MINUTE));
    w.revoke(w.grantWith(g2.id, 'jane', orgs).grant.id, ago(29 * MINUTE));
    const world = w.world();
    expect(Object.values(world.incidents).map((i) => i.cause)).toEqual(['password-changed']);
    expect(trackedHealth(t, world)).toEqual({
      state: 'needs-reconnect',
      reason: expect.stringMatching(/^Jane Doe's Xero password probably changed \(Relink noticed on .*\): reconnect Gusto for Client o-1 in Gusto's own settings \(https:\/\/gusto\.example\/settings\/xero\), then tick it off here\.$/),
    });
    // An entry recorded after the incident opened is still flagged while the incident is open.
    const late = w.track(orgs[1]!, 'Dext', 'jane', { createdAt: ago(1 * MINUTE) });
    expect(trackedHealth(late, w.world()).state).toBe('needs-reconnect');

    const confirmed = { ...t, confirmedAt: ago(0), confirmedBy: 'advisor' as const };
    expect(trackedHealth(confirmed, w.world())).toEqual({ state: 'reconnected', reason: expect.stringMatching(/^Confirmed reconnected on /) });
  });

  it('stays flagged after Relink\'s own connections recover (the incident closed) — only the advisor clears it', () => {
    const { w, orgs } = firm();
    const t = w.track(orgs[0]!, 'Gusto', 'jane', { createdAt: ago(10 * DAY) });
    const a = w.grantWith('sync', 'jane', orgs).grant;
    const b = w.grantWith(w.app('payroll').id, 'jane', orgs).grant;
    w.revoke(a.id, ago(2 * HOUR));
    w.revoke(b.id, ago(2 * HOUR));
    w.world(); // the incident opens
    w.update(a.id, { state: 'active', stateSince: ago(MINUTE), lastRefreshAt: ago(MINUTE), refreshTokenIssuedAt: ago(MINUTE), consecutiveFailures: 0, lastFailure: null });
    w.update(b.id, { state: 'active', stateSince: ago(MINUTE), lastRefreshAt: ago(MINUTE), refreshTokenIssuedAt: ago(MINUTE), consecutiveFailures: 0, lastFailure: null });
    const world = w.world();
    expect(Object.values(world.incidents).every((i) => i.closedAt !== null)).toBe(true);
    expect(trackedHealth(t, world).state).toBe('needs-reconnect');
    // But an entry recorded after that (closed) event is taken as recorded working.
    const later = w.track(orgs[1]!, 'Dext', 'jane', { createdAt: ago(0) });
    expect(trackedHealth(later, w.world()).state).toBe('ok');
  });

  it('needs-reconnect after a declared password change made after it was recorded or confirmed', () => {
    const { w, orgs } = firm();
    const t = w.track(orgs[0]!, 'Gusto', 'jane.doe@firm.example', { createdAt: ago(DAY) });
    w.declare('jane', ago(HOUR));
    expect(trackedHealth(t, w.world())).toEqual({ state: 'needs-reconnect', reason: expect.stringMatching(/^Jane Doe's Xero password change was reported on /) });
    expect(trackedHealth({ ...t, confirmedAt: ago(30 * MINUTE), confirmedBy: 'cli' }, w.world()).state).toBe('reconnected');
    // A declaration before the entry was recorded does not flag it.
    expect(trackedHealth({ ...t, createdAt: ago(10 * MINUTE) }, w.world()).state).toBe('ok');
    // Someone else's declaration does not either.
    const bens = w.track(orgs[1]!, 'Dext', 'ben', { createdAt: ago(DAY) });
    expect(trackedHealth(bens, w.world()).state).toBe('ok');
  });

  it('an authoriser marked leaving or removed flags it until someone else authorises it — a confirmation is not enough', () => {
    const { w, orgs } = firm();
    w.person('tom', 'Tom Walsh', { status: 'leaving' });
    const t = w.track(orgs[0]!, 'Shopify', 'tom', { confirmedAt: ago(0), confirmedBy: 'advisor' });
    expect(trackedHealth(t, w.world())).toEqual({
      state: 'needs-reconnect',
      reason: expect.stringMatching(/^Tom Walsh is marked as leaving: have another advisor authorise Shopify for Client o-1 in Shopify's own settings .*then record the move in Relink\.$/),
    });
    expect(trackedHealth({ ...t, authorisedBy: 'ben' }, w.world()).state).toBe('reconnected');
  });

  it('the view names the authoriser and the organisation', () => {
    const { w, orgs } = firm();
    const t = w.track(orgs[0]!, 'Gusto', 'jane');
    expect(trackedView(t, w.world())).toMatchObject({
      organisation: 'Client o-1',
      authorisedBy: { ref: 'jane', staffId: 'jane', name: 'Jane Doe', email: 'jane.doe@firm.example', status: 'active' },
      state: 'ok',
    });
  });
});
