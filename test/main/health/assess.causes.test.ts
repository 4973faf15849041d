import { describe, expect, it } from 'vitest';
import { BROKEN_HEALTH } from '../../../shared/domain.js';
import { assessHealth, type Finding, type HealthReport } from '../../../main/health/assess.js';
import { DAY, HOUR, MINUTE, NOW, World, ago, iso } from './world.js';

/**
 * Causes judged across entities (DESIGN.md §4): one person's grants, one app's grants, one organisation's
 * connections, the clock and the network. Each scenario is a firm where the rest is healthy, so the tests also
 * show that the cause does not leak onto unrelated connections.
 */

const only = (r: HealthReport, cause: Finding['cause']) => r.findings.filter((f) => f.cause === cause);
const keysOf = (r: HealthReport) => r.findings.map((f) => f.key);

function expectUniqueKeys(r: HealthReport) {
  expect(new Set(keysOf(r)).size, `duplicate finding keys: ${keysOf(r).join(', ')}`).toBe(r.findings.length);
}

/**
 * Jane Doe holds Practice Sync for 30 organisations and Receipts Bridge for 20, 9 of them shared: 41
 * organisations, 50 connections. Bob Smith holds both apps for a few of the same organisations.
 */
function passwordWorld() {
  const w = new World();
  w.app('practice-sync');
  w.app('receipts-bridge');
  w.person('u-jane', 'Jane Doe');
  w.person('u-bob', 'Bob Smith');
  const a = w.orgs('a', 30);
  const b = [...a.slice(0, 9), ...w.orgs('b', 11)];
  const janeSync = w.grantWith('practice-sync', 'u-jane', a);
  const janeReceipts = w.grantWith('receipts-bridge', 'u-jane', b);
  const bobSync = w.grantWith('practice-sync', 'u-bob', w.orgs('bob', 3));
  const bobReceipts = w.grantWith('receipts-bridge', 'u-bob', ['bob-1', 'bob-2']);
  return { w, janeSync, janeReceipts, bobSync, bobReceipts };
}

