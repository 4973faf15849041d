import {
  KeyObject,
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { canonical } from './canonical.js';
import { X25519_KEY_BYTES, devicePublicKeyOf, exportDevicePublicKey, importDevicePublicKey, requireX25519 } from './device-keys.js';

/**
 * The firm key, and how it reaches a desktop without ever sitting in the database in the clear.
 *
 * The firm key is 32 random bytes: every refresh token and client secret in the firm database is sealed under
 * it (secret-box.ts). It has a version, bumped each time a desktop is removed and the key rotated
 * (key-rotation.ts). The database holds, per enrolled desktop, the firm key sealed to that desktop's X25519
 * public key (device-keys.ts); only the private key in that desktop's keychain opens it. A joining desktop gets
 * the key through the one-time invite code instead (invite-code.ts).
 *
 * Sealing to a device (an ECIES / HPKE-base-mode construction from node:crypto parts):
 *   1. a fresh ephemeral X25519 key pair; shared = X25519(ephemeral private, device public);
 *   2. salt = ephemeral public ‖ device public (both raw), so the key is bound to this exact pair;
 *      info = canonical("Relink firm-key seal v1", firm id, device id, key version);
 *      AES key = HKDF-SHA256(shared, salt, info, 32 bytes);
 *   3. AES-256-GCM with a random 12-byte nonce, the info as associated data.
 * The firm key is thereby bound to one firm, one device and one key version: a sealed key copied to another
 * device row, or replayed after a rotation, does not open.
 *
 * `ciphertext` layout: [format 0x01][recipient public key, 32][binding check, 16][encrypted key, 32][GCM tag, 16].
 * The recipient key and the binding check (a hash of the info: the firm id, device id and key version, all
 * columns of the row anyway) only let a failure say *why*; GCM authenticates everything regardless, so
 * altering either changes a failure's reason, never makes a forgery open.
 *
 * Pure: node:crypto only, no I/O. A KeyObject prints and serialises as `{}`, so a firm key passed around as one
 * never ends up in a log or an error by accident.
 */

export const FIRM_KEY_BYTES = 32;

/** The firm key: a 32-byte AES secret key. Its version is kept next to it by whoever holds it. */
export type FirmKey = KeyObject;

const SEAL_LABEL = 'Relink firm-key seal v1';
const SEAL_CHECK_LABEL = 'Relink firm-key seal v1 binding check';
const FORMAT = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const CHECK_BYTES = 16;
const SEALED_BYTES = 1 + X25519_KEY_BYTES + CHECK_BYTES + FIRM_KEY_BYTES + TAG_BYTES;

export function generateFirmKey(): FirmKey {
  return createSecretKey(randomBytes(FIRM_KEY_BYTES));
}

/** A firm key from its 32 bytes (after unwrapping); the bytes are copied. */
export function firmKeyFromBytes(bytes: Buffer): FirmKey {
  if (!Buffer.isBuffer(bytes) || bytes.length !== FIRM_KEY_BYTES) throw new TypeError(`A firm key is exactly ${FIRM_KEY_BYTES} bytes`);
  return createSecretKey(Buffer.from(bytes));
}

/** Throws (naming no key material) unless `key` is a 32-byte secret KeyObject. */
export function requireFirmKey(key: FirmKey): void {
  if (!(key instanceof KeyObject) || key.type !== 'secret' || key.symmetricKeySize !== FIRM_KEY_BYTES) {
    throw new TypeError(`Expected a firm key (a ${FIRM_KEY_BYTES}-byte secret KeyObject)`);
  }
}

/** Key versions are positive 32-bit integers (the database's `key_version`). */
export function requireKeyVersion(version: number): void {
  if (!Number.isInteger(version) || version < 1 || version > 0xffff_ffff) throw new RangeError('A firm key version is an integer from 1 to 2^32-1');
}

/** What a sealed firm key is bound to. */
export interface SealContext {
  firmId: string;
  deviceId: string;
  keyVersion: number;
}

/** One desktop's copy of the firm key, as stored in its device row. */
export interface SealedFirmKey {
  /** Raw 32-byte X25519 public key of the ephemeral pair. */
  ephemeralPublicKey: Buffer;
  nonce: Buffer;
  ciphertext: Buffer;
  keyVersion: number;
}

export type OpenFirmKeyFailureReason =
  /** Sealed to another desktop's key (this desktop was re-enrolled, or the row belongs to someone else). */
  | 'wrong-device'
  /** Sealed for another firm, device id or key version than the one asked for. */
  | 'wrong-binding'
  /** Damaged or altered. */
  | 'tampered';

export type OpenFirmKeyResult =
  | { ok: true; firmKey: FirmKey; keyVersion: number }
  | { ok: false; reason: OpenFirmKeyFailureReason; message: string };

const OPEN_MESSAGES: Record<OpenFirmKeyFailureReason, string> = {
  'wrong-device': "The firm key in the database was sealed to another desktop's key, not this one's.",
  'wrong-binding': 'The firm key in the database was sealed for another firm, desktop or key version.',
  tampered: 'The sealed firm key in the database is damaged or was altered.',
};

/** Seals `firmKey` so that only the holder of `devicePublicKey`'s private key can open it. */
export function sealFirmKeyToDevice(firmKey: FirmKey, devicePublicKey: KeyObject, context: SealContext): SealedFirmKey {
  requireFirmKey(firmKey);
  requireX25519(devicePublicKey, 'public');
  const info = sealInfo(context);
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralPublicKey = exportDevicePublicKey(ephemeral.publicKey);
  const recipient = exportDevicePublicKey(devicePublicKey);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: devicePublicKey });
  } catch {
    // A low-order point gives an all-zero shared secret, and OpenSSL refuses the derivation.
    throw new TypeError('Cannot seal the firm key to this desktop key: it is not a usable X25519 public key');
  }
  const aesKey = deriveSealKey(shared, ephemeralPublicKey, recipient, info);
  const check = bindingCheck(info);
  const nonce = randomBytes(NONCE_BYTES);
  const plain = firmKey.export();
  try {
    const cipher = createCipheriv('aes-256-gcm', aesKey, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(info);
    const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
    const ciphertext = Buffer.concat([Buffer.from([FORMAT]), recipient, check, encrypted, cipher.getAuthTag()]);
    return { ephemeralPublicKey, nonce, ciphertext, keyVersion: context.keyVersion };
  } finally {
    plain.fill(0);
    aesKey.fill(0);
  }
}

