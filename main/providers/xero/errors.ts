import { parseHttpDate } from '../../core/http-date.js';
import { errorCodes, neverSent } from '../../core/network-errors.js';
import { TERMINAL_FAILURES, type Failure } from '../../../shared/domain.js';
import type { ResponseFacts, TokenCallOutcome } from '../../oauth/token-outcome.js';

/**
 * What a failed call to Xero means, as a `Failure` the health rules and the refresh scheduler read
 * (DESIGN.md §4, xero-protocol.md §5).
 *
 * The one rule that matters most: only a parsed OAuth `invalid_grant` in a 4xx answer from the token endpoint
 * says a grant is dead. Everything else that can go wrong between here and Xero — 5xx, HTML from a proxy,
 * a 429, a timeout, a lost response, a body that does not parse — is transient and never marks a grant
 * broken. App-level refusals (`invalid_client`, `unauthorized_client`, `invalid_scope`) are not transient
 * either, but they are about the app, not the grant.
 *
 * Details are short, human and built only from fixed words, status numbers and recognised codes: never a
 * token, a secret, an Authorization header, or a piece of a response body.
 */

export type FailureKind = Failure['kind'];
export type FailedTokenCall = Extract<TokenCallOutcome, { ok: false }>;
export type HeaderSource = Headers | Readonly<Record<string, string | null | undefined>>;

/** Failures that retrying will not cure (shared/domain.ts holds the one list). */
export const TERMINAL_KINDS: ReadonlySet<FailureKind> = TERMINAL_FAILURES;

export function isTransient(failure: Pick<Failure, 'kind'>): boolean {
  return !TERMINAL_KINDS.has(failure.kind);
}

/** A longer wait than this is never believed: Xero's longest window (the daily limit) is 24 hours. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/** Xero's published API limits (xero-protocol.md §5.4), for wording. */
export const XERO_LIMITS = { concurrent: 5, perMinute: 60, perDay: 5000, perDayStarter: 1000, appPerMinute: 10_000 } as const;

/** When a 429 carries no Retry-After (Xero omits it for the concurrent and app limits). */
const DEFAULT_RATE_LIMIT_WAIT_MS: Record<RateLimitProblem | 'unknown', number> = {
  concurrent: 2_000,
  minute: 60_000,
  day: 60 * 60_000,
  appminute: 60_000,
  unknown: 60_000,
};

export type RateLimitProblem = 'concurrent' | 'minute' | 'day' | 'appminute';

// ————————————————————————————————————————————————————————————— headers and time

export function headerValue(headers: HeaderSource, name: string): string | null {
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).forEach === 'function') {
    return (headers as Headers).get(name);
  }
  const record = headers as Readonly<Record<string, string | null | undefined>>;
  const direct = record[name] ?? record[name.toLowerCase()];
  if (typeof direct === 'string') return direct;
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(record)) if (k.toLowerCase() === wanted && typeof v === 'string') return v;
  return null;
}

/** Only the headers classification reads, with lower-cased names (the `ResponseFacts.headers` shape). */
export const FACT_HEADERS = [
  'date',
  'retry-after',
  'content-type',
  'www-authenticate',
  'x-rate-limit-problem',
  'x-daylimit-remaining',
  'x-minlimit-remaining',
  'x-appminlimit-remaining',
  'xero-correlation-id',
] as const;

export function factHeaders(headers: HeaderSource): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FACT_HEADERS) {
    const v = headerValue(headers, name);
    if (v !== null) out[name] = v;
  }
  return out;
}

/** An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, RFC 850 or asctime), or null. Bare numbers are not dates. */

/**
 * How long Retry-After asks us to wait, in milliseconds, or null when absent or unreadable. Delta-seconds are
 * taken as they are; an HTTP-date is measured against the response's own `Date` header, so a skewed local
 * clock does not stretch or shrink the wait (security-anchors §3 H5). Only when the response has no usable
 * `Date` is the local clock (`now`) the reference. Capped at 24 hours, never negative.
 */
export function retryAfterMs(headers: HeaderSource, now: number): number | null {
  const raw = headerValue(headers, 'retry-after')?.trim();
  if (!raw) return null;
  if (/^\d+$/.test(raw)) return clampWait(Number(raw) * 1000);
  const target = parseHttpDate(raw);
  if (target === null) return null;
  const serverNow = parseHttpDate(headerValue(headers, 'date')) ?? now;
  return clampWait(target - serverNow);
}

