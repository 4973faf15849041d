/**
 * The raw result of one call to a token endpoint (code exchange or refresh), before anyone decides what it
 * means. main/oauth produces it; the provider (main/providers/<name>/errors.ts) classifies failures. It never carries a token
 * in a failure, and `tokens` is handed straight to the vault and the in-memory access-token cache.
 */
export interface TokenSet {
  accessToken: string;
  /** Absent when the server did not rotate (RFC 6749 §6 makes it optional): keep the stored one. */
  refreshToken: string | null;
  idToken: string | null;
  /** Seconds, as sent (already validated to be a positive number). */
  expiresIn: number;
  scope: string[];
}

export interface ResponseFacts {
  status: number;
  /** Lower-cased header names; only the ones that matter: date, retry-after, content-type, www-authenticate, x-rate-limit-problem. */
  headers: Record<string, string>;
  /** The body as text, cut to 2,000 characters, only when it is an OAuth error object or non-JSON. */
  bodyExcerpt: string;
  /** Parsed `error` of an OAuth error body, if there was one. */
  oauthError: string | null;
}

export type TokenCallOutcome =
  | { ok: true; tokens: TokenSet; response: ResponseFacts; receivedAt: number }
  | {
      ok: false;
      /** `sent-unknown`: the request may have reached the server (timeout, reset after send): the outcome is unknown. */
      stage: 'not-sent' | 'sent-unknown' | 'answered';
      response: ResponseFacts | null;
      /** For network-level failures: a short description such as `ECONNRESET` or `timeout after 30000 ms`. */
      networkError: string | null;
    };
