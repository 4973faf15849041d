import { describe, expect, it } from 'vitest';
import type { App, Grant } from '../../../shared/domain.js';
import type { TokenCallOutcome } from '../../../main/oauth/token-outcome.js';
import { AccessTokenCache } from '../../../main/refresh/access-tokens.js';
import { Refresher, type RefreshVault, type StoredToken, type TokenRefresher } from '../../../main/refresh/refresher.js';
import { SingleFlight } from '../../../main/refresh/single-flight.js';
import { KeychainError } from '../../../main/secrets/keychain.js';
import { classifyTokenOutcome } from '../../../main/providers/xero/errors.js';
import { ManualClock } from '../../support/manual-clock.js';

/**
 * The refresher alone, on fakes behind its ports (vault, journal, generation stamps, lock, store, token client)
 * and the manual clock: what it sends, what it saves, what it holds, and what it marks — the rotation rules of
 * security-anchors §3 without a keychain or a sandbox. The same rules against the real gnome-keyring and the
 * sandbox: test/main/service/keychain-locks.test.ts, test/main/cli/keychain-lock.test.ts, crash-and-concurrency.
 */

const T0 = Date.parse('2026-03-01T09:00:00.000Z');

function ok(clock: ManualClock, refreshToken: string | null, accessToken = `at-${refreshToken}`): TokenCallOutcome {
  return {
    ok: true,
    tokens: { accessToken, refreshToken, idToken: null, expiresIn: 1800, scope: [] },
    response: { status: 200, headers: {}, bodyExcerpt: '', oauthError: null },
    receivedAt: clock.now(),
  };
}

const invalidGrant: TokenCallOutcome = {
  ok: false,
  stage: 'answered',
  response: { status: 400, headers: { 'content-type': 'application/json' }, bodyExcerpt: '{"error":"invalid_grant"}', oauthError: 'invalid_grant' },
  networkError: null,
};
const lost: TokenCallOutcome = { ok: false, stage: 'sent-unknown', response: null, networkError: 'ECONNRESET' };

/** A keychain vault that can lock, refuse writes, or change under the refresher (another process). */
class FakeVault implements RefreshVault {
  rt: string | null = 'rt-0';
  locked = false;
  failWrites = false;
  readonly saved: string[] = [];
  async readGrant(): Promise<StoredToken | null> {
    if (this.locked) throw new KeychainError('locked', 'locked');
    return this.rt === null ? null : { refreshToken: this.rt };
  }
  async saveRotated(_grantId: string, next: string): Promise<void> {
    if (this.locked) throw new KeychainError('locked', 'locked');
    if (this.failWrites) throw new KeychainError('failed', 'the read-back did not match');
    this.rt = next;
    this.saved.push(next);
  }
  async ensureWritable(): Promise<void> {
    if (this.locked) throw new KeychainError('locked', 'locked');
  }
  async probe(): Promise<string> {
    return this.locked ? 'locked' : 'available';
  }
}

function setup() {
  const clock = new ManualClock({ now: T0 });
  const iso = new Date(T0).toISOString();
  const app = { id: 'app', name: 'App', authType: 'pkce' } as App;
  const grant: Grant = {
    id: 'g1',
    appId: app.id,
    staffId: 'jane',
    scopes: [],
    authEventIds: [],
    connectedAt: iso,
    refreshTokenIssuedAt: iso,
    lastRefreshAt: iso,
    lastProbeAt: iso,
    consecutiveFailures: 0,
    lastFailure: null,
    state: 'active',
    stateSince: iso,
  };
  const vault = new FakeVault();
  const markers = new Set<string>();
  let generation = 0;
  const sent: string[] = [];
  const answers: Array<TokenCallOutcome | ((token: string) => TokenCallOutcome)> = [];
  const client: TokenRefresher = {
    async refresh(token) {
      sent.push(token);
      const next = answers.shift();
      if (!next) throw new Error(`unexpected refresh with ${token}`);
      return typeof next === 'function' ? next(token) : next;
    },
  };
  const accessTokens = new AccessTokenCache(clock);
  const refresher = new Refresher({
    clock,
    vault,
    journal: {
      begin: async (id) => void markers.add(id),
      end: async (id) => void markers.delete(id),
    },
    generations: {
      generation: async () => String(generation),
      bumpGeneration: async () => String(++generation),
    },
    lock: { withLock: (_id, fn) => fn() },
    flights: new SingleFlight(),
    grants: {
      freshGrant: async () => grant,
      app: () => app,
      updateGrant: async (_id, change) => change(grant),
    },
    accessTokens,
    clientFor: async () => client,
    classify: (_app, outcome, now) => classifyTokenOutcome(outcome, now),
  });
  return { clock, grant, vault, markers, sent, answers, refresher, accessTokens, bumpElsewhere: () => ++generation };
}

