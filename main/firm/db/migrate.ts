import type { Pool, PoolClient } from 'pg';
import {
  DEFAULT_DESKTOP_ROLE,
  FIRM_MIGRATIONS,
  notPermittedProblem,
  schemaNewerProblem,
  schemaOlderProblem,
  type FirmMigration,
  type FirmSchemaProblem,
} from './migrations.js';

/**
 * The `pg` adapter that brings a firm database to the schema this code knows (migrations.ts), and checks it.
 *
 * Why a small runner and not a migration tool: node-pg-migrate (well kept, v9 in 2026) was the candidate, but it
 * loads migrations from files on disk through a glob and a run-time TypeScript loader, which the one-file
 * Electron bundle does not have; its lock is session-level and fails by default when another process holds it;
 * and it cannot say "this database is newer than this code" — which Relink must say in words. What Relink needs
 * is small: numbered migrations applied in order, once, atomically, under concurrency. So:
 *
 * - Fast path, no lock: read `relink.schema_version`. At the version this code knows: done (every start but the
 *   first). Newer: refuse, with the schema-newer sentence.
 * - Otherwise one transaction: `pg_advisory_xact_lock` (a transaction-level advisory lock: released by COMMIT or
 *   ROLLBACK, or by the server if this process dies, never held across anything but the migration's own SQL —
 *   Relink never holds an advisory lock across an HTTP call), re-read the version (another desktop may have
 *   migrated while this one waited), apply every pending migration, record each, commit. Two desktops starting
 *   at once: one migrates, the other waits, then finds the work done. A failing migration rolls back whole:
 *   the database stays at its old version, not half way.
 *
 * Migrating needs DDL rights (the database's owner, or a role with CREATE on it) and, the first time,
 * CREATEROLE to create the desktop role. Desktops normally connect as a login member of that role, which has
 * data rights only; such a connection can check the schema and is told (schema-older / not-permitted) when an
 * owner must migrate. Setting up a login for a desktop, as the owner:
 *
 *   CREATE ROLE reception_pc LOGIN PASSWORD '…' IN ROLE relink_desktop;
 */

/** The advisory lock key of firm migrations ("RLNK", then 001). Per database, as PostgreSQL scopes them. */
export const MIGRATION_LOCK_KEY = '1380732491001';

/** Outcome of checking or migrating: the version reached, or a problem to show (never thrown). */
export type FirmSchemaOutcome =
  | { ok: true; version: number; applied: number[] }
  | { ok: false; problem: FirmSchemaProblem };

export interface MigrateOptions {
  /** The data-only role desktops log in through (default relink_desktop); created if missing. */
  desktopRole?: string;
  /** The migrations to apply (default FIRM_MIGRATIONS); tests pass others to be a newer or older desktop. */
  migrations?: readonly FirmMigration[];
  /** How long to wait for another desktop's migration before failing (default 120 s). */
  lockTimeoutMs?: number;
}

type Queryable = Pick<PoolClient, 'query'>;

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function knownVersionOf(migrations: readonly FirmMigration[]): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`firm migrations must be numbered 1, 2, 3… in order; #${i + 1} says ${m.version}`);
  });
  if (migrations.length === 0) throw new Error('no firm migrations');
  return migrations.length;
}

/** The database's firm schema version, or null when it has none (no relink.schema_version table, or no row). */
export async function readFirmSchemaVersion(db: Queryable): Promise<number | null> {
  const present = await db.query<{ present: boolean }>("SELECT to_regclass('relink.schema_version') IS NOT NULL AS present");
  if (!present.rows[0]?.present) return null;
  const { rows } = await db.query<{ version: number | null }>('SELECT max(version)::integer AS version FROM relink.schema_version');
  return rows[0]?.version ?? null;
}

/** Whether this code may use the database as it is: the check every desktop makes on connecting. */
export async function checkFirmSchema(pool: Pool | Queryable, migrations: readonly FirmMigration[] = FIRM_MIGRATIONS): Promise<FirmSchemaOutcome> {
  const known = knownVersionOf(migrations);
  const version = await readFirmSchemaVersion(pool);
  if (version !== null && version > known) return { ok: false, problem: schemaNewerProblem(version, known) };
  if (version === null || version < known) return { ok: false, problem: schemaOlderProblem(version, known) };
  return { ok: true, version, applied: [] };
}

/**
 * A write refused by the schema guard, as the problem to show; null for any other error. The guard's SQLSTATEs:
 * RLK01 (the database is newer than the session's code), RLK02 (the session did not say its schema).
 */
