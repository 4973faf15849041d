import { estimateSkewMs } from '../../../../main/core/http-date.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { failureSchema, type Failure } from '../../../../shared/domain.js';
import type { ResponseFacts, TokenCallOutcome } from '../../../../main/oauth/token-outcome.js';
import {
  classifyApiResponse,
  classifyFetchError,
  classifyTokenOutcome,
  clockSkewFailure,
  factHeaders,
  fetchErrorFacts,
  isTransient,
  MAX_RETRY_AFTER_MS,
  parseOAuthError,
  retryAfterMs,
  scrubDetail,
  type FailedTokenCall,
} from '../../../../main/providers/xero/errors.js';
import { buildWorld, connect, REDIRECT, type World } from '../../../support/sandbox.js';
import { useSandbox } from '../../../support/use-sandbox.js';

/**
 * Failure classification (xero-protocol.md §5, DESIGN.md §4): unit cases for every rule, then the same rules
 * against the sandbox over real HTTP — each injected fault on the token endpoint, the accounting API and
 * /connections is transient and classified right, while invalid_grant after a password change is terminal
 * and invalid_client after a secret rotation names the app.
 */

const NOW = Date.UTC(2026, 4, 12, 9, 30, 0);
const at = new Date(NOW).toISOString();
const plus = (ms: number) => new Date(NOW + ms).toISOString();

function answered(status: number, body: string, headers: Record<string, string> = {}, oauthError?: string | null): FailedTokenCall {
  const response: ResponseFacts = {
    status,
    headers,
    bodyExcerpt: body,
    oauthError: oauthError === undefined ? parseOAuthError(body) : oauthError,
  };
  return { ok: false, stage: 'answered', response, networkError: null };
}

const unanswered = (stage: 'not-sent' | 'sent-unknown', networkError: string): FailedTokenCall => ({
  ok: false,
  stage,
  response: null,
  networkError,
});

function valid(f: Failure | null): Failure {
  expect(f).not.toBeNull();
  expect(failureSchema.safeParse(f).success, JSON.stringify(f)).toBe(true);
  return f!;
}

describe('isTransient', () => {
  it.each([
    ['invalid-grant', false],
    ['invalid-client', false],
    ['unauthorized-client', false],
    ['invalid-scope', false],
    ['rate-limited', true],
    ['server-error', true],
    ['network', true],
    ['timeout', true],
    ['malformed-response', true],
    ['keychain', true],
    ['token-expired', true],
    ['authentication-unsuccessful', true],
    ['forbidden', true],
    ['insufficient-scope', true],
    ['role-restricted', true],
    ['clock-skew', true],
  ] as const)('%s → %s', (kind, transient) => {
    expect(isTransient({ kind })).toBe(transient);
  });
});

