import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { KeychainError } from '../../../main/secrets/keychain.js';
import { CALLS_PER_COLLECTION, ThreadedKeychain } from '../../../main/secrets/threaded-keychain.js';
import { KeychainVault } from '../../../main/secrets/vault.js';
import { SystemClock } from '../../../main/core/clock.js';

/**
 * The worker-thread keychain the CLI and the engine use: the same real Secret Service as NapiKeychain, with
 * the calls off the main thread. Needs gnome-keyring (bash .ci/with-keyring.sh); reports itself skipped
 * without one.
 */
const hasSecretService = process.platform === 'linux' && Boolean(process.env.DBUS_SESSION_BUS_ADDRESS);
const REAL = hasSecretService ? '' : ' [SKIPPED: no Secret Service — run via `bash .ci/with-keyring.sh npx vitest run`]';

describe('ThreadedKeychain', () => {
  const keychain = new ThreadedKeychain(2);
  const service = `relink-test-threaded-${randomBytes(4).toString('hex')}`;
  afterAll(() => keychain.close());

  it.skipIf(!hasSecretService)(`round-trips, overwrites and deletes through the workers${REAL}`, async () => {
    expect(await keychain.get(service, 'a')).toBeNull();
    await keychain.set(service, 'a', 'first');
    await keychain.set(service, 'a', 'second');
    expect(await keychain.get(service, 'a')).toBe('second');
    expect(await keychain.delete(service, 'a')).toBe(true);
    expect(await keychain.delete(service, 'a')).toBe(false);
    expect(await keychain.get(service, 'a')).toBeNull();
  });

  it.skipIf(!hasSecretService)(`keeps concurrent calls for different accounts apart${REAL}`, async () => {
    const accounts = Array.from({ length: 12 }, (_, i) => `acct-${i}`);
    await Promise.all(accounts.map((a) => keychain.set(service, a, `value-${a}`)));
    const values = await Promise.all(accounts.map((a) => keychain.get(service, a)));
    expect(values).toEqual(accounts.map((a) => `value-${a}`));
    await Promise.all(accounts.map((a) => keychain.delete(service, a)));
  });

  it.skipIf(!hasSecretService)(`backs a vault whose canary probe passes${REAL}`, async () => {
    const vault = new KeychainVault(keychain, service, new SystemClock());
    expect(await vault.probe()).toBe('available');
    await vault.saveInitial('g1', 'rt-one');
    await vault.saveRotated('g1', 'rt-two', 'rt-one');
    expect(await vault.readGrant('g1')).toMatchObject({ refreshToken: 'rt-two', previous: 'rt-one' });
    await vault.deleteGrant('g1');
  });

  it.skipIf(!hasSecretService)(`does not keep a socket open per call: 400 calls leave the descriptor count flat${REAL}`, async () => {
    // Each library call holds a D-Bus connection until its entry is garbage-collected; the workers collect
    // every few calls. Without that, this count grows by one per call (≈400 here) and a long-running Relink
    // hits the 1,024-descriptor limit, where libdbus spins at 100% CPU.
    const open = () => readdirSync('/proc/self/fd').length;
    await keychain.set(service, 'fd', 'x');
    const before = open();
    for (let i = 0; i < 200; i++) {
      await keychain.set(service, 'fd', `v${i}`);
      await keychain.get(service, 'fd');
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(open() - before).toBeLessThan(4 * CALLS_PER_COLLECTION + 10);
    await keychain.delete(service, 'fd');
  });

  it('refuses calls after close with a KeychainError, never a silent null', async () => {
    const closed = new ThreadedKeychain(1);
    await closed.close();
    await expect(closed.get(service, 'x')).rejects.toBeInstanceOf(KeychainError);
  });
});
