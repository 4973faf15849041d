// Over 500 lines: the one openid-client wrapper — discovery, endpoint pinning, the observing fetch and the token
// calls share its per-issuer state and the rule that no outcome ever carries a token.
import { estimateSkewMs } from '../core/http-date.js';
import { errorCodes, neverSent } from '../core/network-errors.js';
import * as oidc from 'openid-client';
import type { Clock } from '../core/clock.js';
import type { ResponseFacts, TokenCallOutcome, TokenSet } from './token-outcome.js';

/**
 * One OAuth app at one OpenID provider (an accounting platform's identity service, or the sandbox), on top of
 * openid-client. It discovers the provider (cached per issuer), builds authorize URLs, exchanges a code once,
 * refreshes and revokes — and turns every token call into a raw TokenCallOutcome for the provider
 * (main/providers/<name>/errors.ts) to classify.
 *
 * Every HTTP exchange goes through one observing fetch (openid-client's `customFetch`) that records
 * - whether the request failed before it was sent (`not-sent`: DNS, refused, TLS), after it may have been
 *   sent (`sent-unknown`: timeout, reset, a cut response), or was answered (`answered`: any HTTP status);
 * - the status, the few headers that matter (above all `Date`), a token-free excerpt of error bodies and the
 *   OAuth `error`;
 * - send and receive times, from which the provider's clock skew is estimated
 *   (server `Date` − midpoint of send and receive).
 *
 * id_tokens are validated by openid-client with a clock tolerance (default 300 s, like Xero's xoauth) AND the
 * estimated skew (openid-client's `clockSkew`), so an adviser's laptop that is 10 minutes off still signs in
 * (security-anchors H5). On a code exchange the id_token's signature is verified against the provider's JWKS
 * as well (openid-client's non-repudiation check). Configurations are cheap and immutable in openid-client, so each call gets a fresh one
 * carrying the newest estimate. If a token response's id_token fails a time check and that very response
 * shows a different skew, it is validated again with the new estimate against the recorded response —
 * locally: the code is never sent twice.
 *
 * Nothing here logs, and no outcome, error or detail ever holds a token, code, verifier, secret or
 * Authorization header.
 */

// ---- Public types ------------------------------------------------------------------------------------------

export interface ProviderClientOptions {
  /** OpenID issuer: the provider's identity service (its `defaultIssuer`), or the sandbox's origin. */
  issuer: string;
  clientId: string;
  /** Web apps ("Auth Code") authenticate with client_secret_basic; PKCE apps have none (client_id in the body). */
  clientSecret?: string | null;
  /** The fetch to send requests with (default: the global one). */
  fetch?: typeof fetch;
  clock: Clock;
  /** Allow `http:` when the issuer is on the loopback interface (the sandbox). Never anything else. */
  allowInsecureLoopback: boolean;
  /** Per request, including reading the body (default 30 s). */
  timeoutMs?: number;
  /** JWT time-claim tolerance in seconds (default 300, like Xero's xoauth). */
  clockToleranceSec?: number;
  /** Shared discovery results (default: one per process). */
  discoveryCache?: DiscoveryCache;
  /**
   * Is this endpoint, read from the discovery document, one the provider really uses? Checked for every
   * endpoint before anything is sent to it, so a tampered or mistaken discovery document cannot send a code,
   * a refresh token or a client secret elsewhere. Default: only the issuer's own origin.
   */
  isAllowedEndpoint?: (url: string) => boolean;
}

/** The discovered endpoints Relink may call or send a person to. */
const PINNED_ENDPOINTS = ['authorization_endpoint', 'token_endpoint', 'revocation_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint'] as const;

/**
 * The validated id_token's claims: the OpenID ones Relink reads about the staff member who signed in
 * (non-empty strings or null), and every other claim as the provider sent it, for the provider to read its own
 * (`Provider.staffIdOf`).
 */