describe('password-changed', () => {
  it('all of one person’s grants refused within a short window, others fine → ONE likely finding spanning apps and orgs', () => {
    const { w, janeSync, janeReceipts, bobSync, bobReceipts } = passwordWorld();
    w.revoke(janeSync.grant.id, ago(50 * MINUTE));
    w.revoke(janeReceipts.grant.id, ago(20 * MINUTE));
    const r = assessHealth(w.input());
    expectUniqueKeys(r);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0]!;
    expect(f).toMatchObject({ cause: 'password-changed', confidence: 'likely', staffId: 'u-jane', appId: null });
    expect(f.summary).toBe("Jane Doe's Xero password probably changed — 2 apps, 41 organisations");
    expect(f.tenantIds).toHaveLength(41);
    expect(new Set(f.tenantIds).size).toBe(41);
    expect(f.connectionIds).toHaveLength(50);
    expect(new Set(f.connectionIds)).toEqual(new Set([...janeSync.connections, ...janeReceipts.connections].map((c) => c.id)));
    expect(f.fix.action).toBe('reconnect');
    expect(f.fix.text).toContain('Jane Doe');
    expect(f.evidence.join(' ')).toMatch(/Other staff/);
    // Every one of Jane's connections needs a reconnect for this reason; Bob's are untouched.
    for (const g of [janeSync.grant, janeReceipts.grant]) expect(r.grants[g.id]).toMatchObject({ health: 'needs-reconnect', cause: 'password-changed', confidence: 'likely' });
    for (const c of [...janeSync.connections, ...janeReceipts.connections]) {
      expect(r.connections[c.id]).toMatchObject({ health: 'needs-reconnect', cause: 'password-changed', confidence: 'likely', fix: f.fix });
    }
    for (const c of [...bobSync.connections, ...bobReceipts.connections]) expect(r.connections[c.id]!.health).toBe('healthy');
  });

  it('one grant refused (the person holds only one) → possible', () => {
    const w = new World();
    w.app('practice-sync');
    w.person('u-jane', 'Jane Doe');
    w.person('u-bob', 'Bob Smith');
    const jane = w.grantWith('practice-sync', 'u-jane', w.orgs('a', 4));
    w.grantWith('practice-sync', 'u-bob', ['a-1']);
    w.revoke(jane.grant.id);
    const r = assessHealth(w.input());
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ cause: 'password-changed', confidence: 'possible', staffId: 'u-jane', appId: 'practice-sync' });
    expect(r.findings[0]!.summary).toBe("Jane Doe's Xero password probably changed — 1 app, 4 organisations");
    for (const c of jane.connections) expect(r.connections[c.id]).toMatchObject({ health: 'needs-reconnect', cause: 'password-changed', confidence: 'possible' });
  });

  it('two grants refused days apart are not one event → not likely', () => {
    const { w, janeSync, janeReceipts } = passwordWorld();
    w.revoke(janeSync.grant.id, ago(3 * DAY));
    w.revoke(janeReceipts.grant.id, ago(1 * HOUR));
    const r = assessHealth(w.input());
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]!.confidence).toBe('possible');
  });

  it('the short window is 24 hours, inclusive', () => {
    for (const [apart, confidence] of [
      [24 * HOUR, 'likely'],
      [24 * HOUR + 1000, 'possible'],
    ] as const) {
      const { w, janeSync, janeReceipts } = passwordWorld();
      w.revoke(janeSync.grant.id, ago(apart + MINUTE));
      w.revoke(janeReceipts.grant.id, ago(MINUTE));
      expect(assessHealth(w.input()).findings.map((f) => [f.cause, f.confidence])).toEqual([['password-changed', confidence]]);
    }
  });

  it('one grant refused while the same person’s other grant refreshed afterwards → grant-revoked, not a password change', () => {
    const { w, janeSync, janeReceipts } = passwordWorld();
    w.revoke(janeSync.grant.id, ago(3 * HOUR));
    w.update(janeReceipts.grant.id, { lastRefreshAt: ago(1 * HOUR), refreshTokenIssuedAt: ago(1 * HOUR) });
    const r = assessHealth(w.input());
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ cause: 'grant-revoked', confidence: 'possible', appId: 'practice-sync' });
    expect(r.grants[janeReceipts.grant.id]!.health).toBe('healthy');
    expect(r.grants[janeSync.grant.id]).toMatchObject({ health: 'needs-reconnect', cause: 'grant-revoked' });
  });
});