function clampWait(ms: number): number {
  if (!Number.isFinite(ms)) return MAX_RETRY_AFTER_MS;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(ms)));
}


/** Beyond this, token validation starts to fail (id_token `iat`/`nbf`) and the advisor should fix the clock. */
export const CLOCK_SKEW_LIMIT_MS = 2 * 60_000;

/** A `clock-skew` failure when the estimate is beyond the limit, else null. */
export function clockSkewFailure(skewMs: number | null, now: number, limitMs = CLOCK_SKEW_LIMIT_MS): Failure | null {
  if (skewMs === null || Math.abs(skewMs) <= limitMs) return null;
  const minutes = Math.max(1, Math.round(Math.abs(skewMs) / 60_000));
  const direction = skewMs > 0 ? 'behind' : 'ahead of';
  return failure('clock-skew', now, `this computer's clock is about ${minutes} min ${direction} Xero's`);
}

// ————————————————————————————————————————————————————————————— bodies

export function isHtml(body: string, contentType: string | null | undefined): boolean {
  if (contentType && /\btext\/html\b|\bapplication\/xhtml\+xml\b/i.test(contentType)) return true;
  const head = body.slice(0, 1024).trimStart().toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html') || /<(?:html|head|body|title)[\s>]/.test(head);
}

function tryJson(text: string): unknown {
  const t = text.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

/** A JSON object's string and number fields by lower-cased key (Xero: PascalCase on the wire, camelCase in docs). */
function fieldsOf(value: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v === 'string' || typeof v === 'number') out.set(k.toLowerCase(), String(v));
    }
  }
  return out;
}

/** The OAuth `error` of a token-endpoint body (JSON), lower-cased, or null. */
export function parseOAuthError(body: string): string | null {
  const error = fieldsOf(tryJson(body)).get('error');
  return error ? error.trim().toLowerCase() : null;
}

/** Legacy OAuth 1.0a form body: `oauth_problem=…&oauth_problem_advice=…`. */
function oauthProblem(body: string): string | null {
  if (!/oauth_problem=/i.test(body)) return null;
  try {
    const p = new URLSearchParams(body.trim()).get('oauth_problem');
    return p ? p.trim().toLowerCase() : null;
  } catch {
    return null;
  }
}

/** An error code is shown only if it looks like one: short, lower-case letters and underscores. */
function safeCode(code: string | null | undefined): string | null {
  if (!code) return null;
  const c = code.trim().toLowerCase();
  return /^[a-z][a-z0-9_ .-]{0,39}$/.test(c) ? c : null;
}

const MAINTENANCE = /offline for maintenance/i;
const ORG_OFFLINE = /organi[sz]ation (?:is )?offline/i;

// ————————————————————————————————————————————————————————————— the token endpoint

export type TokenCall = 'refresh' | 'code-exchange';

/**
 * Classifies a failed token-endpoint call (code exchange or refresh) — see the file comment for the rules.
 * `call` only changes wording ("the refresh may have happened" versus "the sign-in may have completed").
 */
export function classifyTokenOutcome(outcome: FailedTokenCall, now: number, call: TokenCall = 'refresh'): Failure {
  const response = outcome.stage === 'answered' ? outcome.response : null;
  if (!response) return classifyUnanswered(outcome.stage, outcome.networkError, now, call);
  return classifyTokenResponse(response, now);
}

function classifyUnanswered(stage: FailedTokenCall['stage'], networkError: string | null, now: number, call: TokenCall): Failure {
  const net = describeNetworkError(networkError);
  const mayHaveHappened = call === 'refresh' ? 'the refresh may have happened' : 'the sign-in may have completed';
  if (stage === 'sent-unknown' || stage === 'answered') {
    const what = net.timeoutMs !== null ? timedOut(net.timeoutMs) : `connection lost after sending${net.code ? ` (${net.code})` : ''}`;
    return failure('timeout', now, `${what}; ${mayHaveHappened}`);
  }
  if (net.timeoutMs !== null) return failure('timeout', now, `${timedOut(net.timeoutMs)} before sending; nothing happened`);
  return failure('network', now, `could not reach Xero${net.code ? ` (${net.code})` : ''}`);
}