export interface IdClaims {
  readonly sub: string;
  readonly email: string | null;
  readonly given_name: string | null;
  readonly family_name: string | null;
  readonly preferred_username: string | null;
  readonly [claim: string]: unknown;
}

/**
 * From the access token (decoded, not verified: it is the resource server's to verify): its scopes, and every
 * other claim as the provider sent it, for the provider to read its own (`Provider.organisationsOfConsent`).
 */
export interface AccessClaims {
  readonly scope: string[];
  readonly [claim: string]: unknown;
}

/** Provider clock minus local clock, in ms (positive: the provider is ahead). */
export interface SkewEstimate {
  ms: number;
  /** Local `clock.now()` when it was measured. */
  measuredAt: number;
}

export interface CallObservation {
  /** `clock.now()` just before the request went out (null if it never did). */
  sentAt: number | null;
  /** `clock.now()` when the response headers arrived. */
  answeredAt: number | null;
  /** This response's skew estimate, when it had a usable `Date` header. */
  skewMs: number | null;
  /**
   * A short, token-free account of a failure that the raw facts do not show: a local refusal before sending,
   * a response that failed validation (`id_token: JWT timestamp claim value failed validation`)… Null on success.
   */
  detail: string | null;
  /**
   * Why a 2xx answer was rejected here: `clock-skew` when the id_token failed a time check even with the
   * estimated skew (DESIGN §4 cause `clock-skew`), `invalid` for anything else (signature, claims, a missing
   * access_token or expires_in). Null unless `stage` is `answered` with a 2xx status.
   */
  rejected: 'clock-skew' | 'invalid' | null;
}

export type TokenCall = TokenCallOutcome & CallObservation;
export type ExchangeOutcome = TokenCall & { idClaims?: IdClaims | null; accessClaims?: AccessClaims | null };

export type RevocationOutcome = CallObservation &
  (
    | { ok: true; response: ResponseFacts }
    | { ok: false; stage: 'not-sent' | 'sent-unknown' | 'answered'; response: ResponseFacts | null; networkError: string | null }
  );

export interface AuthorizationUrlParams {
  redirectUri: string;
  scopes: string[];
  state: string;
  /** BASE64URL(SHA256(code_verifier)); the method is always S256. */
  codeChallenge: string;
  nonce?: string;
}

export interface ExchangeChecks {
  codeVerifier: string;
  expectedState: string;
  /** The redirect URI the authorize request used, exactly. */
  redirectUri: string;
  /** When given, the id_token is required and its nonce must match. */
  nonce?: string;
}

export interface ProviderClient {
  readonly issuer: string;
  readonly clientId: string;
  readonly authMethod: 'client_secret_basic' | 'none';
  /** Discovers the provider now (cached); throws a DiscoveryError if it cannot. */
  prepare(): Promise<void>;
  authorizationUrl(p: AuthorizationUrlParams): Promise<string>;
  /** `callbackUrl`: what reached the loopback listener (only its query is used). Sends the code exactly once. */
  exchangeCode(callbackUrl: URL | string, checks: ExchangeChecks): Promise<ExchangeOutcome>;
  refresh(refreshToken: string): Promise<TokenCall>;
  revoke(refreshToken: string): Promise<RevocationOutcome>;
  /** The newest estimate of the provider's clock skew, if any response has carried a `Date` yet. */
  skew(): SkewEstimate | null;
}

/** Discovery failed: the provider's metadata could not be read, so no token call was sent. */
export class DiscoveryError extends Error {
  readonly stage: 'not-sent' | 'sent-unknown' | 'answered';
  readonly response: ResponseFacts | null;
  readonly networkError: string | null;
  constructor(issuer: string, stage: DiscoveryError['stage'], response: ResponseFacts | null, networkError: string | null, detail: string) {
    super(`Could not read the sign-in settings of ${issuer}: ${detail}`);
    this.name = 'DiscoveryError';
    this.stage = stage;
    this.response = response;
    this.networkError = networkError;
  }
}