describe('staff-removed', () => {
  for (const status of ['leaving', 'removed'] as const) {
    it(`a person marked ${status} whose grants are refused → staff-removed, not a password change`, () => {
      const { w, janeSync, janeReceipts } = passwordWorld();
      w.person('u-jane', 'Jane Doe', { status });
      w.revoke(janeSync.grant.id, ago(40 * MINUTE));
      w.revoke(janeReceipts.grant.id, ago(30 * MINUTE));
      const r = assessHealth(w.input());
      expect(r.findings).toHaveLength(1);
      const f = r.findings[0]!;
      expect(f).toMatchObject({ cause: 'staff-removed', staffId: 'u-jane' });
      expect(['likely', 'confirmed']).toContain(f.confidence);
      expect(f.evidence.join(' ')).toContain(status);
      expect(f.tenantIds).toHaveLength(41);
      expect(f.summary).toContain('Jane Doe');
      expect(f.fix.action).toBe('reconnect');
      for (const c of janeSync.connections) expect(r.connections[c.id]).toMatchObject({ health: 'needs-reconnect', cause: 'staff-removed' });
    });
  }

  it('a person vanishing from several orgs at once while their grants refresh → staff-removed, likely', () => {
    const { w, janeSync, janeReceipts } = passwordWorld();
    const gone = [janeSync.connections[0]!, janeSync.connections[1]!, janeReceipts.connections[12]!];
    w.vanish(gone[0]!.id, ago(30 * MINUTE));
    w.vanish(gone[1]!.id, ago(25 * MINUTE));
    w.vanish(gone[2]!.id, ago(10 * MINUTE));
    const r = assessHealth(w.input());
    expectUniqueKeys(r);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0]!;
    expect(f).toMatchObject({ cause: 'staff-removed', confidence: 'likely', staffId: 'u-jane', appId: null });
    expect(new Set(f.connectionIds)).toEqual(new Set(gone.map((c) => c.id)));
    expect(f.tenantIds).toHaveLength(3);
    expect(f.summary).toBe('Jane Doe no longer has access to 3 organisations in Xero');
    for (const c of gone) expect(r.connections[c.id]).toMatchObject({ health: 'disconnected', cause: 'staff-removed', confidence: 'likely' });
    // The grants themselves still work.
    expect(r.grants[janeSync.grant.id]!.health).toBe('healthy');
    expect(r.connections[janeSync.connections[5]!.id]!.health).toBe('healthy');
  });

  it('orgs vanishing hours apart are separate disconnections, not a removal', () => {
    const { w, janeSync } = passwordWorld();
    w.vanish(janeSync.connections[0]!.id, ago(9 * HOUR));
    w.vanish(janeSync.connections[1]!.id, ago(10 * MINUTE));
    const r = assessHealth(w.input());
    expect(only(r, 'staff-removed')).toEqual([]);
    expect(only(r, 'app-disconnected-in-org')).toHaveLength(2);
  });

  it('a person whose staff record is unknown vanishing from several orgs → likely, never confirmed', () => {
    const { w, janeSync } = passwordWorld();
    delete w.staff['u-jane'];
    w.vanish(janeSync.connections[0]!.id, ago(30 * MINUTE));
    w.vanish(janeSync.connections[1]!.id, ago(20 * MINUTE));
    const r = assessHealth(w.input());
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ cause: 'staff-removed', confidence: 'likely' });
  });

  it('a person marked leaving vanishing from several orgs → confirmed', () => {
    const { w, janeSync } = passwordWorld();
    w.person('u-jane', 'Jane Doe', { status: 'leaving' });
    w.vanish(janeSync.connections[0]!.id, ago(30 * MINUTE));
    w.vanish(janeSync.connections[1]!.id, ago(20 * MINUTE));
    const r = assessHealth(w.input());
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ cause: 'staff-removed', confidence: 'confirmed' });
  });

  it('a person marked leaving, one grant refused and orgs vanishing from the other → ONE staff-removed finding for that person', () => {
    const { w, janeSync, janeReceipts } = passwordWorld();
    w.person('u-jane', 'Jane Doe', { status: 'leaving' });
    w.revoke(janeSync.grant.id, ago(1 * HOUR));
    const gone = [janeReceipts.connections[9]!, janeReceipts.connections[10]!];
    for (const c of gone) w.vanish(c.id, ago(30 * MINUTE));
    const r = assessHealth(w.input());
    expectUniqueKeys(r);
    const f = only(r, 'staff-removed');
    expect(f).toHaveLength(1);
    expect(new Set(f[0]!.connectionIds)).toEqual(new Set([...janeSync.connections, ...gone].map((c) => c.id)));
    expect(f[0]!.tenantIds).toHaveLength(32);
    expect(f[0]!.summary).toBe('Jane Doe no longer has access to 32 organisations in Xero');
    for (const c of gone) expect(r.connections[c.id]).toMatchObject({ health: 'disconnected', cause: 'staff-removed' });
    for (const c of janeSync.connections) expect(r.connections[c.id]).toMatchObject({ health: 'needs-reconnect', cause: 'staff-removed' });
  });
});

