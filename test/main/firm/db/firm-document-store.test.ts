import crypto from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pool } from 'pg';
import { CHANGE_CHANNEL, DOCUMENT_LOCK } from '../../../../main/firm/db/document-tables.js';
import { FirmDocumentStore } from '../../../../main/firm/db/firm-document-store.js';
import { migrateFirmDatabase } from '../../../../main/firm/db/migrate.js';
import { FIRM_TABLES_V1 } from '../../../../main/firm/db/migrations.js';
import type { CommitEvent } from '../../../../main/store/ports.js';
import { describePostgres, until as waitUntil } from '../../../support/firm-postgres.js';
import { JANE, TOM, seededApp, seededConnection, seededGrant, seededStaff, seededTenant } from '../../../support/seeded-metadata.js';

/**
 * The firm database's DocumentStore with two "desktops" (two stores, each on its own pool as its own login of the
 * relink_desktop role) against the real PostgreSQL of .ci/with-postgres.sh: what one changes appears in the
 * other's peek() within 2 s through LISTEN/NOTIFY, durable means committed, an outage loses nothing, and no
 * secret value ever reaches a table through the document.
 */

/** Values that stand for secrets in this file: none may appear in any readable column after the scenario. */
const SECRETS = {
  refreshToken: `rt-${crypto.randomBytes(16).toString('hex')}`,
  clientSecret: `cs-${crypto.randomBytes(16).toString('hex')}`,
};

const PROPAGATION_MS = 2_000;

const until = <T>(what: string, probe: () => T | undefined | null | false, timeoutMs = PROPAGATION_MS) => waitUntil(what, probe, timeoutMs);

