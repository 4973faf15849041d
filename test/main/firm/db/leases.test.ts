import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Pool } from 'pg';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { PICK_DUE_SQL, pickDue } from '../../../../main/firm/db/due-work.js';
import { claim, markInFlight, readRefreshState, release, renew, type FirmSql } from '../../../../main/firm/db/leases.js';
import { migrateFirmDatabase } from '../../../../main/firm/db/migrate.js';
import { commitRotation, sealedGenerationFor, type SealedToken } from '../../../../main/firm/db/rotation-commit.js';
import { generateFirmKey } from '../../../../main/firm/firm-key.js';
import { openSecret, sealSecret } from '../../../../main/firm/secret-box.js';
import { describePostgres } from '../../../support/firm-postgres.js';
import { ROOT } from '../../../support/relink-cli.js';

/**
 * Grant leases with generation fencing and due-work picking (main/firm/db/leases.ts, due-work.ts,
 * rotation-commit.ts) against a real PostgreSQL, as desktops connect: logins in the relink_desktop role. Time is
 * injected (`now`), so a lease expires by moving T forward, not by waiting. "Desktops" are separate pools, and
 * where a crash or a real race matters, separate processes.
 */

const T0 = new Date('2026-12-03T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const LEASE = 60_000;
const DEVICE_A = '00000000-0000-4000-8000-00000000000a';
const DEVICE_B = '00000000-0000-4000-8000-00000000000b';
const DEVICE_C = '00000000-0000-4000-8000-00000000000c';

const sealedToken = (): SealedToken => ({ ciphertext: crypto.randomBytes(48), nonce: crypto.randomBytes(12), keyVersion: 1 });

/** A pool that counts the statements sent through it: each `query` is one round trip. */
function counting(pool: Pool): FirmSql & { count: number } {
  const c = {
    count: 0,
    query(text: string, values?: unknown[]) {
      c.count++;
      return pool.query(text, values);
    },
  };
  return c;
}

describePostgres('grant leases with fencing, on a real PostgreSQL', (db) => {
  let owner: Pool;
  let a: Pool;
  let b: Pool;
  let aUser: string;
  let desktop: { address: string; password: string };

  beforeAll(async () => {
    owner = db().admin();
    expect(await migrateFirmDatabase(owner)).toMatchObject({ ok: true });
    for (const [id, name] of [[DEVICE_A, 'A'], [DEVICE_B, 'B'], [DEVICE_C, 'C']] as const) {
      await owner.query('INSERT INTO relink.devices (id, name, public_key) VALUES ($1, $2, $3)', [id, name, crypto.randomBytes(32)]);
    }
    const da = await db().desktop({ max: 4 });
    a = da.pool;
    aUser = da.user;
    desktop = da;
    b = (await db().desktop({ max: 4 })).pool;
  });

  beforeEach(async () => {
    await owner.query('DELETE FROM relink.grants');
  });

  /** Grants due at T0 - 1 min (or `due`), each with a sealed token at generation 0. */
  async function seed(ids: string[], opts: { due?: Date | null; state?: string } = {}): Promise<Map<string, Buffer>> {
    const tokens = new Map<string, Buffer>();
    for (const id of ids) {
      const t = sealedToken();
      tokens.set(id, Buffer.from(t.ciphertext));
      const state = opts.state ?? 'active';
      await owner.query(
        `INSERT INTO relink.grants (id, app_id, staff_id, state, record, refresh_token_ciphertext, refresh_token_nonce, refresh_token_key_version, next_refresh_at)
         VALUES ($1, 'app-1', 'staff-1', $2, $3, $4, $5, 1, $6)`,
        [id, state, { id, appId: 'app-1', staffId: 'staff-1', state }, t.ciphertext, t.nonce, opts.due === undefined ? at(-60_000) : opts.due],
      );
    }
    return tokens;
  }

  const row = async (id: string) => (await owner.query('SELECT *, generation::int AS gen FROM relink.grants WHERE id = $1', [id])).rows[0];

  it('two desktops picking at once never get the same grant; revoked, leased and not-yet-due grants are not picked', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `g-${String(i).padStart(2, '0')}`);
    await seed(ids);
    await seed(['later'], { due: at(3_600_000) });
    await seed(['revoked'], { state: 'revoked' });
    await seed(['unscheduled'], { due: null });
    const pickAll = async (pool: Pool, device: string) => {
      const got: string[] = [];
      for (;;) {
        const batch = await pickDue(pool, device, T0, { limit: 3, leaseMs: LEASE });
        if (batch.length === 0) return got;
        got.push(...batch.map((l) => l.grantId));
      }
    };
    const [gotA, gotB] = await Promise.all([pickAll(a, DEVICE_A), pickAll(b, DEVICE_B)]);
    expect(gotA.length + gotB.length).toBe(40);
    expect(new Set([...gotA, ...gotB])).toEqual(new Set(ids));
    expect(gotA.filter((id) => gotB.includes(id))).toEqual([]);
    const holders = (await owner.query("SELECT lease_holder, count(*)::int AS n FROM relink.grants WHERE id LIKE 'g-%' GROUP BY 1 ORDER BY 1")).rows;
    expect(holders.reduce((s: number, r: { n: number }) => s + r.n, 0)).toBe(40);
    expect((await row('later')).lease_holder).toBeNull();
    expect((await row('revoked')).lease_holder).toBeNull();
    expect((await row('unscheduled')).lease_holder).toBeNull();
    console.log(`two desktops picked 40 due grants in batches of 3: A ${gotA.length}, B ${gotB.length}, overlap 0`);
  });

  it('two desktop processes picking at once never get the same grant', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `p-${String(i).padStart(2, '0')}`);
    await seed(ids);
    const startAt = Date.now() + 1_500;
    const [outA, outB] = await Promise.all([
      runChild(['pick', DEVICE_A, T0.toISOString(), String(startAt)]).done,
      runChild(['pick', DEVICE_B, T0.toISOString(), String(startAt)]).done,
    ]);
    const gotA: string[] = JSON.parse(outA.trim().split('\n').pop()!);
    const gotB: string[] = JSON.parse(outB.trim().split('\n').pop()!);
    expect(gotA.filter((id) => gotB.includes(id))).toEqual([]);
    expect(new Set([...gotA, ...gotB])).toEqual(new Set(ids));
    console.log(`two processes picked 60 due grants one at a time: A ${gotA.length}, B ${gotB.length}, overlap 0`);
  }, 60_000);

  it('a lease keeps others off until it expires; then another desktop takes it at the same generation', async () => {
    await seed(['g1']);
    const [leaseA] = await pickDue(a, DEVICE_A, T0, { limit: 10, leaseMs: LEASE });
    expect(leaseA).toMatchObject({ grantId: 'g1', generation: 0, leaseExpiresAt: at(LEASE), interruptedRefresh: null });
    // Still A's, half-way through its lease.
    expect(await pickDue(b, DEVICE_B, at(30_000), { limit: 10, leaseMs: LEASE })).toEqual([]);
    expect(await claim(b, 'g1', DEVICE_B, at(30_000), LEASE)).toEqual({ ok: false, reason: 'held', holder: DEVICE_A, until: at(LEASE) });
    // Not re-entrant, even for its holder.
    expect(await claim(a, 'g1', DEVICE_A, at(30_000), LEASE)).toMatchObject({ ok: false, reason: 'held', holder: DEVICE_A });
    // A renews: still A's past the first expiry.
    expect(await renew(a, 'g1', DEVICE_A, 0, at(50_000), LEASE)).toEqual({ ok: true, leaseExpiresAt: at(110_000) });
    expect(await pickDue(b, DEVICE_B, at(61_000), { limit: 10, leaseMs: LEASE })).toEqual([]);
    // A stops renewing (frozen, gone): after the lease, B takes it.
    const [leaseB] = await pickDue(b, DEVICE_B, at(110_000), { limit: 10, leaseMs: LEASE });
    expect(leaseB).toMatchObject({ grantId: 'g1', generation: 0, leaseExpiresAt: at(170_000), interruptedRefresh: null });
    expect(await renew(a, 'g1', DEVICE_A, 0, at(111_000), LEASE)).toEqual({ ok: false, reason: 'lease-lost', holder: DEVICE_B, until: at(170_000) });
    expect(await markInFlight(a, 'g1', DEVICE_A, 0, at(111_000), LEASE)).toMatchObject({ ok: false, reason: 'lease-lost', holder: DEVICE_B });
    expect(await release(a, 'g1', DEVICE_A, 0)).toMatchObject({ ok: false, reason: 'lease-lost' });
    // claim works the same way: an expired lease is free to claim.
    expect(await claim(a, 'g1', DEVICE_A, at(170_000), LEASE)).toMatchObject({ ok: true, grantId: 'g1', generation: 0, leaseExpiresAt: at(230_000) });
    expect(await claim(a, 'nope', DEVICE_A, T0, LEASE)).toEqual({ ok: false, reason: 'grant-gone' });
  });

  it('a holder whose lease ran out but was not taken may still commit (its rotated token is not thrown away)', async () => {
    await seed(['g1']);
    await pickDue(a, DEVICE_A, T0, { limit: 1, leaseMs: LEASE });
    expect(await markInFlight(a, 'g1', DEVICE_A, 0, at(1_000), LEASE)).toMatchObject({ ok: true, attempt: 1 });
    expect(await commitRotation(a, 'g1', DEVICE_A, 0, sealedToken(), { now: at(120_000), nextRefreshAt: at(86_400_000) })).toEqual({ ok: true, generation: 1 });
  });

  it('a commit after losing the lease is refused and stores nothing', async () => {
    const tokens = await seed(['g1']);
    expect(await claim(a, 'g1', DEVICE_A, T0, LEASE)).toMatchObject({ ok: true, generation: 0 });
    expect(await markInFlight(a, 'g1', DEVICE_A, 0, T0, LEASE)).toEqual({ ok: true, attempt: 1, leaseExpiresAt: at(LEASE) });
    // A's "HTTP call" outlives its lease; B takes the grant and sees A's marker.
    const [leaseB] = await pickDue(b, DEVICE_B, at(LEASE + 1), { limit: 1, leaseMs: LEASE });
    expect(leaseB!.interruptedRefresh).toEqual({ deviceId: DEVICE_A, since: T0, attempt: 1 });
    const before = await row('g1');
    const outcome = await commitRotation(a, 'g1', DEVICE_A, 0, sealedToken(), { now: at(LEASE + 2), nextRefreshAt: at(86_400_000), recordPatch: { lastRefreshedAt: 'x' } });
    expect(outcome).toEqual({ ok: false, reason: 'lease-lost', holder: DEVICE_B, until: at(2 * LEASE + 1) });
    const after = await row('g1');
    expect(after).toEqual(before);
    expect(Buffer.compare(after.refresh_token_ciphertext, tokens.get('g1')!)).toBe(0);
    expect(after.previous_refresh_token_ciphertext).toBeNull();
    expect(after.gen).toBe(0);
  });

  it('a commit at a moved generation is refused; a commit stores the token, keeps the previous one, clears lease and marker', async () => {
    const tokens = await seed(['g1']);
    const held = await claim(a, 'g1', DEVICE_A, T0, LEASE);
    expect(held).toMatchObject({ ok: true, generation: 0 });
    await markInFlight(a, 'g1', DEVICE_A, 0, T0, LEASE);
    const first = sealedToken();
    expect(sealedGenerationFor(0)).toBe(1);
    expect(await commitRotation(a, 'g1', DEVICE_A, 0, first, { now: at(2_000), nextRefreshAt: at(86_400_000), recordPatch: { lastRefreshedAt: at(2_000).toISOString() } })).toEqual({
      ok: true,
      generation: 1,
    });
    const r = await row('g1');
    expect(r).toMatchObject({ gen: 1, lease_holder: null, lease_expires_at: null, refresh_in_flight_since: null, refresh_in_flight_device: null, refresh_in_flight_attempt: null });
    expect(r.next_refresh_at).toEqual(at(86_400_000));
    expect(r.previous_saved_at).toEqual(at(2_000));
    expect(Buffer.compare(r.refresh_token_ciphertext, Buffer.from(first.ciphertext))).toBe(0);
    expect(Buffer.compare(r.refresh_token_nonce, Buffer.from(first.nonce))).toBe(0);
    expect(Buffer.compare(r.previous_refresh_token_ciphertext, tokens.get('g1')!)).toBe(0);
    expect(r.record.lastRefreshedAt).toBe(at(2_000).toISOString());
    expect(r.updated_by).toBe(DEVICE_A);
    expect(await readRefreshState(a, 'g1')).toEqual({ grantId: 'g1', generation: 1, leaseHolder: null, leaseExpiresAt: null, inFlight: null, nextRefreshAt: at(86_400_000) });

    // The same commit again (a retried statement, a confused caller): the generation moved.
    expect(await commitRotation(a, 'g1', DEVICE_A, 0, sealedToken(), { now: at(3_000), nextRefreshAt: null })).toEqual({ ok: false, reason: 'generation-moved', generation: 1 });
    // A claims again at generation 1, but holds a stale generation 0 in hand: refused, even holding the lease.
    expect(await claim(a, 'g1', DEVICE_A, at(4_000), LEASE)).toMatchObject({ ok: true, generation: 1 });
    expect(await commitRotation(a, 'g1', DEVICE_A, 0, sealedToken(), { now: at(5_000), nextRefreshAt: null })).toEqual({ ok: false, reason: 'generation-moved', generation: 1 });
    expect(await markInFlight(a, 'g1', DEVICE_A, 0, at(5_000), LEASE)).toEqual({ ok: false, reason: 'generation-moved', generation: 1 });
    const still = await row('g1');
    expect(Buffer.compare(still.refresh_token_ciphertext, Buffer.from(first.ciphertext))).toBe(0);
    expect(await commitRotation(a, 'gone', DEVICE_A, 0, sealedToken(), { now: at(5_000), nextRefreshAt: null })).toEqual({ ok: false, reason: 'grant-gone' });
  });

  it('with the firm crypto: a token sealed for the generation it is stored under opens there; the previous one at the one before', async () => {
    const key = generateFirmKey();
    const place = (generation: number) => ({ kind: 'refresh-token' as const, id: 'g1', generation });
    const old = sealSecret(key, 'rt-old', { ...place(0), keyVersion: 1 });
    await owner.query(
      `INSERT INTO relink.grants (id, app_id, staff_id, state, record, refresh_token_ciphertext, refresh_token_nonce, refresh_token_key_version, next_refresh_at)
       VALUES ('g1', 'app-1', 'staff-1', 'active', $1, $2, $3, 1, $4)`,
      [{ id: 'g1', appId: 'app-1', staffId: 'staff-1', state: 'active' }, old.ciphertext, old.nonce, at(-1)],
    );
    const [lease] = await pickDue(a, DEVICE_A, T0, { limit: 1, leaseMs: LEASE });
    const rotated = sealSecret(key, 'rt-new', { ...place(sealedGenerationFor(lease!.generation)), keyVersion: 1 });
    expect(await commitRotation(a, 'g1', DEVICE_A, lease!.generation, rotated, { now: at(1), nextRefreshAt: null })).toEqual({ ok: true, generation: 1 });
    const r = await row('g1');
    const stored = { ciphertext: r.refresh_token_ciphertext, nonce: r.refresh_token_nonce, keyVersion: r.refresh_token_key_version };
    const previous = { ciphertext: r.previous_refresh_token_ciphertext, nonce: r.previous_refresh_token_nonce, keyVersion: r.previous_refresh_token_key_version };
    expect(openSecret(key, stored, place(r.gen))).toEqual({ ok: true, plaintext: 'rt-new' });
    expect(openSecret(key, previous, place(r.gen - 1))).toEqual({ ok: true, plaintext: 'rt-old' });
    expect(openSecret(key, stored, place(r.gen - 1))).toMatchObject({ ok: false, reason: 'wrong-binding' });
  });

  it('release gives the lease back; it keeps the in-flight marker unless the refresh was settled', async () => {
    await seed(['g1', 'g2']);
    const leases = await pickDue(a, DEVICE_A, T0, { limit: 2, leaseMs: LEASE });
    expect(leases.map((l) => l.grantId)).toEqual(['g1', 'g2']);
    await markInFlight(a, 'g1', DEVICE_A, 0, T0, LEASE);
    await markInFlight(a, 'g2', DEVICE_A, 0, T0, LEASE);
    // g1: the response was lost (timeout): keep the marker, retry later. g2: a definite refusal: settled.
    expect(await release(a, 'g1', DEVICE_A, 0, { nextRefreshAt: at(3_600_000) })).toEqual({ ok: true });
    expect(await release(a, 'g2', DEVICE_A, 0, { clearInFlight: true, nextRefreshAt: at(3_600_000) })).toEqual({ ok: true });
    expect(await readRefreshState(b, 'g1')).toEqual({
      grantId: 'g1',
      generation: 0,
      leaseHolder: null,
      leaseExpiresAt: null,
      inFlight: { deviceId: DEVICE_A, since: T0, attempt: 1 },
      nextRefreshAt: at(3_600_000),
    });
    expect((await readRefreshState(b, 'g2'))!.inFlight).toBeNull();
    // The interrupted g1 is due now (whatever its schedule); the settled g2 is not.
    const picked = await pickDue(b, DEVICE_B, at(1_000), { limit: 10, leaseMs: LEASE });
    expect(picked).toEqual([{ grantId: 'g1', generation: 0, leaseExpiresAt: at(61_000), interruptedRefresh: { deviceId: DEVICE_A, since: T0, attempt: 1 }, nextRefreshAt: at(3_600_000) }]);
    // Finishing it: the new holder's send counts as attempt 2, under its own name.
    expect(await markInFlight(b, 'g1', DEVICE_B, 0, at(2_000), LEASE)).toEqual({ ok: true, attempt: 2, leaseExpiresAt: at(62_000) });
    expect((await readRefreshState(b, 'g1'))!.inFlight).toEqual({ deviceId: DEVICE_B, since: at(2_000), attempt: 2 });
  });

  it('concurrent commit attempts at one generation: exactly one wins, and its token is the one stored', async () => {
    await seed(['g1']);
    await claim(a, 'g1', DEVICE_A, T0, LEASE);
    // Six connections of one desktop (its app and its CLI, a retried statement) racing to commit generation 0.
    const racers = await Promise.all(Array.from({ length: 6 }, async () => (await db().desktop({ max: 1 })).pool));
    await Promise.all(racers.map((p) => p.query('SELECT 1')));
    const sealed = racers.map(() => sealedToken());
    const outcomes = await Promise.all(racers.map((p, i) => commitRotation(p, 'g1', DEVICE_A, 0, sealed[i]!, { now: at(1_000), nextRefreshAt: at(86_400_000) })));
    const winners = outcomes.flatMap((o, i) => (o.ok ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(outcomes.filter((o) => !o.ok)).toEqual(Array(5).fill({ ok: false, reason: 'generation-moved', generation: 1 }));
    const r = await row('g1');
    expect(r.gen).toBe(1);
    expect(Buffer.compare(r.refresh_token_ciphertext, Buffer.from(sealed[winners[0]!]!.ciphertext))).toBe(0);

    // The old holder and the desktop that took over after its lease expired, committing at once: the holder wins.
    await claim(a, 'g1', DEVICE_A, at(2_000), LEASE);
    await claim(b, 'g1', DEVICE_B, at(2_000 + LEASE), LEASE);
    const [fromA, fromB] = await Promise.all([
      commitRotation(a, 'g1', DEVICE_A, 1, sealedToken(), { now: at(3_000 + LEASE), nextRefreshAt: null }),
      commitRotation(b, 'g1', DEVICE_B, 1, sealedToken(), { now: at(3_000 + LEASE), nextRefreshAt: null }),
    ]);
    expect(fromB).toEqual({ ok: true, generation: 2 });
    // A is refused either way; why depends on which statement ran first: before B's commit, B holds the lease;
    // after it, the lease is cleared and the generation has moved on.
    expect(fromA.ok).toBe(false);
    expect(fromA).toSatisfy((o: typeof fromA) =>
      !o.ok && ((o.reason === 'lease-lost' && 'holder' in o && o.holder === DEVICE_B) || (o.reason === 'generation-moved' && 'generation' in o && o.generation === 2)),
    );
  });

  it('a refresh takes 3 round trips (pick, mark in flight, commit); on demand the same (claim, mark, commit)', async () => {
    await seed(['g1', 'g2']);
    const sql = counting(a);
    const [lease] = await pickDue(sql, DEVICE_A, T0, { limit: 1, leaseMs: LEASE });
    await markInFlight(sql, lease!.grantId, DEVICE_A, lease!.generation, T0, LEASE);
    expect(await commitRotation(sql, lease!.grantId, DEVICE_A, lease!.generation, sealedToken(), { now: at(500), nextRefreshAt: at(86_400_000) })).toMatchObject({ ok: true });
    const swept = sql.count;

    sql.count = 0;
    const held = await claim(sql, 'g2', DEVICE_A, T0, LEASE);
    if (!held.ok) throw new Error('claim failed');
    await markInFlight(sql, 'g2', DEVICE_A, held.generation, T0, LEASE);
    await commitRotation(sql, 'g2', DEVICE_A, held.generation, sealedToken(), { now: at(500), nextRefreshAt: null });
    const onDemand = sql.count;

    // A batch of 20 picked at once: 1 + 2 per grant.
    await seed(Array.from({ length: 20 }, (_, i) => `b-${i}`));
    sql.count = 0;
    const batch = await pickDue(sql, DEVICE_A, T0, { limit: 20, leaseMs: LEASE });
    for (const l of batch) {
      await markInFlight(sql, l.grantId, DEVICE_A, l.generation, T0, LEASE);
      await commitRotation(sql, l.grantId, DEVICE_A, l.generation, sealedToken(), { now: at(500), nextRefreshAt: null });
    }
    console.log(`firm database round trips per refresh: sweep ${swept}, on demand ${onDemand}, batch of 20 ${(sql.count / 20).toFixed(2)}`);
    expect(swept).toBe(3);
    expect(onDemand).toBe(3);
    expect(sql.count).toBe(41);
  });

  it('the pick reads only due and interrupted grants, through the two partial indexes (no scan of the table)', async () => {
    await owner.query(
      `INSERT INTO relink.grants (id, app_id, staff_id, state, record, next_refresh_at)
       SELECT 'many-' || i, 'app-1', 'staff-1', 'active', jsonb_build_object('id', 'many-' || i, 'appId', 'app-1', 'staffId', 'staff-1', 'state', 'active'),
         $1::timestamptz + make_interval(mins => i) FROM generate_series(1, 5000) i`,
      [T0],
    );
    await owner.query('ANALYZE relink.grants');
    const client = await a.connect();
    try {
      await client.query('BEGIN');
      const plan = (await client.query(`EXPLAIN ${PICK_DUE_SQL}`, [DEVICE_A, at(30 * 60_000), 20, at(31 * 60_000)])).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index Scan on grants_due/);
      expect(plan).toMatch(/Index Scan on grants_in_flight/);
      expect(plan).not.toMatch(/Seq Scan/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(await pickDue(a, DEVICE_A, at(30 * 60_000), { limit: 100, leaseMs: LEASE })).toHaveLength(30);
  });

  it('no advisory lock, row lock or open transaction is held by the desktop while its "HTTP call" runs', async () => {
    await seed(['g1']);
    const [lease] = await pickDue(a, DEVICE_A, T0, { limit: 1, leaseMs: LEASE });
    expect(await markInFlight(a, 'g1', DEVICE_A, lease!.generation, T0, LEASE)).toMatchObject({ ok: true });
    const observed: Array<{ advisory: number; mine: number; inTransaction: number; sessions: number }> = [];
    // The "HTTP call": 400 ms during which the database is watched from outside.
    const http = new Promise((r) => setTimeout(r, 400));
    for (let i = 0; i < 4; i++) {
      const { rows } = await owner.query(
        `SELECT
           (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory'
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS advisory,
           (SELECT count(*)::int FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
             WHERE s.usename = $1 AND l.locktype IN ('advisory', 'transactionid', 'tuple')) AS mine,
           (SELECT count(*)::int FROM pg_stat_activity WHERE usename = $1 AND xact_start IS NOT NULL) AS "inTransaction",
           (SELECT count(*)::int FROM pg_stat_activity WHERE usename = $1) AS sessions`,
        [aUser],
      );
      observed.push(rows[0]);
      await new Promise((r) => setTimeout(r, 80));
    }
    await http;
    expect(observed.every((o) => o.sessions >= 1)).toBe(true);
    expect(observed.map(({ advisory, mine, inTransaction }) => ({ advisory, mine, inTransaction }))).toEqual(Array(4).fill({ advisory: 0, mine: 0, inTransaction: 0 }));
    expect(await commitRotation(a, 'g1', DEVICE_A, lease!.generation, sealedToken(), { now: at(500), nextRefreshAt: null })).toMatchObject({ ok: true });
  });

  it('a desktop killed after marking its refresh in flight leaves a marker the next desktop picks up to finish', async () => {
    await seed(['g1']);
    const child = runChild(['mark-and-hang', DEVICE_C, 'g1', T0.toISOString()]);
    await child.waitFor(/^marked /m);
    child.process.kill('SIGKILL');
    await child.done.catch(() => undefined);
    expect(child.process.signalCode).toBe('SIGKILL');

    // The marker is durable: written before the send, it outlives the process.
    expect((await readRefreshState(b, 'g1'))!).toMatchObject({ leaseHolder: DEVICE_C, inFlight: { deviceId: DEVICE_C, since: T0, attempt: 1 } });
    // Inside the dead desktop's lease nobody may take it; after it, the next pick reports the crashed refresh.
    expect(await pickDue(b, DEVICE_B, at(LEASE - 1), { limit: 5, leaseMs: LEASE })).toEqual([]);
    const [lease] = await pickDue(b, DEVICE_B, at(LEASE), { limit: 5, leaseMs: LEASE });
    expect(lease).toMatchObject({ grantId: 'g1', generation: 0, interruptedRefresh: { deviceId: DEVICE_C, since: T0, attempt: 1 } });
    // B finishes it (retrying with the stored token, inside the grace) and commits.
    expect(await markInFlight(b, 'g1', DEVICE_B, 0, at(LEASE + 1), LEASE)).toMatchObject({ ok: true, attempt: 2 });
    expect(await commitRotation(b, 'g1', DEVICE_B, 0, sealedToken(), { now: at(LEASE + 2), nextRefreshAt: at(86_400_000) })).toEqual({ ok: true, generation: 1 });
    expect((await readRefreshState(b, 'g1'))!.inFlight).toBeNull();
  }, 60_000);

  // ── the child desktop ──────────────────────────────────────────────────────────────────────────────────

  let dir: string;
  let script: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-leases-'));
    script = path.join(dir, 'desktop.mts');
    const mod = (p: string) => JSON.stringify(pathToFileURL(path.join(ROOT, p)).href);
    fs.writeFileSync(
      script,
      `import { createFirmPool } from ${mod('main/firm/db/pool.ts')};
import { pickDue } from ${mod('main/firm/db/due-work.ts')};
import { claim, markInFlight } from ${mod('main/firm/db/leases.ts')};
const [mode, address, device, ...rest] = process.argv.slice(2);
const { pool } = createFirmPool({ address, password: process.env.RELINK_CHILD_PASSWORD, max: 1 });
if (mode === 'pick') {
  const [nowIso, startAt] = rest;
  await pool.query('SELECT 1');
  await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
  const got = [];
  for (;;) {
    const batch = await pickDue(pool, device, new Date(nowIso), { limit: 1, leaseMs: 60000 });
    if (batch.length === 0) break;
    got.push(...batch.map((l) => l.grantId));
  }
  await pool.end();
  console.log(JSON.stringify(got));
} else if (mode === 'mark-and-hang') {
  const [grantId, nowIso] = rest;
  const now = new Date(nowIso);
  const held = await claim(pool, grantId, device, now, 60000);
  if (!held.ok) throw new Error('claim failed: ' + held.reason);
  const marked = await markInFlight(pool, grantId, device, held.generation, now, 60000);
  if (!marked.ok) throw new Error('mark failed: ' + marked.reason);
  console.log('marked ' + held.generation);
  // The "HTTP call" that never returns: this process is killed here.
  setInterval(() => undefined, 1000);
}`,
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function runChild(args: string[]): { process: ChildProcess; done: Promise<string>; waitFor: (re: RegExp) => Promise<void> } {
    const [mode, ...rest] = args;
    const child = spawn(process.execPath, ['--import', 'tsx', script, mode!, desktop.address, ...rest], {
      cwd: ROOT,
      env: { ...process.env, RELINK_CHILD_PASSWORD: desktop.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      for (const w of waiters.splice(0)) (w.re.test(out) ? w.resolve : () => waiters.push(w))();
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const done = new Promise<string>((resolve, reject) =>
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(out);
        else reject(new Error(`child ${mode} ended with ${code ?? signal}: ${err || out}`));
      }),
    );
    return {
      process: child,
      done,
      waitFor: (re) =>
        new Promise<void>((resolve, reject) => {
          if (re.test(out)) return resolve();
          waiters.push({ re, resolve });
          done.then(() => reject(new Error(`child ended without printing ${re}: ${out}`)), reject);
        }),
    };
  }
});