describe('classifyTokenOutcome: parsed OAuth errors', () => {
  it('400 invalid_grant is the terminal grant failure', () => {
    const f = valid(classifyTokenOutcome(answered(400, '{"error":"invalid_grant"}'), NOW));
    expect(f).toEqual({ kind: 'invalid-grant', at, detail: '400 invalid_grant', httpStatus: 400 });
    expect(isTransient(f)).toBe(false);
  });

  it('invalid_grant with an error_description ("Token has been expired or revoked.") is still invalid_grant, and the description is not repeated', () => {
    const f = valid(classifyTokenOutcome(answered(400, '{"error":"invalid_grant","error_description":"Token has been expired or revoked."}'), NOW));
    expect(f.kind).toBe('invalid-grant');
    expect(f.detail).toBe('400 invalid_grant');
  });

  it('reads the error from the body when main/oauth did not parse it', () => {
    expect(classifyTokenOutcome(answered(400, '{"error":"invalid_grant"}', {}, null), NOW).kind).toBe('invalid-grant');
  });

  it('never treats invalid_grant in a 5xx or 429 as terminal', () => {
    expect(classifyTokenOutcome(answered(500, '{"error":"invalid_grant"}'), NOW).kind).toBe('server-error');
    expect(classifyTokenOutcome(answered(429, '{"error":"invalid_grant"}'), NOW).kind).toBe('rate-limited');
  });

  it.each([
    [400, 'invalid_client', 'invalid-client'],
    [401, 'invalid_client', 'invalid-client'],
    [400, 'unauthorized_client', 'unauthorized-client'],
    [400, 'invalid_scope', 'invalid-scope'],
  ] as const)('%i %s → %s (not transient)', (status, error, kind) => {
    const f = valid(classifyTokenOutcome(answered(status, JSON.stringify({ error })), NOW));
    expect(f).toEqual({ kind, at, detail: `${status} ${error}`, httpStatus: status });
    expect(isTransient(f)).toBe(false);
  });

  it.each(['unsupported_grant_type', 'invalid_request'])('%s is a refused request, transient and visible', (error) => {
    const f = valid(classifyTokenOutcome(answered(400, JSON.stringify({ error })), NOW));
    expect(f.kind).toBe('server-error');
    expect(f.detail).toContain(error);
    expect(isTransient(f)).toBe(true);
  });

  it('does not show an error code that does not look like one (a pasted token, say)', () => {
    const f = classifyTokenOutcome(answered(400, JSON.stringify({ error: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' })), NOW);
    expect(f.detail).not.toContain('eyJ');
    expect(f.kind).toBe('malformed-response');
  });
});

describe('classifyTokenOutcome: rate limits and Retry-After', () => {
  it('429 with Retry-After in seconds', () => {
    const f = valid(classifyTokenOutcome(answered(429, '', { 'retry-after': '120' }), NOW));
    expect(f.kind).toBe('rate-limited');
    expect(f.retryAt).toBe(plus(120_000));
    expect(f.httpStatus).toBe(429);
  });

  it('429 with Retry-After as an HTTP-date is measured against the response Date, not the local clock', () => {
    // The server's clock is 10 minutes ahead of ours: its "now" is NOW + 10 min, and it asks for 90 s.
    const serverNow = NOW + 10 * 60_000;
    const headers = {
      date: new Date(serverNow).toUTCString(),
      'retry-after': new Date(serverNow + 90_000).toUTCString(),
    };
    const f = valid(classifyTokenOutcome(answered(429, '', headers), NOW));
    expect(f.retryAt).toBe(plus(90_000));
    // Read naively against the local clock it would have been 11.5 minutes.
    expect(Date.parse(headers['retry-after']) - NOW).toBe(690_000);
  });

  it('429 with Retry-After as an HTTP-date and the server clock behind ours', () => {
    const serverNow = NOW - 5 * 60_000;
    const headers = { date: new Date(serverNow).toUTCString(), 'retry-after': new Date(serverNow + 30_000).toUTCString() };
    expect(classifyTokenOutcome(answered(429, '', headers), NOW).retryAt).toBe(plus(30_000));
  });

  it('429 without Retry-After still gets a time to retry', () => {
    const f = classifyTokenOutcome(answered(429, ''), NOW);
    expect(f.kind).toBe('rate-limited');
    expect(Date.parse(f.retryAt!)).toBeGreaterThan(NOW);
  });
});

describe('classifyTokenOutcome: outages, proxies and bodies that make no sense', () => {
  it('500 JSON → server-error', () => {
    const f = valid(classifyTokenOutcome(answered(500, '{"Title":"An error occurred","Status":500}'), NOW));
    expect(f).toEqual({ kind: 'server-error', at, detail: '500 server error', httpStatus: 500 });
  });

  it('503 maintenance text, with its Retry-After', () => {
    const f = valid(classifyTokenOutcome(answered(503, 'The Xero API is currently offline for maintenance', { 'content-type': 'text/plain', 'retry-after': '300' }), NOW));
    expect(f.kind).toBe('server-error');
    expect(f.detail).toBe('503 Xero is offline for maintenance');
    expect(f.retryAt).toBe(plus(300_000));
  });

  it('502 HTML from a proxy', () => {
    const html = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body></html>';
    const f = valid(classifyTokenOutcome(answered(502, html, { 'content-type': 'text/html' }), NOW));
    expect(f).toEqual({ kind: 'server-error', at, detail: '502 HTML page from a proxy', httpStatus: 502 });
  });

  it('200 HTML (a captive portal) is a network problem, recognised by the body even without a content type', () => {
    const f = valid(classifyTokenOutcome(answered(200, '<!DOCTYPE html><html><head><title>Sign in to Wi-Fi</title></head></html>'), NOW));
    expect(f.kind).toBe('network');
    expect(f.detail).toMatch(/^200 HTML page/);
    expect(isTransient(f)).toBe(true);
  });

  it('a 302 to a sign-in page is a network problem', () => {
    expect(classifyTokenOutcome(answered(302, ''), NOW)).toMatchObject({ kind: 'network', httpStatus: 302 });
  });

  it('200 with unparseable JSON → malformed-response', () => {
    const f = valid(classifyTokenOutcome(answered(200, '{"access_token":"eyJ'), NOW));
    expect(f).toEqual({ kind: 'malformed-response', at, detail: '200 answer that is not valid JSON', httpStatus: 200 });
  });

  it('200 JSON without access_token → malformed-response', () => {
    const f = valid(classifyTokenOutcome(answered(200, '{"token_type":"Bearer","expires_in":1800}'), NOW));
    expect(f.detail).toBe('200 answer without an access token');
  });

  it('200 with nothing to show (main/oauth keeps token bodies out of the facts) → malformed-response', () => {
    expect(classifyTokenOutcome(answered(200, ''), NOW)).toMatchObject({ kind: 'malformed-response', detail: '200 answer without an access token' });
  });

  it('a 4xx without an OAuth error → malformed-response, transient', () => {
    const f = classifyTokenOutcome(answered(401, ''), NOW);
    expect(f.kind).toBe('malformed-response');
    expect(isTransient(f)).toBe(true);
  });
});

describe('classifyTokenOutcome: no answer', () => {
  it('not sent (connection refused) → network', () => {
    expect(valid(classifyTokenOutcome(unanswered('not-sent', 'ECONNREFUSED'), NOW))).toEqual({ kind: 'network', at, detail: 'could not reach Xero (ECONNREFUSED)' });
  });

  it('timed out after sending → timeout, saying the refresh may have happened', () => {
    const f = valid(classifyTokenOutcome(unanswered('sent-unknown', 'timeout after 30000 ms'), NOW));
    expect(f).toEqual({ kind: 'timeout', at, detail: 'timed out after 30 s; the refresh may have happened' });
    expect(isTransient(f)).toBe(true);
  });

  it('connection cut after sending → timeout (outcome unknown)', () => {
    expect(classifyTokenOutcome(unanswered('sent-unknown', 'ECONNRESET'), NOW)).toMatchObject({
      kind: 'timeout',
      detail: 'connection lost after sending (ECONNRESET); the refresh may have happened',
    });
  });

  it('a code exchange is worded as a sign-in', () => {
    expect(classifyTokenOutcome(unanswered('sent-unknown', 'timeout after 30000 ms'), NOW, 'code-exchange').detail).toBe(
      'timed out after 30 s; the sign-in may have completed',
    );
  });

  it('a timeout before sending did nothing', () => {
    expect(classifyTokenOutcome(unanswered('not-sent', 'timeout after 5000 ms'), NOW)).toMatchObject({ kind: 'timeout', detail: 'timed out after 5 s before sending; nothing happened' });
  });
});

describe('retryAfterMs', () => {
  it('delta-seconds', () => {
    expect(retryAfterMs({ 'retry-after': '17' }, NOW)).toBe(17_000);
    expect(retryAfterMs(new Headers({ 'Retry-After': ' 0 ' }), NOW)).toBe(0);
  });

  it('an HTTP-date relative to the response Date (IMF-fixdate and RFC 850 forms)', () => {
    const date = 'Tue, 12 May 2026 09:40:00 GMT';
    expect(retryAfterMs({ date, 'retry-after': 'Tue, 12 May 2026 09:42:30 GMT' }, NOW)).toBe(150_000);
    expect(retryAfterMs({ date, 'retry-after': 'Tuesday, 12-May-26 09:41:00 GMT' }, NOW)).toBe(60_000);
  });

  it('an HTTP-date with no usable Date header falls back to the local clock', () => {
    expect(retryAfterMs({ 'retry-after': new Date(NOW + 45_000).toUTCString(), date: 'yesterday' }, NOW)).toBe(45_000);
  });

  it('a date in the past means now; more than a day is capped', () => {
    expect(retryAfterMs({ 'retry-after': new Date(NOW - 60_000).toUTCString() }, NOW)).toBe(0);
    expect(retryAfterMs({ 'retry-after': String(10 * 86_400) }, NOW)).toBe(MAX_RETRY_AFTER_MS);
    // The daily limit's real Retry-After (Codat: 66975 s) fits under the cap.
    expect(retryAfterMs({ 'retry-after': '66975' }, NOW)).toBe(66_975_000);
  });

  it.each(['', 'soon', '-5', '1.5', '12abc'])('%j is not a Retry-After', (value) => {
    expect(retryAfterMs({ 'retry-after': value }, NOW)).toBeNull();
  });

  it('absent → null', () => {
    expect(retryAfterMs({}, NOW)).toBeNull();
  });
});

describe('clock skew', () => {
  it('server Date (plus half a second: the header is truncated) minus the midpoint of send and receive', () => {
    const sent = Date.UTC(2026, 4, 12, 9, 0, 0);
    const received = sent + 400;
    // The server says 09:05:00 while our midpoint is 09:00:00.2: we are ~5 minutes behind.
    expect(estimateSkewMs('Tue, 12 May 2026 09:05:00 GMT', sent, received)).toBe(5 * 60_000 - 200 + 500);
    expect(estimateSkewMs('Tue, 12 May 2026 08:59:00 GMT', sent, received)).toBe(-60_000 - 200 + 500);
  });

  it.each([null, undefined, '', 'not a date', '1715500000'])('%j → null', (header) => {
    expect(estimateSkewMs(header, NOW, NOW + 10)).toBeNull();
  });

  it('a clock-skew failure only beyond the limit', () => {
    expect(clockSkewFailure(30_000, NOW)).toBeNull();
    expect(clockSkewFailure(null, NOW)).toBeNull();
    expect(valid(clockSkewFailure(7 * 60_000, NOW))).toEqual({ kind: 'clock-skew', at, detail: "this computer's clock is about 7 min behind Xero's" });
    expect(clockSkewFailure(-3 * 60_000, NOW)?.detail).toBe("this computer's clock is about 3 min ahead of Xero's");
  });
});

const problem = (status: number, title: string, detail: string) =>
  JSON.stringify({ Type: null, Title: title, Status: status, Detail: detail, Instance: 'c0ffee00-0000-4000-8000-000000000000', Extensions: {} });

describe('classifyApiResponse', () => {
  it('2xx JSON or empty → null', () => {
    expect(classifyApiResponse(200, { 'content-type': 'application/json' }, '[]', NOW)).toBeNull();
    expect(classifyApiResponse(204, {}, '', NOW)).toBeNull();
  });

  it('200 HTML (a captive portal) → network', () => {
    expect(valid(classifyApiResponse(200, { 'content-type': 'text/html; charset=utf-8' }, '<html><body>Log in</body></html>', NOW)).kind).toBe('network');
  });

  it('401 TokenExpired → token-expired (refresh and retry once), naming the expiry in UTC', () => {
    const f = valid(classifyApiResponse(401, {}, problem(401, 'Unauthorized', 'TokenExpired: token expired at 09/24/2021 08:23:47'), NOW));
    expect(f).toEqual({ kind: 'token-expired', at, detail: '401 TokenExpired (expired 2021-09-24 08:23:47 UTC)', httpStatus: 401 });
  });

  it('parses the camelCase form of the problem body too', () => {
    const body = JSON.stringify({ type: null, title: 'Unauthorized', status: 401, detail: 'TokenExpired: token expired at 09/24/2021 08:23:47' });
    expect(classifyApiResponse(401, {}, body, NOW)?.kind).toBe('token-expired');
  });

  it('401 AuthenticationUnsuccessful → authentication-unsuccessful', () => {
    expect(valid(classifyApiResponse(401, {}, problem(401, 'Unauthorized', 'AuthenticationUnsuccessful'), NOW))).toEqual({
      kind: 'authentication-unsuccessful',
      at,
      detail: '401 AuthenticationUnsuccessful',
      httpStatus: 401,
    });
  });

  it('403 AuthenticationUnsuccessful (Title Forbidden) → forbidden', () => {
    expect(valid(classifyApiResponse(403, {}, problem(403, 'Forbidden', 'AuthenticationUnsuccessful'), NOW))).toEqual({
      kind: 'forbidden',
      at,
      detail: '403 AuthenticationUnsuccessful',
      httpStatus: 403,
    });
  });

  it('401 AuthorizationUnsuccessful + WWW-Authenticate: insufficient_scope → insufficient-scope', () => {
    const f = valid(classifyApiResponse(401, new Headers({ 'WWW-Authenticate': 'insufficient_scope' }), problem(401, 'Unauthorized', 'AuthorizationUnsuccessful'), NOW));
    expect(f.kind).toBe('insufficient-scope');
  });

  it('401 AuthorizationUnsuccessful without that header → role-restricted', () => {
    expect(classifyApiResponse(401, {}, problem(401, 'Unauthorized', 'AuthorizationUnsuccessful'), NOW)).toMatchObject({
      kind: 'role-restricted',
      detail: '401 AuthorizationUnsuccessful (role too narrow)',
    });
  });

  it('a bare 401 → authentication-unsuccessful', () => {
    expect(classifyApiResponse(401, {}, '', NOW)).toMatchObject({ kind: 'authentication-unsuccessful', detail: '401 Unauthorized' });
  });

  it.each([
    ['minute', '60', /minute limit/, 60_000],
    ['day', '66975', /daily limit/, 66_975_000],
    ['Daily', '3600', /daily limit/, 3_600_000],
    ['concurrent', null, /concurrent limit/, 2_000],
    ['appminute', null, /app-wide minute limit/, 60_000],
  ] as const)('429 X-Rate-Limit-Problem: %s names the limit', (problemHeader, retryAfter, detail, wait) => {
    const headers: Record<string, string> = { 'x-rate-limit-problem': problemHeader };
    if (retryAfter) headers['retry-after'] = retryAfter;
    const f = valid(classifyApiResponse(429, headers, problem(429, 'Too Many Requests', 'Rate limit exceeded'), NOW));
    expect(f.kind).toBe('rate-limited');
    expect(f.detail).toMatch(detail);
    expect(f.retryAt).toBe(plus(wait));
  });

  it('503 maintenance text, 503 Organisation offline, 500 JSON, 502 HTML → server-error', () => {
    expect(classifyApiResponse(503, { 'content-type': 'text/plain' }, 'The Xero API is currently offline for maintenance', NOW)?.detail).toBe('503 Xero is offline for maintenance');
    expect(classifyApiResponse(503, {}, 'Organisation offline', NOW)?.detail).toBe('503 the organisation is offline');
    expect(classifyApiResponse(500, {}, problem(500, 'An error occurred', 'An error occurred in Xero.'), NOW)?.kind).toBe('server-error');
    expect(classifyApiResponse(502, { 'content-type': 'text/html' }, '<html><title>502 Bad Gateway</title></html>', NOW)?.detail).toBe('502 HTML page from a proxy');
  });

  it('legacy OAuth 1.0a bodies: token_expired → token-expired; "rate limit exceeded" (503) → rate-limited', () => {
    expect(classifyApiResponse(401, {}, 'oauth_problem=token_expired&oauth_problem_advice=The%20access%20token%20has%20expired', NOW)?.kind).toBe('token-expired');
    const rl = classifyApiResponse(
      503,
      { 'x-rate-limit-problem': 'Minute' },
      'oauth_problem=rate%20limit%20exceeded&oauth_problem_advice=please%20wait%20before%20retrying%20the%20xero%20api',
      NOW,
    );
    expect(rl).toMatchObject({ kind: 'rate-limited', detail: expect.stringMatching(/minute limit/) });
  });

  it('an unexpected 404 → malformed-response (transient)', () => {
    expect(classifyApiResponse(404, {}, problem(404, 'Not Found', 'x'), NOW)).toMatchObject({ kind: 'malformed-response', httpStatus: 404 });
  });
});

describe('fetch errors', () => {
  it('a TimeoutError → timeout, never sent-for-sure', () => {
    const err = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(fetchErrorFacts(err, 30_000)).toEqual({ stage: 'sent-unknown', networkError: 'timeout after 30000 ms', timedOut: true, cancelled: false });
    expect(classifyFetchError(err, NOW, 30_000)).toEqual({ kind: 'timeout', at, detail: 'no answer within 30 s' });
  });

  it('connection refused was never sent; a reset may have been', () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    expect(fetchErrorFacts(refused).stage).toBe('not-sent');
    expect(classifyFetchError(refused, NOW)).toEqual({ kind: 'network', at, detail: 'could not reach Xero (ECONNREFUSED)' });
    const reset = new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    expect(fetchErrorFacts(reset)).toMatchObject({ stage: 'sent-unknown', networkError: 'UND_ERR_SOCKET' });
  });

  it('never repeats the error message (it may hold a URL)', () => {
    const err = new TypeError('fetch failed https://x.example/?token=secret123', { cause: { code: 'ECONNRESET' } });
    expect(JSON.stringify(classifyFetchError(err, NOW))).not.toContain('secret123');
  });
});

describe('scrubDetail', () => {
  it('removes bearer values, JWTs and long opaque strings but keeps UUIDs', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl';
    const out = scrubDetail(`Bearer abc ${jwt} 0123456789abcdef0123456789abcdef01 7cb59f93-2964-421d-bb5e-a0f7a4572a44`);
    expect(out).not.toContain('abc ');
    expect(out).not.toContain('eyJ');
    expect(out).not.toContain('0123456789abcdef');
    expect(out).toContain('7cb59f93-2964-421d-bb5e-a0f7a4572a44');
  });
});

// ————————————————————————————————————————————————————————————— against the sandbox, over real HTTP

/**
 * One token-endpoint call turned into a TokenCallOutcome the way main/oauth does (token-outcome.ts): only
 * the facts, never the token body in a failure.
 */
async function tokenCall(origin: string, form: Record<string, string>, basic: { id: string; secret: string } | null, timeoutMs: number): Promise<TokenCallOutcome> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${basic.id}:${basic.secret}`).toString('base64')}`;
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${origin}/connect/token`, { method: 'POST', headers, body: new URLSearchParams(form), signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    text = await res.text();
  } catch (err) {
    const facts = fetchErrorFacts(err, timeoutMs);
    return { ok: false, stage: facts.stage, response: null, networkError: facts.networkError };
  }
  const receivedAt = Date.now();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const response: ResponseFacts = { status: res.status, headers: factHeaders(res.headers), bodyExcerpt: '', oauthError: null };
  if (res.status === 200 && json && typeof json.access_token === 'string') {
    return {
      ok: true,
      receivedAt,
      response,
      tokens: {
        accessToken: json.access_token,
        refreshToken: typeof json.refresh_token === 'string' ? json.refresh_token : null,
        idToken: typeof json.id_token === 'string' ? json.id_token : null,
        expiresIn: Number(json.expires_in),
        scope: String(json.scope ?? '').split(' ').filter(Boolean),
      },
    };
  }
  const oauthError = json && typeof json.error === 'string' ? json.error : null;
  response.oauthError = oauthError;
  response.bodyExcerpt = oauthError || json === undefined ? text.slice(0, 2000) : '';
  return { ok: false, stage: 'answered', response, networkError: null };
}

const failed = (o: TokenCallOutcome): FailedTokenCall => {
  if (o.ok) throw new Error('expected the token call to fail');
  return o;
};

const TARGETS = ['token', 'api', 'connections'] as const;
type Target = (typeof TARGETS)[number];
const CLIENT_TIMEOUT_MS = 250;
const HANG_SECONDS = 2;

describe('against the sandbox: every injected fault is transient and classified right', () => {
  const sb = useSandbox({ resetEachTest: true });
  let w: World;
  let accessToken: string;
  let refreshToken: string;

  beforeEach(async () => {
    w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    accessToken = t.access_token;
    refreshToken = t.refresh_token;
    await sb.control('PUT', '/sandbox/settings', { hangSeconds: HANG_SECONDS });
  });

  /** One real request to a target, classified the way the engine will: a Failure, or null on success. */
  async function attempt(target: Target): Promise<{ failure: Failure | null; now: number }> {
    const now = Date.now();
    if (target === 'token') {
      const outcome = await tokenCall(sb.origin, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: w.clientId }, null, CLIENT_TIMEOUT_MS);
      if (outcome.ok) {
        refreshToken = outcome.tokens.refreshToken ?? refreshToken;
        return { failure: null, now };
      }
      return { failure: classifyTokenOutcome(outcome, now), now };
    }
    const url = target === 'api' ? `${sb.origin}/api.xro/2.0/Organisation` : `${sb.origin}/connections`;
    const headers: Record<string, string> = { authorization: `Bearer ${accessToken}`, accept: 'application/json' };
    if (target === 'api') headers['xero-tenant-id'] = w.tenantIds[0]!;
    try {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
      return { failure: classifyApiResponse(res.status, res.headers, await res.text(), now), now };
    } catch (err) {
      return { failure: classifyFetchError(err, now, CLIENT_TIMEOUT_MS), now };
    }
  }

  const addFault = (fault: Record<string, unknown>) => sb.control('POST', '/sandbox/faults', fault, 201);

  async function expectTransient(target: Target, match: Partial<Failure> & { detail?: unknown }): Promise<Failure> {
    const { failure } = await attempt(target);
    const f = valid(failure);
    expect(f).toMatchObject(match);
    expect(isTransient(f)).toBe(true);
    expect(JSON.stringify(f)).not.toContain(accessToken);
    expect(JSON.stringify(f)).not.toContain(refreshToken);
    // …and the next request, without the fault, goes through.
    expect((await attempt(target)).failure).toBeNull();
    return f;
  }

  describe.each(TARGETS)('on the %s target', (target) => {
    it('status-500 → server-error', async () => {
      await addFault({ target, kind: 'status-500' });
      await expectTransient(target, { kind: 'server-error', httpStatus: 500, detail: '500 server error' });
    });

    it('status-503 (maintenance) → server-error, retry time from Retry-After', async () => {
      await addFault({ target, kind: 'status-503', retryAfter: 120 });
      const { failure, now } = await attempt(target);
      expect(valid(failure)).toMatchObject({ kind: 'server-error', httpStatus: 503, detail: '503 Xero is offline for maintenance' });
      expect(failure!.retryAt).toBe(new Date(now + 120_000).toISOString());
      expect(isTransient(failure!)).toBe(true);
    });

    it('html-502 → server-error "HTML page from a proxy"', async () => {
      await addFault({ target, kind: 'html-502' });
      await expectTransient(target, { kind: 'server-error', httpStatus: 502, detail: '502 HTML page from a proxy' });
    });

    it('timeout (the server holds the socket longer than the client waits) → timeout', async () => {
      await addFault({ target, kind: 'timeout' });
      const f = await expectTransient(target, { kind: 'timeout' });
      expect(f.detail).toMatch(target === 'token' ? /^timed out after 0\.3 s; the refresh may have happened$/ : /^no answer within 0\.3 s$/);
    });

    it('drop-response (it took effect but never answered) → timeout', async () => {
      await addFault({ target, kind: 'drop-response' });
      await expectTransient(target, { kind: 'timeout' });
    });

    it(`reset (connection cut) → ${target === 'token' ? 'timeout: the outcome is unknown' : 'network'}`, async () => {
      await addFault({ target, kind: 'reset' });
      const f = await expectTransient(target, { kind: target === 'token' ? 'timeout' : 'network' });
      expect(f.detail).toMatch(/connection lost/);
    });

    it('rate-limit with retryAfter → rate-limited, retryAt = now + Retry-After', async () => {
      await addFault({ target, kind: 'rate-limit', retryAfter: 17 });
      const { failure, now } = await attempt(target);
      expect(valid(failure)).toMatchObject({ kind: 'rate-limited', httpStatus: 429, detail: expect.stringMatching(/minute limit/) });
      expect(failure!.retryAt).toBe(new Date(now + 17_000).toISOString());
      expect(isTransient(failure!)).toBe(true);
    });
  });

  it('a dropped refresh response really may have rotated the token: classified as timeout, not invalid_grant', async () => {
    await addFault({ target: 'token', kind: 'drop-response' });
    const before = refreshToken;
    const { failure } = await attempt('token');
    expect(failure).toMatchObject({ kind: 'timeout', detail: expect.stringContaining('may have happened') });
    // The rotation happened on the server: past the grace window the old token is dead…
    await sb.control('POST', '/sandbox/clock', { advanceSeconds: 1801 });
    const late = failed(await tokenCall(sb.origin, { grant_type: 'refresh_token', refresh_token: before, client_id: w.clientId }, null, 5000));
    expect(classifyTokenOutcome(late, Date.now()).kind).toBe('invalid-grant');
  });

  it('a rate limit on the API names the limit it hit (day, with its long Retry-After)', async () => {
    await addFault({ target: 'api', kind: 'rate-limit', problem: 'day', retryAfter: 66_975 });
    const { failure, now } = await attempt('api');
    expect(failure).toMatchObject({ kind: 'rate-limited', detail: expect.stringMatching(/daily limit/), retryAt: new Date(now + 66_975_000).toISOString() });
  });

  it('a skewed sandbox clock does not move a delta-seconds Retry-After', async () => {
    await sb.control('PUT', '/sandbox/settings', { clockSkewSeconds: 900 });
    await addFault({ target: 'api', kind: 'rate-limit', retryAfter: 30 });
    const { failure, now } = await attempt('api');
    expect(failure!.retryAt).toBe(new Date(now + 30_000).toISOString());
  });
});

describe('against the sandbox: terminal failures', () => {
  const sb = useSandbox({ resetEachTest: true });

  it('invalid_grant after a password change is terminal', async () => {
    const w = await buildWorld(sb, { orgs: 2 });
    const t = await connect(sb, w);
    const ok = await tokenCall(sb.origin, { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: w.clientId }, null, 5000);
    expect(ok.ok).toBe(true);
    const current = ok.ok ? ok.tokens.refreshToken! : '';

    await sb.control('POST', `/sandbox/users/${w.userId}/password`);
    const outcome = failed(await tokenCall(sb.origin, { grant_type: 'refresh_token', refresh_token: current, client_id: w.clientId }, null, 5000));
    const f = valid(classifyTokenOutcome(outcome, Date.now()));
    expect(f).toMatchObject({ kind: 'invalid-grant', detail: '400 invalid_grant', httpStatus: 400 });
    expect(isTransient(f)).toBe(false);
    expect(JSON.stringify(f)).not.toContain(current);
  });

  it('invalid_grant for a code the server does not know (expired, used, or never issued)', async () => {
    // A refused code is invalid_grant on the exchange too: the same terminal kind, worded as a sign-in.
    const w = await buildWorld(sb, { orgs: 1 });
    await connect(sb, w);
    const outcome = failed(await tokenCall(sb.origin, { grant_type: 'authorization_code', code: 'no-such-code', redirect_uri: REDIRECT, code_verifier: 'x'.repeat(43), client_id: w.clientId }, null, 5000));
    expect(classifyTokenOutcome(outcome, Date.now(), 'code-exchange').kind).toBe('invalid-grant');
  });

  it.each([400, 401])('invalid_client after a secret rotation (sandbox answering %i)', async (invalidClientStatus) => {
    await sb.control('PUT', '/sandbox/settings', { invalidClientStatus });
    const w = await buildWorld(sb, { orgs: 1, type: 'web' });
    const t = await connect(sb, w);
    const { clientSecret: newSecret } = await sb.control('POST', `/sandbox/apps/${w.clientId}/secret`);
    const form = { grant_type: 'refresh_token', refresh_token: t.refresh_token };

    const outcome = failed(await tokenCall(sb.origin, form, { id: w.clientId, secret: w.clientSecret! }, 5000));
    const f = valid(classifyTokenOutcome(outcome, Date.now()));
    expect(f).toMatchObject({ kind: 'invalid-client', detail: `${invalidClientStatus} invalid_client`, httpStatus: invalidClientStatus });
    expect(isTransient(f)).toBe(false);
    expect(JSON.stringify(f)).not.toContain(w.clientSecret!);

    // The grant itself was never the problem: with the new secret the same refresh token works.
    expect((await tokenCall(sb.origin, form, { id: w.clientId, secret: newSecret }, 5000)).ok).toBe(true);
  });
});

describe('network error text from main/oauth', () => {
  it.each([
    ['response body lost (ECONNRESET)', 'sent-unknown', 'timeout', 'connection lost after sending (ECONNRESET); the refresh may have happened'],
    ['refused to send to http://evil.example', 'not-sent', 'network', 'could not reach Xero'],
    ['discovery failed: HTTP 500', 'not-sent', 'network', 'could not reach Xero'],
    ['getaddrinfo ENOTFOUND identity.xero.com', 'not-sent', 'network', 'could not reach Xero (ENOTFOUND)'],
    ['other side closed (UND_ERR_SOCKET)', 'sent-unknown', 'timeout', 'connection lost after sending (UND_ERR_SOCKET); the refresh may have happened'],
  ] as const)('%s', (networkError, stage, kind, detail) => {
    expect(classifyTokenOutcome({ ok: false, stage, response: null, networkError }, NOW)).toEqual({ kind, at, detail });
  });
});
