import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { canonical } from './canonical.js';
import { requireFirmKey, requireKeyVersion, requireText, type FirmKey } from './firm-key.js';

/**
 * How a refresh token or a client secret is stored in the firm database: AES-256-GCM under the firm key, a
 * fresh random 12-byte nonce on every write, and the secret's place bound as associated data — its kind, its
 * grant (or app) id, its generation and the firm key version — so a ciphertext copied to another grant's row,
 * or an older generation written back over a newer one, does not open (issue 12, "the rules").
 *
 * Keys. Two subkeys are derived from the firm key with HKDF-SHA256 (labels below), never the firm key itself:
 * one encrypts, one makes the checks. A random 96-bit nonce under one key is safe for about 2^32 seals (NIST
 * SP 800-38D); a firm writes a few thousand a day, and the key rotates whenever a desktop is removed.
 *
 * `ciphertext` layout: [format 0x01][key check, 32][binding check, 16][encrypted secret][GCM tag, 16].
 * - The key check is HMAC(check key, label): the same for every secret under one key. It lets a failure say
 *   "wrong key" (a desktop holding a stale key after a rotation) instead of "damaged", and makes the scheme
 *   key-committing: no ciphertext opens under two different keys (plain GCM does not promise that).
 * - The binding check is HMAC(check key, associated data), cut to 16 bytes. It tells "this is another grant's
 *   or generation's secret" apart from "damaged". It reveals nothing the row's own columns do not.
 * Both are diagnostics: the GCM tag authenticates the nonce, the encrypted secret and the associated data in
 * any case, so altering a check can change the reason a failure gives, never make a forgery open.
 *
 * Failures are values: whatever is read from the database, `openSecret` never throws, and never puts the
 * secret or the key in a message. Only programming errors (a key that is not a firm key, an invalid id) throw,
 * with messages naming neither. The caller (the firm's SecretVault) registers opened values with the redactor,
 * as KeychainVault does.
 */

export type SecretKind = 'refresh-token' | 'client-secret';
export const SECRET_KINDS: readonly SecretKind[] = ['refresh-token', 'client-secret'];

/** Where a secret belongs: what is bound into its ciphertext besides the key version. */
export interface SecretPlace {
  kind: SecretKind;
  /** The grant id (refresh token) or app id (client secret). */
  id: string;
  /** The grant's (or app secret's) generation: a non-negative integer, bumped on every rotation. */
  generation: number;
}

export interface SealOptions extends SecretPlace {
  /** The version of the firm key sealing it. */
  keyVersion: number;
}

/** What is stored: three columns. */
export interface SealedSecret {
  ciphertext: Buffer;
  nonce: Buffer;
  keyVersion: number;
}

export type OpenFailureReason =
  /** Sealed under another firm key (or another version of it): this desktop's key is stale, or the row is foreign. */
  | 'wrong-key'
  /** Sealed for another grant, kind, generation or key version than the one asked for. */
  | 'wrong-binding'
  /** Damaged or altered. */
  | 'tampered';

export type OpenFailure = { ok: false; reason: OpenFailureReason; message: string };
export type OpenResult = { ok: true; plaintext: string } | OpenFailure;
export type OpenBytesResult = { ok: true; plaintext: Buffer } | OpenFailure;

const LABEL = 'Relink secret-box v1';
const FORMAT = 0x01;
export const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_CHECK_BYTES = 32;
const BINDING_CHECK_BYTES = 16;
const HEADER_BYTES = 1 + KEY_CHECK_BYTES + BINDING_CHECK_BYTES;

const MESSAGES: Record<OpenFailureReason, string> = {
  'wrong-key': 'This secret was sealed under another firm key than the one this desktop holds.',
  'wrong-binding': 'This secret belongs to another grant, app, generation or key version than the one asked for.',
  tampered: 'This secret is damaged or was altered in the database.',
};

interface Subkeys {
  enc: Buffer;
  check: Buffer;
  keyCheck: Buffer;
}
/** Derived once per firm key object; dropped with it. */
const subkeyCache = new WeakMap<KeyObject, Subkeys>();

