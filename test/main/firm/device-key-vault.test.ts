import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../main/core/clock.js';
import { forgetSecret, redactRegisteredSecrets } from '../../../main/core/redact.js';
import { decodeDevicePrivateKey, devicePublicKeyOf, encodeDevicePrivateKey, generateDeviceKeyPair } from '../../../main/firm/device-keys.js';
import { generateFirmKey, openSealedFirmKey, sealFirmKeyToDevice } from '../../../main/firm/firm-key.js';
import { KeychainError } from '../../../main/secrets/keychain.js';
import { MemoryKeychain } from '../../../main/secrets/memory-keychain.js';
import { NapiKeychain } from '../../../main/secrets/napi-keyring.js';
import { CorruptSecretError, DEVICE_KEY_ACCOUNT, KeychainVault } from '../../../main/secrets/vault.js';
import type { StoredDeviceKey } from '../../../main/store/ports.js';
import { expectNothingLeaks } from './leak-check.js';

/**
 * The vault's device-key methods: this desktop's X25519 private key in the keychain. The first block runs
 * against the REAL OS keychain (gnome-keyring through `bash .ci/with-keyring.sh npx vitest run …`) and reports
 * itself skipped without one; the second uses the in-memory keychain for the failure cases.
 */
const hasSecretService = process.platform === 'linux' && Boolean(process.env.DBUS_SESSION_BUS_ADDRESS);
const REAL = hasSecretService ? '' : ' [SKIPPED: no Secret Service — run via `bash .ci/with-keyring.sh npx vitest run`]';

function newDeviceKey(): { stored: StoredDeviceKey; pair: ReturnType<typeof generateDeviceKeyPair> } {
  const pair = generateDeviceKeyPair();
  return { pair, stored: { privateKey: encodeDevicePrivateKey(pair.privateKey), createdAt: new Date().toISOString() } };
}

describe('KeychainVault device key on the real keychain', () => {
  const keychain = new NapiKeychain();
  const service = `Relink-test-device-key-${process.pid}-${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    if (hasSecretService) await keychain.delete(service, DEVICE_KEY_ACCOUNT).catch(() => false);
  });

  it.skipIf(!hasSecretService)(`saves, reads back, replaces and deletes this desktop's key${REAL}`, async () => {
    const vault = new KeychainVault(keychain, service, new SystemClock());
    expect(await vault.probe()).toBe('available');
    await expect(vault.readDeviceKey()).resolves.toBeNull();

    const first = newDeviceKey();
    await vault.saveDeviceKey(first.stored);
    expect(JSON.parse((await keychain.get(service, DEVICE_KEY_ACCOUNT))!)).toEqual({
      v: 1,
      alg: 'X25519',
      pkcs8: first.stored.privateKey,
      createdAt: first.stored.createdAt,
    });
    const back = await vault.readDeviceKey();
    expect(back).toEqual(first.stored);

    // What it is for: the firm key sealed to this desktop opens with the key read back from the keychain.
    const firmKey = generateFirmKey();
    const context = { firmId: 'firm-1', deviceId: 'device-1', keyVersion: 1 };
    const sealed = sealFirmKeyToDevice(firmKey, first.pair.publicKey, context);
    const decoded = decodeDevicePrivateKey(back!.privateKey);
    if (!decoded.ok) throw new Error(decoded.message);
    const opened = openSealedFirmKey(decoded.key, sealed, context);
    expect(opened.ok && opened.firmKey.equals(firmKey)).toBe(true);

    // A fresh vault (another process) on the same keychain finds it too.
    const other = new KeychainVault(new NapiKeychain(), service, new SystemClock());
    expect(await other.readDeviceKey()).toEqual(first.stored);

    const second = newDeviceKey();
    await vault.saveDeviceKey(second.stored);
    expect(await vault.readDeviceKey()).toEqual(second.stored);
    const decodedSecond = decodeDevicePrivateKey((await vault.readDeviceKey())!.privateKey);
    expect(decodedSecond.ok && devicePublicKeyOf(decodedSecond.key).equals(second.pair.publicKey)).toBe(true);

    await expect(vault.deleteDeviceKey()).resolves.toBe(true);
    await expect(vault.readDeviceKey()).resolves.toBeNull();
    await expect(vault.deleteDeviceKey()).resolves.toBe(false);
  });

  it.skipIf(!hasSecretService)(`keeps the device key apart from grants and other profiles${REAL}`, async () => {
    const vault = new KeychainVault(keychain, service, new SystemClock());
    const otherProfile = new KeychainVault(keychain, `${service}-other`, new SystemClock());
    const { stored } = newDeviceKey();
    await vault.saveDeviceKey(stored);
    await vault.saveInitial('g1', 'rt-device-key-test-one');
    await expect(otherProfile.readDeviceKey()).resolves.toBeNull();
    await vault.deleteGrant('g1');
    await expect(vault.readDeviceKey()).resolves.toEqual(stored);
    await vault.deleteDeviceKey();
  });
});

