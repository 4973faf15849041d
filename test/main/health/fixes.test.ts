import { describe, expect, it } from 'vitest';
import { CAUSES, FIX_ACTIONS, fixSchema, type Cause, type FixAction } from '../../../shared/domain.js';
import { fixFor, summaryFor, type Wording } from '../../../main/health/fixes.js';
import { assessHealth } from '../../../main/health/assess.js';
import { DAY, HOUR, MINUTE, NOW, World, ago, failure, iso } from './world.js';

/**
 * The product's words (fixes.ts): every cause has a summary and a fix, written for an advisor. Developer error
 * codes belong in the evidence, never in what the advisor is told to do.
 */

const FULL: Wording = { who: 'Jane Doe', app: 'Practice Sync', org: 'Harbour Bakery Ltd', orgCount: 41, appCount: 2, days: 61, minutes: 7 };
const WORDINGS: Array<[string, Wording]> = [
  ['full wording', FULL],
  ['no wording at all', {}],
  ['counts of one', { who: 'Jane Doe', orgCount: 1, appCount: 1 }],
];

const NOT_PLAIN = /undefined|\bnull\b|\[object|NaN/;
/** Codes from Xero's wire (DESIGN.md §1) and the legacy OAuth 1.0a problems an advisor may paste. */
const DEV_CODES =
  /invalid_grant|invalid_client|unauthorized_client|invalid_scope|insufficient_scope|AuthenticationUnsuccessful|AuthorizationUnsuccessful|InsufficientPermissions|oauth_problem|token_rejected|token_expired|timestamp_refused|signature_invalid|signature_method_rejected|consumer_key_unknown|nonce_used|\b(401|403|429|5\d\d)\b|ECONN|ETIMEDOUT/;

/** What kind of advice each cause needs. */
const EXPECTED_ACTION: Record<Cause, FixAction[]> = {
  'password-changed': ['reconnect'],
  'staff-removed': ['reconnect'],
  'app-disconnected-in-org': ['reconnect-in-org'],
  'refresh-token-expired': ['reconnect'],
  'token-replaced': ['none', 'reconnect'],
  'credentials-rotated': ['update-app-credentials'],
  'app-deleted': ['update-app-credentials'],
  'role-restricted': ['reconnect-in-org', 'reconnect'],
  'scope-missing': ['reconnect'],
  'clock-skew': ['check-clock'],
  'rate-limited': ['wait'],
  'provider-outage': ['wait'],
  network: ['wait'],
  'keychain-unavailable': ['unlock-keychain'],
  'key-missing': ['reconnect'],
  'grant-revoked': ['reconnect'],
};

describe('wording', () => {
  it('covers exactly the causes in shared/domain.ts', () => {
    expect(Object.keys(EXPECTED_ACTION).sort()).toEqual([...CAUSES].sort());
  });

  for (const cause of CAUSES) {
    describe(cause, () => {
      for (const [label, w] of WORDINGS) {
        it(`has a plain summary and a fix (${label})`, () => {
          const summary = summaryFor(cause, w);
          const fix = fixFor(cause, w);
          expect(typeof summary).toBe('string');
          expect(summary.trim().length).toBeGreaterThan(10);
          expect(fixSchema.parse(fix)).toEqual(fix);
          expect(FIX_ACTIONS).toContain(fix.action);
          expect(fix.text.trim().length).toBeGreaterThan(10);
          expect(fix.text).not.toMatch(NOT_PLAIN);
          expect(summary).not.toMatch(NOT_PLAIN);
          expect(fix.text).not.toMatch(DEV_CODES);
          expect(summary).not.toMatch(DEV_CODES);
          expect(fix.text).not.toMatch(/\$\{|\s{2,}/);
          expect(summary).not.toMatch(/\$\{|\s{2,}/);
        });
      }

      it(`gives a fitting action (${EXPECTED_ACTION[cause].join(' or ')})`, () => {
        expect(EXPECTED_ACTION[cause]).toContain(fixFor(cause, FULL).action);
        // The action does not depend on the names filled in.
        expect(fixFor(cause, {}).action).toBe(fixFor(cause, FULL).action);
      });
    });
  }

  it('fills in the names and counts it is given', () => {
    expect(summaryFor('password-changed', FULL)).toBe("Jane Doe's Xero password probably changed — 2 apps, 41 organisations");
    expect(summaryFor('password-changed', { who: 'Jane Doe', appCount: 1, orgCount: 1 })).toBe("Jane Doe's Xero password probably changed — 1 app, 1 organisation");
    expect(fixFor('password-changed', FULL).text).toContain('Jane Doe');
    expect(summaryFor('app-disconnected-in-org', FULL)).toBe('Practice Sync was disconnected in Harbour Bakery Ltd');
    expect(fixFor('app-disconnected-in-org', FULL).text).toContain('Harbour Bakery Ltd');
    expect(fixFor('credentials-rotated', FULL).text).toContain('Practice Sync');
    expect(summaryFor('clock-skew', FULL)).toContain('7 minutes');
    expect(fixFor('role-restricted', FULL).text).toContain('Jane Doe');
  });

  it('falls back to neutral words when names are unknown', () => {
    expect(summaryFor('password-changed', {})).toMatch(/^A staff member's/);
    expect(fixFor('staff-removed', {}).text).toContain('the staff member');
    expect(summaryFor('app-deleted', {})).toMatch(/^An app/);
  });

  it('transient causes never tell anyone to reconnect', () => {
    for (const cause of ['rate-limited', 'provider-outage', 'network'] as const) {
      const fix = fixFor(cause, FULL);
      expect(fix.action).toBe('wait');
      expect(fix.text.toLowerCase()).not.toContain('reconnect');
    }
  });

  it('findings from real scenarios: summaries and fixes in plain words, while evidence keeps the codes', () => {
    const w = new World();
    w.app('practice-sync', { createdBy: 'u-ann' });
    w.app('receipts-bridge');
    w.person('u-jane', 'Jane Doe');
    w.person('u-bob', 'Bob Smith');
    w.person('u-ann', 'Ann Lee', { status: 'removed' });
    w.person('u-kim', 'Kim Park');
    const a = w.orgs('a', 6);
    const jane1 = w.grantWith('practice-sync', 'u-jane', a.slice(0, 3));
    const jane2 = w.grantWith('receipts-bridge', 'u-jane', a.slice(2, 5));
    const bob = w.grantWith('receipts-bridge', 'u-bob', a.slice(3));
    const kim = w.grantWith('receipts-bridge', 'u-kim', ['a-1']);
    w.revoke(jane1.grant.id, ago(HOUR));
    w.revoke(jane2.grant.id, ago(HOUR));
    w.vanish(bob.connections[0]!.id);
    w.updateConnection(bob.connections[1]!.id, { lastApiFailure: failure('insufficient-scope') });
    w.updateConnection(kim.connections[0]!.id, { lastApiFailure: failure('role-restricted') });
    const r = assessHealth(w.input());
    expect(r.findings.length).toBeGreaterThanOrEqual(4);
    for (const f of r.findings) {
      expect(f.summary, f.key).not.toMatch(NOT_PLAIN);
      expect(f.summary, f.key).not.toMatch(DEV_CODES);
      expect(f.fix.text, f.key).not.toMatch(NOT_PLAIN);
      expect(f.fix.text, f.key).not.toMatch(DEV_CODES);
      for (const e of f.evidence) expect(e, f.key).not.toMatch(NOT_PLAIN);
    }
    const pw = r.findings.find((f) => f.cause === 'password-changed')!;
    expect(pw.evidence.join(' ')).toContain('invalid_grant');
    for (const v of [...Object.values(r.grants), ...Object.values(r.connections)]) {
      if (v.fix) {
        expect(v.fix.text).not.toMatch(NOT_PLAIN);
        expect(v.fix.text).not.toMatch(DEV_CODES);
      }
    }

    // And the app-level causes, with the app's creator removed.
    const w2 = new World();
    w2.app('practice-sync', { createdBy: 'ann.lee@firm.example' });
    w2.person('u-ann', 'Ann Lee', { status: 'removed' });
    w2.person('u-jane', 'Jane Doe');
    const g = w2.grantWith('practice-sync', 'u-jane', ['a-1'], {
      refreshTokenIssuedAt: iso(NOW - 70 * DAY),
      lastRefreshAt: iso(NOW - 70 * DAY),
    });
    w2.revoke(g.grant.id, ago(5 * MINUTE), 'invalid-client');
    w2.clockSkewMs = -9 * MINUTE;
    for (const f of assessHealth(w2.input()).findings) {
      expect(f.summary, f.key).not.toMatch(DEV_CODES);
      expect(f.fix.text, f.key).not.toMatch(DEV_CODES);
      expect(f.fix.text, f.key).not.toMatch(NOT_PLAIN);
    }
  });
});
