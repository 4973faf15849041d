/**
 * HTTP dates and the clock skew they reveal, shared by the OAuth client (id_token validation) and the Xero
 * error classification (Retry-After, clock-skew findings), so both read a server's clock the same way.
 */

/** An RFC 9110 HTTP-date as epoch milliseconds, or null. */
export function parseHttpDate(value: string | null | undefined): number | null {
  if (!value) return null;
  const text = value.trim();
  // Every HTTP-date form names a month (and a weekday); this keeps Date.parse's leniency away from "120" or "1.5".
  if (!/\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b/i.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * Server clock minus local clock (positive: this computer is behind), from a response's `Date` header and
 * the local send and receive times. `Date` is truncated to whole seconds, so the server's time lies in
 * [Date, Date + 1 s): the estimate uses the middle of that second and the midpoint of the round trip.
 * Null when the header is missing or unreadable.
 */
export function estimateSkewMs(dateHeader: string | null | undefined, sentAt: number, receivedAt: number): number | null {
  const server = parseHttpDate(dateHeader);
  if (server === null || !Number.isFinite(sentAt) || !Number.isFinite(receivedAt)) return null;
  return Math.round(server + 500 - (sentAt + receivedAt) / 2);
}
