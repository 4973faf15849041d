/**
 * Grant leases with generation fencing: how exactly one desktop refreshes a grant at a time (issue 12, "One
 * refresher per grant"; DESIGN.md §7). A desktop takes a short lease on a grant and remembers the grant's
 * `generation`; every later write it makes about that refresh (the in-flight marker, the rotated token, giving
 * the lease back) names that generation and only happens if the desktop still holds the lease at it. The HTTP
 * call to the provider happens between those writes, outside any transaction and under no lock — a lease is a
 * row value, so a desktop that dies holding one blocks nobody past its expiry (no advisory lock is held across
 * an HTTP call; Nango's PR #2859 is what happens otherwise).
 *
 * The rules every function here keeps:
 * - One statement, one round trip. Each write is a single `UPDATE … WHERE <fence> RETURNING`, its own
 *   transaction; a refused write also says why, from a CTE read of the row in the same statement (a second read
 *   only when a concurrent writer won the race between the two). A refresh costs three round trips: take the
 *   lease (due-work.ts's pickDue, or claim), markInFlight, commitRotation (rotation-commit.ts).
 * - A lease is the holder's until someone else takes it. Expiry only lets another desktop take it; a holder whose
 *   lease ran out but was not taken may still mark, renew, commit or release (refusing would throw away a
 *   rotated token that nobody else is about to replace).
 * - Time is the caller's: `now` is a parameter, never the database's now(), so the engine's Clock drives
 *   leases like everything else and tests expire a lease without waiting. Desktops' clocks must agree to well
 *   inside a lease's length (pass a server-corrected clock where they may not); if they do not, fencing still
 *   keeps a second commit at the same generation out.
 * - Failures the protocol expects (someone else holds it, the lease was taken, the generation moved, the grant
 *   is gone) are values. Database errors (unreachable, restarted) are thrown: the refresher keeps the rotated
 *   token in memory and its journal and retries the commit.
 *
 * No `pg` import: this is SQL over the `FirmSql` port, which a `pg` Pool or PoolClient satisfies.
 */

/** What this module needs from a connection or pool: one parameterised query. */
export interface FirmSql {
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
}

/** The write-ahead "refresh in flight" marker: a refresh was (possibly) sent at the grant's current generation. */
export interface InFlightMarker {
  deviceId: string;
  since: Date;
  /** How many sends were marked since the last commit (a finishing desktop's retry counts too). */
  attempt: number;
}

/** A lease now held by the caller. */
export interface HeldLease {
  grantId: string;
  /** The generation held: every fenced write names it. */
  generation: number;
  leaseExpiresAt: Date;
  /**
   * An in-flight marker left by an earlier holder that neither committed nor released it: a crashed (or stalled)
   * refresh. Finish it first, inside the provider's grace window: retry with the stored (pre-rotation) token.
   */
  interruptedRefresh: InFlightMarker | null;
  /** When the grant was due (null: no refresh scheduled). */
  nextRefreshAt: Date | null;
}

/** Why a fenced write was refused. */
export type FencingFailure =
  /** Another desktop took the lease (after it expired); it now refreshes this grant. */
  | { ok: false; reason: 'lease-lost'; holder: string | null; until: Date | null }
  /** The stored token was replaced since the lease was taken (another commit, a reconnect). */
  | { ok: false; reason: 'generation-moved'; generation: number }
  | { ok: false; reason: 'grant-gone' };

export type ClaimOutcome =
  | ({ ok: true } & HeldLease)
  | { ok: false; reason: 'held'; holder: string; until: Date }
  | { ok: false; reason: 'grant-gone' };

export type RenewOutcome = { ok: true; leaseExpiresAt: Date } | FencingFailure;
export type MarkOutcome = { ok: true; attempt: number; leaseExpiresAt: Date } | FencingFailure;
export type ReleaseOutcome = { ok: true } | FencingFailure;

const MIN_LEASE_MS = 1_000;

export function leaseUntil(now: Date, leaseMs: number): Date {
  if (!Number.isFinite(leaseMs) || leaseMs < MIN_LEASE_MS) throw new RangeError(`a lease lasts at least ${MIN_LEASE_MS} ms (got ${leaseMs})`);
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new RangeError('now must be a valid Date');
  return new Date(now.getTime() + leaseMs);
}

export function checkGeneration(generation: number): void {
  if (!Number.isSafeInteger(generation) || generation < 0) throw new RangeError(`a generation is a non-negative integer (got ${generation})`);
}

export function markerOf(row: { refresh_in_flight_device: string | null; refresh_in_flight_since: Date | null; refresh_in_flight_attempt: number | null }): InFlightMarker | null {
  if (!row.refresh_in_flight_device || !row.refresh_in_flight_since) return null;
  return { deviceId: row.refresh_in_flight_device, since: row.refresh_in_flight_since, attempt: row.refresh_in_flight_attempt ?? 0 };
}