// ---- Discovery cache ---------------------------------------------------------------------------------------

interface ProviderState {
  server: oidc.ServerMetadata;
  jwks: oidc.ExportedJWKSCache | undefined;
  skew: (SkewEstimate & { libSec: number }) | null;
  discoveredAt: number;
}

/** Discovery results per issuer, shared by every app at that provider (with the JWKS and the skew estimate). */
export class DiscoveryCache {
  readonly #entries = new Map<string, Promise<ProviderState>>();
  readonly #ttlMs: number;

  constructor(opts: { ttlMs?: number } = {}) {
    this.#ttlMs = opts.ttlMs ?? 12 * 3_600_000;
  }

  /** @internal */
  async get(issuer: string, now: number, load: () => Promise<ProviderState>): Promise<ProviderState> {
    const existing = this.#entries.get(issuer);
    if (existing) {
      const state = await existing.catch(() => null);
      if (state && now - state.discoveredAt < this.#ttlMs) return state;
      if (this.#entries.get(issuer) !== existing) return this.get(issuer, now, load);
      this.#entries.delete(issuer);
    }
    const loading = load();
    this.#entries.set(issuer, loading);
    loading.catch(() => {
      if (this.#entries.get(issuer) === loading) this.#entries.delete(issuer);
    });
    return loading;
  }

  clear(): void {
    this.#entries.clear();
  }
}

const defaultCache = new DiscoveryCache();

// ---- Observing fetch ---------------------------------------------------------------------------------------

const FACT_HEADERS = ['date', 'retry-after', 'content-type', 'www-authenticate', 'x-rate-limit-problem'] as const;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

interface Answer {
  status: number;
  statusText: string;
  headers: Headers;
  /** Kept in memory only for a local re-validation; never leaves this module. */
  text: string;
}

interface Observation {
  endpoint: string;
  sentAt: number;
  wallSentAt: number;
  answeredAt: number | null;
  wallAnsweredAt: number | null;
  head: { status: number; headers: Headers } | null;
  answer: Answer | null;
  failure: { stage: 'not-sent' | 'sent-unknown'; networkError: string } | null;
  skewMs: number | null;
  skewLibSec: number | null;
}

const endpointKey = (url: string): string => {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
};

export function classifyNetworkError(err: unknown, timedOutAfterMs: number | null): { stage: 'not-sent' | 'sent-unknown'; networkError: string } {
  if (timedOutAfterMs !== null) return { stage: 'sent-unknown', networkError: `timeout after ${timedOutAfterMs} ms` };
  const codes = errorCodes(err).filter((c) => c !== 'ERR_INVALID_STATE');
  const first = codes[0] ?? (err instanceof Error && err.name !== 'TypeError' && err.name !== 'Error' ? err.name : 'network error');
  return { stage: neverSent(codes) ? 'not-sent' : 'sent-unknown', networkError: first.slice(0, 100) };
}

/** Redacts anything token-shaped from a body excerpt: JWTs, token/code/secret fields, Basic/Bearer values. */
export function scrubBody(text: string): string {
  return text
    .replace(/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*/g, '[redacted]')
    .replace(/("(?:access_token|refresh_token|id_token|code|code_verifier|client_secret|token|password)"\s*:\s*")(?:[^"\\]|\\.)*"/gi, '$1[redacted]"')
    .replace(/(\b(?:access_token|refresh_token|id_token|code|code_verifier|client_secret|token|password)=)[^&\s"'<]*/gi, '$1[redacted]')
    .replace(/\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]');
}

function bodyFacts(text: string): { bodyExcerpt: string; oauthError: string | null } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { bodyExcerpt: scrubBody(text).slice(0, 2_000), oauthError: null };
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const error = (parsed as { error?: unknown }).error;
    if (typeof error === 'string' && error.length > 0) {
      return { bodyExcerpt: scrubBody(text).slice(0, 2_000), oauthError: error.slice(0, 100) };
    }
  }
  // JSON that is not an OAuth error (a token response, most likely): nothing of it is kept.
  return { bodyExcerpt: '', oauthError: null };
}

function factHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FACT_HEADERS) {
    const v = headers.get(name);
    if (v !== null) out[name] = v.slice(0, 500);
  }
  return out;
}

function facts(obs: Observation | undefined): ResponseFacts | null {
  if (obs?.answer) return { status: obs.answer.status, headers: factHeaders(obs.answer.headers), ...bodyFacts(obs.answer.text) };
  if (obs?.head) return { status: obs.head.status, headers: factHeaders(obs.head.headers), bodyExcerpt: '', oauthError: null };
  return null;
}


/** Records every request/response of one logical call; optionally answers one endpoint from a recording. */
class Recorder {
  readonly observations: Observation[] = [];

