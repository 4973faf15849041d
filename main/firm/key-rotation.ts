import { requireFirmKey, requireKeyVersion, type FirmKey } from './firm-key.js';
import { openSecretBytes, sealSecretBytes, type OpenFailureReason, type SealedSecret, type SecretPlace } from './secret-box.js';

/**
 * Re-sealing every stored secret under a new firm key, the heart of "removing a desktop rotates the firm key"
 * (issue 12). Pure: it takes the rows, returns the new rows, and the PostgreSQL side writes them, together with
 * the new key sealed to every remaining desktop, in one transaction. Either every secret is re-sealed or none
 * is (a failure lists the ones that did not open, and the caller rolls back), so a firm is never left with
 * secrets under two keys and a key version that claims otherwise.
 *
 * Each secret keeps its place (kind, id, generation) and gets a fresh nonce and the new key version. The
 * plaintext exists only as a Buffer wiped right after re-sealing, never as a string.
 *
 * Rotation does not make a copied refresh token useless by itself: a removed desktop may have opened and kept
 * tokens. That is why the caller then refreshes every grant (Xero rotates the token; the copy dies after the
 * grace period). Rotation makes sure the removed desktop cannot open anything written after it.
 */

/** One stored secret: its place and its sealed value. */
export interface StoredSecret extends SecretPlace {
  sealed: SealedSecret;
}

export interface RotationFailure {
  kind: SecretPlace['kind'];
  id: string;
  generation: number;
  reason: OpenFailureReason;
}

export type RotationResult =
  /** The same secrets, in the same order, sealed under the new key and version. */
  | { ok: true; resealed: StoredSecret[] }
  /** Nothing was re-sealed: these did not open under the old key. */
  | { ok: false; failures: RotationFailure[]; message: string };

export interface Rotation {
  oldKey: FirmKey;
  oldKeyVersion: number;
  newKey: FirmKey;
  /** Must be greater than `oldKeyVersion`: versions only go up, so a stale key is always recognisable. */
  newKeyVersion: number;
}

export function resealAll(rotation: Rotation, secrets: readonly StoredSecret[]): RotationResult {
  const { oldKey, oldKeyVersion, newKey, newKeyVersion } = rotation;
  requireFirmKey(oldKey);
  requireFirmKey(newKey);
  requireKeyVersion(oldKeyVersion);
  requireKeyVersion(newKeyVersion);
  if (newKeyVersion <= oldKeyVersion) throw new RangeError('The new firm key version must be greater than the old one');
  if (oldKey.equals(newKey)) throw new TypeError('The new firm key is the same key as the old one');

  const resealed: StoredSecret[] = [];
  const failures: RotationFailure[] = [];
  for (const secret of secrets) {
    const place: SecretPlace = { kind: secret.kind, id: secret.id, generation: secret.generation };
    const opened =
      secret.sealed?.keyVersion === oldKeyVersion
        ? openSecretBytes(oldKey, secret.sealed, place)
        : ({ ok: false, reason: 'wrong-key' } as const);
    if (!opened.ok) {
      failures.push({ ...place, reason: opened.reason });
      continue;
    }
    try {
      if (failures.length === 0) resealed.push({ ...place, sealed: sealSecretBytes(newKey, opened.plaintext, { ...place, keyVersion: newKeyVersion }) });
    } finally {
      opened.plaintext.fill(0);
    }
  }
  if (failures.length > 0) {
    return {
      ok: false,
      failures,
      message:
        `${failures.length} of ${secrets.length} secret${secrets.length === 1 ? '' : 's'} did not open under firm key ` +
        `version ${oldKeyVersion}; nothing was re-sealed.`,
    };
  }
  return { ok: true, resealed };
}