function subkeys(firmKey: FirmKey): Subkeys {
  requireFirmKey(firmKey);
  const cached = subkeyCache.get(firmKey);
  if (cached) return cached;
  const ikm = firmKey.export();
  try {
    const enc = Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), canonical(LABEL, 'encryption key'), 32));
    const check = Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), canonical(LABEL, 'check key'), 32));
    const keyCheck = createHmac('sha256', check).update(canonical(LABEL, 'key check')).digest();
    const keys = { enc, check, keyCheck };
    subkeyCache.set(firmKey, keys);
    return keys;
  } finally {
    ikm.fill(0);
  }
}

/** The associated data: every field typed and length-prefixed (canonical.ts), never a joined string. */
export function secretBinding(place: SecretPlace, keyVersion: number): Buffer {
  if (!SECRET_KINDS.includes(place.kind)) throw new TypeError('Unknown kind of secret');
  requireText(place.id, 'grant or app id');
  if (!Number.isSafeInteger(place.generation) || place.generation < 0) throw new RangeError('A generation is a non-negative integer');
  requireKeyVersion(keyVersion);
  return canonical(LABEL, place.kind, place.id, { u64: place.generation }, { u32: keyVersion });
}

function bindingCheck(keys: Subkeys, aad: Buffer): Buffer {
  return createHmac('sha256', keys.check).update(canonical(LABEL, 'binding check', aad)).digest().subarray(0, BINDING_CHECK_BYTES);
}

/** Seals a secret (text, stored as UTF-8) for its place, with a fresh nonce. */
export function sealSecret(firmKey: FirmKey, plaintext: string, options: SealOptions): SealedSecret {
  if (typeof plaintext !== 'string' || plaintext.length === 0) throw new TypeError('Refusing to seal an empty secret');
  const bytes = Buffer.from(plaintext, 'utf8');
  try {
    return sealSecretBytes(firmKey, bytes, options);
  } finally {
    bytes.fill(0);
  }
}

/** `sealSecret` for bytes (key-rotation.ts re-seals without making strings it cannot wipe). */
export function sealSecretBytes(firmKey: FirmKey, plaintext: Buffer, options: SealOptions): SealedSecret {
  const keys = subkeys(firmKey);
  const aad = secretBinding(options, options.keyVersion);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.enc, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const ciphertext = Buffer.concat([Buffer.from([FORMAT]), keys.keyCheck, bindingCheck(keys, aad), encrypted, cipher.getAuthTag()]);
  return { ciphertext, nonce, keyVersion: options.keyVersion };
}

/** Opens a stored secret, asking for the place it should belong to; any failure is a value. */
export function openSecret(firmKey: FirmKey, sealed: SealedSecret, place: SecretPlace): OpenResult {
  const opened = openSecretBytes(firmKey, sealed, place);
  if (!opened.ok) return opened;
  const text = opened.plaintext.toString('utf8');
  opened.plaintext.fill(0);
  return { ok: true, plaintext: text };
}

/** `openSecret` giving bytes, which the caller should wipe (`fill(0)`) when done. */
export function openSecretBytes(firmKey: FirmKey, sealed: SealedSecret, place: SecretPlace): OpenBytesResult {
  const keys = subkeys(firmKey);
  const fail = (reason: OpenFailureReason): OpenFailure => ({ ok: false, reason, message: MESSAGES[reason] });
  const { ciphertext, nonce, keyVersion } = sealed ?? {};
  if (!Buffer.isBuffer(ciphertext) || ciphertext.length < HEADER_BYTES + TAG_BYTES || ciphertext[0] !== FORMAT) return fail('tampered');
  if (!Buffer.isBuffer(nonce) || nonce.length !== NONCE_BYTES) return fail('tampered');
  if (!Number.isInteger(keyVersion) || keyVersion < 1 || keyVersion > 0xffff_ffff) return fail('tampered');

  const keyCheck = ciphertext.subarray(1, 1 + KEY_CHECK_BYTES);
  if (!timingSafeEqual(keyCheck, keys.keyCheck)) return fail('wrong-key');
  const aad = secretBinding(place, keyVersion);
  if (!timingSafeEqual(ciphertext.subarray(1 + KEY_CHECK_BYTES, HEADER_BYTES), bindingCheck(keys, aad))) return fail('wrong-binding');

  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.enc, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
    const plaintext = Buffer.concat([decipher.update(ciphertext.subarray(HEADER_BYTES, ciphertext.length - TAG_BYTES)), decipher.final()]);
    return { ok: true, plaintext };
  } catch {
    return fail('tampered');
  }
}
