import fs from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Pool, type PoolConfig } from 'pg';
import { FIRM_SCHEMA_VERSION } from './migrations.js';
import { FirmAddressError, describeFirmDatabase, readFirmDatabaseAddress, type FirmConnectionSettings } from './connection-config.js';

/**
 * The `pg` adapter that opens connections to the firm database: one small pool per desktop (DESIGN.md §7).
 *
 * - The address comes without a password; the password (kept in the OS keychain by the caller) is a separate
 *   parameter, and may be a function, asked at every new connection, so a changed password is picked up
 *   without restarting. Neither is ever logged: `description` is what logs and the window show.
 * - TLS follows the address's `sslmode` (connection-config.ts explains each; `verify-full` is what a firm's
 *   server across a network should use), and `tls` adds what a file path cannot say (a CA as PEM text, a client
 *   certificate and key for servers that ask for one).
 * - Every session tells the server which firm schema this code was built for (`relink.code_schema`, a startup
 *   option): the schema's write guard (migrations.ts, check_code_schema) then refuses writes from a desktop
 *   older than the database, even one that was already running when another desktop migrated it. A pooler
 *   in front of the server (PgBouncer) may refuse or drop startup options; the guard then refuses every write
 *   with its schema-unknown sentence, so that failure is loud, not silent.
 * - Small: a desktop runs one sweep at a time and never holds a connection across an HTTP call, so a few
 *   connections serve it, and a firm of 50 desktops stays well inside a default server's 100.
 */

export interface FirmPoolOptions {
  /** The firm database's address: postgres://user@host[:port]/database[?sslmode=verify-full&sslrootcert=…]. */
  address: string;
  /** The password, from the keychain; wins over one in the address. A function is asked for each new connection. */
  password?: string | (() => string | Promise<string>) | null;
  /** TLS options merged over what `sslmode` says (ca, cert, key…); ignored with sslmode=disable. */
  tls?: ConnectionOptions;
  /** Connections at most (default 4). */
  max?: number;
  /** How long to wait for a connection before failing (default 10 s). */
  connectTimeoutMs?: number;
  /** How long an idle connection is kept (default 30 s). */
  idleTimeoutMs?: number;
  /** What the server's pg_stat_activity shows for this desktop (default "Relink"). */
  applicationName?: string;
  /** The firm schema this code knows, sent on every session (default FIRM_SCHEMA_VERSION). */
  codeSchemaVersion?: number;
  /**
   * Errors of idle connections (the server restarted, the network dropped): the pool discards that connection
   * and opens a new one when next asked. Without a listener such an error would end the process.
   */
  onError?: (error: Error) => void;
}

export interface FirmPool {
  pool: Pool;
  settings: FirmConnectionSettings;
  /** The address for people and logs, never with a password. */
  description: string;
}

function sslFor(settings: FirmConnectionSettings, extra: ConnectionOptions | undefined): PoolConfig['ssl'] {
  if (settings.sslMode === 'disable') return false;
  let ca: string | undefined;
  if (settings.sslRootCertPath) {
    try {
      ca = fs.readFileSync(settings.sslRootCertPath, 'utf8');
    } catch (e) {
      throw new FirmAddressError(`Relink cannot read the firm database's CA file (sslrootcert=${settings.sslRootCertPath}): ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}.`);
    }
  }
  const base: ConnectionOptions = { ...(ca ? { ca } : {}), ...extra };
  switch (settings.sslMode) {
    case 'require':
      return { ...base, rejectUnauthorized: false };
    case 'verify-ca':
      // The chain is checked; the name is not (libpq's verify-ca).
      return { ...base, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      // Node's default checkServerIdentity compares the certificate with the host dialled (pg sets servername).
      return { ...base, rejectUnauthorized: true };
  }
}

/** Opens (lazily: no connection is made until the first query) the pool for one firm database. */
export function createFirmPool(opts: FirmPoolOptions): FirmPool {
  const settings = readFirmDatabaseAddress(opts.address);
  const codeSchema = opts.codeSchemaVersion ?? FIRM_SCHEMA_VERSION;
  if (!Number.isInteger(codeSchema) || codeSchema < 1) throw new RangeError('codeSchemaVersion must be a positive integer');
  const password = opts.password ?? settings.password ?? undefined;
  const pool = new Pool({
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    ...(password === undefined ? {} : { password }),
    ssl: sslFor(settings, opts.tls),
    application_name: opts.applicationName ?? settings.applicationName ?? 'Relink',
    options: `-c relink.code_schema=${codeSchema}`,
    max: opts.max ?? 4,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
  });
  pool.on('error', (error) => opts.onError?.(error));
  return { pool, settings, description: describeFirmDatabase(settings) };
}