  constructor(
    private readonly deps: {
      fetch: typeof fetch;
      clock: Clock;
      timeoutMs: number;
      allowHttpLoopback: boolean;
      onAnswer: (obs: Observation) => void;
    },
    private readonly replay: Map<string, Answer> = new Map(),
  ) {}

  last(endpoint: string): Observation | undefined {
    return this.observations.filter((o) => o.endpoint === endpoint).at(-1);
  }

  replaying(endpoint: string, answer: Answer): Recorder {
    return new Recorder(this.deps, new Map([[endpoint, answer]]));
  }

  readonly fetch: oidc.CustomFetch = async (url, options) => {
    const endpoint = endpointKey(url);
    const recorded = this.replay.get(endpoint);
    if (recorded) return toResponse(recorded);

    const { clock, timeoutMs } = this.deps;
    const obs: Observation = {
      endpoint,
      sentAt: clock.now(),
      wallSentAt: Date.now(),
      answeredAt: null,
      wallAnsweredAt: null,
      head: null,
      answer: null,
      failure: null,
      skewMs: null,
      skewLibSec: null,
    };
    this.observations.push(obs);

    const target = new URL(url);
    if (target.protocol !== 'https:' && !(target.protocol === 'http:' && this.deps.allowHttpLoopback && LOOPBACK.has(target.hostname))) {
      obs.failure = { stage: 'not-sent', networkError: `refused to send to ${target.protocol}//${target.host}` };
      throw new TypeError(obs.failure.networkError);
    }

    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await this.deps.fetch(url, { ...(options as RequestInit), signal });
    } catch (err) {
      obs.failure = classifyNetworkError(err, timeout.aborted ? timeoutMs : null);
      throw err;
    }
    obs.answeredAt = clock.now();
    obs.wallAnsweredAt = Date.now();
    obs.head = { status: res.status, headers: new Headers(res.headers) };
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      // Headers arrived but the body was cut: the call may well have taken effect (a refresh rotated).
      const cause = classifyNetworkError(err, timeout.aborted ? timeoutMs : null);
      obs.failure = { stage: 'sent-unknown', networkError: `response body lost (${cause.networkError})` };
      throw err;
    }
    obs.answer = { status: res.status, statusText: res.statusText, headers: obs.head.headers, text };
    const date = obs.answer.headers.get('date');
    obs.skewMs = estimateSkewMs(date, obs.sentAt, obs.answeredAt);
    const lib = estimateSkewMs(date, obs.wallSentAt, obs.wallAnsweredAt);
    obs.skewLibSec = lib === null ? null : Math.round(lib / 1000);
    this.deps.onAnswer(obs);
    return toResponse(obs.answer);
  };
}

function toResponse(a: Answer): Response {
  const nullBody = a.status === 204 || a.status === 205 || a.status === 304;
  return new Response(nullBody ? null : a.text, { status: a.status, statusText: a.statusText, headers: a.headers });
}

