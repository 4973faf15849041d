/**
 * Secret scrubbing for everything Relink writes where people can read it: the activity log, CLI output, logs,
 * error messages and exports. Refresh tokens, access tokens, id_tokens, authorization codes and client secrets
 * must never leave memory or the keychain (DESIGN.md §3, security-anchors §5 "nothing lost" rule 4). What an
 * advisor typed or Xero named — app, organisation and staff names, ids, reconnect addresses, notes — must come
 * back exactly as it went in: a redactor that turns the id of "Harbour Practice Sync 2024 Edition Plus" into
 * `[REDACTED]`, or a reconnect address into something that no longer imports, corrupts the firm's records.
 *
 * So secrets are recognised by what they are, never by looking a bit random:
 *
 * 1. By value. Every token and secret Relink handles is registered with `registerSecret` where it is read,
 *    written or received (the vault, the refresher, the sign-in), and replaced wherever it appears, whatever
 *    its shape. A `slot` (e.g. `grant:<id>:rt`) keeps only the last few values of one rotating secret, so a
 *    process that runs for months does not collect every token it ever saw.
 * 2. By the shapes credentials have on the wire, in two tiers:
 *    - `TOKEN_SHAPES`, which no person types: JWTs (`eyJ….….…`, and three long random dotted parts), HTTP
 *      Basic credentials (base64 of `client_id:secret`). Scrubbed everywhere, exports included.
 *    - `CONTEXT_SHAPES`, which need their context: `Bearer <credential>`, `Authorization: …`, credential-named
 *      pairs (`refresh_token=…`, `"client_secret": "…"`, `?code=…`), hex runs of 40+ (Xero's refresh tokens) and
 *      long runs that switch between upper case, lower case and digits as often as random base64 does (names,
 *      slugs, UUIDs and client ids do not). Scrubbed from logs, errors and CLI output — but never inside text a
 *      person entered (`keep`), and never in exports of the firm's own data (`redactUserData`), where `?code=`
 *      in a reconnect address or "password: ask Jane" in a note are the advisor's words, not Relink's secrets.
 */

export const REDACTED = '[REDACTED]';

/** Secrets shorter than this are not registered: redacting every "abc" in the log would only hide facts. */
const MIN_REGISTERED_LENGTH = 8;
/** How many recent values a slot remembers: a rotated-away refresh token stays usable inside Xero's grace. */
const SLOT_DEPTH = 3;

/** A JWT / JWS / JWE compact form: base64url parts joined by dots. `eyJ` is base64url for `{"`. */
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){1,3}/g;
/**
 * Three long base64url parts joined by dots, even without the `eyJ` header (a JWS with a custom header), when
 * they mix upper case, lower case and digits: host names and dotted file names do not.
 */
