import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { canonical } from './canonical.js';
import { FIRM_KEY_BYTES, firmKeyFromBytes, requireFirmKey, requireKeyVersion, requireText, type FirmKey } from './firm-key.js';

/**
 * The one-time invite code that brings a new desktop into a firm (`relink firm invite --device "Reception PC"`
 * prints it; `relink firm join --code XXXX-XXXX-XXXX` redeems it). The code is the only way the firm key
 * reaches a desktop that has no sealed copy yet: the database never holds the firm key in the clear.
 *
 * The code: 12 characters from Crockford's base32 alphabet (0-9, A-Z without I, L, O, U: nothing to mistake for
 * something else), shown as XXXX-XXXX-XXXX, chosen uniformly with `crypto.randomInt`: 12 × 5 = **60 bits**.
 * Parsing forgives case, spaces, dashes, and reads I and L as 1 and O as 0 (Crockford's rule, because people
 * do); a mistyped code gets a clear failure value, never a throw.
 *
 * What the database holds (an `InviteRecord`), and nothing else about the code:
 * - a random 16-byte salt and the scrypt parameters;
 * - a verifier and the wrapped firm key, both from S = scrypt(code, salt; N = 2^17, r = 8, p = 1, 32 bytes),
 *   that is 128 MiB of memory and about a third of a second per guess on a desktop: verifier =
 *   HKDF-SHA256(S, "verifier"), wrapping key = HKDF-SHA256(S, "wrap key"); the firm key is AES-256-GCM
 *   encrypted under the wrapping key with the firm id, key version, creation and expiry times as associated
 *   data (so moving the expiry makes the record fail, not live longer);
 * - its creation and expiry time (24 h after creation, from the injected clock) and a used flag.
 * Why scrypt: 60 bits are too few against a fast hash (a GPU farm runs 2^40 SHA-256 a second: a stolen row
 * would fall in days), but each scrypt guess costs 128 MiB and real time, and finding a code takes 2^59 of
 * them on average — thousands of years even at a million guesses a second. Besides, the invite is single use
 * and lives 24 hours: the caller marks it used the moment it is redeemed and wipes the wrapped key when it
 * is used or expired (`spendInvite`), so a row stolen later holds nothing to guess at.
 *
 * Finding the row: the code has no fast lookup hash (that would be a fast oracle for guessing), so the joining
 * desktop tries `redeemInvite` on each pending invite (unused, unexpired: a firm has a handful at most).
 * The caller marks the row used in the same transaction that reads it (`… WHERE used = false RETURNING`), so
 * two desktops racing with one code cannot both join.
 */

export const INVITE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const INVITE_CODE_LENGTH = 12;
export const INVITE_ENTROPY_BITS = INVITE_CODE_LENGTH * 5;
export const INVITE_TTL_MS = 24 * 60 * 60 * 1000;

/** scrypt's cost: OWASP's recommendation for scrypt. Memory = 128 × N × r bytes = 128 MiB. */
export const INVITE_SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
/** Node refuses scrypt above 32 MiB unless allowed more; 128 MiB plus room. */
const SCRYPT_MAXMEM = 256 * 1024 * 1024;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const LABEL = 'Relink invite v1';

/** A code in canonical form: 12 characters of INVITE_ALPHABET, no dashes. */
export type InviteCode = string & { readonly __inviteCode: true };

export type CodeProblem = 'empty' | 'wrong-length' | 'bad-character';
export type ParsedInviteCode = { ok: true; code: InviteCode } | { ok: false; reason: CodeProblem; message: string };

export function generateInviteCode(): InviteCode {
  let code = '';
  for (let i = 0; i < INVITE_CODE_LENGTH; i++) code += INVITE_ALPHABET[randomInt(INVITE_ALPHABET.length)];
  return code as InviteCode;
}

