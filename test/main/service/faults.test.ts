import { afterEach, describe, expect, it } from 'vitest';
import { FAULT_KINDS } from '../../../main/sandbox/xero/faults.js';
import { createHarness, HAS_SECRET_SERVICE, NO_KEYCHAIN, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * Transient trouble never breaks a grant (DESIGN.md §4 "rate-limited, provider-outage, network — never marks a
 * grant broken"): every fault kind of the sandbox on the token endpoint, `/connections` and the accounting API
 * leaves grants healthy or degraded, and the next check after the fault is gone is healthy again. Then the
 * lost refresh response (security-anchors H4): retried with the same token inside Xero's grace window.
 */

/** Short enough that `timeout` faults cost well under a second; generous for a loopback round trip. */
const PROVIDER_TIMEOUT_MS = 400;
/** How long the sandbox holds a `timeout` / `drop-response` socket: longer than the provider timeout. */
const HANG_SECONDS = 1;

describe('service: sandbox faults → healthy or degraded, never broken', () => {
  const sb = useSandbox({ resetEachTest: true });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  async function connected(type: 'pkce' | 'web' = 'pkce') {
    h = createHarness(sb, { timeoutMs: PROVIDER_TIMEOUT_MS });
    await sb.control('PUT', '/sandbox/settings', { hangSeconds: HANG_SECONDS });
    const firm = await sandboxFirm(sb, 2);
    const sbApp = await sandboxApp(sb, { type });
    const service = await h.open();
    const app = await h.addApp(service, sbApp);
    const report = await h.connect(service, app, firm.userId, firm.tenantIds);
    return { service, app, firm, sbApp, grantId: report.grantId };
  }

  for (const target of ['token', 'connections', 'api'] as const) {
    for (const kind of FAULT_KINDS) {
      it.skipIf(!HAS_SECRET_SERVICE)(`${kind} on ${target} → healthy or degraded; healthy again once it clears${NO_KEYCHAIN}`, async () => {
        const { service, grantId } = await connected();
        await sb.control('POST', '/sandbox/faults', { target, kind, count: 1 });

        const summary = await service.check();
        // The fault really fired (it is used up), and no grant was marked broken.
        await expect(sb.control('GET', '/sandbox/faults')).resolves.toEqual({ faults: [] });
        expect(summary.revoked + summary.appRejected).toBe(0);
        const st = service.status();
        const grant = st.grants.find((g) => g.id === grantId)!;
        expect(['healthy', 'degraded']).toContain(grant.health);
        for (const c of st.connections) expect(['healthy', 'degraded']).toContain(c.health);
        expect(st.incidents.filter((i) => !['rate-limited', 'provider-outage', 'network'].includes(i.cause))).toEqual([]);
        // The refresh token is still there, and the sandbox still has the family alive.
        await expect(service.vault.readGrant(grantId)).resolves.toMatchObject({ refreshToken: expect.any(String) });

        // What each fault does to the grant, where the outcome is certain.
        const lostThenRetried = kind === 'timeout' || kind === 'drop-response' || kind === 'reset';
        if (target === 'token' && lostThenRetried) {
          // No answer (or a cut one): retried at once with the same token, inside the grace window.
          expect(grant).toMatchObject({ health: 'healthy' });
          expect(summary.refreshed).toBe(1);
        } else if (target === 'token') {
          // An answered 5xx / HTML / 429: nothing rotated, the grant waits and retries.
          expect(grant).toMatchObject({ health: 'degraded', cause: kind === 'rate-limit' ? 'rate-limited' : 'provider-outage' });
          expect(summary.transient).toBe(1);
        } else if (target === 'connections') {
          // The token refreshed, but /connections could not be read.
          const cause = kind === 'rate-limit' ? 'rate-limited' : lostThenRetried ? 'network' : 'provider-outage';
          expect(grant).toMatchObject({ health: 'degraded', cause });
          if (kind === 'timeout' || kind === 'drop-response') expect(grant.lastFailure).toMatch(/no answer within 0\.4 s/);
        } else {
          // An outage on one organisation's API says nothing about access to it: not recorded at all.
          expect(grant).toMatchObject({ health: 'healthy' });
          expect(st.connections.every((c) => c.health === 'healthy')).toBe(true);
        }

        await sb.control('DELETE', '/sandbox/faults');
        const after = await service.check();
        expect(after).toMatchObject({ refreshed: 1, transient: 0, revoked: 0, appRejected: 0, probed: 1 });
        const healed = service.status();
        expect(healed.grants.map((g) => [g.health, g.lastFailure])).toEqual([['healthy', null]]);
        expect(healed.connections.map((c) => c.health)).toEqual(['healthy', 'healthy']);
        expect(healed.incidents).toEqual([]);
      });
    }
  }

  it.skipIf(!HAS_SECRET_SERVICE)(`a lost refresh response is retried with the same token inside the grace window: healthy, the family still active${NO_KEYCHAIN}`, async () => {
    const { service, grantId, sbApp, firm } = await connected('web');
    const before = await service.vault.readGrant(grantId);
    await sb.control('POST', '/sandbox/faults', { target: 'token', kind: 'drop-response', count: 1 });

    const summary = await service.check();
    expect(summary).toMatchObject({ refreshed: 1, transient: 0, revoked: 0 });
    const st = service.status();
    expect(st.grants[0]).toMatchObject({ id: grantId, health: 'healthy', cause: null });
    expect(st.connections.every((c) => c.health === 'healthy')).toBe(true);

    // The stored token moved on (the retry's answer arrived) and the replaced one is kept as `previous`.
    const after = await service.vault.readGrant(grantId);
    expect(after?.refreshToken).not.toBe(before?.refreshToken);
    expect(after?.previous).toBe(before?.refreshToken);
    // No write-ahead marker is left behind.
    await expect(service.journal.list()).resolves.toMatchObject({ markers: [] });

    const state = await sb.control('GET', '/sandbox/state');
    const families = state.grants.filter((g: { clientId: string; userId: string }) => g.clientId === sbApp.clientId && g.userId === firm.userId);
    expect(families).toHaveLength(1);
    expect(families[0]).toMatchObject({ revokedAt: null, revokedReason: null });

    // And the chain keeps working.
    await expect(service.check()).resolves.toMatchObject({ refreshed: 1, revoked: 0 });
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`a lost refresh response with NO grace window (graceSeconds 0) → needs-reconnect: the only live token was in the lost answer${NO_KEYCHAIN}`, async () => {
    const { service, grantId, sbApp, firm } = await connected('pkce');
    await sb.control('PUT', '/sandbox/settings', { graceSeconds: 0 });
    await sb.control('POST', '/sandbox/faults', { target: 'token', kind: 'drop-response', count: 1 });

    const summary = await service.check();
    // The lost request rotated the token; the retry presents the old one, which Xero refuses at once
    // (invalid_grant, re-read under the lock: nobody else stored a newer one). The successor token exists
    // only in the answer that never arrived, so nothing Relink holds can refresh this grant any more —
    // marking it broken is the honest outcome, and a reconnect is the fix.
    expect(summary).toMatchObject({ revoked: 1, refreshed: 0 });
    const st = service.status();
    expect(st.grants[0]).toMatchObject({ id: grantId, health: 'needs-reconnect', lastFailure: expect.stringContaining('invalid_grant') });
    expect(st.connections.every((c) => c.health === 'needs-reconnect')).toBe(true);

    // Xero's side agrees: the family is not revoked, it just moved on to a token nobody holds.
    const state = await sb.control('GET', '/sandbox/state');
    const family = state.grants.find((g: { clientId: string; userId: string }) => g.clientId === sbApp.clientId && g.userId === firm.userId);
    expect(family).toMatchObject({ revokedAt: null });
  });
});
