import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Cause, FixAction } from '../../../../shared/domain.js';
import { explainError, explanationSchema, normaliseErrorText, type Explanation } from '../../../../main/providers/xero/explain.js';

/**
 * The explainer: pasted error text → cause and fix in the product's own words. Every code from
 * xero-protocol.md §5 and §8, every error text in the four help articles of shared/reference/seeds (read from
 * the files here), pasted JSON, URL-encoded bodies, and text carrying tokens that must never come back out.
 */

const SEEDS = '/work/shared/reference/seeds';

function explain(text: string): Explanation {
  const e = explainError(text);
  const parsed = explanationSchema.safeParse(e);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  return e;
}

type Expect = { cause: Cause | null; action: FixAction; title?: RegExp; codes?: string[] };

function expectExplained(text: string, want: Expect): Explanation {
  const e = explain(text);
  expect(e.matched, `"${text}" should be recognised`).toBe(true);
  expect({ cause: e.cause, action: e.action }, text).toEqual({ cause: want.cause, action: want.action });
  if (want.title) expect(e.title).toMatch(want.title);
  if (want.codes) for (const code of want.codes) expect(e.codes).toContain(code);
  for (const field of [e.title, e.whatHappened, e.fix]) expect(field.length).toBeGreaterThan(10);
  return e;
}

