import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { KeychainError } from '../../../main/secrets/keychain.js';
import { ThreadedKeychain } from '../../../main/secrets/threaded-keychain.js';
import { SecretVault } from '../../../main/secrets/vault.js';
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
    const vault = new SecretVault(keychain, service, new SystemClock());
    expect(await vault.probe()).toBe('available');
    await vault.saveInitial('g1', 'rt-one');
    await vault.saveRotated('g1', 'rt-two', 'rt-one');
    expect(await vault.readGrant('g1')).toMatchObject({ refreshToken: 'rt-two', previous: 'rt-one' });
    await vault.deleteGrant('g1');
  });

  it('refuses calls after close with a KeychainError, never a silent null', async () => {
    const closed = new ThreadedKeychain(1);
    await closed.close();
    await expect(closed.get(service, 'x')).rejects.toBeInstanceOf(KeychainError);
  });
});
