import { FENCE_COLUMNS, FENCE_CTE, FENCE_WHERE, checkGeneration, whyRefused, type FencingFailure, type FirmSql } from './leases.js';

/**
 * Committing a rotated refresh token: the last write of a refresh, and the one fencing exists for (issue 12,
 * "commits the rotated token only if it still holds the lease at that generation").
 *
 * One UPDATE, so it is atomic and one round trip: only where lease_holder is this desktop and generation is the
 * one it took the lease at, it moves the stored token into the previous-token columns (Xero's grace lets the old
 * token be retried for 30 minutes after a lost response), stores the new one, bumps the generation, clears the
 * in-flight marker and the lease, and schedules the next refresh. Anything else changes nothing and says why:
 * `lease-lost` (another desktop took the lease; it will finish the rotation from the marker) or
 * `generation-moved` (the token was already replaced). Of two commits at one generation exactly one wins: the
 * second waits for the first's row lock, re-checks the fence against the committed row, and finds it moved.
 *
 * Never plaintext: the token comes sealed (AES-256-GCM by the firm crypto in main/firm/), and this module only
 * moves bytes. Seal it with the grant id and `sealedGenerationFor(heldGeneration)` as associated data — the
 * generation it is stored under — so a ciphertext copied onto another grant or generation does not open. The
 * previous token keeps the generation it was sealed at (one less than the stored one).
 */

export interface SealedToken {
  /** AES-256-GCM ciphertext with its tag appended. */
  ciphertext: Uint8Array;
  /** The 12-byte nonce it was sealed with. */
  nonce: Uint8Array;
  /** The firm key version it was sealed under. */
  keyVersion: number;
}

export interface CommitOptions {
  now: Date;
  /** When the grant is next due (keep-alive, or before the access token expires). */
  nextRefreshAt: Date | null;
  /**
   * Fields merged into the grant's record (`record || patch`), e.g. when it last refreshed. The schema's checks
   * refuse a patch that disagrees with the typed columns (id, app, staff, state). It must hold no secret.
   */
  recordPatch?: Record<string, unknown>;
}

export type CommitOutcome = { ok: true; generation: number } | FencingFailure;

/** The generation a token committed by a lease held at `heldGeneration` is stored under: its associated data. */
export function sealedGenerationFor(heldGeneration: number): number {
  checkGeneration(heldGeneration);
  return heldGeneration + 1;
}

function checkSealed(sealed: SealedToken): void {
  if (!(sealed.ciphertext instanceof Uint8Array) || sealed.ciphertext.length < 17) throw new RangeError('a sealed token is ciphertext with its 16-byte tag (at least 17 bytes)');
  if (!(sealed.nonce instanceof Uint8Array) || sealed.nonce.length !== 12) throw new RangeError('a sealed token has a 12-byte nonce');
  if (!Number.isInteger(sealed.keyVersion) || sealed.keyVersion < 1) throw new RangeError('a sealed token names the firm key version it was sealed under');
}

const bytes = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export async function commitRotation(
  sql: FirmSql,
  grantId: string,
  deviceId: string,
  generation: number,
  sealed: SealedToken,
  opts: CommitOptions,
): Promise<CommitOutcome> {
  checkGeneration(generation);
  checkSealed(sealed);
  const patch = opts.recordPatch ?? null;
  const { rows } = await sql.query(
    `WITH ${FENCE_CTE},
     upd AS (
       UPDATE relink.grants SET
         previous_refresh_token_ciphertext = refresh_token_ciphertext,
         previous_refresh_token_nonce = refresh_token_nonce,
         previous_refresh_token_key_version = refresh_token_key_version,
         previous_saved_at = CASE WHEN refresh_token_ciphertext IS NULL THEN NULL ELSE $7::timestamptz END,
         refresh_token_ciphertext = $4, refresh_token_nonce = $5, refresh_token_key_version = $6,
         generation = generation + 1,
         lease_holder = NULL, lease_expires_at = NULL,
         refresh_in_flight_since = NULL, refresh_in_flight_device = NULL, refresh_in_flight_attempt = NULL,
         next_refresh_at = $8,
         record = CASE WHEN $9::jsonb IS NULL THEN record ELSE record || $9::jsonb END,
         revision = CASE WHEN $9::jsonb IS NULL THEN revision ELSE revision + 1 END,
         updated_by = $2
       WHERE ${FENCE_WHERE}
       RETURNING generation::text AS new_generation
     )
     SELECT upd.*, ${FENCE_COLUMNS} FROM cur LEFT JOIN upd ON true`,
    [grantId, deviceId, generation, bytes(sealed.ciphertext), bytes(sealed.nonce), sealed.keyVersion, opts.now, opts.nextRefreshAt, patch === null ? null : JSON.stringify(patch)],
  );
  if (rows[0]?.new_generation != null) return { ok: true, generation: Number(rows[0].new_generation) };
  return whyRefused(sql, grantId, deviceId, generation, rows[0]);
}
