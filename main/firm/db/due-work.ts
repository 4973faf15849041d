import { leaseUntil, markerOf, type FirmSql, type HeldLease } from './leases.js';

/**
 * Picking due work for a sweep: which grants this desktop refreshes now (issue 12, "Due work is picked with
 * FOR UPDATE SKIP LOCKED"). Every running desktop sweeps; none waits on another, and no two take one grant.
 *
 * One statement, so one round trip and one short transaction: a CTE selects due active grants whose lease is free
 * or expired `FOR UPDATE SKIP LOCKED` (rows another desktop's pick is taking right now are skipped, not waited
 * for), and the UPDATE around it writes this desktop's lease on exactly those rows. The row locks last only as
 * long as that statement; what keeps other desktops off a grant afterwards is the lease (leases.ts), not a lock.
 *
 * Due means `next_refresh_at <= now`, or an in-flight marker whose holder let its lease run out: a crashed
 * refresh, picked first whatever its schedule, because Xero only lets the old token be retried for 30 minutes.
 * The grants_due and grants_in_flight partial indexes (migrations.ts) serve the two halves.
 */

export interface PickOptions {
  /** At most this many grants (a sweep's batch). */
  limit: number;
  /** Each picked grant's lease, from `now`. */
  leaseMs: number;
}

/** The pick: $1 device, $2 now, $3 limit, $4 lease end. Exported for the plan check in its test. */
export const PICK_DUE_SQL = `WITH due AS (
       SELECT id FROM relink.grants
       WHERE state = 'active'
         AND (next_refresh_at <= $2 OR refresh_in_flight_since IS NOT NULL)
         AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
       ORDER BY (refresh_in_flight_since IS NULL), next_refresh_at NULLS LAST, id
       LIMIT $3
       FOR UPDATE SKIP LOCKED
     )
     UPDATE relink.grants g SET lease_holder = $1, lease_expires_at = $4
     FROM due WHERE g.id = due.id
     RETURNING g.id, g.generation::text AS generation, g.lease_expires_at, g.next_refresh_at,
       g.refresh_in_flight_device, g.refresh_in_flight_since, g.refresh_in_flight_attempt`;

/** Takes leases on up to `limit` due grants; interrupted refreshes first, then the most overdue. */
export async function pickDue(sql: FirmSql, deviceId: string, now: Date, opts: PickOptions): Promise<HeldLease[]> {
  if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new RangeError(`limit must be a positive integer (got ${opts.limit})`);
  const until = leaseUntil(now, opts.leaseMs);
  const { rows } = await sql.query(PICK_DUE_SQL, [deviceId, now, opts.limit, until]);
  const picked: HeldLease[] = rows.map((r) => ({
    grantId: r.id,
    generation: Number(r.generation),
    leaseExpiresAt: r.lease_expires_at,
    interruptedRefresh: markerOf(r),
    nextRefreshAt: r.next_refresh_at,
  }));
  // RETURNING keeps no order: restore the pick's.
  const key = (l: HeldLease) => [l.interruptedRefresh ? 0 : 1, l.nextRefreshAt?.getTime() ?? Number.MAX_SAFE_INTEGER] as const;
  return picked.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1] || (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0));
}
