import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { checkFirmSchema, firmSchemaProblemOf, migrateFirmDatabase, MIGRATION_LOCK_KEY, readFirmSchemaVersion } from '../../../../main/firm/db/migrate.js';
import { FIRM_MIGRATIONS, FIRM_SCHEMA_VERSION, FIRM_TABLES_V1, type FirmMigration } from '../../../../main/firm/db/migrations.js';
import { describePostgres } from '../../../support/firm-postgres.js';
import { ROOT } from '../../../support/relink-cli.js';

const NEWER_SENTENCE = (n: number) =>
  `This firm database was updated by a newer Relink (schema ${n}); update Relink on this computer to keep using it. (schema-newer)`;

/** A schema 2 that exists only in this test: a newer Relink's migrations. */
const v2: FirmMigration = { version: 2, name: 'a newer Relink', statements: () => ['CREATE TABLE relink.from_the_future (id integer PRIMARY KEY)'] };

describePostgres('firm schema migrations, on a real PostgreSQL', (db) => {
  it('apply from an empty database: schema v1, every table, recorded once; a second run changes nothing', async () => {
    const pool = db().admin();
    expect(await readFirmSchemaVersion(pool)).toBeNull();
    expect(await checkFirmSchema(pool)).toMatchObject({ ok: false, problem: { code: 'schema-older', databaseVersion: null } });

    const started = performance.now();
    const first = await migrateFirmDatabase(pool);
    console.log(`firm schema v${FIRM_SCHEMA_VERSION} applied from empty in ${Math.round(performance.now() - started)} ms`);
    expect(first).toEqual({ ok: true, version: FIRM_SCHEMA_VERSION, applied: [1] });

    const { rows } = await pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'relink' ORDER BY 1");
    expect(rows.map((r) => r.table_name)).toEqual([...FIRM_TABLES_V1].sort());
    expect(await migrateFirmDatabase(pool)).toEqual({ ok: true, version: 1, applied: [] });
    const versions = await pool.query('SELECT version, name, applied_by FROM relink.schema_version');
    expect(versions.rows).toEqual([{ version: 1, name: FIRM_MIGRATIONS[0]!.name, applied_by: 'relink_admin' }]);
    expect(await checkFirmSchema(pool)).toEqual({ ok: true, version: 1, applied: [] });
  });

  it('a failing migration rolls back whole: the database stays at its old version, nothing half-made', async () => {
    const pool = db().admin();
    await migrateFirmDatabase(pool);
    const broken: FirmMigration = { version: 2, name: 'broken', statements: () => ['CREATE TABLE relink.half_made (id integer)', 'SELECT no_such_function()'] };
    await expect(migrateFirmDatabase(pool, { migrations: [...FIRM_MIGRATIONS, broken] })).rejects.toThrow(/firm schema migration 2 \(broken\) failed: function no_such_function\(\) does not exist/);
    expect(await readFirmSchemaVersion(pool)).toBe(1);
    expect((await pool.query("SELECT to_regclass('relink.half_made') AS t")).rows[0].t).toBeNull();
  });

  it('a database at a newer schema: the older code refuses, in words — at the check, at migrate, and at every write', async () => {
    const owner = db().admin();
    await migrateFirmDatabase(owner);
    // A desktop running the v1 code, connected before the upgrade.
    const older = await db().desktop();
    await older.pool.query("INSERT INTO relink.staff (id, status, record) VALUES ('s1', 'active', '{\"id\":\"s1\",\"status\":\"active\"}')");

    // Another desktop, with newer code, migrates the database to schema 2 (as the owner).
    const newer = db().admin({ codeSchemaVersion: 2 });
    expect(await migrateFirmDatabase(newer, { migrations: [...FIRM_MIGRATIONS, v2] })).toEqual({ ok: true, version: 2, applied: [2] });

    expect(await checkFirmSchema(older.pool)).toEqual({
      ok: false,
      problem: { code: 'schema-newer', databaseVersion: 2, knownVersion: 1, message: NEWER_SENTENCE(2) },
    });
    expect(await migrateFirmDatabase(owner)).toEqual({ ok: false, problem: expect.objectContaining({ code: 'schema-newer', message: NEWER_SENTENCE(2) }) });

    // The already-open v1 session's next write is refused by the database itself, with the same sentence.
    const write = older.pool.query("UPDATE relink.staff SET status = 'leaving', record = record || '{\"status\":\"leaving\"}' WHERE id = 's1'");
    await expect(write).rejects.toThrow(NEWER_SENTENCE(2));
    const refused = await older.pool.query("DELETE FROM relink.staff WHERE id = 's1'").catch((e: unknown) => e);
    expect(firmSchemaProblemOf(refused)).toEqual({ code: 'schema-newer', databaseVersion: 2, knownVersion: 1, message: NEWER_SENTENCE(2) });
    await expect(owner.query("INSERT INTO relink.activity (ts, actor, action, entry) VALUES (now(), 'engine', 'x', '{}')")).rejects.toThrow(NEWER_SENTENCE(2));
    // Reading still works (the window can show what it has), and the newer code writes as usual.
    expect((await older.pool.query('SELECT count(*)::int AS n FROM relink.staff')).rows[0].n).toBe(1);
    await newer.query("DELETE FROM relink.staff WHERE id = 's1'");
  });

  it('a session that does not say its schema may not write (schema-unknown)', async () => {
    const pool = db().admin();
    await migrateFirmDatabase(pool, { migrations: [...FIRM_MIGRATIONS, v2] });
    const client = await pool.connect();
    try {
      await client.query("SELECT set_config('relink.code_schema', '', false)");
      const e = await client.query("INSERT INTO relink.staff (id, status, record) VALUES ('s2', 'active', '{\"id\":\"s2\",\"status\":\"active\"}')").catch((x: unknown) => x);
      expect(firmSchemaProblemOf(e)).toMatchObject({ code: 'schema-unknown', message: expect.stringMatching(/did not say which firm schema.*\(schema-unknown\)$/) });
    } finally {
      client.release();
    }
  });
});