const DOTTED_TRIPLE = /\b[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\b/g;
/** `Basic <base64>`: a credential only if it decodes to printable `user:password` (so "Basic information" stays). */
const BASIC = /\b(Basic)(\s+)([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])/gi;
/** `Bearer <token>`: the credential must look like one (see `looksLikeBearer`), so "Bearer of bad news" stays. */
const BEARER = /\b(Bearer)(\s+)([A-Za-z0-9._~+/=-]{8,})/gi;
/** An `Authorization:` header with a scheme other than the two above (`Digest …`, `OAuth …`, a bare token). */
const AUTHORIZATION_HEADER = /(\bauthorization\s*[:=]\s*["']?)(?!(?:bearer|basic)\s)((?:[A-Za-z][\w-]*\s+)?)([^"'&\s,;})\]<>\uE000-\uF8FF]+)/gi;
/** `key=value`, `key: value`, `"key":"value"` for keys that name credentials (query strings, JSON, forms). */
const CREDENTIAL_PAIR =
  /(["']?\b(?:access_token|refresh_token|id_token|client_secret|code_verifier|password|secret|token)\b["']?\s*[:=]\s*["']?)([^"'&\s,;})\]<>\uE000-\uF8FF]+)/gi;
/** An authorization code in a callback URL or form (`?code=…`). Only with `=`: "status code: 401" is fine. */
const CODE_PARAM = /(\bcode=)([^"'&\s,;})\]<>\uE000-\uF8FF]+)/gi;
/** A hex run of 40 or more (with letters and digits): the shape of Xero's refresh tokens. UUID groups are shorter. */
const HEX_RUN = /(?<![A-Za-z0-9])(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{40,}(?![A-Za-z0-9])/g;
/** A run of base64url alphabet long enough to be token material; judged by `looksRandom`. */
const LONG_RUN = /[A-Za-z0-9_-]{32,}/g;
const UUID_SOURCE = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const UUIDS = new RegExp(UUID_SOURCE, 'g');

/** Placeholders for kept text while the context shapes run: private-use characters no shape matches. */
const KEEP_BASE = 0xe000;
const KEEP_MAX = 0xf8ff - KEEP_BASE;

export interface RedactOptions {
  /**
   * Text a person entered (names, reconnect addresses, notes) that appears in the output: the context shapes
   * leave it as it is. Registered secrets and token shapes are still removed from it.
   */
  keep?: Iterable<string>;
}

/**
 * Holds the exact secret values to scrub. One process-wide instance backs the module functions below, so a
 * token registered by the refresher is scrubbed from a CLI message printed by someone else; separate
 * instances exist for tests.
 */
export class SecretRedactor {
  readonly #anonymous = new Set<string>();
  readonly #slots = new Map<string, string[]>();
  /** How many holders (the anonymous set, slots) each value has; a value with none is dropped. */
  readonly #refs = new Map<string, number>();
  /** Values by their first MIN_REGISTERED_LENGTH characters: one scan of the text finds them all. */
  readonly #index = new Map<string, Set<string>>();

  /**
   * Registers `value`. With a `slot`, the value becomes the newest of that slot's last few values and the
   * oldest is forgotten (unless registered elsewhere too). Returns false (and registers nothing) for values too
   * short to scrub safely.
   */
  register(value: string, slot?: string): boolean {
    if (typeof value !== 'string' || value.length < MIN_REGISTERED_LENGTH) return false;
    if (slot === undefined) {
      if (!this.#anonymous.has(value)) {
        this.#anonymous.add(value);
        this.#hold(value);
      }
      return true;
    }
    const ring = this.#slots.get(slot) ?? [];
    const at = ring.indexOf(value);
    if (at >= 0) ring.splice(at, 1);
    else this.#hold(value);
    ring.unshift(value);
    while (ring.length > SLOT_DEPTH) this.#release(ring.pop()!);
    this.#slots.set(slot, ring);
    return true;
  }

  /** Forget a value that no longer exists anywhere, from every slot that holds it. */
  forget(value: string): void {
    if (this.#anonymous.delete(value)) this.#release(value);
    for (const [slot, ring] of this.#slots) {
      const at = ring.indexOf(value);
      if (at < 0) continue;
      ring.splice(at, 1);
      this.#release(value);
      if (ring.length === 0) this.#slots.delete(slot);
    }
  }

  get size(): number {
    return this.#refs.size;
  }

  /** Registered values, token shapes and context shapes (outside `keep`): for logs, errors, terminals. */
  redact(text: string, opts: RedactOptions = {}): string {
    if (typeof text !== 'string' || text.length === 0) return text;
    const out = redactTokenShapes(this.redactRegistered(text));
    return opts.keep ? redactContextShapesKeeping(out, opts.keep, this) : redactContextShapes(out);
  }

  /** Registered values and token shapes only: for the firm's own data (exports, reports). */
  redactUserData(text: string): string {
    if (typeof text !== 'string' || text.length === 0) return text;
    return redactTokenShapes(this.redactRegistered(text));
  }

  /** Registered values only. */
  redactRegistered(text: string): string {
    if (this.#index.size === 0 || typeof text !== 'string' || text.length < MIN_REGISTERED_LENGTH) return text;
    let out = '';
    let copied = 0;
    for (let i = 0; i <= text.length - MIN_REGISTERED_LENGTH; ) {
      const candidates = this.#index.get(text.slice(i, i + MIN_REGISTERED_LENGTH));
      let hit = 0;
      if (candidates) for (const c of candidates) if (c.length > hit && text.startsWith(c, i)) hit = c.length;
      if (hit === 0) {
        i++;
        continue;
      }
      out += text.slice(copied, i) + REDACTED;
      i += hit;
      copied = i;
    }
    return copied === 0 ? text : out + text.slice(copied);
  }

  /** Whether `redact` would change the text: for callers that must refuse rather than scrub. */
  containsSecret(text: string): boolean {
    return this.redact(text) !== text;
  }

  #hold(value: string): void {
    const n = this.#refs.get(value) ?? 0;
    this.#refs.set(value, n + 1);
    if (n > 0) return;
    const key = value.slice(0, MIN_REGISTERED_LENGTH);
    const set = this.#index.get(key) ?? new Set<string>();
    set.add(value);
    this.#index.set(key, set);
  }

  #release(value: string): void {
    const n = (this.#refs.get(value) ?? 0) - 1;
    if (n > 0) {
      this.#refs.set(value, n);
      return;
    }
    this.#refs.delete(value);
    const key = value.slice(0, MIN_REGISTERED_LENGTH);
    const set = this.#index.get(key);
    set?.delete(value);
    if (set?.size === 0) this.#index.delete(key);
  }
}

/** Tier 1: shapes only credentials have. */
export function redactTokenShapes(text: string): string {
  return text
    .replace(JWT, REDACTED)
    .replace(DOTTED_TRIPLE, (m) => (/[A-Z]/.test(m) && /[a-z]/.test(m) && /[0-9]/.test(m) ? REDACTED : m))
    .replace(BASIC, (m, scheme: string, space: string, credential: string) => (isBasicCredential(credential) ? `${scheme}${space}${REDACTED}` : m));
}

/** Tier 2: shapes that are credentials in the context of a log line, an error or an HTTP exchange. */
function redactContextShapes(text: string): string {
  return text
    .replace(BEARER, (m, scheme: string, space: string, credential: string) =>
      credential.startsWith(REDACTED) || !looksLikeBearer(credential) ? m : `${scheme}${space}${REDACTED}`,
    )
    .replace(AUTHORIZATION_HEADER, (m, key: string, scheme: string, value: string) => (value.startsWith(REDACTED) ? m : `${key}${scheme}${REDACTED}`))
    .replace(CREDENTIAL_PAIR, (m, key: string, value: string) =>
      // `Authorization: Bearer [REDACTED]` was handled above; keep the scheme name.
      value.startsWith(REDACTED) || /^(bearer|basic)$/i.test(value) ? m : `${key}${REDACTED}`,
    )
    .replace(CODE_PARAM, (m, key: string, value: string) => (value.startsWith(REDACTED) ? m : `${key}${REDACTED}`))
    .replace(HEX_RUN, REDACTED)
    .replace(LONG_RUN, redactRun);
}

/** Tier 2 everywhere except inside the kept strings that it would have changed. */
function redactContextShapesKeeping(text: string, keep: Iterable<string>, redactor: SecretRedactor): string {
  // Only text the context shapes would alter needs shielding; shielding anything else could hide a secret that
  // merely shares a word with a name.
  const shielded = [...new Set(keep)]
    .filter((k) => typeof k === 'string' && k.length > 0)
    .map((k) => redactor.redactUserData(k))
    .filter((k) => redactContextShapes(k) !== k && text.includes(k))
    .sort((a, b) => b.length - a.length)
    .slice(0, KEEP_MAX);
  // Text that already holds private-use characters cannot be masked unambiguously: scrub it all (the safe side).
  if (shielded.length === 0 || /[\uE000-\uF8FF]/.test(text)) return redactContextShapes(text);
  let masked = text;
  shielded.forEach((k, i) => {
    masked = masked.split(k).join(String.fromCharCode(KEEP_BASE + i));
  });
  const scrubbed = redactContextShapes(masked);
  return scrubbed.replace(/[\uE000-\uF8FF]/g, (ch) => shielded[ch.charCodeAt(0) - KEEP_BASE] ?? ch);
}

/**
 * A long run is redacted when it reads like random token material. UUIDs inside it (tenant, connection, user
 * ids) are kept and what lies between them is judged on its own.
 */
function redactRun(run: string): string {
  const ids = run.match(UUIDS);
  if (!ids) return looksRandom(run) ? REDACTED : run;
  const pieces = run.split(UUIDS);
  let out = '';
  pieces.forEach((piece, i) => {
    out += piece.length >= 32 && looksRandom(piece) ? piece.replace(/^([-_]*)[\s\S]*?([-_]*)$/, `$1${REDACTED}$2`) : piece;
    if (i < ids.length) out += ids[i];
  });
  return out;
}

type CharClass = 'upper' | 'lower' | 'digit';
const classOf = (ch: string): CharClass | null => (/[A-Z]/.test(ch) ? 'upper' : /[a-z]/.test(ch) ? 'lower' : /[0-9]/.test(ch) ? 'digit' : null);

/**
 * Random base64url switches between upper case, lower case and digits at about 6 of every 10 characters; words,
 * CamelCase names and slugs ("HarbourPracticeSync2024EditionPlus", "harbour-practice-sync-2024-edition-plus")
 * switch at about 1 in 4 or fewer, and one-case hex ids (Xero's `sub`, client ids) never mix upper and lower
 * case. So: both cases, and a switch at 4 of every 10 characters or more.
 */
export function looksRandom(s: string): boolean {
  const chars = [...s].map(classOf).filter((c): c is CharClass => c !== null);
  if (chars.length < 16 || !chars.includes('upper') || !chars.includes('lower')) return false;
  let switches = 0;
  for (let i = 1; i < chars.length; i++) if (chars[i] !== chars[i - 1]) switches++;
  return switches >= 0.4 * (chars.length - 1);
}

function isBasicCredential(s: string): boolean {
  const decoded = Buffer.from(s, 'base64').toString('latin1');
  return /^[\x20-\x7e]+:[\x20-\x7e]*$/.test(decoded) && decoded.length >= 3;
}

/** A credential after `Bearer`: random-looking, a hex token, or base64 punctuation (`=`, `+`, `/`, `.`, `~`). */
function looksLikeBearer(s: string): boolean {
  const digit = /[0-9]/.test(s);
  const lower = /[a-z]/.test(s);
  const upper = /[A-Z]/.test(s);
  return (digit && (lower || upper)) || (lower && upper) || /[=+/.~]/.test(s);
}

const processRedactor = new SecretRedactor();

/**
 * Register a secret value (token, client secret, authorization code) so that every later redaction scrubs it.
 * `slot` names one rotating secret (`grant:<id>:rt`, `grant:<id>:access`, `app:<id>:secret`): only its last few
 * values are remembered.
 */
export function registerSecret(value: string, slot?: string): boolean {
  return processRedactor.register(value, slot);
}

export function forgetSecret(value: string): void {
  processRedactor.forget(value);
}

/** Scrub registered secrets and secret-shaped text. Use on anything bound for a log, a terminal or an error. */
export function redactSecrets(text: string, opts: RedactOptions = {}): string {
  return processRedactor.redact(text, opts);
}

/** Scrub registered secrets only (what `registerSecret` was told), nothing by shape. */
export function redactRegisteredSecrets(text: string): string {
  return processRedactor.redactRegistered(text);
}

/** Scrub registered secrets and token shapes only: for exports of the firm's own records (CSV, reports). */
export function redactUserData(text: string): string {
  return processRedactor.redactUserData(text);
}

export function containsSecret(text: string): boolean {
  return processRedactor.containsSecret(text);
}

/** `redactSecrets` applied to every string inside a JSON-like value (CLI `--json` output, log records). */
export function redactValue<T>(value: T, redactor: SecretRedactor = processRedactor, opts: RedactOptions = {}): T {
  if (typeof value === 'string') return redactor.redact(value, opts) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, redactor, opts)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, redactor, opts);
    return out as T;
  }
  return value;
}

/** Keys whose string values are text a person entered or Xero named: names, addresses, notes, emails. */
const USER_TEXT_KEYS = new Set(['name', 'app', 'appName', 'organisation', 'email', 'reconnectUrl', 'notes', 'note', 'firmName', 'createdBy']);

/** The user-entered strings of a JSON-like value (by key, see USER_TEXT_KEYS), for `RedactOptions.keep`. */
export function userTextIn(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const v of value) userTextIn(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string' && USER_TEXT_KEYS.has(k)) out.add(v);
      else userTextIn(v, out);
    }
  }
  return out;
}
