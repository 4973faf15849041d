/**
 * Secret scrubbing for everything Relink writes where people can read it: the activity log, CLI output, logs,
 * error messages. Refresh tokens, access tokens, id_tokens, authorization codes and client secrets must never
 * leave memory or the keychain (DESIGN.md §3, security-anchors §5 "nothing lost" rule 4), so text is scrubbed
 * twice over:
 *
 * 1. Exact values the engine knows are secret (a token it just received, a client secret it just read) are
 *    registered with `registerSecret` and replaced wherever they appear, whatever their shape.
 * 2. Shapes that are secret whoever produced them: JWTs, `Bearer …` / `Basic …` credentials, `key=value`
 *    pairs named like a credential (`refresh_token=…`, `"client_secret": "…"`), and long opaque runs that
 *    look like random token material.
 *
 * Heuristic 2 deliberately errs on the side of redacting: a log line that loses a hash is a nuisance, a log
 * line that keeps a refresh token is an incident. The one shape it must leave alone is the UUID, because
 * tenant, connection and user ids are UUIDs and advisors need them to find an organisation.
 */

export const REDACTED = '[REDACTED]';

/** Secrets shorter than this are not registered: redacting every "abc" in the log would only hide facts. */
const MIN_REGISTERED_LENGTH = 8;

/** A JWT / JWS / JWE compact form: base64url parts joined by dots. `eyJ` is base64url for `{"`. */
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){1,3}/g;
/** Three long base64url parts joined by dots, even without the `eyJ` header (a JWT with a custom header). */
const DOTTED_TRIPLE = /\b[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\b/g;
/**
 * HTTP credentials: `Authorization: Bearer <token>`, `Basic <base64(client_id:secret)>`. The credential must
 * look like one (see `looksLikeCredential`), so prose such as "Basic information" survives.
 */
const AUTH_SCHEME = /\b(Bearer|Basic)(\s+)([A-Za-z0-9._~+/=-]{8,})/gi;
/** `key=value`, `key: value`, `"key":"value"` for keys that name credentials (query strings, JSON, forms). */
const CREDENTIAL_PAIR =
  /(["']?\b(?:access_token|refresh_token|id_token|client_secret|code_verifier|password|secret|token|authorization)\b["']?\s*[:=]\s*["']?)([^"'&\s,;}]+)/gi;
/** An authorization code in a callback URL or form (`?code=…`). Only with `=`: "status code: 401" is fine. */
const CODE_PARAM = /(\bcode=)([^"'&\s,;}]+)/gi;
/** A run of base64url alphabet long enough to be token material. */
const LONG_RUN = /[A-Za-z0-9_-]{32,}/g;
const UUID_SOURCE = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const HAS_UUID = new RegExp(UUID_SOURCE);
const UUIDS = new RegExp(UUID_SOURCE, 'g');
const CLIENT_ID = /^[0-9A-F]{32}$/;

/**
 * Holds the exact secret values to scrub. One process-wide instance backs the module functions below, so a
 * token registered by the refresher is scrubbed from a CLI message printed by someone else; separate
 * instances exist for tests.
 */
export class SecretRedactor {
  readonly #secrets = new Set<string>();
  /** Longest first, so a secret that contains another is replaced whole; rebuilt lazily after changes. */
  #ordered: string[] | null = null;

  /** Returns false (and registers nothing) for values too short to scrub safely. */
  register(value: string): boolean {
    if (typeof value !== 'string' || value.length < MIN_REGISTERED_LENGTH) return false;
    this.#secrets.add(value);
    this.#ordered = null;
    return true;
  }

  /** Forget a value that no longer exists anywhere (a rotated-away token), so the set does not grow forever. */
  forget(value: string): void {
    if (this.#secrets.delete(value)) this.#ordered = null;
  }

  get size(): number {
    return this.#secrets.size;
  }

  redact(text: string): string {
    if (typeof text !== 'string' || text.length === 0) return text;
    let out = text;
    if (this.#secrets.size > 0) {
      this.#ordered ??= [...this.#secrets].sort((a, b) => b.length - a.length);
      for (const secret of this.#ordered) {
        if (out.includes(secret)) out = out.split(secret).join(REDACTED);
      }
    }
    return redactShapes(out);
  }

  /** Whether `redact` would change the text: for callers that must refuse rather than scrub. */
  containsSecret(text: string): boolean {
    return this.redact(text) !== text;
  }
}

function redactShapes(text: string): string {
  return text
    .replace(JWT, REDACTED)
    .replace(DOTTED_TRIPLE, REDACTED)
    .replace(AUTH_SCHEME, (m, scheme: string, space: string, credential: string) =>
      looksLikeCredential(credential) ? `${scheme}${space}${REDACTED}` : m,
    )
    .replace(CREDENTIAL_PAIR, (m, key: string, value: string) =>
      // `Authorization: Bearer [REDACTED]` was handled above; keep the scheme name.
      value === REDACTED || /^(bearer|basic)$/i.test(value) ? m : `${key}${REDACTED}`,
    )
    .replace(CODE_PARAM, (m, key: string, value: string) => (value === REDACTED ? m : `${key}${REDACTED}`))
    .replace(LONG_RUN, redactRun);
}

/**
 * A long run is redacted unless what makes it long is UUIDs (ids advisors need) or it reads like words (a
 * lowercase slug such as `harbour-practice-sync-reporting`). Random token material mixes character classes:
 * Xero's refresh tokens are hex (digits + letters), base64url mixes cases.
 */
function redactRun(run: string): string {
  // Xero client ids are 32 uppercase hex and public (they travel in authorize URLs); advisors need to see them.
  if (CLIENT_ID.test(run)) return run;
  if (!HAS_UUID.test(run)) return looksOpaque(run) ? REDACTED : run;
  // Keep the UUIDs, judge what is between them on its own.
  const pieces = run.split(UUIDS);
  const ids = run.match(UUIDS) ?? [];
  let out = '';
  pieces.forEach((piece, i) => {
    out += piece.length >= 32 && looksOpaque(piece) ? piece.replace(/^([-_]*)[\s\S]*?([-_]*)$/, `$1${REDACTED}$2`) : piece;
    if (i < ids.length) out += ids[i];
  });
  return out;
}

/** A credential after `Bearer`/`Basic`: token-like characters, or base64 padding/punctuation. */
function looksLikeCredential(s: string): boolean {
  return looksOpaque(s) || /[=+/.~]/.test(s);
}

function looksOpaque(s: string): boolean {
  const digit = /[0-9]/.test(s);
  const lower = /[a-z]/.test(s);
  const upper = /[A-Z]/.test(s);
  return (digit && (lower || upper)) || (lower && upper);
}

const processRedactor = new SecretRedactor();

/** Register a secret value (token, client secret) so that every later `redactSecrets` call scrubs it. */
export function registerSecret(value: string): boolean {
  return processRedactor.register(value);
}

export function forgetSecret(value: string): void {
  processRedactor.forget(value);
}

/** Scrub registered secrets and secret-shaped text. Use on anything bound for a log, a terminal or an error. */
export function redactSecrets(text: string): string {
  return processRedactor.redact(text);
}

export function containsSecret(text: string): boolean {
  return processRedactor.containsSecret(text);
}

/** `redactSecrets` applied to every string inside a JSON-like value (CLI `--json` output, log records). */
export function redactValue<T>(value: T, redactor: SecretRedactor = processRedactor): T {
  if (typeof value === 'string') return redactor.redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, redactor)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, redactor);
    return out as T;
  }
  return value;
}
