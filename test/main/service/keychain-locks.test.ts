import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryKeychain } from '../../../main/secrets/memory-keychain.js';
import { WRITABLE_FRESH_MS } from '../../../main/secrets/vault.js';
import { createHarness, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { until } from '../../support/relink-cli.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * A keychain that locks (or loses an entry) while Relink runs, against the sandbox: the keychain is the
 * in-memory one so that it can lock at an exact moment — between Xero's answer and the save. The same story
 * against the real gnome-keyring, locked and unlocked during `relink run`, is test/main/cli/keychain-lock.test.ts.
 *
 * Xero's grace for a rotated-out token is set to 0 here, so a token Relink failed to keep would be refused at
 * once: a check that succeeds afterwards proves the token it saved is the one Xero issued last.
 */

const sb = useSandbox({ resetEachTest: true });
let h: Harness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

/** A fetch that counts token requests and can lock the keychain the moment Xero's answer arrives. */
function tokenSpy(keychain: MemoryKeychain) {
  const spy = {
    requests: 0,
    lockOnAnswer: false,
    fetch: (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const response = await fetch(input, init);
      if (new URL(url).pathname === '/connect/token') {
        spy.requests++;
        if (spy.lockOnAnswer) keychain.state = 'locked';
      }
      return response;
    }) as typeof fetch,
  };
  return spy;
}

async function connected(keychain: MemoryKeychain, spy: ReturnType<typeof tokenSpy>) {
  h = createHarness(sb, { keychain, fetch: spy.fetch });
  await sb.control('PUT', '/sandbox/settings', { graceSeconds: 0 });
  const firm = await sandboxFirm(sb, 2);
  const service = await h.open({ keychainReprobeMs: 100 });
  const app = await h.addApp(service, await sandboxApp(sb));
  const { grantId } = await h.connect(service, app, firm.userId, firm.tenantIds);
  const stored = () => {
    const raw = keychain.peek(h!.keychainService, `grant:${grantId}`);
    return raw === undefined ? undefined : (JSON.parse(raw) as { rt: string }).rt;
  };
  const markers = () => fs.readdirSync(path.join(h!.dataDir, 'refresh-journal')).filter((f) => f.endsWith('.json'));
  return { service, grantId, stored, markers, app, firm };
}

describe('service: a keychain that locks while Relink runs', () => {
  it('a rotated token whose save fails is held, nothing more is sent, and it is saved by itself once the keychain unlocks', async () => {
    const keychain = new MemoryKeychain();
    const spy = tokenSpy(keychain);
    const { service, stored, markers } = await connected(keychain, spy);
    const before = stored();

    spy.lockOnAnswer = true;
    const sent = spy.requests;
    await expect(service.check()).resolves.toMatchObject({ refreshed: 0, transient: 1, revoked: 0 });
    expect(spy.requests).toBe(sent + 1);
    // Xero rotated the token; the keychain still holds the old one, now dead; the marker stays.
    expect(stored()).toBe(before);
    expect(markers()).toHaveLength(1);
    // The live state, not the one found at start.
    expect(service.keychainState).toBe('locked');
    expect(service.status().keychain).toBe('locked');
    expect(service.status().grants[0]).toMatchObject({ health: 'unverified', cause: 'keychain-unavailable' });

    // While it is locked nothing is sent for the grant.
    await expect(service.check()).rejects.toMatchObject({ code: 'keychain' });
    expect(spy.requests).toBe(sent + 1);

    // Unlocked: Relink notices within its probe interval and saves the held token, without anyone asking.
    spy.lockOnAnswer = false;
    keychain.state = 'available';
    await until('the held token to be saved', () => stored() !== before, 5_000);
    expect(service.keychainState).toBe('available');
    await until('the journal marker to be cleared', () => markers().length === 0, 5_000);
    expect(spy.requests).toBe(sent + 1);

    // What it saved is the token Xero issued last: with no grace, any other would now be refused.
    await expect(service.check()).resolves.toMatchObject({ refreshed: 1, transient: 0, revoked: 0 });
    expect(service.status().grants[0]).toMatchObject({ health: 'healthy' });
    expect(service.status().incidents).toEqual([]);
  });

  it(`a keychain locked since the last call is found out before a refresh is sent (after ${WRITABLE_FRESH_MS / 1000} s)`, async () => {
    const keychain = new MemoryKeychain();
    const spy = tokenSpy(keychain);
    const { service, stored } = await connected(keychain, spy);
    // One good refresh: the refresher now knows the stored token and need not read the keychain for the next.
    await expect(service.check()).resolves.toMatchObject({ refreshed: 1 });
    const before = stored();
    const sent = spy.requests;

    keychain.state = 'locked';
    await new Promise((r) => setTimeout(r, WRITABLE_FRESH_MS + 100));
    await expect(service.check()).resolves.toMatchObject({ refreshed: 0, transient: 1 });
    expect(spy.requests).toBe(sent); // nothing went to Xero
    expect(service.keychainState).toBe('locked');
    keychain.state = 'available';
    await until('the keychain to be noticed unlocked', () => service.keychainState === 'available', 5_000);
    await expect(service.check()).resolves.toMatchObject({ refreshed: 1, revoked: 0 });
    expect(stored()).not.toBe(before);
  });

  it('an entry deleted from a working keychain is its own state: needs reconnecting (key missing), not "unlock the keychain"', async () => {
    const keychain = new MemoryKeychain();
    const spy = tokenSpy(keychain);
    const { service, grantId, app, firm } = await connected(keychain, spy);
    keychain.entries.delete(`${h!.keychainService}\0grant:${grantId}`);
    const sent = spy.requests;

    await expect(service.check()).resolves.toMatchObject({ refreshed: 0, transient: 1, revoked: 0 });
    expect(spy.requests).toBe(sent);
    const st = service.status();
    expect(st.keychain).toBe('available');
    expect(st.grants[0]).toMatchObject({ id: grantId, health: 'needs-reconnect', cause: 'key-missing' });
    expect(st.connections.every((c) => c.health === 'needs-reconnect' && c.cause === 'key-missing')).toBe(true);
    expect(st.incidents).toEqual([
      expect.objectContaining({ cause: 'key-missing', confidence: 'confirmed', connectionCount: 2, fix: expect.objectContaining({ action: 'reconnect' }) }),
    ]);
    expect(st.incidents[0]!.summary).toMatch(/gone from this computer's keychain/);
    expect(st.incidents.map((i) => i.cause)).not.toContain('keychain-unavailable');

    // The fix it names works: reconnecting stores a new key, and nothing is left broken.
    await h!.connect(service, app, firm.userId, firm.tenantIds);
    await expect(service.check()).resolves.toMatchObject({ transient: 0, revoked: 0 });
    const after = service.status();
    expect(after.connections.filter((c) => c.health !== 'healthy')).toEqual([]);
    expect(after.incidents).toEqual([]);
  });
});
