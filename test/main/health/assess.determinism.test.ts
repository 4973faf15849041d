import { describe, expect, it } from 'vitest';
import { assessHealth, type HealthInput } from '../../../main/health/assess.js';
import { HOUR, MINUTE, World, ago, deepFreeze, failure } from './world.js';

/**
 * `assessHealth` is a pure function: the same facts give the same report (which is what keeps incidents from
 * flapping), and it never writes to what it is given.
 */

/** A busy firm with something of everything going on. */
function busy(): World {
  const w = new World();
  w.app('practice-sync', { createdBy: 'u-ann' });
  w.app('receipts-bridge');
  w.app('payroll-link', { authType: 'web' });
  w.person('u-jane', 'Jane Doe');
  w.person('u-bob', 'Bob Smith');
  w.person('u-ann', 'Ann Lee', { status: 'leaving' });
  w.person('u-kim', 'Kim Park');
  const a = w.orgs('a', 12);
  const janeSync = w.grantWith('practice-sync', 'u-jane', a.slice(0, 8));
  const janeReceipts = w.grantWith('receipts-bridge', 'u-jane', a.slice(4, 10));
  const bobSync = w.grantWith('practice-sync', 'u-bob', a.slice(6));
  const bobPayroll = w.grantWith('payroll-link', 'u-bob', a.slice(0, 3));
  const kimPayroll = w.grantWith('payroll-link', 'u-kim', a.slice(3, 6));
  const annReceipts = w.grantWith('receipts-bridge', 'u-ann', a.slice(9));
  w.revoke(janeSync.grant.id, ago(2 * HOUR));
  w.revoke(janeReceipts.grant.id, ago(90 * MINUTE));
  w.vanish(bobSync.connections[0]!.id, ago(40 * MINUTE));
  w.vanish(bobSync.connections[1]!.id, ago(35 * MINUTE));
  w.revoke(bobPayroll.grant.id, ago(HOUR), 'invalid-client');
  w.revoke(kimPayroll.grant.id, ago(HOUR), 'invalid-client');
  w.revoke(annReceipts.grant.id, ago(3 * HOUR));
  w.updateConnection(bobSync.connections[3]!.id, { lastApiFailure: failure('role-restricted') });
  w.struggle(bobSync.grant.id, 'server-error');
  w.clockSkewMs = 6 * MINUTE;
  return w;
}

/** The same facts, every record inserted in reverse order. */
function reversed(input: HealthInput): HealthInput {
  const rev = <T>(r: Readonly<Record<string, T>>) => Object.fromEntries(Object.entries(r).reverse());
  return {
    ...input,
    apps: rev(input.apps),
    staff: rev(input.staff),
    organisations: rev(input.organisations),
    grants: rev(input.grants),
    connections: rev(input.connections),
  };
}

describe('assessHealth: determinism and purity', () => {
  it('the busy fixture really is busy', () => {
    const r = assessHealth(busy().input());
    expect(new Set(r.findings.map((f) => f.cause))).toEqual(
      new Set(['password-changed', 'staff-removed', 'credentials-rotated', 'role-restricted', 'clock-skew']),
    );
  });

  it('same input twice → deep-equal output', () => {
    const input = busy().input();
    const first = assessHealth(input);
    const second = assessHealth(input);
    expect(second).toEqual(first);
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
  });

  it('two separately built copies of the same world → deep-equal output', () => {
    expect(assessHealth(busy().input())).toEqual(assessHealth(busy().input()));
  });

  it('does not mutate its input (deep-frozen input, and a structural copy compares equal afterwards)', () => {
    const input = busy().input();
    const before = structuredClone(input);
    deepFreeze(input);
    expect(Object.isFrozen(input.grants)).toBe(true);
    const r = assessHealth(input);
    expect(r.findings.length).toBeGreaterThan(0);
    expect(input).toEqual(before);
    // The output owns its arrays: changing them leaves the input alone.
    for (const f of r.findings) {
      f.tenantIds.push('x');
      f.connectionIds.push('x');
    }
    expect(input).toEqual(before);
  });

  it('does not mutate its input in the keychain-locked branch either', () => {
    const w = busy();
    w.keychain = 'locked';
    const input = deepFreeze(w.input());
    const a = assessHealth(input);
    expect(assessHealth(input)).toEqual(a);
  });

  it('the order records were stored in changes no verdict and no finding identity', () => {
    const input = busy().input();
    const a = assessHealth(input);
    const b = assessHealth(reversed(input));
    expect(b.grants).toEqual(a.grants);
    expect(b.connections).toEqual(a.connections);
    const norm = (r: typeof a) =>
      r.findings
        .map((f) => ({ ...f, tenantIds: [...f.tenantIds].sort(), connectionIds: [...f.connectionIds].sort(), evidence: [...f.evidence].sort() }))
        .sort((x, y) => x.key.localeCompare(y.key));
    expect(norm(b)).toEqual(norm(a));
  });

  it('depends on `now` only through the facts: an hour later the same findings keep the same keys', () => {
    const w = busy();
    const a = assessHealth(w.input());
    w.now += HOUR;
    const b = assessHealth(w.input());
    expect(b.findings.map((f) => f.key)).toEqual(a.findings.map((f) => f.key));
  });
});
