/**
 * How a desktop reaches the firm database: a `postgres://` address, read into the exact settings the pool is given.
 * No I/O and no `pg` here (pool.ts is the adapter), so the rules below are unit-tested without a server.
 *
 * Why not hand the address to `pg` as `connectionString`: node-postgres lets every parameter in the address
 * override the options beside it (`Object.assign(config, parse(connectionString))`), so an address carrying
 * `options=` or `sslmode=` would silently replace the settings Relink relies on (its schema version on every
 * session, the TLS checks). Reading the address here means each setting has one source.
 *
 * The password: the address a firm shares should not hold one. Relink keeps it in the OS keychain and passes it
 * separately (`password`), which wins over one in the address. `describeFirmDatabase` is the only way an
 * address is shown or logged, and it never includes a password.
 *
 * TLS, as libpq spells it in `sslmode` (https://www.postgresql.org/docs/current/libpq-ssl.html):
 *   - `verify-full` (what a firm's server across a network should use): encrypted, the server's certificate
 *     must chain to a trusted CA (`sslrootcert=/path/ca.pem`, or the system's CAs) and name the host dialled.
 *       postgres://relink@db.firm.local/relink?sslmode=verify-full&sslrootcert=/etc/relink/firm-ca.pem
 *   - `verify-ca`: the certificate must chain to the CA, whatever host it names.
 *   - `require`: encrypted, the certificate not checked (protects against listeners, not against an impostor).
 *   - `disable`: no TLS (a socket or loopback on the same machine).
 * `prefer` and `allow` (libpq's "TLS if the server offers it") are refused: node-postgres cannot fall back, and
 * a firm should say which it means. With no `sslmode`, a Unix socket or a loopback host gets no TLS and any
 * other host gets `verify-full`: a desktop never sends a firm's grants in the clear by default.
 */

export type FirmSslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

export interface FirmConnectionSettings {
  /** A host name or address, or a Unix socket folder (starts with `/`). */
  host: string;
  port: number;
  database: string;
  user: string;
  /** From the address; the `password` parameter of `readFirmDatabaseAddress` overrides it. Never logged. */
  password: string | null;
  sslMode: FirmSslMode;
  /** `sslrootcert`: a PEM file of the CA(s) the server's certificate must chain to; null: the system's CAs. */
  sslRootCertPath: string | null;
  applicationName: string | null;
}

export class FirmAddressError extends Error {
  override readonly name = 'FirmAddressError';
}

const SSL_MODES: readonly string[] = ['disable', 'require', 'verify-ca', 'verify-full'];
/** Address parameters this reader understands; any other is refused rather than ignored. */
const KNOWN_PARAMS = new Set(['sslmode', 'sslrootcert', 'host', 'port', 'user', 'application_name']);

const isLoopback = (host: string) => host.startsWith('/') || host === 'localhost' || host === '::1' || /^127\./.test(host);

/**
 * Reads a `postgres://user[:password]@host[:port]/database[?sslmode=…&sslrootcert=…]` address. A Unix socket,
 * as libpq writes it: `postgres:///database?host=/var/run/postgresql&user=relink`, or the folder percent-encoded
 * as the host (`postgres://relink@%2Fvar%2Frun%2Fpostgresql/database`). Throws FirmAddressError with a sentence.
 */
export function readFirmDatabaseAddress(address: string): FirmConnectionSettings {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new FirmAddressError('The firm database address is not a valid address; it should look like postgres://relink@db.example.com/relink.');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new FirmAddressError(`The firm database address must start with postgres:// (it starts with ${url.protocol}//).`);
  }
  for (const key of url.searchParams.keys()) {
    if (!KNOWN_PARAMS.has(key)) {
      throw new FirmAddressError(`The firm database address has a setting Relink does not use ("${key}"); remove it.`);
    }
  }
  const socketHost = url.searchParams.get('host');
  const host = socketHost || decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new FirmAddressError('The firm database address names no server.');
  const portText = url.searchParams.get('port') || url.port || '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new FirmAddressError(`The firm database address has an invalid port (${portText}).`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database || database.includes('/')) throw new FirmAddressError('The firm database address names no database (the part after the last "/").');
  const user = url.searchParams.get('user') || decodeURIComponent(url.username);
  if (!user) throw new FirmAddressError('The firm database address names no user (postgres://USER@host/database).');
  const requested = url.searchParams.get('sslmode');
  if (requested !== null && !SSL_MODES.includes(requested)) {
    throw new FirmAddressError(
      `sslmode=${requested} is not supported; use verify-full (recommended), verify-ca, require, or disable for a server on this computer.`,
    );
  }
  const sslMode = (requested ?? (isLoopback(host) ? 'disable' : 'verify-full')) as FirmSslMode;
  const sslRootCertPath = url.searchParams.get('sslrootcert');
  if (sslRootCertPath !== null && sslMode === 'disable') throw new FirmAddressError('sslrootcert is set but sslmode is disable; choose one.');
  return {
    host,
    port,
    database,
    user,
    password: url.password ? decodeURIComponent(url.password) : null,
    sslMode,
    sslRootCertPath: sslRootCertPath || null,
    applicationName: url.searchParams.get('application_name'),
  };
}

/** The address for people and logs: user, server, database and TLS mode, never a password. */
export function describeFirmDatabase(settings: FirmConnectionSettings): string {
  const where = settings.host.startsWith('/') ? `socket:${settings.host}` : `${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${settings.port}`;
  return `${settings.user}@${where}/${settings.database} (${settings.sslMode === 'disable' ? 'no TLS' : `TLS ${settings.sslMode}`})`;
}
