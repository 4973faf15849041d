/**
 * Whether a request that failed can have reached the server: the one rule for the token client
 * (oauth/provider-client.ts) and the API calls (providers/xero/errors.ts). It matters because a refresh
 * that may have reached Xero may have rotated the token, so it is retried with the same token inside the
 * grace window; one that certainly never left this machine changed nothing.
 *
 * Node's fetch (undici) reports the cause as `error.cause`, sometimes an AggregateError holding one error
 * per address tried (IPv6 and IPv4 of `localhost`); every code found in the chain counts.
 */

/** Error codes that mean the request never left this machine (name resolution, connect, TLS handshake, a bad URL). */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EAI_NODATA',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_INVALID_URL',
]);
const NOT_SENT_PATTERN = /^(CERT_|ERR_TLS_CERT|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED|SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH)/;
/** What a code looks like (`ECONNRESET`, `UND_ERR_SOCKET`): anything else is not quoted, as it may hold a URL. */
const CODE_SHAPE = /^[A-Z][A-Z0-9_]{1,40}$/;

/** The error codes of an error, its `errors` (AggregateError) and its causes, outermost first. */
export function errorCodes(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== 'object' || depth > 4) return [];
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  const own = typeof e.code === 'string' && CODE_SHAPE.test(e.code) ? [e.code] : [];
  const nested = Array.isArray(e.errors) ? e.errors.flatMap((x) => errorCodes(x, depth + 1)) : [];
  return [...own, ...nested, ...errorCodes(e.cause, depth + 1)];
}

/** True only when every code found says the request never left this machine (no code: it may have). */
export function neverSent(codes: readonly string[]): boolean {
  return codes.length > 0 && codes.every((c) => NOT_SENT_CODES.has(c) || NOT_SENT_PATTERN.test(c));
}