// ---- Helpers -----------------------------------------------------------------------------------------------

/** A short, token-free description of an error thrown by openid-client (never its `cause`, which holds claims). */
function describe(err: unknown): string {
  if (err instanceof oidc.ResponseBodyError) return `HTTP ${err.status} ${String(err.error).slice(0, 100)}`;
  if (err instanceof oidc.AuthorizationResponseError) return `authorization error ${String(err.error).slice(0, 100)}`;
  if (err instanceof oidc.WWWAuthenticateChallengeError) return `HTTP ${err.status} WWW-Authenticate challenge`;
  if (err instanceof oidc.ClientError) return `${err.message}${err.code ? ` (${err.code})` : ''}`.slice(0, 300);
  if (err instanceof TypeError) return `request failed: ${err.message}`.slice(0, 300);
  if (err instanceof Error) return `${err.name}`.slice(0, 100);
  return 'unknown error';
}

function isTimeClaimFailure(err: unknown): boolean {
  return err instanceof oidc.ClientError && err.code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED';
}

function decodeJwtPayload(token: string): Record<string, unknown> | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

export function accessTokenClaims(accessToken: string): AccessClaims | null {
  const payload = decodeJwtPayload(accessToken);
  if (!payload) return null;
  const scope = Array.isArray(payload.scope)
    ? payload.scope.filter((s): s is string => typeof s === 'string')
    : typeof payload.scope === 'string'
      ? payload.scope.split(/\s+/).filter(Boolean)
      : [];
  return { ...payload, scope };
}

function idClaimsOf(claims: oidc.IDToken | undefined): IdClaims | null {
  if (!claims) return null;
  return {
    ...claims,
    sub: claims.sub,
    email: str(claims.email),
    given_name: str(claims.given_name),
    family_name: str(claims.family_name),
    preferred_username: str(claims.preferred_username),
  };
}

/** The longest access-token lifetime believed (a day); anything longer is a provider bug, not a promise. */
const MAX_EXPIRES_IN = 86_400;

function toTokenSet(r: oidc.TokenEndpointResponse): TokenSet | string {
  if (typeof r.access_token !== 'string' || !r.access_token) return 'the token response has no access_token';
  const expires = r.expires_in;
  if (typeof expires !== 'number' || !Number.isFinite(expires) || expires < 1) return 'the token response has no valid expires_in';
  const scope =
    typeof r.scope === 'string' && r.scope.trim()
      ? r.scope.split(/\s+/).filter(Boolean)
      : (accessTokenClaims(r.access_token)?.scope ?? []);
  return {
    accessToken: r.access_token,
    refreshToken: typeof r.refresh_token === 'string' && r.refresh_token ? r.refresh_token : null,
    idToken: typeof r.id_token === 'string' && r.id_token ? r.id_token : null,
    expiresIn: Math.min(Math.floor(expires), MAX_EXPIRES_IN),
    scope,
  };
}

function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK.has(url.hostname);
}

// ---- The client --------------------------------------------------------------------------------------------

type Grant = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