describe('KeychainVault device key, failure cases (in-memory keychain)', () => {
  const SERVICE = 'Relink-test';
  const make = () => {
    const keychain = new MemoryKeychain();
    return { keychain, vault: new KeychainVault(keychain, SERVICE, new SystemClock()) };
  };

  it('makes the private key known to the redactor once saved or read', async () => {
    const { vault } = make();
    const { stored } = newDeviceKey();
    await vault.saveDeviceKey(stored);
    expect(redactRegisteredSecrets(`oops: ${stored.privateKey}`)).toBe('oops: [REDACTED]');

    // A process that only reads it (the next start of this desktop) registers it too.
    forgetSecret(stored.privateKey);
    expect(redactRegisteredSecrets(stored.privateKey)).toBe(stored.privateKey);
    await vault.readDeviceKey();
    expect(redactRegisteredSecrets(stored.privateKey)).toBe('[REDACTED]');
  });

  it('refuses to store a malformed key, with an error that does not quote it', async () => {
    const { vault, keychain } = make();
    const { stored } = newDeviceKey();
    for (const bad of [
      { ...stored, privateKey: `${stored.privateKey}!!` },
      { ...stored, privateKey: '' },
      { ...stored, createdAt: 'yesterday' },
      null as unknown as StoredDeviceKey,
    ]) {
      const error = await vault.saveDeviceKey(bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expectNothingLeaks(error, [stored.privateKey]);
    }
    expect(keychain.accounts(SERVICE)).toEqual([]);
  });

  it('reports a damaged entry as CorruptSecretError naming no part of it, and leaves it in place', async () => {
    const { vault, keychain } = make();
    const { stored } = newDeviceKey();
    for (const raw of ['not json', JSON.stringify({ v: 1, alg: 'RSA', pkcs8: stored.privateKey, createdAt: stored.createdAt }), JSON.stringify({ v: 1, alg: 'X25519', pkcs8: `${stored.privateKey}%`, createdAt: stored.createdAt })]) {
      keychain.poke(SERVICE, DEVICE_KEY_ACCOUNT, raw);
      const error = await vault.readDeviceKey().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptSecretError);
      expect((error as Error).message).toMatch(/remove this desktop from the firm and join it again/);
      expectNothingLeaks(error, [stored.privateKey]);
      expect(keychain.peek(SERVICE, DEVICE_KEY_ACCOUNT)).toBe(raw);
    }
  });

  it('says a locked keychain is locked instead of "no key"', async () => {
    const { vault, keychain } = make();
    keychain.state = 'locked';
    const error = await vault.readDeviceKey().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeychainError);
    expect((error as KeychainError).kind).toBe('locked');
  });

  it('refuses to report a save whose read-back differs', async () => {
    const { vault, keychain } = make();
    await vault.probe();
    keychain.state = 'fail-reads-as-null';
    const { stored } = newDeviceKey();
    const error = await vault.saveDeviceKey(stored).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeychainError);
    expectNothingLeaks(error, [stored.privateKey]);
  });
});
