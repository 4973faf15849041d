import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  buildWorld,
  connect,
  decodeJwt,
  getAuthorize,
  pkcePair,
  REDIRECT,
  refresh,
  SCOPES,
  tokenRequest,
  type World,
} from '../../../../support/sandbox.js';
import { useSandbox } from '../../../../support/use-sandbox.js';

/**
 * `POST /connect/token` (xero-protocol.md §2, §3.3, §4.1, §4.3, §4.4, §5.1, §11.2–3): the code and refresh grants,
 * client authentication, Xero's exact response shape and headers, and the claims inside the JWTs.
 */
describe('identity: token endpoint', () => {
  // Tests move the clock and flip settings: each starts from defaults.
  const sb = useSandbox({ resetEachTest: true });

  const DAY = 86_400;
  const advance = (seconds: number) => sb.control('POST', '/sandbox/clock', { advanceSeconds: seconds });
  const settings = (patch: Record<string, unknown>) => sb.control('PUT', '/sandbox/settings', patch);
  const INVALID_GRANT = { status: 400, body: { error: 'invalid_grant' } };

  /** Arranges a consent and runs authorize; returns the code and the PKCE verifier that goes with it. */
  async function authorizeCode(
    w: World,
    opts: { scope?: string; pkce?: boolean; extra?: Record<string, string>; tenantIds?: string[] } = {},
  ): Promise<{ code: string; verifier: string; location: URL }> {
    await sb.control('POST', '/sandbox/consents', { clientId: w.clientId, userId: w.userId, tenantIds: opts.tenantIds ?? w.tenantIds });
    const { verifier, challenge } = pkcePair();
    const usePkce = opts.pkce ?? true;
    const res = await getAuthorize(
      authorizeUrl(sb.origin, { clientId: w.clientId, scope: opts.scope, challenge: usePkce ? challenge : null, extra: opts.extra }),
    );
    const code = res.location?.searchParams.get('code');
    if (!code) throw new Error(`no code: ${res.status} ${res.location} ${res.body.slice(0, 200)}`);
    return { code, verifier, location: res.location! };
  }

  const codeForm = (code: string, verifier: string, extra: Record<string, string> = {}) => ({
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
    ...extra,
  });

  /** Status and body only, for comparing error responses in one assertion. */
  const outcome = (r: { status: number; body: unknown }) => ({ status: r.status, body: r.body });

  describe('authorization_code grant with PKCE', () => {
    it('answers 200 in Xero’s exact shape', async () => {
      const w = await buildWorld(sb);
      const { code, verifier } = await authorizeCode(w);
      const res = await tokenRequest(sb.origin, { ...codeForm(code, verifier), client_id: w.clientId });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']);
      expect(res.body.expires_in).toBe(1800);
      expect(res.body.token_type).toBe('Bearer');
      expect(typeof res.body.scope).toBe('string');
      expect(res.body.scope.split(' ').sort()).toEqual(SCOPES.split(' ').sort());
      expect(res.body.access_token.split('.')).toHaveLength(3);
      expect(res.body.id_token.split('.')).toHaveLength(3);
      // The refresh token is opaque, not a JWT.
      expect(res.body.refresh_token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    });

    it('sends IdentityServer’s response headers', async () => {
      const w = await buildWorld(sb);
      const { code, verifier } = await authorizeCode(w);
      const res = await tokenRequest(sb.origin, { ...codeForm(code, verifier), client_id: w.clientId });
      expect(res.headers.get('cache-control')).toBe('max-age=0, no-cache, no-store');
      expect(res.headers.get('pragma')).toBe('no-cache');
      expect(res.headers.get('xero-origin-id')).toBe('IdentityServer.Web');
    });

    it('sends the same headers on errors', async () => {
      const res = await tokenRequest(sb.origin, { grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT, client_id: 'nope' });
      expect(res.status).toBe(400);
      expect(res.headers.get('cache-control')).toBe('max-age=0, no-cache, no-store');
      expect(res.headers.get('pragma')).toBe('no-cache');
      expect(res.headers.get('xero-origin-id')).toBe('IdentityServer.Web');
    });

    it('refuses a wrong code_verifier with 400 {"error":"invalid_grant"}', async () => {
      const w = await buildWorld(sb);
      const { code } = await authorizeCode(w);
      const res = await tokenRequest(sb.origin, { ...codeForm(code, pkcePair().verifier), client_id: w.clientId });
      expect(outcome(res)).toEqual(INVALID_GRANT);
    });

    it.each([
      ['missing', null],
      ['too short', 'a'.repeat(42)],
      ['too long', 'a'.repeat(129)],
      ['with characters outside the PKCE alphabet', 'a'.repeat(42) + '!'],
    ])('refuses a code_verifier that is %s', async (_label, bad) => {
      const w = await buildWorld(sb);
      const { code, verifier } = await authorizeCode(w);
      const form: Record<string, string> = { ...codeForm(code, verifier), client_id: w.clientId };
      if (bad === null) delete form.code_verifier;
      else form.code_verifier = bad;
      expect(outcome(await tokenRequest(sb.origin, form))).toEqual(INVALID_GRANT);
    });

    it('accepts a 128-character verifier (the longest PKCE allows)', async () => {
      const w = await buildWorld(sb);
      await sb.control('POST', '/sandbox/consents', { clientId: w.clientId, userId: w.userId, tenantIds: w.tenantIds });
      const verifier = 'A-._~'.repeat(25) + 'xyz';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const res = await getAuthorize(authorizeUrl(sb.origin, { clientId: w.clientId, challenge }));
      const code = res.location!.searchParams.get('code')!;
      const t = await tokenRequest(sb.origin, { ...codeForm(code, verifier), client_id: w.clientId });
      expect(t.status).toBe(200);
    });

    it('makes the code single use: a second exchange gets invalid_grant', async () => {
      const w = await buildWorld(sb);
      const { code, verifier } = await authorizeCode(w);
      const form = { ...codeForm(code, verifier), client_id: w.clientId };
      expect((await tokenRequest(sb.origin, form)).status).toBe(200);
      expect(outcome(await tokenRequest(sb.origin, form))).toEqual(INVALID_GRANT);
    });

    it('burns the code on a failed first exchange: the right verifier afterwards gets invalid_grant', async () => {
      const w = await buildWorld(sb);
      const { code, verifier } = await authorizeCode(w);
      expect((await tokenRequest(sb.origin, { ...codeForm(code, pkcePair().verifier), client_id: w.clientId })).status).toBe(400);
      expect(outcome(await tokenRequest(sb.origin, { ...codeForm(code, verifier), client_id: w.clientId }))).toEqual(INVALID_GRANT);
    });

    it('keeps the code valid for 5 minutes', async () => {
      const w = await buildWorld(sb);
      const { code, verifier } = await authorizeCode(w);
      await advance(299);
      expect((await tokenRequest(sb.origin, { ...codeForm(code, verifier), client_id: w.clientId })).status).toBe(200);
    });

    it('expires the code after 5 minutes', async () => {
      const w = await buildWorld(sb);
      const { code, verifier } = await authorizeCode(w);
      await advance(301);
      expect(outcome(await tokenRequest(sb.origin, { ...codeForm(code, verifier), client_id: w.clientId }))).toEqual(INVALID_GRANT);
    });

    it('refuses a redirect_uri that differs from the one authorised', async () => {
      const w = await buildWorld(sb, { app: { redirectUris: [REDIRECT, 'http://127.0.0.1:5002/callback'] } });
      const { code, verifier } = await authorizeCode(w);
      const form = { ...codeForm(code, verifier), client_id: w.clientId, redirect_uri: 'http://127.0.0.1:5002/callback' };
      expect(outcome(await tokenRequest(sb.origin, form))).toEqual(INVALID_GRANT);
    });

    it('refuses an unknown code', async () => {
      const w = await buildWorld(sb);
      const res = await tokenRequest(sb.origin, { ...codeForm('not-a-code', pkcePair().verifier), client_id: w.clientId });
      expect(outcome(res)).toEqual(INVALID_GRANT);
    });

    it('refuses a code issued to another app', async () => {
      const w = await buildWorld(sb);
      const other = await sb.control('POST', '/sandbox/apps', { name: 'Other', type: 'pkce', redirectUris: [REDIRECT] });
      const { code, verifier } = await authorizeCode(w);
      const res = await tokenRequest(sb.origin, { ...codeForm(code, verifier), client_id: other.clientId });
      expect(outcome(res)).toEqual(INVALID_GRANT);
    });

    it('refuses a PKCE app that sends no client_id (invalid_client)', async () => {
      const w = await buildWorld(sb);
      const { code, verifier } = await authorizeCode(w);
      expect(outcome(await tokenRequest(sb.origin, codeForm(code, verifier)))).toEqual({ status: 400, body: { error: 'invalid_client' } });
    });

    it('refuses a PKCE app that presents a client secret (it has none)', async () => {
      const w = await buildWorld(sb);
      const { code, verifier } = await authorizeCode(w);
      const res = await tokenRequest(sb.origin, codeForm(code, verifier), { clientId: w.clientId, clientSecret: 'made-up' });
      expect(outcome(res)).toEqual({ status: 400, body: { error: 'invalid_client' } });
    });

    it('refuses an unknown client_id (invalid_client)', async () => {
      const w = await buildWorld(sb);
      const { code, verifier } = await authorizeCode(w);
      const res = await tokenRequest(sb.origin, { ...codeForm(code, verifier), client_id: '0123456789ABCDEF0123456789ABCDEF' });
      expect(outcome(res)).toEqual({ status: 400, body: { error: 'invalid_client' } });
    });
  });

  describe('client authentication for web apps', () => {
    const exchange = async (w: World, auth: 'basic' | 'post' | 'none', secret = w.clientSecret!) => {
      const { code, verifier } = await authorizeCode(w, { pkce: false });
      const form = codeForm(code, verifier);
      delete (form as Partial<typeof form>).code_verifier;
      if (auth === 'basic') return tokenRequest(sb.origin, form, { clientId: w.clientId, clientSecret: secret });
      if (auth === 'post') return tokenRequest(sb.origin, { ...form, client_id: w.clientId, client_secret: secret });
      return tokenRequest(sb.origin, { ...form, client_id: w.clientId });
    };

    it('accepts client_secret_basic', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      expect(w.clientSecret).toBeTruthy();
      const res = await exchange(w, 'basic');
      expect(res.status).toBe(200);
      expect(res.body.refresh_token).toBeTruthy();
    });

    it('accepts client_secret_post', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      expect((await exchange(w, 'post')).status).toBe(200);
    });

    it('refuses a wrong secret with 400 invalid_client by default', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      expect(outcome(await exchange(w, 'basic', 'wrong-secret'))).toEqual({ status: 400, body: { error: 'invalid_client' } });
      expect(outcome(await exchange(w, 'post', 'wrong-secret'))).toEqual({ status: 400, body: { error: 'invalid_client' } });
    });

    it('answers invalid_client with 401 when invalidClientStatus is 401', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      await settings({ invalidClientStatus: 401 });
      expect(outcome(await exchange(w, 'basic', 'wrong-secret'))).toEqual({ status: 401, body: { error: 'invalid_client' } });
    });

    it('refuses a web app that sends no secret', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      expect(outcome(await exchange(w, 'none'))).toEqual({ status: 400, body: { error: 'invalid_client' } });
    });

    it('refuses Basic credentials for one client with client_id of another in the body', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      const { code } = await authorizeCode(w, { pkce: false });
      const res = await tokenRequest(
        sb.origin,
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: 'SOMEONE-ELSE' },
        { clientId: w.clientId, clientSecret: w.clientSecret! },
      );
      expect(outcome(res)).toEqual({ status: 400, body: { error: 'invalid_client' } });
    });

    it('stops accepting the old secret once it is rotated', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      const { clientSecret } = await sb.control('POST', `/sandbox/apps/${w.clientId}/secret`);
      expect((await exchange(w, 'basic')).body).toEqual({ error: 'invalid_client' });
      expect((await exchange(w, 'basic', clientSecret)).status).toBe(200);
    });

    it('still checks PKCE when a web app sent a code_challenge', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      const basic = { clientId: w.clientId, clientSecret: w.clientSecret! };
      const wrong = await authorizeCode(w, { pkce: true });
      expect(outcome(await tokenRequest(sb.origin, codeForm(wrong.code, pkcePair().verifier), basic))).toEqual(INVALID_GRANT);
      const right = await authorizeCode(w, { pkce: true });
      expect((await tokenRequest(sb.origin, codeForm(right.code, right.verifier), basic)).status).toBe(200);
    });

    it.each([
      ['a malformed %-escape in the secret', (id: string) => `${id}:%E0%A4%A`],
      ['a malformed %-escape in the client id', () => '%zz:secret'],
      ['no colon', (id: string) => id],
    ])('answers invalid_client, not a server error, to Basic credentials with %s', async (_label, cred) => {
      const w = await buildWorld(sb, { type: 'web' });
      const res = await fetch(`${sb.origin}/connect/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(cred(w.clientId)).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x' }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'invalid_client' });
    });
  });

  describe('request validation', () => {
    it.each([['missing', undefined], ['password', 'password'], ['client_credentials', 'client_credentials'], ['implicit', 'implicit']])(
      'answers unsupported_grant_type for a %s grant_type',
      async (_label, grantType) => {
        const w = await buildWorld(sb);
        const form: Record<string, string> = { client_id: w.clientId };
        if (grantType) form.grant_type = grantType;
        expect(outcome(await tokenRequest(sb.origin, form))).toEqual({ status: 400, body: { error: 'unsupported_grant_type' } });
      },
    );

    it('answers invalid_request to a JSON body (the endpoint takes forms)', async () => {
      const res = await fetch(`${sb.origin}/connect/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'authorization_code' }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'invalid_request' });
    });

    it('answers 405 to GET', async () => {
      const res = await fetch(`${sb.origin}/connect/token`);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    });
  });

  describe('refresh_token grant', () => {
    it('rotates the refresh token on every use and returns a full token response each time', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      const seen = new Set([t.refresh_token]);
      let current = t.refresh_token;
      for (let i = 0; i < 3; i++) {
        const r = await refresh(sb, w, current);
        expect(r.status).toBe(200);
        expect(Object.keys(r.body).sort()).toEqual(['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']);
        expect(r.body.expires_in).toBe(1800);
        expect(r.headers.get('xero-origin-id')).toBe('IdentityServer.Web');
        expect(seen.has(r.body.refresh_token)).toBe(false);
        seen.add(r.body.refresh_token);
        current = r.body.refresh_token;
      }
    });

    it('works for a web app with client_secret_basic and with client_secret_post', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      const t = await connect(sb, w);
      const basic = await refresh(sb, w, t.refresh_token);
      expect(basic.status).toBe(200);
      const post = await tokenRequest(sb.origin, {
        grant_type: 'refresh_token',
        refresh_token: basic.body.refresh_token,
        client_id: w.clientId,
        client_secret: w.clientSecret!,
      });
      expect(post.status).toBe(200);
      const noSecret = await tokenRequest(sb.origin, { grant_type: 'refresh_token', refresh_token: post.body.refresh_token, client_id: w.clientId });
      expect(outcome(noSecret)).toEqual({ status: 400, body: { error: 'invalid_client' } });
    });

    it('lets the previous token be reused within the 30-minute grace period (lost response)', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      const first = await refresh(sb, w, t.refresh_token);
      expect(first.status).toBe(200);
      await advance(1799);
      const reuse = await refresh(sb, w, t.refresh_token);
      expect(reuse.status).toBe(200);
      // Default graceReuse "new-pair": a fresh successor, and the first successor stays alive too.
      expect(reuse.body.refresh_token).not.toBe(first.body.refresh_token);
      expect((await refresh(sb, w, first.body.refresh_token)).status).toBe(200);
      expect((await refresh(sb, w, reuse.body.refresh_token)).status).toBe(200);
    });

    it('allows grace reuse as many times as needed within the window', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      await refresh(sb, w, t.refresh_token);
      for (let i = 0; i < 3; i++) {
        await advance(500);
        expect((await refresh(sb, w, t.refresh_token)).status).toBe(200);
      }
    });

    it('refuses the previous token once the grace period is over (1801 s)', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      const first = await refresh(sb, w, t.refresh_token);
      await advance(1801);
      expect(outcome(await refresh(sb, w, t.refresh_token))).toEqual(INVALID_GRANT);
      // The successor is unaffected.
      expect((await refresh(sb, w, first.body.refresh_token)).status).toBe(200);
    });

    it('measures grace from the first use, not from later reuses', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      await refresh(sb, w, t.refresh_token);
      await advance(1000);
      expect((await refresh(sb, w, t.refresh_token)).status).toBe(200);
      await advance(801);
      expect(outcome(await refresh(sb, w, t.refresh_token))).toEqual(INVALID_GRANT);
    });

    it('with graceReuse "same-pair", a reuse returns the same successor refresh token', async () => {
      const w = await buildWorld(sb);
      await settings({ graceReuse: 'same-pair' });
      const t = await connect(sb, w);
      const first = await refresh(sb, w, t.refresh_token);
      await advance(60);
      const reuse = await refresh(sb, w, t.refresh_token);
      expect(reuse.status).toBe(200);
      expect(reuse.body.refresh_token).toBe(first.body.refresh_token);
      // A fresh access token is still minted.
      expect(reuse.body.access_token).not.toBe(first.body.access_token);
    });

    it('honours a shorter graceSeconds setting', async () => {
      const w = await buildWorld(sb);
      await settings({ graceSeconds: 10 });
      const t = await connect(sb, w);
      await refresh(sb, w, t.refresh_token);
      await advance(11);
      expect(outcome(await refresh(sb, w, t.refresh_token))).toEqual(INVALID_GRANT);
    });

    it('expires a refresh token left unused for 60 days (+1 s)', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      await advance(60 * DAY + 1);
      expect(outcome(await refresh(sb, w, t.refresh_token))).toEqual(INVALID_GRANT);
    });

    it('still accepts a refresh token on day 60 (just inside the limit)', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      await advance(60 * DAY - 5);
      expect((await refresh(sb, w, t.refresh_token)).status).toBe(200);
    });

    it('keeps a connection alive indefinitely when refreshed every 59 days (over 180 days)', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      let current = t.refresh_token;
      for (let elapsed = 0; elapsed < 180 * DAY; elapsed += 59 * DAY) {
        await advance(59 * DAY);
        const r = await refresh(sb, w, current);
        expect(r.status, `after ${(elapsed + 59 * DAY) / DAY} days`).toBe(200);
        current = r.body.refresh_token;
      }
      const state = await sb.control('GET', '/sandbox/state');
      expect(state.grants.filter((g: any) => g.revokedAt === null)).toHaveLength(1);
    });

    it('refuses a refresh asking for more scope with invalid_scope, without consuming the token', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      const more = await refresh(sb, w, t.refresh_token, { scope: `${SCOPES} accounting.contacts` });
      expect(outcome(more)).toEqual({ status: 400, body: { error: 'invalid_scope' } });
      // Had the token been rotated, it would be dead once the grace period is over.
      await advance(1801);
      const r = await refresh(sb, w, t.refresh_token);
      expect(r.status).toBe(200);
      expect(r.body.scope.split(' ')).not.toContain('accounting.contacts');
    });

    it('answers a dead token with invalid_grant even when it also asks for more scope', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      await sb.control('POST', `/sandbox/users/${w.userId}/password`);
      const more = await refresh(sb, w, t.refresh_token, { scope: `${SCOPES} accounting.contacts` });
      // invalid_scope would tell the client to narrow its scopes; the truth is that it must reauthorise.
      expect(outcome(more)).toEqual(INVALID_GRANT);
    });

    it('accepts a refresh that repeats (a subset of) the granted scope', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      expect((await refresh(sb, w, t.refresh_token, { scope: SCOPES })).status).toBe(200);
    });

    it('refuses an unknown refresh token', async () => {
      const w = await buildWorld(sb);
      await connect(sb, w);
      expect(outcome(await refresh(sb, w, 'not-a-real-token'))).toEqual(INVALID_GRANT);
    });

    it('refuses another app’s refresh token with invalid_grant (tokens belong to one app)', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      const other = await sb.control('POST', '/sandbox/apps', { name: 'Other', type: 'pkce', redirectUris: [REDIRECT] });
      expect(outcome(await refresh(sb, { ...w, clientId: other.clientId }, t.refresh_token))).toEqual(INVALID_GRANT);
      // …and that attempt did not burn it for its own app.
      expect((await refresh(sb, w, t.refresh_token)).status).toBe(200);
    });

    it('answers invalid_request when refresh_token is missing', async () => {
      const w = await buildWorld(sb);
      const res = await tokenRequest(sb.origin, { grant_type: 'refresh_token', client_id: w.clientId });
      expect(outcome(res)).toEqual({ status: 400, body: { error: 'invalid_request' } });
    });
  });

  describe('scopes decide which tokens come back', () => {
    it('omits refresh_token without offline_access', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w, { scope: 'openid profile email accounting.settings' });
      expect(t.refresh_token).toBeUndefined();
      expect(t.id_token).toBeTruthy();
      expect(t.scope.split(' ')).not.toContain('offline_access');
    });

    it('omits id_token without openid', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w, { scope: 'offline_access accounting.settings' });
      expect(t).not.toHaveProperty('id_token');
      expect(t.refresh_token).toBeTruthy();
      const r = await refresh(sb, w, t.refresh_token);
      expect(r.status).toBe(200);
      expect(r.body).not.toHaveProperty('id_token');
    });

    it('accumulates scopes across consents (re-consent adds, never removes)', async () => {
      const w = await buildWorld(sb);
      await connect(sb, w, { scope: 'openid offline_access accounting.settings' });
      const t = await connect(sb, w, { scope: 'openid offline_access accounting.contacts' });
      expect(t.scope.split(' ').sort()).toEqual(['accounting.contacts', 'accounting.settings', 'offline_access', 'openid']);
      expect(decodeJwt(t.access_token).payload.scope).toEqual(expect.arrayContaining(['accounting.settings', 'accounting.contacts']));
    });
  });

  describe('JWT claims', () => {
    const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const HEX32 = /^[0-9a-f]{32}$/;
    const atHash = (token: string) => createHash('sha256').update(token).digest().subarray(0, 16).toString('base64url');

    it('gives the access token Xero’s header: RS256, kid, typ JWT, x5t', async () => {
      const w = await buildWorld(sb);
      const { header } = decodeJwt((await connect(sb, w)).access_token);
      expect(Object.keys(header).sort()).toEqual(['alg', 'kid', 'typ', 'x5t']);
      expect(header.alg).toBe('RS256');
      expect(header.typ).toBe('JWT');
      expect(header.kid).toMatch(/^[0-9A-F]{40}$/);
      expect(header.x5t).toMatch(/^[A-Za-z0-9_-]+$/);
    });

    it('gives the access token exactly Xero’s claims', async () => {
      const w = await buildWorld(sb);
      const before = Math.floor(Date.now() / 1000);
      const t = await connect(sb, w);
      const { payload: p } = decodeJwt(t.access_token);
      expect(Object.keys(p).sort()).toEqual(
        ['aud', 'auth_time', 'authentication_event_id', 'client_id', 'exp', 'global_session_id', 'iss', 'jti', 'nbf', 'scope', 'sub', 'xero_userid'].sort(),
      );
      expect(p.nbf).toBeGreaterThanOrEqual(before - 1);
      expect(p.nbf).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 1);
      expect(p.exp - p.nbf).toBe(1800);
      expect(p.iss).toBe(sb.origin);
      expect(p.aud).toBe(`${sb.origin}/resources`);
      expect(p.client_id).toBe(w.clientId);
      expect(p.client_id).toMatch(/^[0-9A-F]{32}$/);
      expect(p.sub).toMatch(HEX32);
      expect(p.auth_time).toBeLessThanOrEqual(p.nbf);
      expect(p.xero_userid).toMatch(UUID);
      expect(p.xero_userid).toBe(w.userId);
      expect(p.global_session_id).toMatch(HEX32);
      expect(p.jti).toMatch(/^[0-9a-f]{32}$/);
      expect(p.authentication_event_id).toMatch(UUID);
      expect(Array.isArray(p.scope)).toBe(true);
      expect([...p.scope].sort()).toEqual(SCOPES.split(' ').sort());
    });

    it('sets authentication_event_id to the authEventId of the connections made in that consent', async () => {
      const w = await buildWorld(sb, { orgs: 3 });
      const first = await connect(sb, w, { tenantIds: [w.tenantIds[0]!] });
      const second = await connect(sb, w, { tenantIds: [w.tenantIds[1]!, w.tenantIds[2]!] });
      expect(first.authEventId).not.toBe(second.authEventId);
      const { connections } = await sb.control('GET', '/sandbox/state');
      const byTenant = new Map(connections.map((c: any) => [c.tenantId, c.authEventId]));
      expect(byTenant.get(w.tenantIds[0])).toBe(first.authEventId);
      expect(byTenant.get(w.tenantIds[1])).toBe(second.authEventId);
      expect(byTenant.get(w.tenantIds[2])).toBe(second.authEventId);
    });

    it('keeps identity claims but mints a fresh jti on refresh', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      await advance(120);
      const r = await refresh(sb, w, t.refresh_token);
      const a = decodeJwt(t.access_token).payload;
      const b = decodeJwt(r.body.access_token).payload;
      expect(b.jti).not.toBe(a.jti);
      expect(b.nbf).toBeGreaterThanOrEqual(a.nbf + 120);
      for (const k of ['sub', 'xero_userid', 'auth_time', 'global_session_id', 'authentication_event_id', 'client_id']) {
        expect(b[k], k).toEqual(a[k]);
      }
    });

    it('gives the id_token Xero’s claims: aud client_id, 300 s life, at_hash, sid, profile and email', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      const { header, payload: id } = decodeJwt(t.id_token!);
      const access = decodeJwt(t.access_token).payload;
      expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT' });
      expect(id.iss).toBe(sb.origin);
      expect(id.aud).toBe(w.clientId);
      expect(id.exp - id.iat).toBe(300);
      expect(id.nbf).toBe(id.iat);
      expect(id.at_hash).toBe(atHash(t.access_token));
      expect(id.sid).toBe(access.global_session_id);
      expect(id.global_session_id).toBe(access.global_session_id);
      expect(id.sub).toBe(access.sub);
      expect(id.xero_userid).toBe(w.userId);
      expect(id.auth_time).toBe(access.auth_time);
      expect(id.email).toBe(w.email);
      expect(id.preferred_username).toBe(w.email);
      expect(id.given_name).toBe('Ada');
      expect(id.family_name).toBe('Adviser');
      expect(id).not.toHaveProperty('authentication_event_id');
      expect(id).not.toHaveProperty('scope');
      expect(id).not.toHaveProperty('nonce');
    });

    it('recomputes at_hash for the new access token on refresh', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      const r = await refresh(sb, w, t.refresh_token);
      expect(decodeJwt(r.body.id_token).payload.at_hash).toBe(atHash(r.body.access_token));
      expect(decodeJwt(r.body.id_token).payload.at_hash).not.toBe(decodeJwt(t.id_token!).payload.at_hash);
    });

    it('echoes the nonce in the id_token when one was sent', async () => {
      const w = await buildWorld(sb);
      const { code, verifier } = await authorizeCode(w, { extra: { nonce: 'n-0S6_WzA2Mj' } });
      const res = await tokenRequest(sb.origin, { ...codeForm(code, verifier), client_id: w.clientId });
      expect(decodeJwt(res.body.id_token).payload.nonce).toBe('n-0S6_WzA2Mj');
    });

    it('leaves out email claims without the email scope, and names without profile', async () => {
      const w = await buildWorld(sb);
      const noEmail = decodeJwt((await connect(sb, w, { scope: 'openid profile offline_access' })).id_token!).payload;
      expect(noEmail).not.toHaveProperty('email');
      expect(noEmail).not.toHaveProperty('preferred_username');
      expect(noEmail.given_name).toBe('Ada');
      const w2 = await buildWorld(sb);
      const noProfile = decodeJwt((await connect(sb, w2, { scope: 'openid email offline_access' })).id_token!).payload;
      expect(noProfile).not.toHaveProperty('given_name');
      expect(noProfile).not.toHaveProperty('family_name');
      expect(noProfile.email).toBe(w2.email);
    });

    it.each([600, -300])('shifts nbf, iat and the Date header by clockSkewSeconds (%i s)', async (skew) => {
      const w = await buildWorld(sb);
      await settings({ clockSkewSeconds: skew });
      const { code, verifier } = await authorizeCode(w);
      const res = await tokenRequest(sb.origin, { ...codeForm(code, verifier), client_id: w.clientId });
      const real = Date.now() / 1000;
      const access = decodeJwt(res.body.access_token).payload;
      const id = decodeJwt(res.body.id_token).payload;
      expect(Math.abs(access.nbf - (real + skew))).toBeLessThanOrEqual(3);
      expect(Math.abs(id.iat - (real + skew))).toBeLessThanOrEqual(3);
      expect(access.exp - access.nbf).toBe(1800);
      const date = Date.parse(res.headers.get('date')!) / 1000;
      expect(Math.abs(date - (real + skew))).toBeLessThanOrEqual(3);
      // The sandbox judges its own tokens by the same skewed clock, so they work.
      const conns = await fetch(`${sb.origin}/connections`, { headers: { authorization: `Bearer ${res.body.access_token}` } });
      expect(conns.status).toBe(200);
    });

    it('sends a Date header that matches real time when there is no skew', async () => {
      const res = await tokenRequest(sb.origin, { grant_type: 'nope' });
      const date = Date.parse(res.headers.get('date')!) / 1000;
      expect(Math.abs(date - Date.now() / 1000)).toBeLessThanOrEqual(3);
    });
  });
});