describe('app-disconnected-in-org', () => {
  it('one org missing from an otherwise healthy grant → likely', () => {
    const { w, janeSync } = passwordWorld();
    const gone = w.vanish(janeSync.connections[3]!.id);
    const r = assessHealth(w.input());
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({
      key: `app-disconnected-in-org:app:practice-sync:tenant:${gone.tenantId}`,
      cause: 'app-disconnected-in-org',
      confidence: 'likely',
      staffId: 'u-jane',
      appId: 'practice-sync',
      tenantIds: [gone.tenantId],
      connectionIds: [gone.id],
    });
    expect(r.findings[0]!.summary).toBe(`Practice Sync was disconnected in Client ${gone.tenantId}`);
    expect(r.findings[0]!.fix.action).toBe('reconnect-in-org');
    expect(r.connections[gone.id]).toMatchObject({ health: 'disconnected', cause: 'app-disconnected-in-org', confidence: 'likely' });
  });

  it('two staff losing the same org for the same app → one finding', () => {
    const { w, janeSync, bobSync } = passwordWorld();
    const shared = w.connection(bobSync.grant.id, 'a-7');
    const janeA7 = janeSync.connections.find((c) => c.tenantId === 'a-7')!;
    w.vanish(janeA7.id, ago(12 * MINUTE));
    w.vanish(shared.id, ago(11 * MINUTE));
    const r = assessHealth(w.input());
    expectUniqueKeys(r);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ cause: 'app-disconnected-in-org', appId: 'practice-sync', staffId: null, tenantIds: ['a-7'] });
    expect(new Set(r.findings[0]!.connectionIds)).toEqual(new Set([janeA7.id, shared.id]));
    expect(r.connections[janeA7.id]!.health).toBe('disconnected');
    expect(r.connections[shared.id]!.health).toBe('disconnected');
  });

  it('an org missing from a revoked grant is the grant’s problem, not a disconnection', () => {
    const { w, janeSync } = passwordWorld();
    w.vanish(janeSync.connections[0]!.id);
    w.revoke(janeSync.grant.id);
    const r = assessHealth(w.input());
    expect(only(r, 'app-disconnected-in-org')).toEqual([]);
    expect(r.connections[janeSync.connections[0]!.id]!.health).toBe('needs-reconnect');
  });
});

describe('token-replaced', () => {
  it('an org missing from one grant but present under another grant of the same app → token-replaced', () => {
    const { w, janeSync, bobSync } = passwordWorld();
    const janeA2 = janeSync.connections.find((c) => c.tenantId === 'a-2')!;
    w.vanish(janeA2.id);
    const bobA2 = w.connection(bobSync.grant.id, 'a-2', { authEventId: 'ae-newer' });
    const r = assessHealth(w.input());
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ cause: 'token-replaced', confidence: 'likely', staffId: 'u-jane', appId: 'practice-sync', tenantIds: ['a-2'], connectionIds: [janeA2.id] });
    expect(r.findings[0]!.evidence.join(' ')).toContain('Bob Smith');
    expect(r.connections[janeA2.id]).toMatchObject({ cause: 'token-replaced' });
    expect(r.connections[bobA2.id]!.health).toBe('healthy');
  });

  it('still listed under another person’s revoked grant of the same app does not count: that grant reaches nothing', () => {
    const { w, janeSync, bobSync } = passwordWorld();
    w.revoke(janeSync.grant.id, ago(3 * HOUR));
    const bobA2 = w.connection(bobSync.grant.id, 'a-2');
    w.vanish(bobA2.id, ago(20 * MINUTE));
    const r = assessHealth(w.input());
    expect(only(r, 'token-replaced')).toEqual([]);
    expect(only(r, 'app-disconnected-in-org').map((f) => f.connectionIds)).toEqual([[bobA2.id]]);
    expect(r.connections[bobA2.id]).toMatchObject({ health: 'disconnected', cause: 'app-disconnected-in-org' });
  });

  it('present under another grant of a different app does not count', () => {
    const { w, janeSync, bobReceipts } = passwordWorld();
    const janeA2 = janeSync.connections.find((c) => c.tenantId === 'a-2')!;
    w.vanish(janeA2.id);
    w.connection(bobReceipts.grant.id, 'a-2');
    const r = assessHealth(w.input());
    expect(r.findings.map((f) => f.cause)).toEqual(['app-disconnected-in-org']);
  });
});

