import { describe, expect, it } from 'vitest';
import { BROKEN_HEALTH, type Failure } from '../../../shared/domain.js';
import { assessHealth } from '../../../main/health/assess.js';
import { DAY, HOUR, MINUTE, NOW, World, ago, failure, iso } from './world.js';

/**
 * Health states (DESIGN.md §4) as `assessHealth` gives them per grant and per connection, one state at a time,
 * in a small firm where everything else is healthy.
 */

/** Jane (two apps, three orgs) and Bob (one app, two orgs), all healthy. */
function firm() {
  const w = new World();
  w.app('practice-sync');
  w.app('receipts-bridge');
  w.person('u-jane', 'Jane Doe');
  w.person('u-bob', 'Bob Smith');
  const orgs = w.orgs('org', 3);
  const jane = w.grantWith('practice-sync', 'u-jane', orgs);
  const janeReceipts = w.grantWith('receipts-bridge', 'u-jane', orgs.slice(0, 2));
  const bob = w.grantWith('practice-sync', 'u-bob', orgs.slice(1));
  return { w, orgs, jane, janeReceipts, bob };
}

describe('assessHealth: states', () => {
  it('healthy: a grant refreshed recently and its connections, with no cause, no fix and no findings', () => {
    const { w, jane } = firm();
    const r = assessHealth(w.input());
    expect(r.findings).toEqual([]);
    expect(Object.keys(r.grants)).toHaveLength(3);
    expect(Object.keys(r.connections)).toHaveLength(7);
    for (const v of [...Object.values(r.grants), ...Object.values(r.connections)]) {
      expect(v).toMatchObject({ health: 'healthy', cause: null, confidence: null, fix: null });
    }
    expect(r.grants[jane.grant.id]).toEqual({
      health: 'healthy',
      cause: null,
      confidence: null,
      since: jane.grant.lastRefreshAt,
      fix: null,
      daysLeft: 60,
    });
    expect(r.connections[jane.connections[0]!.id]!.since).toBe(jane.grant.lastRefreshAt);
  });

  it('healthy from a probe alone when the grant was never refreshed', () => {
    const w = new World();
    w.app('practice-sync');
    w.person('u-jane', 'Jane Doe');
    const { grant } = w.grantWith('practice-sync', 'u-jane', ['t1'], { lastRefreshAt: null, lastProbeAt: ago(3 * MINUTE) });
    const v = assessHealth(w.input()).grants[grant.id]!;
    expect(v.health).toBe('healthy');
    expect(v.since).toBe(ago(3 * MINUTE));
  });

  it('unverified: a grant never refreshed nor probed, and its connections, without an invented cause', () => {
    const { w, jane } = firm();
    w.update(jane.grant.id, { lastRefreshAt: null, lastProbeAt: null, refreshTokenIssuedAt: ago(2 * MINUTE) });
    const r = assessHealth(w.input());
    expect(r.grants[jane.grant.id]).toMatchObject({ health: 'unverified', cause: null, confidence: null, since: null, fix: null });
    for (const c of jane.connections) expect(r.connections[c.id]).toMatchObject({ health: 'unverified', cause: null, fix: null });
    expect(r.findings).toEqual([]);
  });

  it('unverified: a connection whose grant is unknown', () => {
    const { w, jane } = firm();
    const c = jane.connections[0]!;
    delete w.grants[jane.grant.id];
    const r = assessHealth(w.input());
    expect(r.connections[c.id]).toEqual({ health: 'unverified', cause: null, confidence: null, since: null, fix: null });
  });

  describe('degraded: transient failures keep working, with a wait-type cause and fix, never needs-reconnect', () => {
    const cases: Array<[Failure['kind'], string, 'network' | 'provider-outage' | 'rate-limited']> = [
      ['network', 'network error', 'network'],
      ['timeout', 'timeout', 'network'],
      ['server-error', '5xx', 'provider-outage'],
      ['malformed-response', 'HTML from a proxy', 'provider-outage'],
      ['rate-limited', '429', 'rate-limited'],
    ];
    for (const [kind, label, cause] of cases) {
      it(`${label} → degraded, cause ${cause}`, () => {
        const { w, jane } = firm();
        const f = failure(kind, { at: ago(4 * MINUTE), httpStatus: kind === 'server-error' ? 503 : undefined });
        w.update(jane.grant.id, { consecutiveFailures: 4, lastFailure: f });
        const r = assessHealth(w.input());
        const g = r.grants[jane.grant.id]!;
        expect(g).toMatchObject({ health: 'degraded', cause, since: f.at, daysLeft: 60 });
        expect(g.fix?.action).toBe('wait');
        expect(g.confidence).not.toBeNull();
        expect(BROKEN_HEALTH.has(g.health)).toBe(false);
        for (const c of jane.connections) {
          expect(r.connections[c.id]).toMatchObject({ health: 'degraded', cause, since: f.at });
          expect(r.connections[c.id]!.fix?.action).toBe('wait');
        }
        // The other grants are untouched, and no verdict anywhere asks for a reconnect.
        for (const [id, v] of Object.entries(r.grants)) if (id !== jane.grant.id) expect(v.health).toBe('healthy');
        for (const v of [...Object.values(r.grants), ...Object.values(r.connections)]) {
          expect(v.health).not.toBe('needs-reconnect');
          expect(v.fix?.action ?? 'none').not.toMatch(/reconnect/);
        }
        // One struggling grant out of three is not an outage.
        expect(r.findings).toEqual([]);
      });
    }

    it('a transient failure with no consecutive failures left (it recovered) is healthy again', () => {
      const { w, jane } = firm();
      w.update(jane.grant.id, { consecutiveFailures: 0, lastFailure: failure('server-error') });
      expect(assessHealth(w.input()).grants[jane.grant.id]!.health).toBe('healthy');
    });
  });

  describe('expiring: idle for settings.expiringAfterDays or more, with daysLeft = 60 − idle', () => {
    for (const idle of [45, 46, 50, 59]) {
      it(`idle ${idle} days → expiring, ${60 - idle} days left`, () => {
        const { w, jane } = firm();
        const issued = NOW - idle * DAY;
        w.update(jane.grant.id, { refreshTokenIssuedAt: iso(issued), lastRefreshAt: iso(issued), lastProbeAt: ago(HOUR) });
        const r = assessHealth(w.input());
        expect(r.grants[jane.grant.id]).toMatchObject({ health: 'expiring', daysLeft: 60 - idle, since: iso(issued + 45 * DAY) });
        for (const c of jane.connections) expect(r.connections[c.id]!.health).toBe('expiring');
        expect(BROKEN_HEALTH.has('expiring')).toBe(false);
      });
    }

    it('idle just under 45 days is still healthy and counts its days down', () => {
      const { w, jane } = firm();
      const issued = NOW - 44 * DAY;
      w.update(jane.grant.id, { refreshTokenIssuedAt: iso(issued), lastRefreshAt: iso(issued) });
      expect(assessHealth(w.input()).grants[jane.grant.id]).toMatchObject({ health: 'healthy', daysLeft: 16 });
    });

    it('follows settings.expiringAfterDays', () => {
      const { w, jane } = firm();
      w.settings = { ...w.settings, expiringAfterDays: 30 };
      const issued = NOW - 31 * DAY;
      w.update(jane.grant.id, { refreshTokenIssuedAt: iso(issued), lastRefreshAt: iso(issued) });
      expect(assessHealth(w.input()).grants[jane.grant.id]).toMatchObject({ health: 'expiring', daysLeft: 29, since: iso(issued + 30 * DAY) });
    });

    it('past 60 idle days, before any check: needs reconnecting (refresh-token-expired, likely), not "expiring, 0 days left"', () => {
      for (const idle of [60, 75]) {
        const { w, jane } = firm();
        const issued = NOW - idle * DAY;
        w.update(jane.grant.id, { refreshTokenIssuedAt: iso(issued), lastRefreshAt: iso(issued) });
        const r = assessHealth(w.input());
        const v = r.grants[jane.grant.id]!;
        expect(v, `idle ${idle}`).toMatchObject({ health: 'needs-reconnect', cause: 'refresh-token-expired', confidence: 'likely', since: iso(issued + 60 * DAY), daysLeft: 0 });
        expect(v.fix?.action).toBe('reconnect');
        for (const c of jane.connections) expect(r.connections[c.id]).toMatchObject({ health: 'needs-reconnect', cause: 'refresh-token-expired' });
        // One finding for the grant, under the key a refused refresh would confirm later (so one incident throughout).
        expect(r.findings).toHaveLength(1);
        expect(r.findings[0]).toMatchObject({
          key: `refresh-token-expired:grant:${jane.grant.id}`,
          cause: 'refresh-token-expired',
          confidence: 'likely',
          connectionIds: jane.connections.map((c) => c.id),
        });
        expect(r.findings[0]!.evidence.join(' ')).toContain(`${idle} days ago`);
        // Everyone else is untouched.
        for (const [id, g] of Object.entries(r.grants)) if (id !== jane.grant.id) expect(g.health).toBe('healthy');
      }
    });

    it('past 60 idle days and failing transiently: still needs reconnecting; a refresh that works clears it', () => {
      const { w, jane } = firm();
      const issued = NOW - 61 * DAY;
      w.update(jane.grant.id, { refreshTokenIssuedAt: iso(issued), lastRefreshAt: iso(issued), consecutiveFailures: 3, lastFailure: failure('timeout') });
      expect(assessHealth(w.input()).grants[jane.grant.id]).toMatchObject({ health: 'needs-reconnect', cause: 'refresh-token-expired' });
      w.update(jane.grant.id, { refreshTokenIssuedAt: ago(HOUR), lastRefreshAt: ago(HOUR), consecutiveFailures: 0, lastFailure: null });
      const after = assessHealth(w.input());
      expect(after.grants[jane.grant.id]).toMatchObject({ health: 'healthy', cause: null });
      expect(after.findings).toEqual([]);
    });

    it('expiring and failing transiently: expiring wins, with the transient cause and a wait fix', () => {
      const { w, jane } = firm();
      const issued = NOW - 50 * DAY;
      w.update(jane.grant.id, { refreshTokenIssuedAt: iso(issued), lastRefreshAt: iso(issued), consecutiveFailures: 2, lastFailure: failure('timeout') });
      const v = assessHealth(w.input()).grants[jane.grant.id]!;
      expect(v).toMatchObject({ health: 'expiring', cause: 'network', daysLeft: 10 });
      expect(v.fix?.action).toBe('wait');
    });
  });

  it('needs-reconnect: a revoked grant and every one of its connections, others untouched', () => {
    const { w, jane, janeReceipts, bob } = firm();
    const when = ago(2 * HOUR);
    w.revoke(jane.grant.id, when);
    w.vanish(jane.connections[2]!.id); // even an org already missing follows the grant
    const r = assessHealth(w.input());
    expect(r.grants[jane.grant.id]).toMatchObject({ health: 'needs-reconnect', since: when });
    expect(r.grants[jane.grant.id]!.fix?.action).toBe('reconnect');
    for (const c of jane.connections) {
      expect(r.connections[c.id]).toMatchObject({ health: 'needs-reconnect', since: when });
      expect(r.connections[c.id]!.cause).toBe(r.grants[jane.grant.id]!.cause);
    }
    for (const c of [...janeReceipts.connections, ...bob.connections]) expect(r.connections[c.id]!.health).toBe('healthy');
  });

  it('app-broken: an app-rejected grant and every one of its connections', () => {
    const { w, bob, jane } = firm();
    const when = ago(40 * MINUTE);
    w.revoke(bob.grant.id, when, 'invalid-client');
    const r = assessHealth(w.input());
    expect(r.grants[bob.grant.id]).toMatchObject({ health: 'app-broken', since: when });
    expect(r.grants[bob.grant.id]!.fix?.action).toBe('update-app-credentials');
    for (const c of bob.connections) expect(r.connections[c.id]).toMatchObject({ health: 'app-broken', since: when });
    expect(r.grants[jane.grant.id]!.health).toBe('healthy');
  });

  it('disconnected: a connection missing from /connections on an active grant; the grant and its other orgs stay healthy', () => {
    const { w, jane } = firm();
    const when = ago(25 * MINUTE);
    const gone = w.vanish(jane.connections[0]!.id, when);
    const r = assessHealth(w.input());
    expect(r.connections[gone.id]).toMatchObject({ health: 'disconnected', since: when, cause: 'app-disconnected-in-org' });
    expect(r.connections[gone.id]!.fix?.action).toBe('reconnect-in-org');
    expect(r.grants[jane.grant.id]!.health).toBe('healthy');
    for (const c of jane.connections.slice(1)) expect(r.connections[c.id]!.health).toBe('healthy');
  });

  it('forbidden: insufficient scope on one organisation → scope-missing, confirmed', () => {
    const { w, jane } = firm();
    const f = failure('insufficient-scope', { at: ago(7 * MINUTE), httpStatus: 401 });
    const c = w.updateConnection(jane.connections[1]!.id, { lastApiFailure: f });
    const r = assessHealth(w.input());
    expect(r.connections[c.id]).toMatchObject({ health: 'forbidden', cause: 'scope-missing', confidence: 'confirmed', since: f.at });
    expect(r.connections[c.id]!.fix?.action).toBe('reconnect');
    expect(r.grants[jane.grant.id]!.health).toBe('healthy');
    expect(r.connections[jane.connections[0]!.id]!.health).toBe('healthy');
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ cause: 'scope-missing', confidence: 'confirmed', tenantIds: [c.tenantId], connectionIds: [c.id] });
  });

  it('forbidden: a role too narrow in one organisation → role-restricted, likely', () => {
    const { w, bob } = firm();
    const f = failure('role-restricted', { at: ago(9 * MINUTE), httpStatus: 403 });
    const c = w.updateConnection(bob.connections[0]!.id, { lastApiFailure: f });
    const r = assessHealth(w.input());
    expect(r.connections[c.id]).toMatchObject({ health: 'forbidden', cause: 'role-restricted', confidence: 'likely', since: f.at });
    expect(r.connections[c.id]!.fix?.action).toBe('reconnect-in-org');
    expect(r.findings.map((x) => x.cause)).toEqual(['role-restricted']);
    expect(r.findings[0]!.summary).toContain('Bob Smith');
  });

  for (const state of ['locked', 'unavailable'] as const) {
    it(`keychain ${state}: every grant and connection is unverified, cause keychain-unavailable, fix unlock-keychain`, () => {
      const { w, jane, bob } = firm();
      // Whatever else is going on, nothing can be verified without the keychain.
      w.revoke(bob.grant.id);
      w.struggle(jane.grant.id, 'server-error');
      w.keychain = state;
      const r = assessHealth(w.input());
      const verdicts = [...Object.values(r.grants), ...Object.values(r.connections)];
      expect(verdicts).toHaveLength(3 + 7);
      for (const v of verdicts) {
        expect(v).toMatchObject({ health: 'unverified', cause: 'keychain-unavailable', confidence: 'confirmed' });
        expect(v.fix?.action).toBe('unlock-keychain');
      }
      const kc = r.findings.filter((f) => f.cause === 'keychain-unavailable');
      expect(kc).toHaveLength(1);
      expect(kc[0]!.connectionIds).toHaveLength(7);
      expect(kc[0]!.tenantIds).toHaveLength(3);
      expect(kc[0]!.evidence.join(' ')).toContain(state);
      expect(r.grants[jane.grant.id]!.daysLeft).toBe(60);
    });
  }

  it('keychain available: no keychain finding', () => {
    const { w } = firm();
    expect(assessHealth(w.input()).findings.some((f) => f.cause === 'keychain-unavailable')).toBe(false);
  });
});
