import { beforeAll, expect, it } from 'vitest';
import { migrateFirmDatabase } from '../../../../main/firm/db/migrate.js';
import { FIRM_MIGRATIONS, FIRM_TABLES_V1, type FirmMigration } from '../../../../main/firm/db/migrations.js';
import { describePostgres } from '../../../support/firm-postgres.js';

/** Column names that can hold a token, a secret, a code or key material (issue 12: never plaintext). */
const SECRET_NAMED = /token|secret|password|code|cipher|nonce|sealed|private|credential/i;
/** Types that hold text a person could read. */
const TEXT_TYPES = new Set(['text', 'character varying', 'character', 'json', 'jsonb', 'xml', 'name', 'ARRAY']);

const grantRecord = (id: string) => ({
  id,
  appId: 'app-1',
  staffId: 'staff-1',
  state: 'active',
});

describePostgres('the firm schema, v1', (db) => {
  beforeAll(async () => {
    expect(await migrateFirmDatabase(db().admin())).toMatchObject({ ok: true, version: 1 });
  });

  it('every column that can hold a token, secret, code or key material is bytea (ciphertext or a hash), never text', async () => {
    const { rows } = await db()
      .admin()
      .query<{ table_name: string; column_name: string; data_type: string }>(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'relink' ORDER BY table_name, ordinal_position",
      );
    expect(new Set(rows.map((r) => r.table_name))).toEqual(new Set(FIRM_TABLES_V1));
    const named = rows.filter((r) => SECRET_NAMED.test(r.column_name));
    // The check has something to check: the sealed refresh tokens, client secrets, invite code hashes, keys.
    expect(named.map((r) => `${r.table_name}.${r.column_name}`)).toEqual(
      expect.arrayContaining(['grants.refresh_token_ciphertext', 'grants.previous_refresh_token_ciphertext', 'apps.client_secret_ciphertext', 'invites.code_hash', 'sealed_firm_keys.sealed_key']),
    );
    const plaintext = named.filter((r) => TEXT_TYPES.has(r.data_type) && !r.column_name.endsWith('_key_version'));
    expect(plaintext.map((r) => `${r.table_name}.${r.column_name} is ${r.data_type}`)).toEqual([]);
    for (const r of named.filter((c) => !/_key_version$/.test(c.column_name))) expect(`${r.table_name}.${r.column_name}: ${r.data_type}`).toMatch(/: bytea$/);
  });

  it('the check can fail: a text column named like a token is reported', async () => {
    const pool = db().admin();
    const leak: FirmMigration = { version: 2, name: 'a careless change', statements: () => ['ALTER TABLE relink.grants ADD COLUMN access_token text'] };
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('relink.code_schema', '2', true)");
      for (const s of leak.statements({ desktopRole: 'relink_desktop' })) await client.query(s);
      const { rows } = await client.query<{ column_name: string; data_type: string }>(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'relink' AND table_name = 'grants'",
      );
      expect(rows.filter((r) => SECRET_NAMED.test(r.column_name) && TEXT_TYPES.has(r.data_type)).map((r) => r.column_name)).toEqual(['access_token']);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('the desktop role has data rights only: no CREATE TABLE, DROP, ALTER, TRUNCATE, nor changing the schema version', async () => {
    const { pool } = await db().desktop();
    const refused = async (sql: string) => {
      const e = (await pool.query(sql).then(
        () => null,
        (x: unknown) => x,
      )) as { code?: string; message?: string } | null;
      return e ? `${e.code}: ${e.message}` : `ALLOWED: ${sql}`;
    };
    expect(await refused('CREATE TABLE relink.mine (id integer)')).toBe('42501: permission denied for schema relink');
    expect(await refused('CREATE TABLE public.mine (id integer)')).toBe('42501: permission denied for schema public');
    expect(await refused('CREATE SCHEMA mine')).toMatch(/^42501: permission denied for database/);
    expect(await refused('DROP TABLE relink.grants')).toBe('42501: must be owner of table grants');
    expect(await refused('ALTER TABLE relink.grants ADD COLUMN x integer')).toBe('42501: must be owner of table grants');
    expect(await refused('TRUNCATE relink.activity')).toBe('42501: permission denied for table activity');
    expect(await refused('DROP FUNCTION relink.check_code_schema()')).toMatch(/^42501: must be owner of function/);
    expect(await refused("INSERT INTO relink.schema_version (version, name) VALUES (9, 'x')")).toBe('42501: permission denied for table schema_version');
    expect(await refused('DELETE FROM relink.schema_version')).toBe('42501: permission denied for table schema_version');
    // The activity log is append-only for desktops.
    expect(await refused("INSERT INTO relink.activity (ts, actor, action, entry) VALUES (now(), 'engine', 'grant-refreshed', '{}')")).toMatch(/^ALLOWED/);
    expect(await refused('UPDATE relink.activity SET action = action')).toBe('42501: permission denied for table activity');
    expect(await refused('DELETE FROM relink.activity')).toBe('42501: permission denied for table activity');
    // Devices are marked removed, never deleted; the firm row is the owner's to create.
    expect(await refused('DELETE FROM relink.devices')).toBe('42501: permission denied for table devices');
    expect(await refused("INSERT INTO relink.firm (id, name) VALUES (gen_random_uuid(), 'x')")).toBe('42501: permission denied for table firm');
  });

  it('the desktop role reads and writes grants, with sealed tokens as bytea, the changes stamped and deletions kept', async () => {
    const { pool } = await db().desktop();
    const ct = Buffer.from('ciphertext-and-tag');
    const nonce = Buffer.alloc(12, 7);
    await pool.query(
      `INSERT INTO relink.grants (id, app_id, staff_id, state, record, refresh_token_ciphertext, refresh_token_nonce, refresh_token_key_version, next_refresh_at)
       VALUES ($1, 'app-1', 'staff-1', 'active', $2, $3, $4, 1, now())`,
      ['g-rw', grantRecord('g-rw'), ct, nonce],
    );
    const first = (await pool.query('SELECT changed_seq, refresh_token_ciphertext FROM relink.grants WHERE id = $1', ['g-rw'])).rows[0];
    expect(Buffer.compare(first.refresh_token_ciphertext, ct)).toBe(0);
    await pool.query('UPDATE relink.grants SET generation = generation + 1 WHERE id = $1', ['g-rw']);
    const second = (await pool.query('SELECT changed_seq FROM relink.grants WHERE id = $1', ['g-rw'])).rows[0];
    expect(Number(second.changed_seq)).toBeGreaterThan(Number(first.changed_seq));
    // A nonce of the wrong length, or a ciphertext without its nonce, is refused by the schema.
    await expect(pool.query("UPDATE relink.grants SET refresh_token_nonce = '\\x00'::bytea WHERE id = 'g-rw'")).rejects.toThrow(/check constraint/);
    await expect(pool.query("UPDATE relink.grants SET refresh_token_nonce = NULL WHERE id = 'g-rw'")).rejects.toThrow(/check constraint/);
    // A record that disagrees with its typed columns is refused.
    await expect(pool.query("UPDATE relink.grants SET state = 'revoked' WHERE id = 'g-rw'")).rejects.toThrow(/check constraint/);
    await pool.query('DELETE FROM relink.grants WHERE id = $1', ['g-rw']);
    const deletion = (await pool.query("SELECT tbl, id, changed_seq FROM relink.deletions WHERE id = 'g-rw'")).rows;
    expect(deletion).toEqual([{ tbl: 'grants', id: 'g-rw', changed_seq: expect.any(String) }]);
    expect(Number(deletion[0].changed_seq)).toBeGreaterThan(Number(second.changed_seq));
  });

  it('due work is picked with FOR UPDATE SKIP LOCKED: two desktops picking at once get disjoint grants, through the due index', async () => {
    const owner = db().admin();
    const ids = Array.from({ length: 10 }, (_, i) => `due-${i}`);
    for (const id of ids) {
      await owner.query(
        "INSERT INTO relink.grants (id, app_id, staff_id, state, record, next_refresh_at) VALUES ($1, 'app-1', 'staff-1', 'active', $2, now() - interval '1 minute')",
        [id, grantRecord(id)],
      );
    }
    // A grant leased to someone else is not due for anyone.
    await owner.query("INSERT INTO relink.devices (id, name, public_key) VALUES ('00000000-0000-4000-8000-000000000001', 'A', '\\x" + '11'.repeat(32) + "')");
    await owner.query("UPDATE relink.grants SET lease_holder = '00000000-0000-4000-8000-000000000001', lease_expires_at = now() + interval '1 minute' WHERE id = 'due-9'");
    const pick = `SELECT id FROM relink.grants
      WHERE state = 'active' AND next_refresh_at <= now() AND (lease_expires_at IS NULL OR lease_expires_at < now())
      ORDER BY next_refresh_at LIMIT 5 FOR UPDATE SKIP LOCKED`;
    const a = await (await db().desktop()).pool.connect();
    const b = await (await db().desktop()).pool.connect();
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      const pickedA = (await a.query<{ id: string }>(pick)).rows.map((r) => r.id);
      const pickedB = (await b.query<{ id: string }>(pick)).rows.map((r) => r.id);
      expect(pickedA).toHaveLength(5);
      expect(pickedB).toHaveLength(4);
      expect(new Set([...pickedA, ...pickedB])).toEqual(new Set(ids.slice(0, 9)));
      await b.query('SET LOCAL enable_seqscan = off');
      const plan = (await b.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${pick}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/grants_due/);
    } finally {
      await a.query('ROLLBACK');
      await b.query('ROLLBACK');
      a.release();
      b.release();
    }
  });

  it('a desktop login cannot migrate: told so in words, and the database is unchanged', async () => {
    const { pool } = await db().desktop();
    const v2: FirmMigration = { version: 2, name: 'next', statements: () => ['CREATE TABLE relink.next_thing (id integer)'] };
    const outcome = await migrateFirmDatabase(pool, { migrations: [...FIRM_MIGRATIONS, v2] });
    expect(outcome).toMatchObject({ ok: false, problem: { code: 'not-permitted', databaseVersion: 1, knownVersion: 2 } });
    expect(outcome.ok ? '' : outcome.problem.message).toMatch(/^The firm database refused to let this connection update its schema \(.*\); connect as the database's owner to do it\. \(not-permitted\)$/);
    expect((await db().admin().query('SELECT max(version)::int AS v FROM relink.schema_version')).rows[0].v).toBe(1);
  });
});
