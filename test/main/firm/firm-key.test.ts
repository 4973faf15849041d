import { describe, expect, it } from 'vitest';
import { exportDevicePublicKey, generateDeviceKeyPair, importDevicePublicKey } from '../../../main/firm/device-keys.js';
import {
  firmKeyFromBytes,
  generateFirmKey,
  openSealedFirmKey,
  sealFirmKeyToDevice,
  type SealContext,
  type SealedFirmKey,
} from '../../../main/firm/firm-key.js';
import { expectNothingLeaks, thrown } from './leak-check.js';

const context: SealContext = { firmId: 'firm-harbour-finch', deviceId: 'device-reception-pc', keyVersion: 2 };

function flip(buf: Buffer, index: number): Buffer {
  const copy = Buffer.from(buf);
  copy[index] = copy[index]! ^ 0x80;
  return copy;
}

describe('the firm key', () => {
  it('is 32 random bytes in a KeyObject, and round-trips through its bytes', () => {
    const key = generateFirmKey();
    expect(key.symmetricKeySize).toBe(32);
    expect(firmKeyFromBytes(key.export()).equals(key)).toBe(true);
    expect(generateFirmKey().equals(key)).toBe(false);
    const e = thrown(() => firmKeyFromBytes(key.export().subarray(0, 16)));
    expect(e).toBeInstanceOf(TypeError);
    expectNothingLeaks(e, [key.export(), key.export().subarray(0, 16)]);
  });
});