function classifyTokenResponse(r: ResponseFacts, now: number): Failure {
  const { status } = r;
  const body = r.bodyExcerpt ?? '';
  const contentType = headerValue(r.headers, 'content-type');
  const error = safeCode(r.oauthError) ?? safeCode(parseOAuthError(body));
  const extra = { httpStatus: status };

  if (error && status >= 400 && status < 500 && status !== 429) {
    switch (error) {
      case 'invalid_grant':
        return failure('invalid-grant', now, `${status} invalid_grant`, extra);
      case 'invalid_client':
        return failure('invalid-client', now, `${status} invalid_client`, extra);
      case 'unauthorized_client':
        return failure('unauthorized-client', now, `${status} unauthorized_client`, extra);
      case 'invalid_scope':
        return failure('invalid-scope', now, `${status} invalid_scope`, extra);
      default:
        // invalid_request, unsupported_grant_type…: Relink's own request was refused. Nothing says the grant
        // or the app is broken, so it stays transient and visible.
        return failure('server-error', now, `${status} ${error} (Xero refused the request)`, extra);
    }
  }
  return classifyCommon(status, r.headers, body, contentType, now) ?? malformedTokenAnswer(status, body, now);
}

function malformedTokenAnswer(status: number, body: string, now: number): Failure {
  const extra = { httpStatus: status };
  if (status >= 200 && status < 300) {
    if (!body.trim()) return failure('malformed-response', now, `${status} answer without an access token`, extra);
    const parsed = tryJson(body);
    if (parsed === undefined) return failure('malformed-response', now, `${status} answer that is not valid JSON`, extra);
    if (!fieldsOf(parsed).get('access_token')) return failure('malformed-response', now, `${status} answer without an access token`, extra);
    return failure('malformed-response', now, `${status} token answer Relink could not use`, extra);
  }
  return failure('malformed-response', now, `${status} answer without an OAuth error code`, extra);
}

// ————————————————————————————————————————————————————————————— the API (api.xero.com)

/**
 * Classifies an answer from api.xero.com (`/connections`, `/api.xro/2.0/…`). Null means success. See
 * xero-protocol.md §5.2: 401 TokenExpired (refresh and retry once), 401 AuthenticationUnsuccessful (the token
 * is not accepted), 403 (this tenant is not reachable with this token), 401 AuthorizationUnsuccessful with
 * `WWW-Authenticate: insufficient_scope` (a scope is missing) or without it (the user's role is too narrow),
 * 429 (a named limit), and 5xx / maintenance / HTML (transient).
 */
export function classifyApiResponse(status: number, headers: HeaderSource, bodyText: string, now: number): Failure | null {
  const contentType = headerValue(headers, 'content-type');
  const body = bodyText ?? '';
  const extra = { httpStatus: status };

  if (status >= 200 && status < 300) {
    if (body && isHtml(body, contentType)) return htmlFailure(status, headers, now);
    return null;
  }
  if (status === 401 || status === 403) {
    if (isHtml(body, contentType)) return htmlFailure(status, headers, now);
    const fields = fieldsOf(tryJson(body));
    const detail = fields.get('detail') ?? fields.get('message') ?? '';
    const legacy = oauthProblem(body);
    const www = headerValue(headers, 'www-authenticate') ?? '';
    if (status === 401 && (/^\s*TokenExpired\b/i.test(detail) || legacy === 'token_expired')) {
      const expiredAt = parseTokenExpiredStamp(detail);
      return failure('token-expired', now, `401 TokenExpired${expiredAt ? ` (expired ${expiredAt})` : ''}`, extra);
    }
    if (/insufficient_scope/i.test(www)) return failure('insufficient-scope', now, `${status} AuthorizationUnsuccessful: insufficient_scope`, extra);
    if (legacy === 'rate limit exceeded') return rateLimited(status, headers, now);
    if (status === 403) {
      return failure('forbidden', now, /AuthenticationUnsuccessful/i.test(detail) ? '403 AuthenticationUnsuccessful' : '403 Forbidden', extra);
    }
    if (/AuthorizationUnsuccessful/i.test(detail)) return failure('role-restricted', now, '401 AuthorizationUnsuccessful (role too narrow)', extra);
    if (/AuthenticationUnsuccessful/i.test(detail)) return failure('authentication-unsuccessful', now, '401 AuthenticationUnsuccessful', extra);
    if (legacy === 'token_rejected') return failure('authentication-unsuccessful', now, '401 token_rejected', extra);
    return failure('authentication-unsuccessful', now, '401 Unauthorized', extra);
  }
  return (
    classifyCommon(status, headers, body, contentType, now) ??
    (isHtml(body, contentType) ? htmlFailure(status, headers, now) : failure('malformed-response', now, `${status} unexpected answer`, extra))
  );
}

