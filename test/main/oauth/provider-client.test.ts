import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { SystemClock } from '../../../main/core/clock.js';
import { estimateSkewMs } from '../../../main/core/http-date.js';
import {
  createProviderClient,
  DiscoveryCache,
  scrubBody,
  type ProviderClient,
  type ProviderClientOptions,
} from '../../../main/oauth/provider-client.js';
import { buildWorld, REDIRECT, startTestSandbox, type TestSandbox, type World } from '../../support/sandbox.js';
import { useSandbox } from '../../support/use-sandbox.js';

const SCOPES = ['openid', 'profile', 'email', 'offline_access', 'accounting.settings'];

interface Sent {
  url: string;
  method: string;
  authorization: string | null;
  body: string;
}

/** A fetch that records what openid-client sent (tests only: this is where the secrets are visible). */
function recordingFetch(): { fetch: typeof fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  const f: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    sent.push({
      url: String(input),
      method: init?.method ?? 'GET',
      authorization: headers.get('authorization'),
      body: init?.body instanceof URLSearchParams ? init.body.toString() : typeof init?.body === 'string' ? init.body : '',
    });
    return fetch(input, init);
  };
  return { fetch: f, sent };
}

describe('oauth: provider client (openid-client) against the sandbox', () => {
  const sb = useSandbox({ resetEachTest: true });

  function client(w: World, extra: Partial<ProviderClientOptions> = {}): ProviderClient {
    return createProviderClient({
      issuer: sb.origin,
      clientId: w.clientId,
      clientSecret: w.clientSecret ?? null,
      clock: new SystemClock(),
      allowInsecureLoopback: true,
      discoveryCache: new DiscoveryCache(),
      ...extra,
    });
  }

  /** Runs the authorize request against an arranged consent and returns what reached the redirect URI. */
  async function authorize(c: ProviderClient, w: World, opts: { decision?: 'allow' | 'deny'; tenantIds?: string[] } = {}) {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = await c.authorizationUrl({
      redirectUri: REDIRECT,
      scopes: SCOPES,
      state,
      codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      nonce,
    });
    await sb.control('POST', '/sandbox/consents', {
      clientId: w.clientId,
      userId: w.userId,
      tenantIds: opts.tenantIds ?? w.tenantIds,
      ...(opts.decision ? { decision: opts.decision } : {}),
    });
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const callbackUrl = new URL(res.headers.get('location')!);
    return { callbackUrl, checks: { codeVerifier, expectedState: state, redirectUri: REDIRECT, nonce } };
  }

  async function connected(c: ProviderClient, w: World) {
    const { callbackUrl, checks } = await authorize(c, w);
    const out = await c.exchangeCode(callbackUrl, checks);
    if (!out.ok) throw new Error(`exchange failed: ${JSON.stringify(out)}`);
    return { out, code: callbackUrl.searchParams.get('code')!, checks };
  }

  it('builds a PKCE S256 authorize URL on the discovered endpoint', async () => {
    const w = await buildWorld(sb);
    const c = client(w);
    const url = new URL(
      await c.authorizationUrl({ redirectUri: REDIRECT, scopes: SCOPES, state: 'st', codeChallenge: 'a'.repeat(43), nonce: 'n' }),
    );
    expect(url.origin + url.pathname).toBe(`${sb.origin}/identity/connect/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      redirect_uri: REDIRECT,
      scope: SCOPES.join(' '),
      state: 'st',
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'S256',
      nonce: 'n',
      client_id: w.clientId,
      response_type: 'code',
    });
    await expect(c.authorizationUrl({ redirectUri: REDIRECT, scopes: SCOPES, state: 'st', codeChallenge: 'plain' })).rejects.toThrow(/S256/);
  });

  it('refuses an http issuer off the loopback interface, or any http issuer unless allowed', () => {
    const base = { clientId: 'x', clock: new SystemClock() };
    expect(() => createProviderClient({ ...base, issuer: 'http://identity.example.com', allowInsecureLoopback: true })).toThrow(/not https/);
    expect(() => createProviderClient({ ...base, issuer: sb.origin, allowInsecureLoopback: false })).toThrow(/not https/);
    expect(() => createProviderClient({ ...base, issuer: 'https://identity.xero.com', allowInsecureLoopback: false })).not.toThrow();
  });

  it('PKCE app: exchanges the code once (client_id in the body, no Authorization) and returns validated claims', async () => {
    const w = await buildWorld(sb, { orgs: 3 });
    const rec = recordingFetch();
    const c = client(w, { fetch: rec.fetch });
    const before = Date.now();
    const { out, code, checks } = await connected(c, w);
    if (!out.ok) throw new Error('unreachable');

    expect(out.tokens.accessToken).toMatch(/^eyJ/);
    expect(out.tokens.refreshToken).toBeTruthy();
    expect(out.tokens.idToken).toMatch(/^eyJ/);
    expect(out.tokens.expiresIn).toBe(1800);
    expect(out.tokens.scope.sort()).toEqual([...SCOPES].sort());
    expect(out.response.status).toBe(200);
    expect(out.response.bodyExcerpt).toBe('');
    expect(out.response.oauthError).toBeNull();
    expect(out.response.headers.date).toBeTruthy();
    expect(out.response.headers['content-type']).toMatch(/application\/json/);
    expect(out.receivedAt).toBeGreaterThanOrEqual(before);
    expect(out.sentAt).toBeLessThanOrEqual(out.receivedAt);
    expect(Math.abs(out.skewMs!)).toBeLessThan(2_000);

    // The OpenID claims Relink reads, and the provider's own beside them (the rest of the id_token's too).
    expect(out.idClaims).toMatchObject({
      sub: expect.stringMatching(/^[0-9a-f]{32}$/),
      xero_userid: w.userId,
      email: w.email,
      given_name: 'Ada',
      family_name: 'Adviser',
      preferred_username: w.email,
    });
    expect(out.accessClaims!.authentication_event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.accessClaims!.scope.sort()).toEqual([...SCOPES].sort());

    const tokenCalls = rec.sent.filter((s) => s.url.endsWith('/connect/token'));
    expect(tokenCalls).toHaveLength(1);
    expect(tokenCalls[0]!.authorization).toBeNull();
    const form = new URLSearchParams(tokenCalls[0]!.body);
    expect(form.get('client_id')).toBe(w.clientId);
    expect(form.get('grant_type')).toBe('authorization_code');
    expect(form.get('code')).toBe(code);
    expect(form.get('code_verifier')).toBe(checks.codeVerifier);
    expect(form.get('redirect_uri')).toBe(REDIRECT);
    expect(form.has('client_secret')).toBe(false);
  });

  it('web app: authenticates with client_secret_basic and completes the flow', async () => {
    const w = await buildWorld(sb, { type: 'web' });
    const rec = recordingFetch();
    const c = client(w, { fetch: rec.fetch });
    expect(c.authMethod).toBe('client_secret_basic');
    const { out } = await connected(c, w);
    expect(out.ok).toBe(true);
    const tokenCall = rec.sent.find((s) => s.url.endsWith('/connect/token'))!;
    expect(tokenCall.authorization).toMatch(/^Basic /);
    const [id, secret] = Buffer.from(tokenCall.authorization!.slice(6), 'base64').toString().split(':');
    expect(decodeURIComponent(id!)).toBe(w.clientId);
    expect(decodeURIComponent(secret!)).toBe(w.clientSecret);
    expect(new URLSearchParams(tokenCall.body).has('client_secret')).toBe(false);
  });

  it('refreshes, and the refresh token rotates', async () => {
    for (const type of ['pkce', 'web'] as const) {
      const w = await buildWorld(sb, { type });
      const c = client(w);
      const { out } = await connected(c, w);
      if (!out.ok) throw new Error('unreachable');
      const r1 = await c.refresh(out.tokens.refreshToken!);
      if (!r1.ok) throw new Error(`refresh failed: ${JSON.stringify(r1)}`);
      expect(r1.tokens.refreshToken).toBeTruthy();
      expect(r1.tokens.refreshToken).not.toBe(out.tokens.refreshToken);
      expect(r1.tokens.accessToken).not.toBe(out.tokens.accessToken);
      expect(r1.tokens.expiresIn).toBe(1800);
      const r2 = await c.refresh(r1.tokens.refreshToken!);
      expect(r2.ok).toBe(true);
    }
  });

  it('a wrong client secret is an answered outcome with oauthError invalid_client (and no secret in it)', async () => {
    const w = await buildWorld(sb, { type: 'web' });
    const good = client(w);
    const { out } = await connected(good, w);
    if (!out.ok) throw new Error('unreachable');
    const bad = client({ ...w, clientSecret: 'not-the-secret-' + w.clientSecret });
    const { callbackUrl, checks } = await authorize(bad, w);
    const exchanged = await bad.exchangeCode(callbackUrl, checks);
    expect(exchanged).toMatchObject({ ok: false, stage: 'answered', networkError: null, response: { status: 400, oauthError: 'invalid_client' } });
    const refreshed = await bad.refresh(out.tokens.refreshToken!);
    expect(refreshed).toMatchObject({ ok: false, stage: 'answered', response: { status: 400, oauthError: 'invalid_client' } });
    if (!refreshed.ok) expect(refreshed.response!.bodyExcerpt).toContain('invalid_client');
    const text = JSON.stringify([exchanged, refreshed]);
    for (const secret of [w.clientSecret!, out.tokens.refreshToken!, callbackUrl.searchParams.get('code')!, checks.codeVerifier]) {
      expect(text).not.toContain(secret);
    }
  });

  it('the unknown-client status switch (401) is reported as answered too', async () => {
    const w = await buildWorld(sb, { type: 'web' });
    await sb.control('PUT', '/sandbox/settings', { invalidClientStatus: 401 });
    const bad = client({ ...w, clientSecret: 'wrong' });
    const r = await bad.refresh('whatever');
    expect(r).toMatchObject({ ok: false, stage: 'answered', response: { status: 401, oauthError: 'invalid_client' } });
  });

  it('a dead refresh token is an answered invalid_grant', async () => {
    const w = await buildWorld(sb);
    const c = client(w);
    const r = await c.refresh('no-such-refresh-token');
    expect(r).toMatchObject({
      ok: false,
      stage: 'answered',
      networkError: null,
      response: { status: 400, oauthError: 'invalid_grant', bodyExcerpt: '{"error":"invalid_grant"}' },
    });
    if (!r.ok) expect(r.response!.headers.date).toBeTruthy();
  });

  it('a code is never sent twice: a second exchange of the same callback is refused by the server', async () => {
    const w = await buildWorld(sb);
    const c = client(w);
    const { callbackUrl, checks } = await authorize(c, w);
    expect((await c.exchangeCode(callbackUrl, checks)).ok).toBe(true);
    const again = await c.exchangeCode(callbackUrl, checks);
    expect(again).toMatchObject({ ok: false, stage: 'answered', response: { oauthError: 'invalid_grant' } });
  });

  it('a callback whose state does not match is refused before anything is sent', async () => {
    const w = await buildWorld(sb);
    const rec = recordingFetch();
    const c = client(w, { fetch: rec.fetch });
    const { callbackUrl, checks } = await authorize(c, w);
    const r = await c.exchangeCode(callbackUrl, { ...checks, expectedState: 'another-state' });
    expect(r).toMatchObject({ ok: false, stage: 'not-sent', response: null });
    expect(rec.sent.filter((s) => s.url.endsWith('/connect/token'))).toHaveLength(0);
  });

  it('a denied consent (error=access_denied on the callback) is refused before anything is sent', async () => {
    const w = await buildWorld(sb);
    const c = client(w);
    const { callbackUrl, checks } = await authorize(c, w, { decision: 'deny' });
    expect(callbackUrl.searchParams.get('error')).toBe('access_denied');
    const r = await c.exchangeCode(callbackUrl, checks);
    expect(r).toMatchObject({ ok: false, stage: 'not-sent', detail: expect.stringContaining('access_denied') });
  });

  describe('faults at the token endpoint', () => {
    async function refreshUnder(fault: Record<string, unknown>, opts: { timeoutMs?: number; hangSeconds?: number } = {}) {
      const w = await buildWorld(sb);
      const c = client(w, { timeoutMs: opts.timeoutMs ?? 5_000 });
      const { out } = await connected(c, w);
      if (!out.ok) throw new Error('unreachable');
      if (opts.hangSeconds !== undefined) await sb.control('PUT', '/sandbox/settings', { hangSeconds: opts.hangSeconds });
      await sb.control('POST', '/sandbox/faults', { target: 'token', ...fault });
      const started = Date.now();
      const r = await c.refresh(out.tokens.refreshToken!);
      return { r, c, refreshToken: out.tokens.refreshToken!, elapsed: Date.now() - started };
    }

    it('status-503: answered, with Retry-After, the content type and the maintenance text', async () => {
      const { r } = await refreshUnder({ kind: 'status-503', retryAfter: 120 });
      expect(r).toMatchObject({ ok: false, stage: 'answered', networkError: null });
      if (r.ok) throw new Error('unreachable');
      expect(r.response!.status).toBe(503);
      expect(r.response!.headers['retry-after']).toBe('120');
      expect(r.response!.headers['content-type']).toMatch(/text\/plain/);
      expect(r.response!.headers.date).toBeTruthy();
      expect(r.response!.bodyExcerpt).toContain('offline for maintenance');
      expect(r.response!.oauthError).toBeNull();
    });

    it('html-502 from a proxy: answered, with the HTML excerpt and no oauthError', async () => {
      const { r } = await refreshUnder({ kind: 'html-502' });
      expect(r).toMatchObject({ ok: false, stage: 'answered', response: { status: 502, oauthError: null } });
      if (r.ok) throw new Error('unreachable');
      expect(r.response!.headers['content-type']).toBe('text/html');
      expect(r.response!.bodyExcerpt).toContain('502 Bad Gateway');
    });

    it('timeout (no answer): sent-unknown after the client timeout', async () => {
      const { r, elapsed } = await refreshUnder({ kind: 'timeout' }, { timeoutMs: 300, hangSeconds: 3 });
      expect(r).toMatchObject({ ok: false, stage: 'sent-unknown', response: null, networkError: 'timeout after 300 ms' });
      expect(elapsed).toBeLessThan(2_500);
    });

    it('drop-response: sent-unknown — and the refresh did take effect, so the old token works inside the grace', async () => {
      const { r, c, refreshToken } = await refreshUnder({ kind: 'drop-response' }, { timeoutMs: 5_000, hangSeconds: 0.2 });
      expect(r).toMatchObject({ ok: false, stage: 'sent-unknown', response: null });
      if (r.ok) throw new Error('unreachable');
      expect(r.networkError).toBeTruthy();
      const retry = await c.refresh(refreshToken);
      expect(retry.ok).toBe(true);
    });

    it('drop-response with a short client timeout: sent-unknown, timeout', async () => {
      const { r } = await refreshUnder({ kind: 'drop-response' }, { timeoutMs: 250, hangSeconds: 3 });
      expect(r).toMatchObject({ ok: false, stage: 'sent-unknown', networkError: 'timeout after 250 ms' });
    });

    it('reset (connection cut): sent-unknown', async () => {
      const { r } = await refreshUnder({ kind: 'reset' });
      expect(r).toMatchObject({ ok: false, stage: 'sent-unknown', response: null });
      if (!r.ok) expect(r.networkError).toMatch(/^(UND_ERR_SOCKET|ECONNRESET|EPIPE)/);
    });

    it('status-500 then success: one failure does not poison the client', async () => {
      const { r, c, refreshToken } = await refreshUnder({ kind: 'status-500' });
      expect(r).toMatchObject({ ok: false, stage: 'answered', response: { status: 500 } });
      expect((await c.refresh(refreshToken)).ok).toBe(true);
    });
  });

  it('a discovery document that points the token endpoint elsewhere: nothing is sent there, and it says why', async () => {
    const w = await buildWorld(sb);
    const elsewhere = 'http://127.0.0.2:9/connect/token';
    const sent: string[] = [];
    // A tampered (or mistaken) discovery document: everything as the sandbox says, but the token endpoint.
    const tampering: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      sent.push(url);
      const res = await fetch(input, init);
      if (!url.endsWith('/.well-known/openid-configuration')) return res;
      const doc = { ...(await res.json()), token_endpoint: elsewhere };
      return new Response(JSON.stringify(doc), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const c = client(w, { fetch: tampering });
    const r = await c.refresh('a-refresh-token-that-must-not-leave');
    expect(r).toMatchObject({ ok: false, stage: 'not-sent', response: null });
    expect(r.ok ? '' : r.detail).toMatch(/its token endpoint is http:\/\/127\.0\.0\.2:9, which is not one of its own addresses, so Relink sent nothing there/);
    expect(sent.some((u) => u.startsWith('http://127.0.0.2'))).toBe(false);

    // The provider's own list decides where there is one (Xero: identity.xero.com and login.xero.com).
    const trusting = client(w, { fetch: tampering, isAllowedEndpoint: (url) => url === elsewhere || url.startsWith(sb.origin) });
    await expect(trusting.authorizationUrl({ redirectUri: REDIRECT, scopes: SCOPES, state: 's', nonce: 'n', codeChallenge: 'c'.repeat(43) })).resolves.toMatch(/^http:\/\/127\.0\.0\.1/);
  });

  it('a provider that cannot be reached is not-sent (connection refused)', async () => {
    const other: TestSandbox = await startTestSandbox();
    const w = await buildWorld(other);
    const c = createProviderClient({
      issuer: other.origin,
      clientId: w.clientId,
      clock: new SystemClock(),
      allowInsecureLoopback: true,
      discoveryCache: new DiscoveryCache(),
    });
    await c.prepare(); // discovered while it was up
    await other.close();
    // Let the pooled keep-alive socket notice it was closed (a request racing that close is sent-unknown).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const r = await c.refresh('any-refresh-token');
    expect(r).toMatchObject({ ok: false, stage: 'not-sent', response: null, networkError: 'ECONNREFUSED' });

    // And discovery itself failing is not-sent as well (the token endpoint was never contacted).
    const fresh = createProviderClient({
      issuer: other.origin,
      clientId: w.clientId,
      clock: new SystemClock(),
      allowInsecureLoopback: true,
      discoveryCache: new DiscoveryCache(),
    });
    const r2 = await fresh.refresh('any-refresh-token');
    expect(r2).toMatchObject({ ok: false, stage: 'not-sent', response: null, networkError: 'ECONNREFUSED' });
  });

  describe('clock skew', () => {
    it('validates the id_token from a server 10 minutes ahead, estimating the skew from the Date header', async () => {
      const w = await buildWorld(sb);
      await sb.control('PUT', '/sandbox/settings', { clockSkewSeconds: 600 });
      const rec = recordingFetch();
      const c = client(w, { fetch: rec.fetch });
      const { out } = await connected(c, w);
      expect(out.ok).toBe(true);
      expect(out.idClaims!.xero_userid).toBe(w.userId);
      expect(Math.abs(out.skewMs! - 600_000)).toBeLessThan(3_000);
      expect(Math.abs(c.skew()!.ms - 600_000)).toBeLessThan(3_000);
      expect(rec.sent.filter((s) => s.url.endsWith('/connect/token'))).toHaveLength(1);
      // Refreshes (whose responses carry an id_token too) validate with the same estimate.
      if (out.ok) expect((await c.refresh(out.tokens.refreshToken!)).ok).toBe(true);
    });

    it('copes when the skew appears after discovery: re-validates the same response locally, sending the code once', async () => {
      const w = await buildWorld(sb);
      const rec = recordingFetch();
      const c = client(w, { fetch: rec.fetch });
      await c.prepare();
      expect(Math.abs(c.skew()!.ms)).toBeLessThan(2_000);
      await sb.control('PUT', '/sandbox/settings', { clockSkewSeconds: -900 });
      const { callbackUrl, checks } = await authorize(c, w);
      const out = await c.exchangeCode(callbackUrl, checks);
      expect(out.ok).toBe(true);
      expect(Math.abs(out.skewMs! + 900_000)).toBeLessThan(3_000);
      expect(rec.sent.filter((s) => s.url.endsWith('/connect/token'))).toHaveLength(1);
    });

    it('without a usable estimate, a skew beyond the tolerance is an answered failure that says why', async () => {
      const w = await buildWorld(sb);
      await sb.control('PUT', '/sandbox/settings', { clockSkewSeconds: 600 });
      // A fetch that hides the Date header leaves openid-client with only its tolerance.
      const noDate: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        const headers = new Headers(res.headers);
        headers.delete('date');
        return new Response(await res.arrayBuffer(), { status: res.status, statusText: res.statusText, headers });
      };
      const c = client(w, { fetch: noDate });
      const { callbackUrl, checks } = await authorize(c, w);
      const out = await c.exchangeCode(callbackUrl, checks);
      expect(out).toMatchObject({ ok: false, stage: 'answered', response: { status: 200, bodyExcerpt: '', oauthError: null } });
      expect(out.detail).toMatch(/timestamp/i);
      expect(out.rejected).toBe('clock-skew');
      expect(JSON.stringify(out)).not.toMatch(/eyJ/);
    });

    it('a skew within the tolerance (4 minutes) needs no estimate', async () => {
      const w = await buildWorld(sb);
      await sb.control('PUT', '/sandbox/settings', { clockSkewSeconds: 240 });
      const { out } = await connected(client(w), w);
      expect(out.ok).toBe(true);
    });
  });

  it('a 200 whose id_token or fields do not validate is an answered failure marked invalid, with no token in it', async () => {
    const w = await buildWorld(sb);
    const tamper = (edit: (body: Record<string, unknown>) => void): typeof fetch => async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).endsWith('/connect/token') || res.status !== 200) return res;
      const body = (await res.json()) as Record<string, unknown>;
      edit(body);
      return new Response(JSON.stringify(body), { status: 200, headers: res.headers });
    };
    const forged = client(w, { fetch: tamper((b) => void (b.id_token = String(b.id_token).slice(0, -6) + 'AAAAAA')) });
    const a = await authorize(forged, w);
    const r1 = await forged.exchangeCode(a.callbackUrl, a.checks);
    expect(r1).toMatchObject({ ok: false, stage: 'answered', rejected: 'invalid', response: { status: 200, bodyExcerpt: '' } });

    const noExpiry = client(w, { fetch: tamper((b) => void delete b.expires_in) });
    const b = await authorize(noExpiry, w);
    const r2 = await noExpiry.exchangeCode(b.callbackUrl, b.checks);
    expect(r2).toMatchObject({ ok: false, stage: 'answered', rejected: 'invalid', detail: expect.stringContaining('expires_in') });
    expect(JSON.stringify([r1, r2])).not.toMatch(/eyJ|refresh_token/);
  });

  it('revokes a refresh token (RFC 7009): afterwards it is invalid_grant', async () => {
    const w = await buildWorld(sb, { type: 'web' });
    const c = client(w);
    const { out } = await connected(c, w);
    if (!out.ok) throw new Error('unreachable');
    const rev = await c.revoke(out.tokens.refreshToken!);
    expect(rev).toMatchObject({ ok: true, response: { status: 200 } });
    expect(await c.refresh(out.tokens.refreshToken!)).toMatchObject({ ok: false, stage: 'answered', response: { oauthError: 'invalid_grant' } });
  });

  it('discovery is cached per issuer and shared by the apps there', async () => {
    const w1 = await buildWorld(sb);
    const w2 = await buildWorld(sb, { type: 'web' });
    const cache = new DiscoveryCache();
    const rec = recordingFetch();
    const a = client(w1, { fetch: rec.fetch, discoveryCache: cache });
    const b = client(w2, { fetch: rec.fetch, discoveryCache: cache });
    await Promise.all([a.prepare(), b.prepare(), a.prepare()]);
    await connected(a, w1);
    await connected(b, w2);
    expect(rec.sent.filter((s) => s.url.includes('/.well-known/openid-configuration') && !s.url.endsWith('/jwks'))).toHaveLength(1);
  });
});

describe('oauth: provider client helpers', () => {
  it('estimates skew from a Date header and the midpoint of send and receive', () => {
    const sent = Date.parse('2026-01-01T10:00:00.000Z');
    expect(estimateSkewMs('Thu, 01 Jan 2026 10:10:00 GMT', sent, sent + 200)).toBe(600_000 + 500 - 100);
    expect(estimateSkewMs(null, sent, sent)).toBeNull();
    expect(estimateSkewMs('not a date', sent, sent)).toBeNull();
  });

  it('scrubs anything token-shaped from body excerpts', () => {
    const body =
      '{"error":"invalid_grant","refresh_token":"rt-secret","access_token":"eyJhbGciOi.eyJzdWIiOi.sig"} ' +
      'code=abc123&state=x&client_secret=s3cr3t Authorization: Bearer abc.def Basic dXNlcjpwYXNz';
    const s = scrubBody(body);
    for (const secret of ['rt-secret', 'eyJhbGciOi', 'abc123', 's3cr3t', 'abc.def', 'dXNlcjpwYXNz']) expect(s).not.toContain(secret);
    expect(s).toContain('invalid_grant');
    expect(s).toContain('state=x');
  });
});