/** The row's fencing columns, as the CTE `cur` and the fallback read return them. */
interface FenceRow {
  cur_holder: string | null;
  cur_until: Date | null;
  cur_generation: string | null;
}

/** Columns a fenced statement selects from its `cur` CTE, besides what its UPDATE returns. */
export const FENCE_COLUMNS = 'cur.lease_holder AS cur_holder, cur.lease_expires_at AS cur_until, cur.generation::text AS cur_generation';
/** The `cur` CTE: the row as the statement found it. */
export const FENCE_CTE = 'cur AS (SELECT lease_holder, lease_expires_at, generation FROM relink.grants WHERE id = $1)';
/** The fence every holder's write carries ($1 grant, $2 device, $3 generation). */
export const FENCE_WHERE = 'id = $1 AND lease_holder = $2 AND generation = $3';

function diagnose(row: FenceRow | undefined, deviceId: string, generation: number): FencingFailure | null {
  if (!row || row.cur_generation === null) return { ok: false, reason: 'grant-gone' };
  if (Number(row.cur_generation) !== generation) return { ok: false, reason: 'generation-moved', generation: Number(row.cur_generation) };
  if (row.cur_holder !== deviceId) return { ok: false, reason: 'lease-lost', holder: row.cur_holder, until: row.cur_until };
  return null;
}

/**
 * Why a fenced UPDATE changed nothing. `row` is the statement's `cur` read; if that read still looked fenced-in,
 * a concurrent writer won between it and the UPDATE (they share a snapshot), so read again — the only case with
 * a second round trip, and only on the losing side.
 */
export async function whyRefused(sql: FirmSql, grantId: string, deviceId: string, generation: number, row: FenceRow | undefined): Promise<FencingFailure> {
  const first = diagnose(row, deviceId, generation);
  if (first) return first;
  const { rows } = await sql.query(
    'SELECT lease_holder AS cur_holder, lease_expires_at AS cur_until, generation::text AS cur_generation FROM relink.grants WHERE id = $1',
    [grantId],
  );
  return diagnose(rows[0], deviceId, generation) ?? { ok: false, reason: 'lease-lost', holder: null, until: null };
}

/**
 * Takes the lease on one grant for an on-demand refresh (an advisor's "check now", a request needing an access
 * token), if it is free or expired. Not re-entrant: a lease this desktop already holds is reported as held, so
 * two refreshes of one grant never run under one lease. Whatever the grant's state: the caller decides.
 */
export async function claim(sql: FirmSql, grantId: string, deviceId: string, now: Date, leaseMs: number): Promise<ClaimOutcome> {
  const until = leaseUntil(now, leaseMs);
  const { rows } = await sql.query(
    `WITH ${FENCE_CTE},
     upd AS (
       UPDATE relink.grants SET lease_holder = $2, lease_expires_at = $4
       WHERE id = $1 AND (lease_expires_at IS NULL OR lease_expires_at <= $3)
       RETURNING generation::text AS generation, lease_expires_at, next_refresh_at,
         refresh_in_flight_device, refresh_in_flight_since, refresh_in_flight_attempt
     )
     SELECT upd.*, ${FENCE_COLUMNS} FROM cur LEFT JOIN upd ON true`,
    [grantId, deviceId, now, until],
  );
  const row = rows[0];
  if (!row) return { ok: false, reason: 'grant-gone' };
  if (row.generation !== null) {
    return { ok: true, grantId, generation: Number(row.generation), leaseExpiresAt: row.lease_expires_at, interruptedRefresh: markerOf(row), nextRefreshAt: row.next_refresh_at };
  }
  if (row.cur_holder && row.cur_until && row.cur_until > now) return { ok: false, reason: 'held', holder: row.cur_holder, until: row.cur_until };
  // The lease looked free to `cur` but another desktop took it first: read who.
  const again = await sql.query('SELECT lease_holder, lease_expires_at FROM relink.grants WHERE id = $1', [grantId]);
  const r = again.rows[0];
  if (!r) return { ok: false, reason: 'grant-gone' };
  return { ok: false, reason: 'held', holder: r.lease_holder, until: r.lease_expires_at };
}

/** Extends a lease this desktop still holds at `generation` to now + leaseMs (a slow refresh, a long retry). */
export async function renew(sql: FirmSql, grantId: string, deviceId: string, generation: number, now: Date, leaseMs: number): Promise<RenewOutcome> {
  checkGeneration(generation);
  const until = leaseUntil(now, leaseMs);
  const { rows } = await sql.query(
    `WITH ${FENCE_CTE},
     upd AS (UPDATE relink.grants SET lease_expires_at = $4 WHERE ${FENCE_WHERE} RETURNING lease_expires_at)
     SELECT upd.*, ${FENCE_COLUMNS} FROM cur LEFT JOIN upd ON true`,
    [grantId, deviceId, generation, until],
  );
  if (rows[0]?.lease_expires_at) return { ok: true, leaseExpiresAt: rows[0].lease_expires_at };
  return whyRefused(sql, grantId, deviceId, generation, rows[0]);
}

