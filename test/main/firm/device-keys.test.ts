import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeDevicePrivateKey,
  deviceKeyFingerprint,
  devicePublicKeyOf,
  encodeDevicePrivateKey,
  exportDevicePublicKey,
  generateDeviceKeyPair,
  importDevicePublicKey,
} from '../../../main/firm/device-keys.js';
import { expectNothingLeaks, thrown } from './leak-check.js';

describe('device key pairs', () => {
  it('exports the public key as exactly 32 raw bytes and imports it back to the same key', () => {
    const pair = generateDeviceKeyPair();
    const raw = exportDevicePublicKey(pair.publicKey);
    expect(raw).toHaveLength(32);
    const back = importDevicePublicKey(raw);
    expect(back.ok).toBe(true);
    if (back.ok) expect(back.key.equals(pair.publicKey)).toBe(true);
  });

  it('refuses public keys that are not 32 bytes, as a value', () => {
    for (const bad of [Buffer.alloc(0), Buffer.alloc(31), Buffer.alloc(33), 'abc' as unknown as Buffer]) {
      expect(importDevicePublicKey(bad)).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });

  it('keeps the private key as base64 PKCS#8 (64 characters) and decodes it back to the same key', () => {
    const pair = generateDeviceKeyPair();
    const text = encodeDevicePrivateKey(pair.privateKey);
    expect(text).toMatch(/^[A-Za-z0-9+/]{64}$/);
    const back = decodeDevicePrivateKey(text);
    expect(back.ok).toBe(true);
    if (back.ok) {
      expect(back.key.equals(pair.privateKey)).toBe(true);
      expect(devicePublicKeyOf(back.key).equals(pair.publicKey)).toBe(true);
    }
  });

  it('refuses a private key of another type or a damaged one, without quoting it', () => {
    const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const good = encodeDevicePrivateKey(generateDeviceKeyPair().privateKey);
    for (const bad of [ed, good.slice(0, 40), `${good}!`, '', 'not base64 at all']) {
      const result = decodeDevicePrivateKey(bad);
      expect(result).toMatchObject({ ok: false, reason: 'malformed' });
      if (bad) expectNothingLeaks(result, [bad]);
    }
  });

  it('refuses keys of the wrong kind with errors that show no key', () => {
    const pair = generateDeviceKeyPair();
    const priv = encodeDevicePrivateKey(pair.privateKey);
    const e1 = thrown(() => exportDevicePublicKey(pair.privateKey));
    const e2 = thrown(() => encodeDevicePrivateKey(pair.publicKey));
    for (const e of [e1, e2]) {
      expect(e).toBeInstanceOf(TypeError);
      expectNothingLeaks(e, [priv, exportDevicePublicKey(pair.publicKey)]);
    }
  });

  it('fingerprints a public key stably and distinctly', () => {
    const a = generateDeviceKeyPair();
    const b = generateDeviceKeyPair();
    expect(deviceKeyFingerprint(a.publicKey)).toMatch(/^[0-9a-f]{4}(-[0-9a-f]{4}){4}$/);
    expect(deviceKeyFingerprint(a.publicKey)).toBe(deviceKeyFingerprint(devicePublicKeyOf(a.privateKey)));
    expect(deviceKeyFingerprint(a.publicKey)).not.toBe(deviceKeyFingerprint(b.publicKey));
  });
});