describe('Refresher', () => {
  it('a rotated token is saved and read back before its access token is used; the marker is cleared', async () => {
    const { clock, vault, markers, sent, answers, refresher, accessTokens } = setup();
    answers.push(ok(clock, 'rt-1'));
    await expect(refresher.refresh('g1')).resolves.toMatchObject({ kind: 'refreshed' });
    expect(sent).toEqual(['rt-0']);
    expect(vault.saved).toEqual(['rt-1']);
    expect(markers.size).toBe(0);
    expect(accessTokens.get('g1')).toBe('at-rt-1');
  });

  it('a lost answer is retried at once with the same token (Xero’s grace), the marker kept until it lands', async () => {
    const { clock, vault, markers, sent, answers, refresher } = setup();
    answers.push(lost, ok(clock, 'rt-1'));
    await expect(refresher.refresh('g1')).resolves.toMatchObject({ kind: 'refreshed' });
    expect(sent).toEqual(['rt-0', 'rt-0']);
    expect(vault.rt).toBe('rt-1');
    expect(markers.size).toBe(0);

    // Lost every time: transient, never broken, and the marker stays for a restart inside the grace window.
    const again = setup();
    again.answers.push(lost, lost, lost);
    await expect(again.refresher.refresh('g1')).resolves.toMatchObject({ kind: 'transient', failure: { kind: 'timeout' } });
    expect(again.sent).toEqual(['rt-0', 'rt-0', 'rt-0']);
    expect(again.markers.has('g1')).toBe(true);
    expect(again.grant.state).toBe('active');
  });

  it('a save that fails holds the rotated token: nothing more is sent, and the next try saves it first', async () => {
    const { clock, vault, markers, sent, answers, refresher, accessTokens, grant } = setup();
    answers.push(ok(clock, 'rt-1'));
    vault.failWrites = true;
    await expect(refresher.refresh('g1')).resolves.toMatchObject({ kind: 'transient', failure: { kind: 'keychain' } });
    expect(refresher.heldGrants).toEqual(['g1']);
    expect(vault.rt).toBe('rt-0');
    expect(markers.has('g1')).toBe(true); // after a crash the old token still works inside the grace window
    expect(accessTokens.get('g1')).toBeUndefined(); // not used before it is saved
    expect(grant.state).toBe('active');

    // Still failing: tried again, still held, and still nothing sent to Xero.
    await expect(refresher.refresh('g1')).resolves.toMatchObject({ kind: 'transient' });
    expect(sent).toEqual(['rt-0']);

    vault.failWrites = false;
    clock.advance(60_000);
    await expect(refresher.saveHeld()).resolves.toEqual([expect.objectContaining({ kind: 'refreshed' })]);
    expect(sent).toEqual(['rt-0']); // saved, not refreshed again
    expect(vault.saved).toEqual(['rt-1']);
    expect(refresher.heldGrants).toEqual([]);
    expect(markers.size).toBe(0);
    expect(accessTokens.get('g1')).toBe('at-rt-1'); // still inside its 30 minutes
  });

  it('a keychain locked before the send: nothing is sent at all, and nothing is marked', async () => {
    const { clock, vault, sent, answers, refresher, markers, grant } = setup();
    answers.push(ok(clock, 'rt-1'));
    await refresher.refresh('g1');
    // It knows the stored token (same generation), so it would not read the keychain: the pre-send check catches it.
    vault.locked = true;
    await expect(refresher.refresh('g1')).resolves.toMatchObject({ kind: 'transient', failure: { kind: 'keychain', detail: 'Could not write to the keychain (locked).' } });
    expect(sent).toEqual(['rt-0']);
    expect(markers.size).toBe(0);
    expect(grant.state).toBe('active');
  });

  it('no key in a working keychain is "key missing", not a keychain failure and not a Xero verdict', async () => {
    const { vault, sent, refresher, grant } = setup();
    vault.rt = null;
    await expect(refresher.refresh('g1')).resolves.toMatchObject({ kind: 'transient', failure: { kind: 'key-missing' } });
    expect(sent).toEqual([]);
    expect(grant.state).toBe('active');
  });

  it('invalid_grant after another process rotated the token: the refresher re-reads and uses theirs, never marks it broken', async () => {
    const { clock, vault, sent, answers, refresher, grant } = setup();
    // Another process rotated rt-0 → rt-9 meanwhile; Xero refuses rt-0 (past its grace), accepts rt-9.
    answers.push(() => {
      vault.rt = 'rt-9';
      return invalidGrant;
    }, ok(clock, 'rt-10'));
    await expect(refresher.refresh('g1')).resolves.toMatchObject({ kind: 'refreshed' });
    expect(sent).toEqual(['rt-0', 'rt-9']);
    expect(vault.rt).toBe('rt-10');
    expect(grant.state).toBe('active');

    // The same refusal with nothing new stored: Xero's verdict, recorded.
    const alone = setup();
    alone.answers.push(invalidGrant);
    await expect(alone.refresher.refresh('g1')).resolves.toMatchObject({ kind: 'revoked', failure: { kind: 'invalid-grant' } });
    expect(alone.grant.state).toBe('revoked');
    expect(alone.markers.size).toBe(0);
  });

  it('a moved generation stamp makes it read the keychain again; an unmoved one trusts what it saved', async () => {
    const { clock, vault, sent, answers, refresher, bumpElsewhere } = setup();
    answers.push(ok(clock, 'rt-1'), ok(clock, 'rt-2'), ok(clock, 'rt-3'));
    await refresher.refresh('g1');
    await refresher.refresh('g1');
    expect(sent).toEqual(['rt-0', 'rt-1']);
    // Another process stored rt-7 and moved the stamp: the next refresh must present rt-7, not what it remembers.
    vault.rt = 'rt-7';
    bumpElsewhere();
    await refresher.refresh('g1');
    expect(sent).toEqual(['rt-0', 'rt-1', 'rt-7']);
  });
});