/** XXXX-XXXX-XXXX, as printed by `relink firm invite` and shown in Settings. */
export function formatInviteCode(code: InviteCode): string {
  return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8, 12)}`;
}

/** Spaces, tabs and every kind of dash a paste can bring (hyphen, en and em dash, minus sign). */
const SEPARATORS = /[\s\-\u2010-\u2015\u2212_]/gu;
const READ_AS: Record<string, string> = { O: '0', I: '1', L: '1' };

/**
 * What a person typed or pasted, as a code or as a failure saying what is wrong. The failure names a position
 * and a count, never the characters typed.
 */
export function parseInviteCode(text: string): ParsedInviteCode {
  const compact = (typeof text === 'string' ? text : '').replace(SEPARATORS, '');
  if (compact.length === 0) return { ok: false, reason: 'empty', message: 'Enter the invite code (XXXX-XXXX-XXXX).' };
  let code = '';
  for (const [index, char] of [...compact].entries()) {
    const upper = char.toUpperCase();
    const read = READ_AS[upper] ?? upper;
    if (!INVITE_ALPHABET.includes(read) || read.length !== 1) {
      return {
        ok: false,
        reason: 'bad-character',
        message:
          `Character ${index + 1} of the code is not one invite codes use (the digits 0-9 and the letters A-Z ` +
          `except U). Check the code and type it again.`,
      };
    }
    code += read;
  }
  if (code.length !== INVITE_CODE_LENGTH) {
    return {
      ok: false,
      reason: 'wrong-length',
      message: `An invite code has ${INVITE_CODE_LENGTH} characters (XXXX-XXXX-XXXX); this one has ${code.length}.`,
    };
  }
  return { ok: true, code: code as InviteCode };
}

/** What the database stores for one invite. */
export interface InviteRecord {
  firmId: string;
  keyVersion: number;
  /** ISO times; expiresAt = createdAt + 24 h. Both are bound into the wrapped key. */
  createdAt: string;
  expiresAt: string;
  /** Set by the caller when the invite is redeemed (see `spendInvite`). */
  used: boolean;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: Buffer };
  /** 32 bytes: tells a right code from a wrong one. */
  verifier: Buffer;
  /** The firm key under the code's wrapping key; null once the invite is spent or expired and wiped. */
  wrappedKey: { nonce: Buffer; ciphertext: Buffer } | null;
}

export interface CreateInviteOptions {
  firmKey: FirmKey;
  keyVersion: number;
  firmId: string;
  clock: Pick<Clock, 'now'>;
}

export interface CreatedInvite {
  /** Show it once (`formatInviteCode`), never store it. */
  code: InviteCode;
  record: InviteRecord;
}

export async function createInvite(options: CreateInviteOptions): Promise<CreatedInvite> {
  const { firmKey, keyVersion, firmId, clock } = options;
  requireFirmKey(firmKey);
  requireKeyVersion(keyVersion);
  requireText(firmId, 'firm id');
  const now = clock.now();
  const createdAt = new Date(now).toISOString();
  const expiresAt = new Date(now + INVITE_TTL_MS).toISOString();
  const code = generateInviteCode();
  const salt = randomBytes(SALT_BYTES);
  const stretched = await stretch(code, salt);
  const { verifier, wrapKey } = split(stretched, salt);
  const nonce = randomBytes(NONCE_BYTES);
  const plain = firmKey.export();
  try {
    const cipher = createCipheriv('aes-256-gcm', wrapKey, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(wrapAad(firmId, keyVersion, createdAt, expiresAt));
    const ciphertext = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      code,
      record: {
        firmId,
        keyVersion,
        createdAt,
        expiresAt,
        used: false,
        kdf: { name: 'scrypt', ...INVITE_SCRYPT, salt },
        verifier,
        wrappedKey: { nonce, ciphertext },
      },
    };
  } finally {
    plain.fill(0);
    wrapKey.fill(0);
  }
}

export type RedeemFailureReason =
  | CodeProblem
  /** 24 hours have passed since the invite was made. */
  | 'expired'
  /** Another desktop already joined with it. */
  | 'used'
  /** A well-formed code, but not this invite's. */
  | 'wrong-code'
  /** The record is damaged or was altered (its times, its key, its parameters). */
  | 'tampered';

export type RedeemResult =
  | { ok: true; firmKey: FirmKey; keyVersion: number; firmId: string }
  | { ok: false; reason: RedeemFailureReason; message: string };

const REDEEM_MESSAGES: Record<Exclude<RedeemFailureReason, CodeProblem>, string> = {
  expired: 'This invite code has expired (codes last 24 hours). Ask for a new one with `relink firm invite`.',
  used: 'This invite code was already used by another desktop. Ask for a new one with `relink firm invite`.',
  'wrong-code': 'That is not the code of this invite. Check it and type it again.',
  tampered: 'This invite is damaged or was altered in the database. Ask for a new one with `relink firm invite`.',
};

/** The firm key for a right code on a live, unused invite; every other case is a failure value. */
export async function redeemInvite(code: string, record: InviteRecord, now: number): Promise<RedeemResult> {
  const fail = (reason: Exclude<RedeemFailureReason, CodeProblem>): RedeemResult => ({ ok: false, reason, message: REDEEM_MESSAGES[reason] });
  if (!Number.isFinite(now)) throw new TypeError('redeemInvite needs the current time in milliseconds');
  const parsed = parseInviteCode(code);
  if (!parsed.ok) return parsed;
  if (record.used) return fail('used');
  const expires = Date.parse(record.expiresAt);
  const created = Date.parse(record.createdAt);
  if (!Number.isFinite(expires) || !Number.isFinite(created) || expires - created !== INVITE_TTL_MS) return fail('tampered');
  if (now >= expires) return fail('expired');
  if (!record.wrappedKey) return fail('used');
  const { kdf, verifier, wrappedKey } = record;
  // Only the parameters this version makes: a record asking for cheaper ones (easier guessing) or dearer ones
  // (a desktop made to allocate gigabytes) is not ours.
  if (kdf?.name !== 'scrypt' || kdf.N !== INVITE_SCRYPT.N || kdf.r !== INVITE_SCRYPT.r || kdf.p !== INVITE_SCRYPT.p) return fail('tampered');
  if (!Buffer.isBuffer(kdf.salt) || kdf.salt.length !== SALT_BYTES || !Buffer.isBuffer(verifier) || verifier.length !== 32) return fail('tampered');
  if (!Buffer.isBuffer(wrappedKey.nonce) || wrappedKey.nonce.length !== NONCE_BYTES) return fail('tampered');
  if (!Buffer.isBuffer(wrappedKey.ciphertext) || wrappedKey.ciphertext.length !== FIRM_KEY_BYTES + TAG_BYTES) return fail('tampered');
  let aad: Buffer;
  try {
    requireKeyVersion(record.keyVersion);
    aad = wrapAad(record.firmId, record.keyVersion, record.createdAt, record.expiresAt);
  } catch {
    return fail('tampered');
  }

  const stretched = await stretch(parsed.code, kdf.salt);
  const derived = split(stretched, kdf.salt);
  try {
    if (!timingSafeEqual(derived.verifier, verifier)) return fail('wrong-code');
    const decipher = createDecipheriv('aes-256-gcm', derived.wrapKey, wrappedKey.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(wrappedKey.ciphertext.subarray(FIRM_KEY_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(wrappedKey.ciphertext.subarray(0, FIRM_KEY_BYTES)), decipher.final()]);
    } catch {
      return fail('tampered');
    }
    const firmKey = firmKeyFromBytes(plain);
    plain.fill(0);
    return { ok: true, firmKey, keyVersion: record.keyVersion, firmId: record.firmId };
  } finally {
    derived.wrapKey.fill(0);
  }
}

/**
 * The record as the caller should store it once the invite is redeemed, or found expired: used, and with
 * nothing left to guess the code against.
 */
export function spendInvite(record: InviteRecord): InviteRecord {
  return { ...record, used: true, wrappedKey: null };
}

/** Whether an invite can still be redeemed at `now` (the caller's list of pending invites). */
export function isPending(record: InviteRecord, now: number): boolean {
  return !record.used && record.wrappedKey !== null && now < Date.parse(record.expiresAt);
}

function stretch(code: InviteCode, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(canonical(LABEL, 'code', code), salt, 32, { ...INVITE_SCRYPT, maxmem: SCRYPT_MAXMEM }, (error, key) =>
      error ? reject(new Error('Could not derive the invite key (scrypt failed)')) : resolve(key),
    );
  });
}

function split(stretched: Buffer, salt: Buffer): { verifier: Buffer; wrapKey: Buffer } {
  try {
    const verifier = Buffer.from(hkdfSync('sha256', stretched, salt, canonical(LABEL, 'verifier'), 32));
    const wrapKey = Buffer.from(hkdfSync('sha256', stretched, salt, canonical(LABEL, 'wrap key'), 32));
    return { verifier, wrapKey };
  } finally {
    stretched.fill(0);
  }
}

function wrapAad(firmId: string, keyVersion: number, createdAt: string, expiresAt: string): Buffer {
  requireText(firmId, 'firm id');
  return canonical(LABEL, 'firm key', firmId, { u32: keyVersion }, createdAt, expiresAt);
}