export function firmSchemaProblemOf(error: unknown, knownVersion: number = FIRM_MIGRATIONS.length): FirmSchemaProblem | null {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return null;
  if (e.code === 'RLK01') {
    const version = Number(/\(schema (\d+)\)/.exec(String(e.message))?.[1]);
    return schemaNewerProblem(Number.isInteger(version) ? version : knownVersion + 1, knownVersion);
  }
  if (e.code === 'RLK02') return { code: 'schema-unknown', databaseVersion: null, knownVersion, message: String(e.message) };
  return null;
}

/**
 * Brings the database to this code's schema (see the file comment). Returns a problem, changing nothing, when the
 * database is newer or this connection may not migrate it; throws for anything else (the server unreachable, a
 * migration's own error), after rolling back.
 */
export async function migrateFirmDatabase(pool: Pool, opts: MigrateOptions = {}): Promise<FirmSchemaOutcome> {
  const migrations = opts.migrations ?? FIRM_MIGRATIONS;
  const known = knownVersionOf(migrations);
  const desktopRole = opts.desktopRole ?? DEFAULT_DESKTOP_ROLE;
  if (!ROLE_NAME.test(desktopRole)) throw new Error('the desktop role must be a lower-case SQL name (letters, digits, _)');

  const client = await pool.connect();
  let inTransaction = false;
  let version: number | null = null;
  try {
    version = await readFirmSchemaVersion(client);
    if (version !== null && version > known) return { ok: false, problem: schemaNewerProblem(version, known) };
    if (version === known) return { ok: true, version, applied: [] };

    await client.query('BEGIN');
    inTransaction = true;
    await client.query("SELECT set_config('lock_timeout', $1, true)", [`${opts.lockTimeoutMs ?? 120_000}ms`]);
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    // Under the lock: whatever another desktop did while this one waited is visible now.
    const schemaPresent = await client.query<{ present: boolean }>("SELECT to_regnamespace('relink') IS NOT NULL AS present");
    if (!schemaPresent.rows[0]?.present) await client.query('CREATE SCHEMA relink');
    await client.query(`CREATE TABLE IF NOT EXISTS relink.schema_version (
      version integer PRIMARY KEY CHECK (version >= 1),
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      applied_by text NOT NULL DEFAULT current_user
    )`);
    version = await readFirmSchemaVersion(client);
    if (version !== null && version > known) {
      await rollback(client);
      inTransaction = false;
      return { ok: false, problem: schemaNewerProblem(version, known) };
    }
    const pending = migrations.filter((m) => m.version > (version ?? 0));
    const applied: number[] = [];
    if (pending.length > 0) {
      // The schema guard lets this transaction's own writes through (a migration may move data).
      await client.query("SELECT set_config('relink.code_schema', $1, true)", [String(known)]);
      await ensureRole(client, desktopRole);
      for (const migration of pending) {
        for (const statement of migration.statements({ desktopRole })) {
          try {
            await client.query(statement);
          } catch (e) {
            throw Object.assign(new Error(`firm schema migration ${migration.version} (${migration.name}) failed: ${(e as Error).message}`), {
              cause: e,
              code: (e as { code?: string }).code,
            });
          }
        }
        await client.query('INSERT INTO relink.schema_version (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        applied.push(migration.version);
      }
    }
    await client.query('COMMIT');
    inTransaction = false;
    return { ok: true, version: known, applied };
  } catch (e) {
    if (inTransaction) await rollback(client);
    if ((e as { code?: string }).code === '42501') {
      return { ok: false, problem: notPermittedProblem(version, known, (e as Error).message.replace(/^firm schema migration \d+ \([^)]*\) failed: /, '')) };
    }
    throw e;
  } finally {
    client.release();
  }
}

async function rollback(client: PoolClient): Promise<void> {
  await client.query('ROLLBACK').catch(() => undefined);
}

/**
 * Creates the desktop role (NOLOGIN: desktops log in as their own members of it) unless it exists. Roles are
 * shared by every database of a server, so two firms' first desktops may race here: the loser's unique-key error
 * is taken as "it exists now".
 */
async function ensureRole(client: PoolClient, role: string): Promise<void> {
  const { rows } = await client.query<{ present: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS present', [role]);
  if (rows[0]?.present) return;
  await client.query(`DO $$
  BEGIN
    CREATE ROLE "${role}" NOLOGIN;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
  END $$`);
}