describe('sealing the firm key to a desktop', () => {
  it('round-trips: the desktop it was sealed to opens it with its private key', () => {
    const firmKey = generateFirmKey();
    const device = generateDeviceKeyPair();
    const sealed = sealFirmKeyToDevice(firmKey, device.publicKey, context);
    expect(sealed.ephemeralPublicKey).toHaveLength(32);
    expect(sealed.nonce).toHaveLength(12);
    expect(sealed.keyVersion).toBe(2);
    expect(sealed.ciphertext.includes(firmKey.export())).toBe(false);
    const opened = openSealedFirmKey(device.privateKey, sealed, context);
    expect(opened.ok).toBe(true);
    if (opened.ok) {
      expect(opened.firmKey.equals(firmKey)).toBe(true);
      expect(opened.keyVersion).toBe(2);
    }
  });

  it('uses a fresh ephemeral key and nonce for every seal', () => {
    const firmKey = generateFirmKey();
    const device = generateDeviceKeyPair();
    const seals = Array.from({ length: 50 }, () => sealFirmKeyToDevice(firmKey, device.publicKey, context));
    expect(new Set(seals.map((s) => s.ephemeralPublicKey.toString('hex'))).size).toBe(50);
    expect(new Set(seals.map((s) => s.nonce.toString('hex'))).size).toBe(50);
    expect(new Set(seals.map((s) => s.ciphertext.toString('hex'))).size).toBe(50);
  });

  it('sealed to desktop A cannot be opened by desktop B ("wrong-device"), even if B forges the recipient', () => {
    const firmKey = generateFirmKey();
    const a = generateDeviceKeyPair();
    const b = generateDeviceKeyPair();
    const sealed = sealFirmKeyToDevice(firmKey, a.publicKey, context);
    const result = openSealedFirmKey(b.privateKey, sealed, context);
    expect(result).toMatchObject({ ok: false, reason: 'wrong-device' });
    expectNothingLeaks(result, [firmKey.export()]);
    // B rewrites the recipient field to its own key: the derivation and the tag still refuse.
    const forged: SealedFirmKey = {
      ...sealed,
      ciphertext: Buffer.concat([sealed.ciphertext.subarray(0, 1), exportDevicePublicKey(b.publicKey), sealed.ciphertext.subarray(33)]),
    };
    expect(openSealedFirmKey(b.privateKey, forged, context)).toMatchObject({ ok: false });
  });

  it('is bound to the firm, the device id and the key version ("wrong-binding")', () => {
    const firmKey = generateFirmKey();
    const device = generateDeviceKeyPair();
    const sealed = sealFirmKeyToDevice(firmKey, device.publicKey, context);
    for (const other of [
      { ...context, firmId: 'firm-other' },
      { ...context, deviceId: 'device-partner-laptop' },
      { ...context, keyVersion: 3 },
    ]) {
      expect(openSealedFirmKey(device.privateKey, sealed, other), JSON.stringify(other)).toMatchObject({ ok: false, reason: 'wrong-binding' });
    }
    // The stored key version rewritten to match a newer one: still refused.
    expect(openSealedFirmKey(device.privateKey, { ...sealed, keyVersion: 3 }, { ...context, keyVersion: 3 })).toMatchObject({
      ok: false,
      reason: 'wrong-binding',
    });
  });

  it('refuses any flipped byte and malformed fields as values ("tampered" for the encrypted key, nonce and tag)', () => {
    const firmKey = generateFirmKey();
    const device = generateDeviceKeyPair();
    const sealed = sealFirmKeyToDevice(firmKey, device.publicKey, context);
    for (let i = 0; i < sealed.ciphertext.length; i++) {
      expect(openSealedFirmKey(device.privateKey, { ...sealed, ciphertext: flip(sealed.ciphertext, i) }, context).ok, `byte ${i}`).toBe(false);
    }
    for (const i of [49, 60, 80, 96]) {
      expect(openSealedFirmKey(device.privateKey, { ...sealed, ciphertext: flip(sealed.ciphertext, i) }, context)).toMatchObject({ reason: 'tampered' });
    }
    expect(openSealedFirmKey(device.privateKey, { ...sealed, nonce: flip(sealed.nonce, 0) }, context)).toMatchObject({ reason: 'tampered' });
    expect(openSealedFirmKey(device.privateKey, { ...sealed, ephemeralPublicKey: flip(sealed.ephemeralPublicKey, 3) }, context)).toMatchObject({ reason: 'tampered' });
    expect(openSealedFirmKey(device.privateKey, { ...sealed, ephemeralPublicKey: Buffer.alloc(32) }, context)).toMatchObject({ reason: 'tampered' });
    expect(openSealedFirmKey(device.privateKey, { ...sealed, ephemeralPublicKey: Buffer.alloc(5) }, context)).toMatchObject({ reason: 'tampered' });
    expect(openSealedFirmKey(device.privateKey, { ...sealed, ciphertext: sealed.ciphertext.subarray(1) }, context)).toMatchObject({ reason: 'tampered' });
    expect(openSealedFirmKey(device.privateKey, null as never, context)).toMatchObject({ reason: 'tampered' });
  });

  it('refuses to seal to a low-order public key (an all-zero shared secret) with an error showing no key', () => {
    const firmKey = generateFirmKey();
    const imported = importDevicePublicKey(Buffer.alloc(32));
    if (!imported.ok) throw new Error('the all-zero point should import');
    const lowOrder = imported.key;
    const error = thrown(() => sealFirmKeyToDevice(firmKey, lowOrder, context));
    expect(error).toBeInstanceOf(Error);
    expectNothingLeaks(error, [firmKey.export()]);
  });

  it('throws for programming errors with messages that show no key', () => {
    const firmKey = generateFirmKey();
    const device = generateDeviceKeyPair();
    const errors = [
      thrown(() => sealFirmKeyToDevice(firmKey.export() as never, device.publicKey, context)),
      thrown(() => sealFirmKeyToDevice(firmKey, device.privateKey, context)),
      thrown(() => sealFirmKeyToDevice(firmKey, device.publicKey, { ...context, firmId: '' })),
      thrown(() => sealFirmKeyToDevice(firmKey, device.publicKey, { ...context, keyVersion: 0 })),
      thrown(() => openSealedFirmKey(device.publicKey, sealFirmKeyToDevice(firmKey, device.publicKey, context), context)),
    ];
    for (const e of errors) {
      expect(e).toBeInstanceOf(Error);
      expectNothingLeaks(e, [firmKey.export()]);
    }
  });
});