describePostgres('two desktops migrating at once', (db) => {
  it('both succeed; the schema is applied exactly once (two real processes racing for the migration lock)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-migrate-race-'));
    try {
      const mod = (p: string) => JSON.stringify(pathToFileURL(path.join(ROOT, p)).href);
      const script = path.join(dir, 'migrate.mts');
      fs.writeFileSync(
        script,
        `import { createFirmPool } from ${mod('main/firm/db/pool.ts')};
import { migrateFirmDatabase } from ${mod('main/firm/db/migrate.ts')};
const [address] = process.argv.slice(2);
const { pool } = createFirmPool({ address, password: process.env.RELINK_RACE_PASSWORD, max: 1 });
const outcome = await migrateFirmDatabase(pool);
await pool.end();
console.log(JSON.stringify(outcome));`,
      );
      const admin = db().admin();
      // Hold the migration lock, so both children are surely waiting on it before either may migrate.
      const holder = await admin.connect();
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      const run = () =>
        new Promise<string>((resolve, reject) =>
          execFile(
            process.execPath,
            ['--import', 'tsx', script, db().adminAddress],
            { cwd: ROOT, timeout: 60_000, env: { ...process.env, RELINK_RACE_PASSWORD: db().adminPassword } },
            (e, out, err) => (e ? reject(new Error(err || e.message)) : resolve(out)),
          ),
        );
      const children = [run(), run()];
      let waiting = 0;
      for (let i = 0; i < 600 && waiting < 2; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const { rows } = await admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        );
        waiting = rows[0]!.n;
      }
      expect(waiting).toBe(2);
      await holder.query('COMMIT');
      holder.release();

      const outcomes = (await Promise.all(children)).map((out) => JSON.parse(out.trim().split('\n').pop()!));
      expect(outcomes.every((o) => o.ok && o.version === 1)).toBe(true);
      expect(outcomes.map((o) => o.applied).sort()).toEqual([[], [1]]);
      const { rows } = await admin.query('SELECT version FROM relink.schema_version');
      expect(rows).toEqual([{ version: 1 }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