/** `TokenExpired: token expired at 09/24/2021 08:23:47` (UTC) → `2021-09-24 08:23:47 UTC`, or null. */
function parseTokenExpiredStamp(detail: string): string | null {
  const m = /(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})/.exec(detail);
  if (!m) return null;
  const [, mm, dd, yyyy, hh, mi, ss] = m;
  const ms = Date.UTC(Number(yyyy), Number(mm) - 1, Number(dd), Number(hh), Number(mi), Number(ss));
  return Number.isFinite(ms) ? `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC` : null;
}

/** What the token endpoint and the API share: 429, 5xx, maintenance, HTML. Null when none applies. */
function classifyCommon(status: number, headers: HeaderSource, body: string, contentType: string | null, now: number): Failure | null {
  if (status === 429) return rateLimited(status, headers, now);
  if (status >= 300 && status < 400) {
    // Xero's token endpoint and API never redirect; a captive portal or a proxy does.
    return failure('network', now, `${status} redirect instead of Xero's answer (a proxy or Wi-Fi sign-in page)`, { httpStatus: status });
  }
  if (isHtml(body, contentType)) return htmlFailure(status, headers, now);
  if (status >= 500 && status < 600) {
    if (oauthProblem(body) === 'rate limit exceeded') return rateLimited(status, headers, now);
    const what = MAINTENANCE.test(body)
      ? 'Xero is offline for maintenance'
      : ORG_OFFLINE.test(body)
        ? 'the organisation is offline'
        : (STATUS_WORDS[status] ?? 'server error');
    return withRetry(failure('server-error', now, `${status} ${what}`, { httpStatus: status }), headers, now);
  }
  return null;
}

const STATUS_WORDS: Record<number, string> = {
  500: 'server error',
  501: 'not implemented',
  502: 'bad gateway',
  503: 'service unavailable',
  504: 'gateway timeout',
};

function htmlFailure(status: number, headers: HeaderSource, now: number): Failure {
  const f =
    status >= 500
      ? failure('server-error', now, `${status} HTML page from a proxy`, { httpStatus: status })
      : failure('network', now, `${status} HTML page instead of Xero's answer (a proxy or Wi-Fi sign-in page)`, { httpStatus: status });
  return withRetry(f, headers, now);
}

export function rateLimitProblem(headers: HeaderSource): RateLimitProblem | null {
  const raw = headerValue(headers, 'x-rate-limit-problem')?.trim().toLowerCase();
  if (!raw) return null;
  if (raw === 'minute' || raw === 'day' || raw === 'concurrent' || raw === 'appminute') return raw;
  if (raw === 'daily') return 'day';
  if (raw === 'app-minute' || raw === 'app minute' || raw === 'appminutelimit') return 'appminute';
  return null;
}

const LIMIT_WORDS: Record<RateLimitProblem, string> = {
  minute: `minute limit (${XERO_LIMITS.perMinute} calls a minute per organisation)`,
  day: 'daily limit (calls a day per organisation)',
  concurrent: `concurrent limit (${XERO_LIMITS.concurrent} calls at once per organisation)`,
  appminute: `app-wide minute limit (${XERO_LIMITS.appPerMinute.toLocaleString('en')} calls a minute)`,
};

function rateLimited(status: number, headers: HeaderSource, now: number): Failure {
  const problem = rateLimitProblem(headers);
  const detail = `${status} ${problem ? LIMIT_WORDS[problem] : 'rate limit reached'}`;
  const wait = retryAfterMs(headers, now) ?? DEFAULT_RATE_LIMIT_WAIT_MS[problem ?? 'unknown'];
  return failure('rate-limited', now, detail, { httpStatus: status, retryAt: new Date(now + wait).toISOString() });
}

function withRetry(f: Failure, headers: HeaderSource, now: number): Failure {
  const wait = retryAfterMs(headers, now);
  return wait === null ? f : { ...f, retryAt: new Date(now + wait).toISOString() };
}