export function createProviderClient(opts: ProviderClientOptions): ProviderClient {
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(opts.issuer);
  } catch {
    throw new Error(`Not a valid issuer URL: ${JSON.stringify(opts.issuer)}.`);
  }
  const insecure = issuerUrl.protocol === 'http:';
  if (insecure && !(opts.allowInsecureLoopback && isLoopbackHttp(issuerUrl))) {
    throw new Error(`The issuer ${issuerUrl.origin} is not https; only a loopback sandbox may use http, and only when allowed.`);
  }
  if (issuerUrl.protocol !== 'https:' && !insecure) throw new Error(`The issuer must be an https URL, not ${issuerUrl.protocol}.`);
  if (!opts.clientId) throw new Error('A client id is required.');

  const clock = opts.clock;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const toleranceSec = opts.clockToleranceSec ?? 300;
  const cache = opts.discoveryCache ?? defaultCache;
  const allowed = opts.isAllowedEndpoint ?? ((url: string) => originOf(url) === issuerUrl.origin);
  const baseFetch = opts.fetch ?? globalThis.fetch;
  const secret = opts.clientSecret ?? null;
  const auth = () => (secret ? oidc.ClientSecretBasic(secret) : oidc.None());
  let state: ProviderState | null = null;

  const recorder = () =>
    new Recorder({
      fetch: baseFetch,
      clock,
      timeoutMs,
      allowHttpLoopback: insecure,
      onAnswer: (obs) => {
        if (!state || obs.skewMs === null || obs.skewLibSec === null || obs.answeredAt === null) return;
        if (state.skew && state.skew.measuredAt > obs.answeredAt) return;
        state.skew = { ms: obs.skewMs, measuredAt: obs.answeredAt, libSec: obs.skewLibSec };
      },
    });

  async function discover(): Promise<ProviderState> {
    const s = await cache.get(opts.issuer, clock.now(), async () => {
      const rec = recorder();
      let config: oidc.Configuration;
      try {
        config = await oidc.discovery(issuerUrl, opts.clientId, undefined, auth(), {
          execute: insecure ? [oidc.allowInsecureRequests] : [],
          [oidc.customFetch]: rec.fetch,
          timeout: Math.ceil(timeoutMs / 1000) + 5,
        });
      } catch (err) {
        const obs = rec.observations.at(-1);
        if (obs?.failure) throw new DiscoveryError(opts.issuer, obs.failure.stage, facts(obs), obs.failure.networkError, obs.failure.networkError);
        throw new DiscoveryError(opts.issuer, obs ? 'answered' : 'not-sent', facts(obs), null, describe(err));
      }
      const obs = rec.observations.at(-1);
      return {
        // A plain copy: openid-client's helpers are not part of the metadata.
        server: JSON.parse(JSON.stringify(config.serverMetadata())) as oidc.ServerMetadata,
        jwks: undefined,
        skew:
          obs && obs.skewMs !== null && obs.skewLibSec !== null && obs.answeredAt !== null
            ? { ms: obs.skewMs, measuredAt: obs.answeredAt, libSec: obs.skewLibSec }
            : null,
        discoveredAt: clock.now(),
      };
    });
    // Every time, not only when first read: the cache is shared by all clients of this issuer.
    for (const field of PINNED_ENDPOINTS) {
      const endpoint = s.server[field];
      if (typeof endpoint === 'string' && !allowed(endpoint)) {
        throw new DiscoveryError(
          opts.issuer,
          'not-sent',
          null,
          null,
          `its ${field.replace(/_/g, ' ')} is ${originOf(endpoint)}, which is not one of its own addresses, so Relink sent nothing there`,
        );
      }
    }
    state = s;
    return s;
  }

  function configuration(s: ProviderState, rec: Recorder, skewSec: number, verifySignature = false): oidc.Configuration {
    const config = new oidc.Configuration(s.server, opts.clientId, { [oidc.clockSkew]: skewSec, [oidc.clockTolerance]: toleranceSec }, auth());
    if (insecure) oidc.allowInsecureRequests(config);
    if (verifySignature) oidc.enableNonRepudiationChecks(config);
    config[oidc.customFetch] = rec.fetch;
    config.timeout = 0; // the observing fetch owns the timeout, so it can tell a timeout from other aborts
    if (s.jwks) oidc.setJwksCache(config, s.jwks);
    return config;
  }

  function keepJwks(s: ProviderState, config: oidc.Configuration): void {
    const jwks = oidc.getJwksCache(config);
    if (jwks) s.jwks = jwks;
  }

  const notSent = (detail: string, networkError: string | null = null): Extract<TokenCall, { ok: false }> => ({
    ok: false,
    stage: 'not-sent',
    response: null,
    networkError,
    sentAt: null,
    answeredAt: null,
    skewMs: null,
    detail,
    rejected: null,
  });

  async function providerState(): Promise<ProviderState | DiscoveryError> {
    try {
      return await discover();
    } catch (err) {
      if (err instanceof DiscoveryError) return err;
      throw err;
    }
  }

  function fromDiscoveryError(err: DiscoveryError): Extract<TokenCall, { ok: false }> {
    // The token endpoint was never contacted, whatever happened to the discovery request.
    return notSent(err.message, err.networkError ?? `discovery failed${err.response ? `: HTTP ${err.response.status}` : ''}`);
  }

  /**
   * Runs one token-endpoint call through openid-client and turns what was observed into an outcome. If the
   * id_token fails a time check and the response itself shows a different skew, re-validates the recorded
   * response with that skew (no second request to the token endpoint).
   */
  async function tokenCall(
    s: ProviderState,
    endpoint: string,
    verifySignature: boolean,
    run: (config: oidc.Configuration) => Promise<Grant>,
  ): Promise<{ call: TokenCall; grant: Grant | null }> {
    const rec = recorder();
    const usedSkew = s.skew?.libSec ?? 0;
    let grant: Grant | null = null;
    let error: unknown;
    const config = configuration(s, rec, usedSkew, verifySignature);
    try {
      grant = await run(config);
    } catch (err) {
      error = err;
    }
    keepJwks(s, config);
    const obs = rec.last(endpoint);
    if (!grant && obs?.answer && obs.skewLibSec !== null && isTimeClaimFailure(error) && Math.abs(obs.skewLibSec - usedSkew) >= 2) {
      const again = configuration(s, rec.replaying(endpoint, obs.answer), obs.skewLibSec, verifySignature);
      try {
        grant = await run(again);
        error = undefined;
      } catch (err) {
        error = err;
      }
      keepJwks(s, again);
    }
    const observed: CallObservation = {
      sentAt: obs?.sentAt ?? null,
      answeredAt: obs?.answeredAt ?? null,
      skewMs: obs?.skewMs ?? null,
      detail: null,
      rejected: null,
    };
    if (!obs) return { call: { ...notSent(describe(error)) }, grant: null };
    if (obs.failure) {
      return {
        call: { ok: false, stage: obs.failure.stage, response: facts(obs), networkError: obs.failure.networkError, ...observed, detail: describe(error) },
        grant: null,
      };
    }
    const response = facts(obs)!;
    const success = response.status >= 200 && response.status < 300;
    if (!grant) {
      const rejected = !success ? null : isTimeClaimFailure(error) ? 'clock-skew' : 'invalid';
      return { call: { ok: false, stage: 'answered', response, networkError: null, ...observed, detail: describe(error), rejected }, grant: null };
    }
    const tokens = toTokenSet(grant);
    if (typeof tokens === 'string') {
      return { call: { ok: false, stage: 'answered', response, networkError: null, ...observed, detail: tokens, rejected: 'invalid' }, grant: null };
    }
    return { call: { ok: true, tokens, response, receivedAt: obs.answeredAt!, ...observed }, grant };
  }

  const client: ProviderClient = {
    issuer: opts.issuer,
    clientId: opts.clientId,
    authMethod: secret ? 'client_secret_basic' : 'none',

    async prepare() {
      await discover();
    },

    async authorizationUrl(p) {
      const s = await discover();
      if (!/^[A-Za-z0-9_-]{43}$/.test(p.codeChallenge)) throw new Error('The code challenge must be an S256 challenge (43 base64url characters).');
      if (!p.state) throw new Error('A state is required.');
      if (p.scopes.length === 0) throw new Error('At least one scope is required.');
      const params: Record<string, string> = {
        redirect_uri: p.redirectUri,
        scope: p.scopes.join(' '),
        state: p.state,
        code_challenge: p.codeChallenge,
        code_challenge_method: 'S256',
      };
      if (p.nonce) params.nonce = p.nonce;
      return oidc.buildAuthorizationUrl(configuration(s, recorder(), 0), params).href;
    },

    async exchangeCode(callbackUrl, checks) {
      const s = await providerState();
      if (s instanceof DiscoveryError) return fromDiscoveryError(s);
      const endpoint = s.server.token_endpoint;
      if (!endpoint) return notSent('the provider publishes no token endpoint');
      // openid-client derives redirect_uri from the URL it is given: give it exactly the one authorised, with
      // the query the listener received.
      let current: URL;
      try {
        current = new URL(checks.redirectUri);
        current.search = new URL(callbackUrl).search;
      } catch {
        return notSent('the callback or redirect URI is not a valid URL');
      }
      // The sign-in's id_token says which staff member the grant belongs to: its signature is checked too
      // (against the provider's JWKS), beyond what OIDC requires for a token received over TLS.
      const { call, grant } = await tokenCall(s, endpointKey(endpoint), true, (config) =>
        oidc.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.expectedState,
          ...(checks.nonce ? { expectedNonce: checks.nonce, idTokenExpected: true } : {}),
        }),
      );
      if (!call.ok || !grant) return call;
      return { ...call, idClaims: idClaimsOf(grant.claims()), accessClaims: accessTokenClaims(call.tokens.accessToken) };
    },

    async refresh(refreshToken) {
      const s = await providerState();
      if (s instanceof DiscoveryError) return fromDiscoveryError(s);
      const endpoint = s.server.token_endpoint;
      if (!endpoint) return notSent('the provider publishes no token endpoint');
      // A refresh's id_token is validated (issuer, audience, times) but its signature is not fetched-and-checked:
      // nothing downstream reads it, and a failed JWKS fetch here would throw away a rotated refresh token.
      const { call } = await tokenCall(s, endpointKey(endpoint), false, (config) => oidc.refreshTokenGrant(config, refreshToken));
      return call;
    },

    async revoke(refreshToken) {
      const s = await providerState();
      if (s instanceof DiscoveryError) {
        const f = fromDiscoveryError(s);
        return { ok: false, stage: f.stage, response: f.response, networkError: f.networkError, sentAt: null, answeredAt: null, skewMs: null, detail: f.detail, rejected: null };
      }
      const endpoint = s.server.revocation_endpoint;
      if (!endpoint) {
        return { ok: false, stage: 'not-sent', response: null, networkError: null, sentAt: null, answeredAt: null, skewMs: null, detail: 'the provider publishes no revocation endpoint', rejected: null };
      }
      const rec = recorder();
      let error: unknown;
      let done = false;
      try {
        await oidc.tokenRevocation(configuration(s, rec, s.skew?.libSec ?? 0), refreshToken, { token_type_hint: 'refresh_token' });
        done = true;
      } catch (err) {
        error = err;
      }
      const obs = rec.last(endpointKey(endpoint));
      const observed = { sentAt: obs?.sentAt ?? null, answeredAt: obs?.answeredAt ?? null, skewMs: obs?.skewMs ?? null, rejected: null };
      if (!obs) return { ok: false, stage: 'not-sent', response: null, networkError: null, ...observed, detail: describe(error) };
      if (obs.failure) return { ok: false, stage: obs.failure.stage, response: facts(obs), networkError: obs.failure.networkError, ...observed, detail: describe(error) };
      if (!done) return { ok: false, stage: 'answered', response: facts(obs), networkError: null, ...observed, detail: describe(error) };
      return { ok: true, response: facts(obs)!, ...observed, detail: null };
    },

    skew() {
      return state?.skew ? { ms: state.skew.ms, measuredAt: state.skew.measuredAt } : null;
    },
  };
  return client;
}

/** The origin of a URL, or the text itself when it is not one (for messages and comparisons). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