describe('refresh-token-expired', () => {
  it('refused after ≥ 60 idle days → confirmed, per grant, with the idle days as evidence', () => {
    const { w, janeSync } = passwordWorld();
    const issued = NOW - 70 * DAY;
    w.update(janeSync.grant.id, { refreshTokenIssuedAt: iso(issued), lastRefreshAt: iso(issued) });
    w.revoke(janeSync.grant.id, ago(10 * MINUTE));
    const r = assessHealth(w.input());
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0]!;
    expect(f).toMatchObject({ key: `refresh-token-expired:grant:${janeSync.grant.id}`, cause: 'refresh-token-expired', confidence: 'confirmed', staffId: 'u-jane', appId: 'practice-sync' });
    expect(f.connectionIds).toHaveLength(30);
    expect(f.evidence.join(' ')).toContain('69 days');
    expect(f.summary).toBe("Jane Doe's connection to Practice Sync expired after 60 days without use — 30 organisations");
    expect(r.grants[janeSync.grant.id]).toMatchObject({ health: 'needs-reconnect', cause: 'refresh-token-expired', confidence: 'confirmed', daysLeft: 0 });
  });

  it('exactly 60 idle days at the refusal counts; 59 does not', () => {
    for (const [idle, cause] of [
      [60, 'refresh-token-expired'],
      [59, 'password-changed'],
    ] as const) {
      const { w, janeSync } = passwordWorld();
      const refused = NOW - 5 * MINUTE;
      w.update(janeSync.grant.id, { refreshTokenIssuedAt: iso(refused - idle * DAY), lastRefreshAt: iso(refused - idle * DAY) });
      w.revoke(janeSync.grant.id, iso(refused));
      expect(assessHealth(w.input()).findings.map((f) => f.cause)).toEqual([cause]);
    }
  });

  it('an expired token is set apart from a same-day refusal of the person’s other grant', () => {
    const { w, janeSync, janeReceipts } = passwordWorld();
    const issued = NOW - 65 * DAY;
    w.update(janeSync.grant.id, { refreshTokenIssuedAt: iso(issued), lastRefreshAt: iso(issued) });
    w.revoke(janeSync.grant.id, ago(30 * MINUTE));
    w.revoke(janeReceipts.grant.id, ago(20 * MINUTE));
    const r = assessHealth(w.input());
    expectUniqueKeys(r);
    expect(r.findings.map((f) => [f.cause, f.appId])).toEqual([
      ['refresh-token-expired', 'practice-sync'],
      ['password-changed', 'receipts-bridge'],
    ]);
  });
});