describePostgres('the firm document store (two desktops on one PostgreSQL)', (db) => {
  let admin: Pool;
  let a: FirmDocumentStore;
  let b: FirmDocumentStore;
  const loginA = { user: '' };
  const errorsA: Error[] = [];
  const errorsB: Error[] = [];
  const commitsB: CommitEvent[] = [];
  let changesB = 0;

  const desktop = async (login?: { user: string }) => {
    const { pool, user } = await db().desktop();
    if (login) login.user = user;
    const store = new FirmDocumentStore({ db: pool, coalesceMs: 20, maxRetryDelayMs: 300 });
    await store.open();
    return store;
  };

  beforeAll(async () => {
    admin = db().admin();
    expect(await migrateFirmDatabase(admin)).toMatchObject({ ok: true, version: 1 });
    // The firm row is the owner's to create (relink firm create); the settings live in it.
    await admin.query("INSERT INTO relink.firm (id, name) VALUES (gen_random_uuid(), 'Harbour & Finch')");
    a = await desktop(loginA);
    b = await desktop();
    a.onError((e) => errorsA.push(e));
    b.onError((e) => errorsB.push(e));
    b.onCommit((e) => commitsB.push(e));
    b.onChange(() => changesB++);
  });

  afterAll(async () => {
    await a?.close().catch(() => undefined);
    await b?.close().catch(() => undefined);
  });

  it('a grant added on A is in B’s peek() within 2 s (LISTEN/NOTIFY), and B’s onCommit names it and onChange fires', async () => {
    const before = changesB;
    const started = Date.now();
    await a.update((d) => {
      d.apps['app-1'] = seededApp('app-1', 'Practice sync');
      d.staff[JANE] = seededStaff(JANE, 'jane@firm.example', 'Jane');
      d.grants['g-1'] = seededGrant('g-1', 'app-1', JANE);
    });
    const seen = await until('g-1 on B', () => b.peek().grants['g-1']);
    const elapsed = Date.now() - started;
    expect(seen).toEqual(seededGrant('g-1', 'app-1', JANE));
    expect(b.peek().apps['app-1']?.name).toBe('Practice sync');
    expect(elapsed).toBeLessThan(PROPAGATION_MS);
    expect(changesB).toBeGreaterThan(before);
    expect(commitsB.some((e) => e.ids.grants?.includes('g-1'))).toBe(true);
    // A saw its own notification and did not announce its own change twice.
    await until('A skipped its own notification', () => a.stats.echoesSkipped > 0);
  });

  it('a change and a delete propagate; a record deleted and re-created ends up present', async () => {
    await a.update((d) => {
      d.organisations[seededTenant(1)] = { tenantId: seededTenant(1), name: 'Org 1', tenantType: 'ORGANISATION', firstSeenAt: '2026-03-01T09:00:00.000Z' };
      d.connections['c-1'] = seededConnection('c-1', { id: 'g-1', appId: 'app-1', staffId: JANE }, seededTenant(1));
      d.connections['c-2'] = seededConnection('c-2', { id: 'g-1', appId: 'app-1', staffId: JANE }, seededTenant(1));
    });
    await until('c-1 and c-2 on B', () => b.peek().connections['c-1'] && b.peek().connections['c-2']);
    commitsB.length = 0;
    await a.update((d) => {
      delete d.connections['c-1'];
      d.grants['g-1']!.consecutiveFailures = 3;
    });
    await until('c-1 gone on B', () => !b.peek().connections['c-1'] && b.peek().grants['g-1']?.consecutiveFailures === 3);
    expect(commitsB.some((e) => e.ids.connections?.includes('c-1'))).toBe(true);
    // The row is gone and the deletion noted, as the schema intends.
    expect((await admin.query("SELECT count(*)::int AS n FROM relink.connections WHERE id = 'c-1'")).rows[0].n).toBe(0);
    expect((await admin.query("SELECT count(*)::int AS n FROM relink.deletions WHERE tbl = 'connections' AND id = 'c-1'")).rows[0].n).toBe(1);

    await a.update((d) => delete d.connections['c-2'], { durable: true });
    await a.update((d) => {
      d.connections['c-2'] = seededConnection('c-2', { id: 'g-1', appId: 'app-1', staffId: JANE }, seededTenant(1));
    });
    await until('c-2 back on B', () => b.peek().connections['c-2']);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.peek().connections['c-2']).toBeDefined();
  });

  it('concurrent updates of different records on A and B both land, on both desktops and in the database', async () => {
    const n = 20;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        Promise.all([
          a.update((d) => {
            d.staff[`a-${i}`] = seededStaff(`a-${i}`, `a${i}@firm.example`, `A ${i}`);
          }),
          b.update((d) => {
            d.staff[`b-${i}`] = seededStaff(`b-${i}`, `b${i}@firm.example`, `B ${i}`);
          }),
        ]),
      ),
    );
    // Different records only here (same-record conflicts: firm-document-store.rebase.test.ts).
    await Promise.all([a.flush(), b.flush()]);
    const everyone = [...Array.from({ length: n }, (_, i) => `a-${i}`), ...Array.from({ length: n }, (_, i) => `b-${i}`)];
    await until('all staff on A', () => everyone.every((id) => a.peek().staff[id]));
    await until('all staff on B', () => everyone.every((id) => b.peek().staff[id]));
    const { rows } = await admin.query<{ id: string }>("SELECT id FROM relink.staff WHERE id LIKE 'a-%' OR id LIKE 'b-%'");
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(everyone));
  });

  it('a settings change propagates (stored in the firm row)', async () => {
    await b.update((d) => {
      d.settings.probeIntervalMinutes = 42;
      d.settings.firmName = 'Harbour & Finch LLP';
    });
    await until('settings on A', () => a.peek().settings.probeIntervalMinutes === 42);
    expect(a.peek().settings.firmName).toBe('Harbour & Finch LLP');
    const { rows } = await admin.query("SELECT settings->>'probeIntervalMinutes' AS p FROM relink.firm");
    expect(rows[0].p).toBe('42');
  });

  it('a durable update resolves only once its row is committed: a separate connection reads it right away', async () => {
    const reader = db().admin();
    await a.update((d) => {
      d.grants['g-durable'] = seededGrant('g-durable', 'app-1', TOM);
    }, { durable: true });
    const { rows } = await reader.query("SELECT record->>'staffId' AS staff FROM relink.grants WHERE id = 'g-durable'");
    expect(rows).toEqual([{ staff: TOM }]);
    // And not before: a non-durable update is in memory at once and in the database only after the coalescing window.
    await a.update((d) => {
      d.grants['g-durable']!.consecutiveFailures = 7;
    });
    expect(a.peek().grants['g-durable']?.consecutiveFailures).toBe(7);
  });

  it('a record carrying a stray secret field is refused (onError) and never written; the store never touches sealed columns', async () => {
    // The sealed columns as another module (rotation-commit.ts) would have set them: here, bytes of the secrets.
    await admin.query(
      `UPDATE relink.grants SET refresh_token_ciphertext = $1, refresh_token_nonce = $2, refresh_token_key_version = 1 WHERE id = 'g-1'`,
      [Buffer.from(SECRETS.refreshToken), Buffer.alloc(12, 1)],
    );
    await admin.query(`UPDATE relink.apps SET client_secret_ciphertext = $1, client_secret_nonce = $2, client_secret_key_version = 1 WHERE id = 'app-1'`, [
      Buffer.from(SECRETS.clientSecret),
      Buffer.alloc(12, 2),
    ]);
    const errors = errorsA.length;
    await a.update((d) => {
      (d.grants['g-1'] as unknown as Record<string, unknown>).refreshToken = SECRETS.refreshToken;
      (d.apps['app-1'] as unknown as Record<string, unknown>).clientSecret = SECRETS.clientSecret;
    });
    await a.flush();
    expect(errorsA.slice(errors).map((e) => e.message).join('\n')).toMatch(/grants record \(g-1\) is not valid[\s\S]*apps record \(app-1\) is not valid|apps record \(app-1\) is not valid[\s\S]*grants record \(g-1\) is not valid/);
    // Put the records right again (as the service would never have let them be), and change them normally.
    await a.update((d) => {
      delete (d.grants['g-1'] as unknown as Record<string, unknown>).refreshToken;
      delete (d.apps['app-1'] as unknown as Record<string, unknown>).clientSecret;
      d.grants['g-1']!.consecutiveFailures = 0;
      d.apps['app-1']!.name = 'Practice sync 2';
    }, { durable: true });
    const { rows } = await admin.query(
      "SELECT (SELECT refresh_token_ciphertext FROM relink.grants WHERE id = 'g-1') AS rt, (SELECT client_secret_ciphertext FROM relink.apps WHERE id = 'app-1') AS cs",
    );
    expect(rows[0].rt.toString()).toBe(SECRETS.refreshToken);
    expect(rows[0].cs.toString()).toBe(SECRETS.clientSecret);
    await until('renamed app on B', () => b.peek().apps['app-1']?.name === 'Practice sync 2');
  });

  it('the connections killed mid-way (pg_terminate_backend) and A locked out for a while: A’s pending changes are written once it is back, listening resumes, nothing is lost', async () => {
    const user = loginA.user;
    const errors = errorsA.length;
    // A is cut off: its login refused and every session of it ended (its LISTEN connection too).
    await admin.query(`ALTER ROLE "${user}" NOLOGIN`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [user]);
    let restored = false;
    const restore = async () => {
      if (!restored) await admin.query(`ALTER ROLE "${user}" LOGIN`);
      restored = true;
    };
    try {
    await until('A notices', () => !a.listening);
    // Changes on A while it cannot write: in memory at once, kept.
    await a.update((d) => {
      d.grants['g-outage'] = seededGrant('g-outage', 'app-1', JANE);
      d.grants['g-1']!.consecutiveFailures = 9;
    });
    const durable = a.update((d) => {
      d.staff['s-outage'] = seededStaff('s-outage', 'o@firm.example', 'Outage');
    }, { durable: true });
    // A durable change that cannot be stored says so (the change itself stays and is retried).
    await expect(durable).rejects.toThrow(/firm database/);
    expect(a.peek().grants['g-outage']).toBeDefined();
    expect(a.pending).toBe(true);
    // Meanwhile B changes something A must catch up on.
    await b.update((d) => {
      d.staff['s-from-b'] = seededStaff('s-from-b', 'fromb@firm.example', 'From B');
    }, { durable: true });
    await until('A reports the failed write', () => errorsA.length > errors, 3_000);
    expect(b.peek().grants['g-outage']).toBeUndefined();

    // Back.
    await restore();
    await until('A writes its pending changes and B sees them', () => b.peek().grants['g-outage'] && b.peek().staff['s-outage'] && b.peek().grants['g-1']?.consecutiveFailures === 9, 10_000);
    await until('A listens again and caught up on B', () => a.listening && a.peek().staff['s-from-b'], 10_000);
    expect(a.pending).toBe(false);
    // Listening really resumed: a new change on B reaches A by notification.
    await b.update((d) => {
      d.staff['s-after'] = seededStaff('s-after', 'after@firm.example', 'After');
    });
    await until('s-after on A', () => a.peek().staff['s-after']);
    const { rows } = await admin.query("SELECT id FROM relink.grants WHERE id IN ('g-outage') UNION ALL SELECT id FROM relink.staff WHERE id IN ('s-outage', 's-from-b', 's-after')");
    expect(rows.map((r) => r.id).sort()).toEqual(['g-outage', 's-after', 's-from-b', 's-outage']);
    // No error message names a password.
    for (const e of [...errorsA, ...errorsB]) expect(e.message).not.toMatch(/throwaway-|password=/);
    } finally {
      await restore();
    }
  });

  it('same record on both desktops, one after the other and at once: both end up agreeing with the database (rebased: firm-document-store.rebase.test.ts)', async () => {
    await a.update(
      (d) => {
        d.grants['g-1']!.consecutiveFailures = 11;
        d.grants['g-1']!.scopes = ['from-a'];
      },
      { durable: true },
    );
    await until('B sees A’s write', () => b.peek().grants['g-1']?.consecutiveFailures === 11);
    await b.update((d) => void (d.grants['g-1']!.consecutiveFailures = 12), { durable: true });
    await until('both agree on B’s write', () => a.peek().grants['g-1']?.consecutiveFailures === 12);
    // B changed the record after seeing A's version, so A's other field survives in B's.
    expect(a.peek().grants['g-1']?.scopes).toEqual(['from-a']);
    // Both at once, one field: the write rebased last sets it, and both desktops end up with that one.
    await Promise.all([
      a.update((d) => void (d.grants['g-1']!.lastProbeAt = '2026-04-01T00:00:00.000Z'), { durable: true }),
      b.update((d) => void (d.grants['g-1']!.lastProbeAt = '2026-04-02T00:00:00.000Z'), { durable: true }),
    ]);
    const { rows } = await admin.query("SELECT record->>'lastProbeAt' AS at FROM relink.grants WHERE id = 'g-1'");
    await until('both agree with the database', () => a.peek().grants['g-1']?.lastProbeAt === rows[0].at && b.peek().grants['g-1']?.lastProbeAt === rows[0].at);
  });

  it('a change committed late with an earlier change number is not skipped (writes hold the document lock shared, reads exclusively)', async () => {
    const slow = await admin.connect();
    try {
      await slow.query('BEGIN');
      await slow.query('SELECT pg_advisory_xact_lock_shared($1::integer, $2::integer)', [...DOCUMENT_LOCK]);
      // Takes a change number now and commits later.
      await slow.query("INSERT INTO relink.staff (id, status, record) VALUES ('s-slow', 'active', $1)", [seededStaff('s-slow', 'slow@firm.example', 'Slow')]);
      // As every writer does: announced at its commit.
      await slow.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, '{"by":"slow"}']);
      await b.update((d) => {
        d.staff['s-fast'] = seededStaff('s-fast', 'fast@firm.example', 'Fast');
      }, { durable: true });
      // A heard B, and waits to read until the slow writer is done.
      await new Promise((r) => setTimeout(r, 300));
      expect(a.peek().staff['s-fast']).toBeUndefined();
      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    await until('A has both', () => a.peek().staff['s-fast'] && a.peek().staff['s-slow']);
    await until('B has both', () => b.peek().staff['s-fast'] && b.peek().staff['s-slow']);
  });

  it('a mutator that throws is rejected at once and what it touched is put back as the database has it', async () => {
    const before = a.peek().grants['g-1']!.consecutiveFailures;
    await expect(
      a.update((d) => {
        d.grants['g-1']!.consecutiveFailures = 99;
        d.grants['g-half'] = seededGrant('g-half', 'app-1', JANE);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await until('restored', () => a.peek().grants['g-1']?.consecutiveFailures === before && !a.peek().grants['g-half']);
    await a.flush();
    expect((await admin.query("SELECT count(*)::int AS n FROM relink.grants WHERE id = 'g-half'")).rows[0].n).toBe(0);
  });

  it('a fresh desktop opening the database sees the same document as the two running ones', async () => {
    await Promise.all([a.flush(), b.flush()]);
    const c = await desktop();
    try {
      const strip = (doc: ReturnType<FirmDocumentStore['peek']>) => JSON.parse(JSON.stringify({ ...doc, revision: 0 }));
      // (Key order may differ: jsonb keeps keys in its own order.)
      await until('A and B agree', () => isDeepStrictEqual(strip(a.peek()), strip(b.peek())), 3_000).catch(() => undefined);
      expect(strip(a.peek())).toEqual(strip(b.peek()));
      expect(strip(c.peek())).toEqual(strip(b.peek()));
      expect(Object.keys(c.peek().grants).sort()).toEqual(['g-1', 'g-durable', 'g-outage']);
    } finally {
      await c.close();
    }
  });

  it('a scan of every table after the scenario finds none of the secret values in a readable column', async () => {
    await Promise.all([a.flush(), b.flush()]);
    for (const table of FIRM_TABLES_V1) {
      // Each row as text: bytea shows as hex, so only a plaintext copy of a secret would match.
      const { rows } = await admin.query<{ row: string }>(`SELECT t::text AS row FROM relink.${table} t`);
      for (const { row } of rows) {
        for (const secret of Object.values(SECRETS)) expect(row.includes(secret), `${table} holds a secret in plaintext`).toBe(false);
      }
    }
    // The scan can fail: the secrets are there as the bytes the owner put in the sealed columns (hex).
    const hex = Buffer.from(SECRETS.refreshToken).toString('hex');
    const { rows } = await admin.query<{ row: string }>('SELECT t::text AS row FROM relink.grants t');
    expect(rows.some((r) => r.row.includes(hex))).toBe(true);
  });
});