// ————————————————————————————————————————————————————————————— fetch errors

export interface FetchErrorFacts {
  /** `not-sent`: the request certainly never reached the server (refused, DNS, TLS). */
  stage: 'not-sent' | 'sent-unknown';
  /** Short, token-free: an error code such as `ECONNRESET`, or `timeout after 30000 ms`, or `cancelled`. */
  networkError: string;
  timedOut: boolean;
  cancelled: boolean;
}

/**
 * What a rejected `fetch` tells us, without its message (which may contain a URL). `timeoutMs` is the
 * deadline the caller set, used to word a TimeoutError.
 */
export function fetchErrorFacts(error: unknown, timeoutMs?: number): FetchErrorFacts {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError') {
    return { stage: 'sent-unknown', networkError: timeoutMs ? `timeout after ${Math.round(timeoutMs)} ms` : 'timeout', timedOut: true, cancelled: false };
  }
  if (name === 'AbortError') return { stage: 'sent-unknown', networkError: 'cancelled', timedOut: false, cancelled: true };
  const codes = errorCodes(error);
  const code = codes[0] ?? null;
  const timedOut = code !== null && /TIMEOUT|ETIMEDOUT/.test(code);
  return { stage: neverSent(codes) ? 'not-sent' : 'sent-unknown', networkError: code ?? 'network error', timedOut, cancelled: false };
}

/**
 * A rejected API call (GET: safe to repeat, so a lost answer is just a network problem): TimeoutError →
 * `timeout`, anything else → `network`.
 */
export function classifyFetchError(error: unknown, now: number, timeoutMs?: number): Failure {
  const facts = fetchErrorFacts(error, timeoutMs);
  if (facts.timedOut) return failure('timeout', now, timeoutMs ? `no answer within ${seconds(timeoutMs)}` : 'no answer in time');
  if (facts.cancelled) return failure('network', now, 'the request was cancelled');
  return failure('network', now, facts.stage === 'not-sent' ? `could not reach Xero (${facts.networkError})` : `connection lost (${facts.networkError})`);
}

function describeNetworkError(networkError: string | null): { code: string | null; timeoutMs: number | null } {
  if (!networkError) return { code: null, timeoutMs: null };
  const t = /timeout after (\d+)\s*ms/i.exec(networkError);
  if (t) return { code: null, timeoutMs: Number(t[1]) };
  if (/time[d ]?\s?out|TIMEOUT/i.test(networkError)) return { code: null, timeoutMs: 0 };
  // Only system and undici error codes are repeated (ECONNRESET, UND_ERR_SOCKET, CERT_HAS_EXPIRED…), never free text.
  const code = /\b(E[A-Z0-9]{3,20}|(?:UND_)?ERR_[A-Z0-9_]{2,40}|CERT_[A-Z0-9_]{2,40}|[A-Z_]*_CERT[A-Z0-9_]*)\b/.exec(networkError)?.[1] ?? null;
  return { code, timeoutMs: null };
}

function timedOut(ms: number): string {
  return ms > 0 ? `timed out after ${seconds(ms)}` : 'timed out';
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${s >= 10 ? Math.round(s) : Math.round(s * 10) / 10} s`;
}

// ————————————————————————————————————————————————————————————— building failures

function failure(kind: FailureKind, now: number, detail: string, extra: { httpStatus?: number; retryAt?: string } = {}): Failure {
  const f: Failure = { kind, at: new Date(now).toISOString(), detail: scrubDetail(detail) };
  if (extra.httpStatus !== undefined) f.httpStatus = extra.httpStatus;
  if (extra.retryAt !== undefined) f.retryAt = extra.retryAt;
  return f;
}

/**
 * Last line of defence for details (they are built from fixed words, but a code could in theory be odd):
 * anything that looks like a bearer value, a JWT or a long opaque string is removed; at most 200 characters.
 */
export function scrubDetail(text: string): string {
  return text
    .replace(/\b(bearer|basic)\s+\S+/gi, '$1 [hidden]')
    .replace(/eyJ[\w-]*\.[\w-]*\.?[\w-]*/g, '[hidden]')
    .replace(/[A-Za-z0-9+/_=.~-]{32,}/g, (run) => (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(run) ? run : '[hidden]'))
    .slice(0, 200);
}