describe('credentials-rotated and app-deleted', () => {
  function appWorld(createdBy: string | null = null) {
    const w = new World();
    w.app('practice-sync', { createdBy, authType: 'web' });
    w.app('receipts-bridge');
    w.person('u-jane', 'Jane Doe');
    w.person('u-bob', 'Bob Smith');
    w.person('u-ann', 'Ann Lee');
    const jane = w.grantWith('practice-sync', 'u-jane', w.orgs('a', 5));
    const bob = w.grantWith('practice-sync', 'u-bob', ['a-4', 'a-5', ...w.orgs('b', 2)]);
    const janeReceipts = w.grantWith('receipts-bridge', 'u-jane', ['a-1']);
    return { w, jane, bob, janeReceipts };
  }

  it('every grant of one app rejected → ONE credentials-rotated finding, likely', () => {
    const { w, jane, bob, janeReceipts } = appWorld();
    w.revoke(jane.grant.id, ago(30 * MINUTE), 'invalid-client');
    w.revoke(bob.grant.id, ago(29 * MINUTE), 'invalid-client');
    const r = assessHealth(w.input());
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0]!;
    expect(f).toMatchObject({ key: 'credentials-rotated:app:practice-sync', cause: 'credentials-rotated', confidence: 'likely', appId: 'practice-sync', staffId: null });
    expect(f.tenantIds).toHaveLength(7);
    expect(f.connectionIds).toHaveLength(9);
    expect(f.summary).toBe("Xero no longer accepts Practice Sync's credentials — 7 organisations");
    expect(f.fix.action).toBe('update-app-credentials');
    for (const c of [...jane.connections, ...bob.connections]) expect(r.connections[c.id]).toMatchObject({ health: 'app-broken', cause: 'credentials-rotated', confidence: 'likely' });
    expect(r.connections[janeReceipts.connections[0]!.id]!.health).toBe('healthy');
  });

  it('one of the app’s grants rejected → possible', () => {
    const { w, jane } = appWorld();
    w.revoke(jane.grant.id, ago(30 * MINUTE), 'invalid-client');
    const r = assessHealth(w.input());
    expect(r.findings.map((f) => [f.cause, f.confidence])).toEqual([['credentials-rotated', 'possible']]);
  });

  for (const [label, createdBy] of [
    ['by id', 'u-ann'],
    ['by email', 'ann.lee@firm.example'],
  ] as const) {
    it(`app creator (${label}) marked removed → app-deleted`, () => {
      const { w, jane, bob } = appWorld(createdBy);
      w.person('u-ann', 'Ann Lee', { status: 'removed' });
      w.revoke(jane.grant.id, ago(30 * MINUTE), 'invalid-client');
      w.revoke(bob.grant.id, ago(30 * MINUTE), 'invalid-client');
      const r = assessHealth(w.input());
      expect(r.findings).toHaveLength(1);
      expect(r.findings[0]).toMatchObject({ key: 'app-deleted:app:practice-sync', cause: 'app-deleted', confidence: 'likely', appId: 'practice-sync' });
      expect(r.findings[0]!.evidence.join(' ')).toContain('Ann Lee');
      expect(r.findings[0]!.evidence.join(' ')).toContain('removed');
      expect(r.grants[jane.grant.id]).toMatchObject({ health: 'app-broken', cause: 'app-deleted' });
    });
  }

  it('app creator still active → credentials-rotated', () => {
    const { w, jane, bob } = appWorld('u-ann');
    w.revoke(jane.grant.id, ago(30 * MINUTE), 'invalid-client');
    w.revoke(bob.grant.id, ago(30 * MINUTE), 'invalid-client');
    expect(assessHealth(w.input()).findings.map((f) => f.cause)).toEqual(['credentials-rotated']);
  });

  it('unauthorized_client → app-deleted', () => {
    const { w, jane, bob } = appWorld();
    w.revoke(jane.grant.id, ago(30 * MINUTE), 'unauthorized-client');
    w.revoke(bob.grant.id, ago(30 * MINUTE), 'unauthorized-client');
    const r = assessHealth(w.input());
    expect(r.findings.map((f) => [f.cause, f.confidence])).toEqual([['app-deleted', 'likely']]);
    for (const c of bob.connections) expect(r.connections[c.id]!.health).toBe('app-broken');
  });
});

