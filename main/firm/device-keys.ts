import { KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { canonical } from './canonical.js';

/**
 * Each enrolled desktop's own X25519 key pair: the firm key is sealed to its public key (firm-key.ts), and its
 * private key never leaves that desktop's OS keychain (KeychainVault.saveDeviceKey). A desktop that is removed
 * keeps its private key, but the firm key is rotated, so what it can open stops mattering.
 *
 * Formats, and why:
 * - **Public key: the raw 32 bytes** (RFC 7748). It travels through the shared database, written by other
 *   desktops, so it must be strict: a fixed length, nothing to parse, no way to smuggle in another key type
 *   (a DER SubjectPublicKeyInfo could carry Ed25519 or RSA, and would need its algorithm checked). Raw bytes
 *   also make the fingerprint below well defined. Node imports them through a JWK (`kty: OKP, crv: X25519`).
 * - **Private key: PKCS#8 DER, base64, in the keychain.** It never leaves this desktop, so being standard and
 *   self-describing wins: the algorithm identifier is inside, so a wrong kind of key is refused on import,
 *   and support can inspect it with `openssl pkey`. 48 bytes, 64 characters: far under the keychain's cap.
 *
 * Pure: node:crypto only, no I/O.
 */

export const X25519_KEY_BYTES = 32;

export interface DeviceKeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

export type KeyImportFailure = { ok: false; reason: 'malformed'; message: string };
export type KeyImport = { ok: true; key: KeyObject } | KeyImportFailure;

/** A fresh key pair for this desktop (on `firm create` and `firm join`). */
export function generateDeviceKeyPair(): DeviceKeyPair {
  return generateKeyPairSync('x25519');
}

/** The raw 32-byte public key, as stored in the firm database's device row. */
export function exportDevicePublicKey(publicKey: KeyObject): Buffer {
  requireX25519(publicKey, 'public');
  const x = publicKey.export({ format: 'jwk' }).x;
  const raw = typeof x === 'string' ? Buffer.from(x, 'base64url') : Buffer.alloc(0);
  if (raw.length !== X25519_KEY_BYTES) throw new TypeError('Could not export the X25519 public key');
  return raw;
}

/** A public key read from the database: exactly 32 bytes, or a failure (never a throw). */
export function importDevicePublicKey(raw: Buffer): KeyImport {
  if (!Buffer.isBuffer(raw) || raw.length !== X25519_KEY_BYTES) {
    return { ok: false, reason: 'malformed', message: 'A desktop public key must be exactly 32 bytes (raw X25519).' };
  }
  try {
    return { ok: true, key: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' }) };
  } catch {
    return { ok: false, reason: 'malformed', message: 'The desktop public key is not a valid X25519 key.' };
  }
}

/** The private key as it is kept in the keychain: PKCS#8 DER, base64. */
export function encodeDevicePrivateKey(privateKey: KeyObject): string {
  requireX25519(privateKey, 'private');
  return privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
}

/** The private key read back from the keychain, or a failure naming no part of it. */
export function decodeDevicePrivateKey(text: string): KeyImport {
  const malformed: KeyImportFailure = {
    ok: false,
    reason: 'malformed',
    message: "This desktop's key in the keychain is not an X25519 private key (PKCS#8, base64).",
  };
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return malformed;
  try {
    const key = createPrivateKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'pkcs8' });
    return key.asymmetricKeyType === 'x25519' ? { ok: true, key } : malformed;
  } catch {
    return malformed;
  }
}

/** The public half of a private key (what this desktop publishes when it enrols). */
export function devicePublicKeyOf(privateKey: KeyObject): KeyObject {
  requireX25519(privateKey, 'private');
  return createPublicKey(privateKey);
}

/**
 * A short fingerprint of a public key, for people comparing desktops (`relink firm devices`): the first 10
 * bytes of SHA-256 over the labelled raw key, in hex groups of four (`3f2a-91c0-…`). Not a secret.
 */
export function deviceKeyFingerprint(publicKey: KeyObject): string {
  const digest = createHash('sha256').update(canonical('Relink device key fingerprint v1', exportDevicePublicKey(publicKey))).digest();
  return (digest.subarray(0, 10).toString('hex').match(/.{4}/g) ?? []).join('-');
}

/** Throws (naming no key material) unless `key` is an X25519 key of the given type. */
export function requireX25519(key: KeyObject, type: 'public' | 'private'): void {
  if (!(key instanceof KeyObject) || key.type !== type || key.asymmetricKeyType !== 'x25519') {
    throw new TypeError(`Expected an X25519 ${type} key`);
  }
}