/** Opens a sealed firm key with this desktop's private key; bad or foreign input is a failure, never a throw. */
export function openSealedFirmKey(devicePrivateKey: KeyObject, sealed: SealedFirmKey, context: SealContext): OpenFirmKeyResult {
  requireX25519(devicePrivateKey, 'private');
  const info = sealInfo(context);
  const fail = (reason: OpenFirmKeyFailureReason): OpenFirmKeyResult => ({ ok: false, reason, message: OPEN_MESSAGES[reason] });
  const { ephemeralPublicKey, nonce, ciphertext } = sealed ?? {};
  if (!Buffer.isBuffer(ciphertext) || ciphertext.length !== SEALED_BYTES || ciphertext[0] !== FORMAT) return fail('tampered');
  if (!Buffer.isBuffer(nonce) || nonce.length !== NONCE_BYTES) return fail('tampered');
  if (sealed.keyVersion !== context.keyVersion) return fail('wrong-binding');
  const ephemeral = importDevicePublicKey(ephemeralPublicKey);
  if (!ephemeral.ok) return fail('tampered');

  let at = 1;
  const recipient = ciphertext.subarray(at, (at += X25519_KEY_BYTES));
  const check = ciphertext.subarray(at, (at += CHECK_BYTES));
  const encrypted = ciphertext.subarray(at, (at += FIRM_KEY_BYTES));
  const tag = ciphertext.subarray(at);
  const own = exportDevicePublicKey(devicePublicKeyOf(devicePrivateKey));
  if (!timingSafeEqual(recipient, own)) return fail('wrong-device');
  if (!timingSafeEqual(bindingCheck(info), check)) return fail('wrong-binding');

  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: devicePrivateKey, publicKey: ephemeral.key });
  } catch {
    return fail('tampered');
  }
  const aesKey = deriveSealKey(shared, ephemeralPublicKey, own, info);
  try {
    const decipher = createDecipheriv('aes-256-gcm', aesKey, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(info);
    decipher.setAuthTag(tag);
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(encrypted), decipher.final()]);
    } catch {
      return fail('tampered');
    }
    const firmKey = firmKeyFromBytes(plain);
    plain.fill(0);
    return { ok: true, firmKey, keyVersion: sealed.keyVersion };
  } finally {
    aesKey.fill(0);
  }
}

function sealInfo(context: SealContext): Buffer {
  requireKeyVersion(context.keyVersion);
  requireText(context.firmId, 'firm id');
  requireText(context.deviceId, 'device id');
  return canonical(SEAL_LABEL, context.firmId, context.deviceId, { u32: context.keyVersion });
}

/** HKDF-SHA256 over the shared secret, which it wipes. */
function deriveSealKey(shared: Buffer, ephemeralPublic: Buffer, recipientPublic: Buffer, info: Buffer): Buffer {
  try {
    return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeralPublic, recipientPublic]), info, 32));
  } finally {
    shared.fill(0);
  }
}

function bindingCheck(info: Buffer): Buffer {
  return createHash('sha256').update(canonical(SEAL_CHECK_LABEL, info)).digest().subarray(0, CHECK_BYTES);
}

export function requireText(value: string, what: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) throw new TypeError(`Invalid ${what} (1 to 200 characters)`);
}