describe('clock-skew', () => {
  for (const [skew, expected] of [
    [5 * MINUTE, true],
    [-5 * MINUTE, true],
    [12 * MINUTE, true],
    [5 * MINUTE - 1000, false],
    [-4 * MINUTE, false],
    [0, false],
    [null, false],
  ] as const) {
    it(`skew ${skew === null ? 'unknown' : `${skew / 1000}s`} → ${expected ? 'a' : 'no'} clock-skew finding`, () => {
      const { w } = passwordWorld();
      w.clockSkewMs = skew;
      const r = assessHealth(w.input());
      const f = only(r, 'clock-skew');
      expect(f).toHaveLength(expected ? 1 : 0);
      if (expected) {
        expect(f[0]).toMatchObject({ key: 'clock-skew', confidence: 'likely', connectionIds: [], tenantIds: [] });
        expect(f[0]!.fix.action).toBe('check-clock');
        const minutes = Math.round(Math.abs(skew!) / MINUTE);
        expect(f[0]!.summary).toContain(`${minutes} minutes`);
        expect(f[0]!.evidence.join(' ')).toContain(skew! > 0 ? 'ahead of' : 'behind');
        // A clock problem is not a broken connection.
        for (const v of Object.values(r.connections)) expect(v.health).toBe('healthy');
      }
    });
  }
});

describe('provider-outage / network / rate-limited', () => {
  /** Six healthy grants across three people and two apps. */
  function busyWorld() {
    const w = new World();
    w.app('practice-sync');
    w.app('receipts-bridge');
    const grants = [];
    for (const [id, name] of [
      ['u-jane', 'Jane Doe'],
      ['u-bob', 'Bob Smith'],
      ['u-ann', 'Ann Lee'],
    ] as const) {
      w.person(id, name);
      grants.push(w.grantWith('practice-sync', id, w.orgs(`${id}-s`, 3)));
      grants.push(w.grantWith('receipts-bridge', id, w.orgs(`${id}-r`, 2)));
    }
    return { w, grants };
  }

  it('many grants failing with 5xx and HTML pages → ONE provider-outage finding; grants degraded, never broken', () => {
    const { w, grants } = busyWorld();
    grants.slice(0, 4).forEach(({ grant }, i) => w.struggle(grant.id, i % 2 ? 'malformed-response' : 'server-error', 2 + i));
    const r = assessHealth(w.input());
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0]!;
    expect(f).toMatchObject({ cause: 'provider-outage', staffId: null, appId: null });
    expect(f.fix.action).toBe('wait');
    expect(f.connectionIds).toHaveLength(grants.slice(0, 4).reduce((n, g) => n + g.connections.length, 0));
    expect(f.evidence.join(' ')).toMatch(/4 of 6/);
    for (const { grant, connections } of grants.slice(0, 4)) {
      expect(r.grants[grant.id]).toMatchObject({ health: 'degraded', cause: 'provider-outage' });
      expect(r.grants[grant.id]!.fix?.action).toBe('wait');
      for (const c of connections) expect(r.connections[c.id]).toMatchObject({ health: 'degraded', cause: 'provider-outage' });
    }
    for (const { grant } of grants.slice(4)) expect(r.grants[grant.id]!.health).toBe('healthy');
    for (const v of [...Object.values(r.grants), ...Object.values(r.connections)]) expect(BROKEN_HEALTH.has(v.health)).toBe(false);
  });

  it('every grant timing out → ONE network finding, everything degraded', () => {
    const { w, grants } = busyWorld();
    grants.forEach(({ grant }, i) => w.struggle(grant.id, i % 2 ? 'timeout' : 'network'));
    const r = assessHealth(w.input());
    expect(r.findings.map((f) => f.cause)).toEqual(['network']);
    expect(r.findings[0]!.connectionIds).toHaveLength(15);
    expect(r.findings[0]!.tenantIds).toHaveLength(15);
    for (const v of [...Object.values(r.grants), ...Object.values(r.connections)]) {
      expect(v.health).toBe('degraded');
      expect(v.fix?.action).toBe('wait');
    }
  });

  it('many grants rate-limited → one rate-limited finding, wait', () => {
    const { w, grants } = busyWorld();
    for (const { grant } of grants.slice(0, 3)) w.struggle(grant.id, 'rate-limited', 1);
    const r = assessHealth(w.input());
    expect(r.findings.map((f) => [f.cause, f.fix.action])).toEqual([['rate-limited', 'wait']]);
    for (const { grant } of grants.slice(0, 3)) expect(r.grants[grant.id]!.health).toBe('degraded');
  });

  it('a few transient failures among many grants are not an outage', () => {
    const { w, grants } = busyWorld();
    w.struggle(grants[0]!.grant.id, 'server-error');
    w.struggle(grants[3]!.grant.id, 'server-error');
    const r = assessHealth(w.input());
    expect(r.findings).toEqual([]);
    expect(r.grants[grants[0]!.grant.id]!.health).toBe('degraded');
  });
});