describe('OAuth 2.0 token and authorize errors', () => {
  it.each<[string, Expect]>([
    ['{"error":"invalid_grant"}', { cause: 'grant-revoked', action: 'reconnect', codes: ['invalid_grant'] }],
    ['400 {"error":"invalid_grant","error_description":"Token has been expired or revoked."}', { cause: 'grant-revoked', action: 'reconnect', codes: ['HTTP 400', 'invalid_grant'] }],
    ['Token has been expired or revoked.', { cause: 'grant-revoked', action: 'reconnect' }],
    ['RPError: invalid_grant (grant_type=authorization_code, code_verifier mismatch)', { cause: null, action: 'reconnect', title: /sign-in took too long/ }],
    ['{"error":"invalid_client"}', { cause: 'credentials-rotated', action: 'update-app-credentials', codes: ['invalid_client'] }],
    ['HTTP 401 invalid_client', { cause: 'credentials-rotated', action: 'update-app-credentials' }],
    ['Error: unauthorized_client : Invalid redirect_uri', { cause: null, action: 'update-app-credentials', title: /return address/, codes: ['unauthorized_client', 'Invalid redirect_uri'] }],
    ['unauthorized_client : Unknown client or client not enabled', { cause: 'app-deleted', action: 'update-app-credentials', codes: ['Unknown client or client not enabled'] }],
    ['unauthorized_client : Invalid scope for client', { cause: null, action: 'update-app-credentials', title: /permission it can't have/ }],
    ['{"error":"unauthorized_client"}', { cause: null, action: 'update-app-credentials' }],
    ['{"error":"invalid_scope"}', { cause: null, action: 'update-app-credentials', codes: ['invalid_scope'] }],
    ['http://127.0.0.1:5001/callback?error=access_denied&state=st-123', { cause: null, action: 'reconnect', title: /cancelled/ }],
    ['{"error":"unsupported_grant_type"}', { cause: null, action: 'none', title: /could not use/ }],
    ['{"error":"invalid_request"}', { cause: null, action: 'none' }],
  ])('%s', (text, want) => {
    expectExplained(text, want);
  });
});

describe('API errors (api.xero.com)', () => {
  it.each<[string, Expect]>([
    [
      '{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"TokenExpired: token expired at 09/24/2021 08:23:47","Instance":"1c2b3a4d-0000-4000-8000-000000000001","Extensions":{}}',
      { cause: null, action: 'none', title: /routine/, codes: ['HTTP 401', 'TokenExpired'] },
    ],
    ['401 Unauthorized: TokenExpired: token expired at 01/02/2026 10:00:00', { cause: null, action: 'none' }],
    ['{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"AuthenticationUnsuccessful"}', { cause: 'grant-revoked', action: 'reconnect', codes: ['AuthenticationUnsuccessful'] }],
    ['{"Type":null,"Title":"Forbidden","Status":403,"Detail":"AuthenticationUnsuccessful"}', { cause: 'app-disconnected-in-org', action: 'reconnect-in-org', codes: ['HTTP 403'] }],
    ['403 Forbidden', { cause: 'app-disconnected-in-org', action: 'reconnect-in-org' }],
    [
      'HTTP/1.1 401 Unauthorized\nWWW-Authenticate: insufficient_scope\nContent-Type: application/json\n\n{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"AuthorizationUnsuccessful"}',
      { cause: 'scope-missing', action: 'reconnect', codes: ['insufficient_scope', 'AuthorizationUnsuccessful'] },
    ],
    ['{"title":"Unauthorized","status":401,"detail":"AuthorizationUnsuccessful"}', { cause: 'role-restricted', action: 'none', title: /role/ }],
    ['{"error": "InsufficientPermissions", "message": "no access"}', { cause: 'role-restricted', action: 'none', codes: ['InsufficientPermissions'] }],
    ['The Xero API is currently offline for maintenance', { cause: 'provider-outage', action: 'wait', title: /maintenance/ }],
    ['503 Organisation offline', { cause: 'provider-outage', action: 'wait', title: /organisation is temporarily offline/ }],
    ['500 Internal Server Error', { cause: 'provider-outage', action: 'wait' }],
    ['<html>\r\n<head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>', { cause: 'network', action: 'wait', title: /answered instead/ }],
    ['Error: connect ECONNRESET 52.1.2.3:443', { cause: 'network', action: 'wait' }],
    ['request to https://identity.xero.com/connect/token failed, reason: getaddrinfo ENOTFOUND identity.xero.com', { cause: 'network', action: 'wait' }],
  ])('%s', (text, want) => {
    expectExplained(text, want);
  });
});

describe('rate limits', () => {
  it.each<[string, RegExp, string | null]>([
    ['HTTP 429 Too Many Requests\nX-Rate-Limit-Problem: minute\nRetry-After: 17', /one minute/, 'limit: minute'],
    ['429 X-Rate-Limit-Problem: day Retry-After: 66975', /allowance/, 'limit: day'],
    ['{"Status":429,"Detail":"Rate limit exceeded: concurrent"}', /same time/, 'limit: concurrent'],
    ['x-rate-limit-problem=appminute', /overall limit/, 'limit: appminute'],
    ['Rate limit exceeded', /slow down/, null],
    ['HTTP 429', /slow down/, null],
  ])('%s', (text, title, limitCode) => {
    const e = expectExplained(text, { cause: 'rate-limited', action: 'wait', title });
    if (limitCode) expect(e.codes).toContain(limitCode);
  });
});

describe('clock skew and connection limits', () => {
  it.each<[string, Expect]>([
    ['RPError: JWT not active yet, now 1619714000, nbf 1619714043', { cause: 'clock-skew', action: 'check-clock', codes: ['JWT not active yet'] }],
    ['id_token iat is in the future (clock skew)', { cause: 'clock-skew', action: 'check-clock' }],
    ['https://authorize.xero.com/connectionLimit', { cause: null, action: 'none', title: /limit of connected organisations/, codes: ['connectionLimit'] }],
    ['oauth_problem=connection%20limit%20exceeded&oauth_problem_advice=Maximum%20number%20of%20tenants%20already%20connected', { cause: null, action: 'none', title: /limit/ }],
  ])('%s', (text, want) => {
    expectExplained(text, want);
  });
});

describe('legacy OAuth 1.0a problem codes', () => {
  it.each<[string, Expect]>([
    [
      'oauth_problem=token_rejected&oauth_problem_advice=The%20access%20token%20has%20not%20been%20authorized%2C%20or%20has%20been%20revoked%20by%20the%20user',
      { cause: 'grant-revoked', action: 'reconnect', title: /withdrawn/, codes: ['token_rejected'] },
    ],
    ['oauth_problem=token_rejected&oauth_problem_advice=Token+ABCDEF123456+does+not+match+an+expected+REQUEST+token', { cause: null, action: 'reconnect', title: /lost track/ }],
    ['oauth_problem=token_rejected&oauth_problem_advice=The access token is not valid', { cause: 'grant-revoked', action: 'reconnect' }],
    ['oauth_problem=token_expired&oauth_problem_advice=The%20access%20token%20has%20expired', { cause: 'refresh-token-expired', action: 'reconnect', codes: ['token_expired'] }],
    [
      'oauth_problem=timestamp_refused&oauth_problem_advice=The timestamp is to old, it must be at most 1800 seconds before the servers current date and time',
      { cause: 'clock-skew', action: 'check-clock', codes: ['timestamp_refused'] },
    ],
    ['oauth_problem=signature_invalid&oauth_problem_advice=Failed%20to%20validate%20signature', { cause: 'credentials-rotated', action: 'update-app-credentials' }],
    ['oauth_problem=signature_method_rejected&oauth_problem_advice=Public applications must use the HMAC-SHA1 signature method', { cause: 'credentials-rotated', action: 'update-app-credentials', title: /certificate/ }],
    ['oauth_problem=consumer_key_unknown&oauth_problem_advice=Consumer%20key%20was%20not%20recognised', { cause: 'app-deleted', action: 'update-app-credentials' }],
    ['oauth_problem=nonce_used&oauth_problem_advice=Nonce has already been used', { cause: null, action: 'none', title: /twice/ }],
    ['oauth_problem=permission_denied', { cause: 'role-restricted', action: 'none' }],
    ['oauth_problem=parameter_rejected&oauth_problem_advice=Callback url is not the registered callback domain', { cause: null, action: 'update-app-credentials' }],
    ['oauth_problem=rate%20limit%20exceeded&oauth_problem_advice=please%20wait%20before%20retrying%20the%20xero%20api', { cause: 'rate-limited', action: 'wait', codes: ['rate limit exceeded'] }],
  ])('%s', (text, want) => {
    expectExplained(text, want);
  });
});

describe('saying no more than the message shows (issue 10, item 17)', () => {
  it('unauthorized_client alone names an unregistered redirect URI before the client id, and claims no cause', () => {
    for (const text of ['unauthorized_client', '{"error":"unauthorized_client"}', 'Error: unauthorized_client']) {
      const e = expectExplained(text, { cause: null, action: 'update-app-credentials' });
      expect(e.confidence, text).toBe('possible');
      for (const field of [e.whatHappened, e.fix]) {
        const redirect = field.search(/redirect URI/);
        const clientId = field.search(/client ID/);
        expect(redirect, `${text}: ${field}`).toBeGreaterThanOrEqual(0);
        expect(redirect, `the redirect URI comes first in: ${field}`).toBeLessThan(clientId);
      }
    }
  });

  it('token_rejected says it comes from the retired OAuth 1.0a', () => {
    for (const text of [
      'oauth_problem=token_rejected',
      'oauth_problem=token_rejected&oauth_problem_advice=The access token has not been authorized, or has been revoked by the user',
      'oauth_problem=token_rejected&oauth_problem_advice=Token THISISANCCESSTOKEN does not match an expected REQUEST token',
    ]) {
      expect(explain(text).whatHappened, text).toMatch(/^This message comes from OAuth 1\.0a, the sign-in method Xero used before OAuth 2\.0 and has since retired/);
    }
  });

  it('token_rejected with "does not match an expected REQUEST token" reads the advice: the app lost track of its latest token', () => {
    const e = explain('oauth_problem=token_rejected&oauth_problem_advice=Token THISISANCCESSTOKEN does not match an expected REQUEST token');
    expect(e.title).toBe('The app lost track of its newest access key');
    expect(e.whatHappened).toMatch(/presented an access token where Xero expected another one \(the "REQUEST token" it names\)/);
    expect(e.whatHappened).toMatch(/the app lost track of its latest token/);
    // Not "replaced by a newer connection": nobody connected the organisation again.
    expect(e.cause).toBeNull();
  });

  it("timestamp_refused may come from a vendor's server, not this computer", () => {
    const e = expectExplained('oauth_problem=timestamp_refused&oauth_problem_advice=The timestamp is too old, it must be at most 300 seconds before the server’s', {
      cause: 'clock-skew',
      action: 'check-clock',
    });
    expect(e.whatHappened).toMatch(/OAuth 1\.0a/);
    expect(e.whatHappened).toMatch(/app vendor's server, not this computer/);
    expect(e.fix).toMatch(/If it runs online, send this message to the app's support/);
    // Only a JWT "not active yet" is this computer's own clock for certain.
    expect(explain('JWT not active yet').whatHappened).not.toMatch(/vendor/);
  });

  it('a bare 403 is a possible disconnection, not a likely one', () => {
    for (const text of ['403', '403 Forbidden', 'HTTP 403', 'Forbidden Status 403']) {
      const e = expectExplained(text, { cause: 'app-disconnected-in-org', action: 'reconnect-in-org' });
      expect(e.confidence, text).toBe('possible');
      expect(e.whatHappened, text).toMatch(/A 403 on its own says only that Xero refused the request, not why/);
    }
    // Xero's own 403 body names AuthenticationUnsuccessful: that one is likely.
    const xero = explain('{"Type":null,"Title":"Forbidden","Status":403,"Detail":"AuthenticationUnsuccessful"}');
    expect(xero.confidence).toBe('likely');
  });
});

describe('every error text in the seed help articles', () => {
  const read = (name: string) => readFileSync(`${SEEDS}/${name}`, 'utf8');

  it('000 (Xeroom): the 401 AuthenticationUnsuccessful problem body, pasted with curly quotes and no braces', () => {
    const text = read('000_91bdc79066fd4a60.txt').split('\n')[0]!;
    expect(text).toContain('AuthenticationUnsuccessful');
    expectExplained(text, { cause: 'grant-revoked', action: 'reconnect', codes: ['HTTP 401', 'AuthenticationUnsuccessful'] });
  });

  it('000 (Xeroom): the 403 heading', () => {
    const text = read('000_91bdc79066fd4a60.txt').split('\n').find((l) => /^Forbidden Status 403/.test(l))!;
    expectExplained(text, { cause: 'app-disconnected-in-org', action: 'reconnect-in-org' });
  });

  it('001 (QuickFix): the three quoted messages and the page title', () => {
    const file = read('001_e214f022760c8ce3.txt');
    const quoted = [...file.matchAll(/^"(.+)"$/gm)].map((m) => m[1]!);
    expect(quoted).toHaveLength(3);
    const [authUnsuccessful, invalidToken, brokenUnauthorizedClient] = quoted as [string, string, string];
    expectExplained(authUnsuccessful, { cause: 'grant-revoked', action: 'reconnect', codes: ['HTTP 401'] });
    expectExplained(invalidToken, { cause: 'grant-revoked', action: 'reconnect' });
    expectExplained(brokenUnauthorizedClient, { cause: null, action: 'update-app-credentials', codes: ['unauthorized_client'] });
    expectExplained(file.split('\n')[0]!, { cause: 'grant-revoked', action: 'reconnect' });
  });

  it('002 (Xero OAuth issues): every oauth_problem line', () => {
    const lines = read('002_75fc9d74b3e0e24d.txt')
      .split('\n')
      .filter((l) => l.startsWith('oauth_problem='));
    const expected: Array<[RegExp, Cause | null, FixAction]> = [
      [/revoked by the user/, 'grant-revoked', 'reconnect'],
      [/does not match an expected REQUEST token/, null, 'reconnect'],
      [/too old/, 'clock-skew', 'check-clock'],
      [/too far in the future/, 'clock-skew', 'check-clock'],
      [/No certificates have been registered/, 'credentials-rotated', 'update-app-credentials'],
      [/Failed to validate signature/, 'credentials-rotated', 'update-app-credentials'],
    ];
    expect(lines).toHaveLength(expected.length);
    for (const [pattern, cause, action] of expected) {
      const line = lines.find((l) => pattern.test(l));
      expect(line, String(pattern)).toBeDefined();
      expectExplained(line!, { cause, action });
    }
  });

  it('002: the error headings on their own', () => {
    const file = read('002_75fc9d74b3e0e24d.txt');
    const headings = [...file.matchAll(/^Error: (.+):?$/gm)].map((m) => m[1]!);
    expect(headings.length).toBeGreaterThanOrEqual(5);
    for (const heading of headings) {
      // "Too old" / "Too new" alone say nothing recognisable, and the explainer says so rather than guessing.
      if (/^Too (?:old|new)$/.test(heading)) expect(explain(heading).matched).toBe(false);
      else expect(explain(heading).matched, heading).toBe(true);
    }
  });

  it('003 (InsufficientPermissions): the JSON body', () => {
    const text = read('003_bd4813652d7e791f.txt')
      .split('\n')
      .find((l) => l.startsWith('{"error"'))!;
    expect(text).toContain('InsufficientPermissions');
    expectExplained(text, { cause: 'role-restricted', action: 'none', codes: ['InsufficientPermissions'] });
  });
});

describe('reading messy input', () => {
  it('case and whitespace do not matter', () => {
    expect(explain('   INVALID_GRANT \n\n').cause).toBe('grant-revoked');
    expect(explain('Tokenexpired:   token   EXPIRED at 09/24/2021 08:23:47').action).toBe('none');
  });

  it('URL-encoded (percent and plus), and double-encoded', () => {
    expect(normaliseErrorText('oauth_problem_advice=The%20access+token')).toBe('oauth_problem_advice=the access token');
    expect(explain('error=invalid%5Fgrant').cause).toBe('grant-revoked');
    expect(explain('oauth_problem%3Dtoken_rejected%26oauth_problem_advice%3DThe%2520access%2520token%2520has%2520been%2520revoked%2520by%2520the%2520user').title).toMatch(/withdrawn/);
  });

  it('JSON pasted whole, pretty-printed, or escaped inside a log line', () => {
    const pretty = JSON.stringify({ Type: null, Title: 'Forbidden', Status: 403, Detail: 'AuthenticationUnsuccessful', Instance: 'x', Extensions: {} }, null, 2);
    expect(explain(pretty).cause).toBe('app-disconnected-in-org');
    expect(explain('2026-05-12T09:30:00Z ERROR sync failed body="{\\"error\\":\\"invalid_client\\"}"').cause).toBe('credentials-rotated');
    expect(explain('{"error":"\\u0069nvalid_grant"}').cause).toBe('grant-revoked');
  });

  it('HTML entities from a page copy', () => {
    expect(explain('{&quot;error&quot;:&quot;invalid_scope&quot;}').codes).toContain('invalid_scope');
  });

  it('an amount is not a status code', () => {
    expect(explain('Invoice INV-0042 for $401.00 could not be sent').matched).toBe(false);
  });
});

describe('the four fixes are told apart', () => {
  it('refresh-and-retry, reconnect, add scope or role, wait, fix the app', () => {
    const tokenExpired = explain('401 TokenExpired: token expired at 09/24/2021 08:23:47');
    const invalidGrant = explain('{"error":"invalid_grant"}');
    const scope = explain('401 AuthorizationUnsuccessful WWW-Authenticate: insufficient_scope');
    const role = explain('401 AuthorizationUnsuccessful');
    const rate = explain('429 Too Many Requests');
    const outage = explain('503 The Xero API is currently offline for maintenance');
    const client = explain('invalid_client');
    expect(tokenExpired).toMatchObject({ action: 'none', cause: null });
    expect(tokenExpired.fix).toMatch(/Nothing to do/);
    expect(invalidGrant).toMatchObject({ action: 'reconnect', cause: 'grant-revoked' });
    expect(scope).toMatchObject({ action: 'reconnect', cause: 'scope-missing' });
    expect(role).toMatchObject({ action: 'none', cause: 'role-restricted' });
    expect(rate).toMatchObject({ action: 'wait', cause: 'rate-limited' });
    expect(outage).toMatchObject({ action: 'wait', cause: 'provider-outage' });
    expect(client).toMatchObject({ action: 'update-app-credentials', cause: 'credentials-rotated' });
    const titles = [tokenExpired, invalidGrant, scope, role, rate, outage, client].map((e) => e.title);
    expect(new Set(titles).size).toBe(titles.length);
  });
});

describe('never echoes a token', () => {
  const JWT =
    'eyJhbGciOiJSUzI1NiIsImtpZCI6IjFDQUY4RTY2NzcyRDZEQzAyOEQ2NzI2RkQwMjYxNTgxNTcwRUZDMTkiLCJ0eXAiOiJKV1QifQ.' +
    'eyJuYmYiOjE2MTk3MTQwNDMsImV4cCI6MTYxOTcxNTg0MywiaXNzIjoiaHR0cHM6Ly9pZGVudGl0eS54ZXJvLmNvbSIsInhlcm9fdXNlcmlkIjoiZmFhODNlYzkifQ.' +
    'Zm9vYmFyYmF6cXV4c2lnbmF0dXJlLW5vdC1yZWFsLWJ1dC1sb25nLWVub3VnaA';
  const REFRESH = 'a7Q2fXk9Lm3Rb8Zp1Vt6Wy4Hs0Jd5Ge2Nc7Ku9Ti3Ox';
  const SECRET = 'Sx9_kLp2-qW8rT5vY1zN3mB6cX4jH7gF';

  /** No run of 8 or more characters of the secret appears anywhere in the explanation. */
  function expectNoPieceOf(secret: string, e: Explanation): void {
    const out = JSON.stringify(e);
    for (let i = 0; i + 8 <= secret.length; i++) expect(out, `leaks ${secret.slice(i, i + 8)}`).not.toContain(secret.slice(i, i + 8));
    // Not even case-folded: the explainer lower-cases its input while reading.
    const lower = out.toLowerCase();
    for (let i = 0; i + 8 <= secret.length; i++) expect(lower).not.toContain(secret.slice(i, i + 8).toLowerCase());
  }

  it.each<[string, string, Cause | null]>([
    [`GET /connections\nAuthorization: Bearer ${JWT}\n\n401 {"Detail":"TokenExpired: token expired at 09/24/2021 08:23:47"}`, JWT, null],
    [`POST /connect/token grant_type=refresh_token&refresh_token=${REFRESH}\n400 {"error":"invalid_grant"}`, REFRESH, 'grant-revoked'],
    [`Authorization: Basic ${Buffer.from(`ADB5A77DA6B64E928D8409099A39CA7B:${SECRET}`).toString('base64')}\n{"error":"invalid_client"}`, Buffer.from(`ADB5A77DA6B64E928D8409099A39CA7B:${SECRET}`).toString('base64'), 'credentials-rotated'],
    [`client_secret=${SECRET} unauthorized_client : Unknown client or client not enabled`, SECRET, 'app-deleted'],
    [`oauth_problem=token_rejected&oauth_problem_advice=Token%20${REFRESH}%20does%20not%20match%20an%20expected%20REQUEST%20token`, REFRESH, null],
    [`something odd happened with ${JWT}`, JWT, null],
  ])('%#', (text, secret, cause) => {
    const e = explain(text);
    expect(e.cause).toBe(cause);
    expectNoPieceOf(secret, e);
  });
});

describe('unknown text', () => {
  it.each(['hello world', 'The sync did not run last night', 'Error 12345', 'ERR_UNKNOWN_THING'])('%j → matched:false with general guidance', (text) => {
    const e = explain(text);
    expect(e).toMatchObject({ matched: false, cause: null, action: 'none', confidence: 'possible', codes: [] });
    expect(e.fix).toMatch(/whole message/);
  });

  it('empty input asks for a message', () => {
    expect(explain('   ')).toMatchObject({ matched: false, title: 'Paste an error message', codes: [] });
  });

  it('a very long paste is read without trouble', () => {
    const long = 'x'.repeat(100_000) + ' invalid_grant';
    // Past the reading limit: only the start is read.
    expect(explain(long).matched).toBe(false);
    expect(explain('invalid_grant ' + 'y '.repeat(50_000)).cause).toBe('grant-revoked');
  });
});
