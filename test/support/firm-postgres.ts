import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Pool } from 'pg';
import { createFirmPool, type FirmPoolOptions } from '../../main/firm/db/pool.js';

/**
 * A real PostgreSQL for the firm-database tests, from .ci/with-postgres.sh (which .ci/run wraps the tests in):
 *
 *   bash .ci/with-postgres.sh bash .ci/with-keyring.sh npx vitest run test/main/firm
 *
 * Each test file that calls `describePostgres` gets a fresh database, created through the cluster's superuser
 * (RELINK_TEST_PG_ADMIN_URL) and dropped afterwards, so files running in parallel never see each other's tables.
 *
 * Without RELINK_TEST_PG_ADMIN_URL the tests are skipped locally, with the reason in their title
 * (test/support/summary.mjs lists skipped tests by title) — but on CI (CI set) they FAIL instead, so a CI run
 * that lost its PostgreSQL can never pass by skipping the firm tests.
 */

export const PG_ADMIN_ENV = 'RELINK_TEST_PG_ADMIN_URL';

const onCi = () => !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

export interface TestDatabase {
  /** The database's name (relink_t_…). */
  name: string;
  /** Its address as the superuser, without the password (pass `adminPassword` separately, as Relink does). */
  adminAddress: string;
  adminPassword: string;
  /** A pool on it as the superuser (the firm's owner, who may migrate); closed after the file. */
  admin(opts?: Partial<FirmPoolOptions>): Pool;
  /**
   * A new login that is a member of the desktop role (relink_desktop) — what a desktop connects as — and a
   * pool on it. The role must exist: migrate first.
   */
  desktop(opts?: Partial<FirmPoolOptions>): Promise<{ pool: Pool; address: string; password: string; user: string }>;
}

function addressFor(adminUrl: string, database: string, user?: string): { address: string; password: string } {
  const url = new URL(adminUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  url.pathname = `/${database}`;
  if (user) url.username = user;
  return { address: url.toString(), password };
}

/** `describe`, with a fresh database of the test cluster for the block; skipped or failed without one (above). */
export function describePostgres(name: string, body: (db: () => TestDatabase) => void): void {
  const adminUrl = process.env[PG_ADMIN_ENV];
  if (!adminUrl) {
    if (onCi()) {
      describe(name, () => {
        it('has a PostgreSQL to test against', () => {
          throw new Error(`${PG_ADMIN_ENV} is not set. On CI the firm-database tests must run inside .ci/with-postgres.sh (.ci/run does that); they are never skipped there.`);
        });
      });
    } else {
      describe.skip(`${name} [SKIPPED: ${PG_ADMIN_ENV} is not set; run the tests under bash .ci/with-postgres.sh]`, () => {
        it('needs PostgreSQL', () => undefined);
      });
    }
    return;
  }

  const dbName = `relink_t_${crypto.randomBytes(6).toString('hex')}`;
  const pools: Pool[] = [];
  const logins: string[] = [];
  let server: Pool | null = null;
  const handle: TestDatabase = {
    name: dbName,
    ...(() => {
      const { address, password } = addressFor(adminUrl, dbName);
      return { adminAddress: address, adminPassword: password };
    })(),
    admin(opts = {}) {
      const { address, password } = addressFor(adminUrl, dbName);
      const { pool } = createFirmPool({ address, password, max: 2, ...opts });
      pools.push(pool);
      return pool;
    },
    async desktop(opts = {}) {
      const user = `relink_t_desk_${crypto.randomBytes(5).toString('hex')}`;
      const password = crypto.randomBytes(12).toString('hex');
      // Identifiers and the password are our own hex, so plain interpolation is safe here.
      await server!.query(`CREATE ROLE "${user}" LOGIN PASSWORD '${password}' IN ROLE relink_desktop`);
      logins.push(user);
      const { address } = addressFor(adminUrl, dbName, user);
      const { pool } = createFirmPool({ address, password, max: 2, ...opts });
      pools.push(pool);
      return { pool, address, password, user };
    },
  };

  describe(name, () => {
    beforeAll(async () => {
      const { address, password } = addressFor(adminUrl, 'postgres');
      server = createFirmPool({ address, password, max: 1 }).pool;
      await server.query(`CREATE DATABASE "${dbName}"`);
    });
    afterAll(async () => {
      await Promise.all(pools.splice(0).map((p) => p.end().catch(() => undefined)));
      if (server) {
        await server.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
        for (const user of logins) await server.query(`DROP ROLE IF EXISTS "${user}"`).catch(() => undefined);
        await server.end();
      }
    });
    body(() => handle);
  });
}

/** Waits until `probe` gives a value (a change reaching another desktop, say), or fails naming what did not come. */
export async function until<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