describe('grants without connections', () => {
  it('a refused grant that reaches no organisation still carries its finding’s cause and fix', () => {
    const { w, janeSync, janeReceipts } = passwordWorld();
    for (const c of janeReceipts.connections) delete w.connections[c.id];
    w.revoke(janeSync.grant.id, ago(40 * MINUTE));
    w.revoke(janeReceipts.grant.id, ago(30 * MINUTE));
    const r = assessHealth(w.input());
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0]!;
    expect(f).toMatchObject({ cause: 'password-changed', confidence: 'likely' });
    for (const g of [janeSync.grant, janeReceipts.grant]) {
      expect(r.grants[g.id]).toMatchObject({ health: 'needs-reconnect', cause: 'password-changed', confidence: 'likely', fix: f.fix });
    }
  });

  it('an app-rejected grant that reaches no organisation still says why and what to do', () => {
    const w = new World();
    w.app('practice-sync', { createdBy: 'u-ann' });
    w.person('u-ann', 'Ann Lee', { status: 'removed' });
    w.person('u-jane', 'Jane Doe');
    w.person('u-bob', 'Bob Smith');
    const jane = w.grantWith('practice-sync', 'u-jane', ['a-1', 'a-2']);
    const bob = w.grant('practice-sync', 'u-bob');
    w.revoke(jane.grant.id, ago(HOUR), 'invalid-client');
    w.revoke(bob.id, ago(HOUR), 'invalid-client');
    const r = assessHealth(w.input());
    expect(r.findings.map((f) => [f.cause, f.confidence])).toEqual([['app-deleted', 'likely']]);
    const f = r.findings[0]!;
    for (const id of [jane.grant.id, bob.id]) expect(r.grants[id]).toMatchObject({ health: 'app-broken', cause: 'app-deleted', confidence: 'likely', fix: f.fix });
  });
});

describe('combined', () => {
  it('several independent events at once: one finding each, unique keys, no connection left broken without a cause', () => {
    const { w, janeSync, janeReceipts, bobSync, bobReceipts } = passwordWorld();
    w.person('u-ann', 'Ann Lee', { status: 'leaving' });
    const ann = w.grantWith('practice-sync', 'u-ann', ['a-1', 'a-2']);
    w.revoke(janeSync.grant.id, ago(40 * MINUTE));
    w.revoke(janeReceipts.grant.id, ago(35 * MINUTE));
    w.vanish(bobSync.connections[0]!.id);
    w.updateConnection(bobReceipts.connections[0]!.id, { lastApiFailure: { kind: 'insufficient-scope', at: ago(MINUTE), detail: '401 insufficient_scope' } });
    w.revoke(ann.grant.id, ago(2 * HOUR));
    w.clockSkewMs = -7 * MINUTE;
    const r = assessHealth(w.input());
    expectUniqueKeys(r);
    expect(r.findings.map((f) => f.cause).sort()).toEqual(['app-disconnected-in-org', 'clock-skew', 'password-changed', 'scope-missing', 'staff-removed']);
    for (const [id, v] of Object.entries(r.connections)) {
      if (BROKEN_HEALTH.has(v.health)) {
        expect(v.cause, id).not.toBeNull();
        expect(v.fix, id).not.toBeNull();
        expect(r.findings.some((f) => f.connectionIds.includes(id)), id).toBe(true);
      }
    }
  });
});