/**
 * Writes the "refresh in flight" marker, durably, before the refresh is sent — and extends the lease by
 * `leaseMs` so the send has a whole lease to finish in. If this desktop then dies, the next desktop to take the
 * grant sees the marker (HeldLease.interruptedRefresh) and finishes the rotation inside the grace window. A
 * marker already there (an interrupted refresh being finished) is taken over and its attempt count goes on.
 */
export async function markInFlight(sql: FirmSql, grantId: string, deviceId: string, generation: number, now: Date, leaseMs: number): Promise<MarkOutcome> {
  checkGeneration(generation);
  const until = leaseUntil(now, leaseMs);
  const { rows } = await sql.query(
    `WITH ${FENCE_CTE},
     upd AS (
       UPDATE relink.grants SET refresh_in_flight_since = $4, refresh_in_flight_device = $2,
         refresh_in_flight_attempt = coalesce(refresh_in_flight_attempt, 0) + 1, lease_expires_at = $5
       WHERE ${FENCE_WHERE}
       RETURNING refresh_in_flight_attempt AS attempt, lease_expires_at
     )
     SELECT upd.*, ${FENCE_COLUMNS} FROM cur LEFT JOIN upd ON true`,
    [grantId, deviceId, generation, now, until],
  );
  if (rows[0]?.attempt != null) return { ok: true, attempt: rows[0].attempt, leaseExpiresAt: rows[0].lease_expires_at };
  return whyRefused(sql, grantId, deviceId, generation, rows[0]);
}

export interface ReleaseOptions {
  /**
   * The refresh got a definite answer that rotated nothing (invalid_grant, a 400, a refusal before sending), so
   * there is nothing to finish: clear the marker. Leave it (the default) when the answer may have been lost
   * (timeout, dropped connection): the next holder must retry inside the grace window.
   */
  clearInFlight?: boolean;
  /** When the grant is next due (a backoff after a transient failure); unchanged if absent. */
  nextRefreshAt?: Date | null;
}

/** Gives a lease back without committing a token (a failed or skipped refresh). */
export async function release(sql: FirmSql, grantId: string, deviceId: string, generation: number, opts: ReleaseOptions = {}): Promise<ReleaseOutcome> {
  checkGeneration(generation);
  const clear = opts.clearInFlight === true;
  const { rows } = await sql.query(
    `WITH ${FENCE_CTE},
     upd AS (
       UPDATE relink.grants SET lease_holder = NULL, lease_expires_at = NULL,
         refresh_in_flight_since = CASE WHEN $4 THEN NULL ELSE refresh_in_flight_since END,
         refresh_in_flight_device = CASE WHEN $4 THEN NULL ELSE refresh_in_flight_device END,
         refresh_in_flight_attempt = CASE WHEN $4 THEN NULL ELSE refresh_in_flight_attempt END,
         next_refresh_at = CASE WHEN $5 THEN $6::timestamptz ELSE next_refresh_at END
       WHERE ${FENCE_WHERE}
       RETURNING true AS released
     )
     SELECT upd.*, ${FENCE_COLUMNS} FROM cur LEFT JOIN upd ON true`,
    [grantId, deviceId, generation, clear, opts.nextRefreshAt !== undefined, opts.nextRefreshAt ?? null],
  );
  if (rows[0]?.released) return { ok: true };
  return whyRefused(sql, grantId, deviceId, generation, rows[0]);
}

/** A grant's refresh state for recovery and for the window: the marker, the lease, the generation. */
export interface GrantRefreshState {
  grantId: string;
  generation: number;
  leaseHolder: string | null;
  leaseExpiresAt: Date | null;
  inFlight: InFlightMarker | null;
  nextRefreshAt: Date | null;
}

export async function readRefreshState(sql: FirmSql, grantId: string): Promise<GrantRefreshState | null> {
  const { rows } = await sql.query(
    `SELECT generation::text AS generation, lease_holder, lease_expires_at, next_refresh_at,
       refresh_in_flight_device, refresh_in_flight_since, refresh_in_flight_attempt
     FROM relink.grants WHERE id = $1`,
    [grantId],
  );
  const r = rows[0];
  if (!r) return null;
  return { grantId, generation: Number(r.generation), leaseHolder: r.lease_holder, leaseExpiresAt: r.lease_expires_at, inFlight: markerOf(r), nextRefreshAt: r.next_refresh_at };
}
