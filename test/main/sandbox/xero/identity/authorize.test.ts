import { describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  buildWorld,
  getAuthorize,
  pkcePair,
  REDIRECT,
  tokenRequest,
  type World,
} from '../../../../support/sandbox.js';
import { useSandbox } from '../../../../support/use-sandbox.js';

/**
 * `GET /connect/authorize` (xero-protocol.md §3.1, §3.2, §11.1). Mistakes about the client itself — unknown client,
 * unregistered redirect URI, scope the app may not ask for — show Xero's error page and never redirect; every
 * other problem redirects back to the app with an `error`.
 */
describe('identity: authorize endpoint', () => {
  // Some tests flip settings; each starts from defaults and an empty world.
  const sb = useSandbox({ resetEachTest: true });

  const arrange = (w: World, body: Record<string, unknown> = {}) =>
    sb.control('POST', '/sandbox/consents', { clientId: w.clientId, userId: w.userId, tenantIds: w.tenantIds, ...body });
  const settings = (patch: Record<string, unknown>) => sb.control('PUT', '/sandbox/settings', patch);
  const state = () => sb.control('GET', '/sandbox/state');

  /** An authorize URL for a PKCE app with a valid S256 challenge. */
  const pkceUrl = (w: World, p: Partial<Parameters<typeof authorizeUrl>[1]> = {}) =>
    authorizeUrl(sb.origin, { clientId: w.clientId, challenge: pkcePair().challenge, ...p });

  function expectErrorPage(res: { status: number; location: URL | null; body: string }, text: string) {
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
    expect(res.body).toContain(`Error: ${text}`);
  }

  describe('refuses, on an error page and without redirecting,', () => {
    it('an unknown client_id', async () => {
      const w = await buildWorld(sb);
      const res = await fetch(pkceUrl(w, { clientId: 'ABCDEF0123456789ABCDEF0123456789' }), { redirect: 'manual' });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain('unauthorized_client : Unknown client or client not enabled');
    });

    it('a request with no client_id at all', async () => {
      const res = await getAuthorize(`${sb.origin}/identity/connect/authorize?response_type=code&redirect_uri=${encodeURIComponent(REDIRECT)}`);
      expectErrorPage(res, 'unauthorized_client : Unknown client or client not enabled');
    });

    it('a client whose app has been deleted', async () => {
      const w = await buildWorld(sb);
      await sb.control('DELETE', `/sandbox/apps/${w.clientId}`);
      expectErrorPage(await getAuthorize(pkceUrl(w)), 'unauthorized_client : Unknown client or client not enabled');
    });

    it.each([
      ['another host', 'http://evil.example/callback'],
      ['another path', 'http://127.0.0.1:5001/other'],
      ['a trailing slash', 'http://127.0.0.1:5001/callback/'],
      ['https instead of http', 'https://127.0.0.1:5001/callback'],
      ['an extra query', 'http://127.0.0.1:5001/callback?x=1'],
      ['no redirect_uri', ''],
    ])('a redirect_uri that is not registered exactly (%s)', async (_label, redirectUri) => {
      const w = await buildWorld(sb);
      await arrange(w);
      const res = await getAuthorize(pkceUrl(w, { redirectUri }));
      expectErrorPage(res, 'unauthorized_client : Invalid redirect_uri');
      expect(res.body).not.toContain('code=');
      // The arranged consent was not spent on a refused request.
      expect((await state()).arrangedConsents).toBe(1);
    });

    it('a scope the app may not request', async () => {
      const w = await buildWorld(sb, { app: { scopes: ['accounting.settings'] } });
      const res = await getAuthorize(pkceUrl(w, { scope: 'openid offline_access accounting.settings paymentservices' }));
      expectErrorPage(res, 'unauthorized_client : Invalid scope for client');
    });

    it('an empty scope', async () => {
      const w = await buildWorld(sb);
      expectErrorPage(await getAuthorize(pkceUrl(w, { scope: ' ' })), 'unauthorized_client : Invalid scope for client');
    });

    it('checks the redirect_uri before anything that would redirect (bad response_type and bad redirect_uri)', async () => {
      const w = await buildWorld(sb);
      const res = await getAuthorize(pkceUrl(w, { redirectUri: 'http://evil.example/cb', extra: { response_type: 'token' } }));
      expectErrorPage(res, 'unauthorized_client : Invalid redirect_uri');
    });
  });

  it('accepts the OIDC scopes and the app’s own scopes, and nothing else is needed', async () => {
    const w = await buildWorld(sb, { app: { scopes: ['accounting.contacts.read'] } });
    await arrange(w);
    const res = await getAuthorize(pkceUrl(w, { scope: 'openid profile email offline_access accounting.contacts.read' }));
    expect(res.status).toBe(302);
    expect(res.location!.searchParams.get('code')).toBeTruthy();
  });

  describe('redirect URI matching on loopback', () => {
    const otherPort = 'http://127.0.0.1:5999/callback';

    it('compares exactly by default: another loopback port is refused', async () => {
      const w = await buildWorld(sb);
      expect((await sb.control('GET', '/sandbox/settings')).redirectPortMatching).toBe('exact');
      expectErrorPage(await getAuthorize(pkceUrl(w, { redirectUri: otherPort })), 'unauthorized_client : Invalid redirect_uri');
    });

    it('with redirectPortMatching "any-port", accepts another loopback port and redirects there', async () => {
      const w = await buildWorld(sb);
      await settings({ redirectPortMatching: 'any-port' });
      await arrange(w);
      const res = await getAuthorize(pkceUrl(w, { redirectUri: otherPort }));
      expect(res.status).toBe(302);
      expect(`${res.location!.origin}${res.location!.pathname}`).toBe(otherPort);
      expect(res.location!.searchParams.get('code')).toBeTruthy();
    });

    it('with "any-port", still refuses another path or another host', async () => {
      const w = await buildWorld(sb);
      await settings({ redirectPortMatching: 'any-port' });
      for (const redirectUri of ['http://127.0.0.1:5999/elsewhere', 'http://localhost:5999/callback', 'http://10.0.0.1:5001/callback']) {
        expectErrorPage(await getAuthorize(pkceUrl(w, { redirectUri })), 'unauthorized_client : Invalid redirect_uri');
      }
    });

    it('with "any-port", does not relax non-loopback URIs', async () => {
      const w = await buildWorld(sb, { type: 'web', app: { redirectUris: ['https://app.example/callback'] } });
      await settings({ redirectPortMatching: 'any-port' });
      const res = await getAuthorize(authorizeUrl(sb.origin, { clientId: w.clientId, redirectUri: 'https://app.example:8443/callback' }));
      expectErrorPage(res, 'unauthorized_client : Invalid redirect_uri');
    });

    it('treats localhost and 127.0.0.1 as different hosts by default', async () => {
      const w = await buildWorld(sb);
      expect((await sb.control('GET', '/sandbox/settings')).loopbackHostsEquivalent).toBe(false);
      const res = await getAuthorize(pkceUrl(w, { redirectUri: 'http://localhost:5001/callback' }));
      expectErrorPage(res, 'unauthorized_client : Invalid redirect_uri');
    });

    it('with loopbackHostsEquivalent, accepts localhost for 127.0.0.1 and the code is bound to the URI used', async () => {
      const w = await buildWorld(sb);
      await settings({ loopbackHostsEquivalent: true });
      await arrange(w);
      const { verifier, challenge } = pkcePair();
      const used = 'http://localhost:5001/callback';
      const res = await getAuthorize(authorizeUrl(sb.origin, { clientId: w.clientId, challenge, redirectUri: used }));
      expect(res.status).toBe(302);
      expect(`${res.location!.origin}${res.location!.pathname}`).toBe(used);
      const code = res.location!.searchParams.get('code')!;
      const form = { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: w.clientId };
      // The registered spelling is not the one this code was issued for.
      expect((await tokenRequest(sb.origin, { ...form, redirect_uri: REDIRECT })).body).toEqual({ error: 'invalid_grant' });
    });

    it('with loopbackHostsEquivalent but exact ports, still refuses another port', async () => {
      const w = await buildWorld(sb);
      await settings({ loopbackHostsEquivalent: true });
      const res = await getAuthorize(pkceUrl(w, { redirectUri: 'http://localhost:5002/callback' }));
      expectErrorPage(res, 'unauthorized_client : Invalid redirect_uri');
    });

    it('keeps a query string registered on the redirect URI and adds the code to it', async () => {
      const registered = 'http://127.0.0.1:5001/callback?app=relink';
      const w = await buildWorld(sb, { app: { redirectUris: [registered] } });
      await arrange(w);
      const res = await getAuthorize(pkceUrl(w, { redirectUri: registered }));
      expect(res.status).toBe(302);
      expect(res.location!.searchParams.get('app')).toBe('relink');
      expect(res.location!.searchParams.get('code')).toBeTruthy();
    });
  });

  describe('redirects back with an error', () => {
    function expectErrorRedirect(res: { status: number; location: URL | null }, error: string, st: string | null) {
      expect(res.status).toBe(302);
      expect(`${res.location!.origin}${res.location!.pathname}`).toBe(REDIRECT);
      expect(res.location!.searchParams.get('error')).toBe(error);
      expect(res.location!.searchParams.get('state')).toBe(st);
      expect(res.location!.searchParams.has('code')).toBe(false);
    }

    it('invalid_request when a PKCE app sends no code_challenge', async () => {
      const w = await buildWorld(sb);
      await arrange(w);
      const res = await getAuthorize(authorizeUrl(sb.origin, { clientId: w.clientId, state: 'abc', challenge: null }));
      expectErrorRedirect(res, 'invalid_request', 'abc');
      // A refused request does not use up the arranged consent.
      expect((await state()).arrangedConsents).toBe(1);
    });

    it('invalid_request for code_challenge_method=plain (Xero is S256 only)', async () => {
      const w = await buildWorld(sb);
      const { verifier } = pkcePair();
      const res = await getAuthorize(
        pkceUrl(w, { state: 'p1', challenge: null, extra: { code_challenge: verifier, code_challenge_method: 'plain' } }),
      );
      expectErrorRedirect(res, 'invalid_request', 'p1');
    });

    it('invalid_request for a code_challenge without a method (which means plain)', async () => {
      const w = await buildWorld(sb);
      const res = await getAuthorize(pkceUrl(w, { state: 'p2', challenge: null, extra: { code_challenge: pkcePair().challenge } }));
      expectErrorRedirect(res, 'invalid_request', 'p2');
    });

    it('invalid_request for a malformed S256 challenge', async () => {
      const w = await buildWorld(sb);
      const res = await getAuthorize(pkceUrl(w, { state: 'p3', challenge: null, extra: { code_challenge: 'short', code_challenge_method: 'S256' } }));
      expectErrorRedirect(res, 'invalid_request', 'p3');
    });

    it('invalid_request when state is missing (requireState is on by default)', async () => {
      const w = await buildWorld(sb);
      await arrange(w);
      const res = await getAuthorize(pkceUrl(w, { state: null }));
      expectErrorRedirect(res, 'invalid_request', null);
    });

    it('unsupported_response_type for anything but response_type=code', async () => {
      const w = await buildWorld(sb);
      for (const responseType of ['token', 'id_token', 'code id_token']) {
        const res = await getAuthorize(pkceUrl(w, { state: 'rt', extra: { response_type: responseType } }));
        expectErrorRedirect(res, 'unsupported_response_type', 'rt');
      }
    });

    it('access_denied, with the state, when the user cancels (arranged deny) — and nothing is connected', async () => {
      const w = await buildWorld(sb);
      await arrange(w, { decision: 'deny' });
      const res = await getAuthorize(pkceUrl(w, { state: 'den' }));
      expectErrorRedirect(res, 'access_denied', 'den');
      const s = await state();
      expect(s.connections).toEqual([]);
      expect(s.arrangedConsents).toBe(0);
    });
  });

  it('allows a request without state once requireState is switched off (and sends no state back)', async () => {
    const w = await buildWorld(sb);
    await settings({ requireState: false });
    await arrange(w);
    const res = await getAuthorize(pkceUrl(w, { state: null }));
    expect(res.status).toBe(302);
    expect(res.location!.searchParams.get('code')).toBeTruthy();
    expect(res.location!.searchParams.has('state')).toBe(false);
  });

  it('lets a web app omit PKCE (it authenticates with its secret instead)', async () => {
    const w = await buildWorld(sb, { type: 'web' });
    await arrange(w);
    const res = await getAuthorize(authorizeUrl(sb.origin, { clientId: w.clientId, state: 'web' }));
    expect(res.status).toBe(302);
    expect(res.location!.searchParams.get('code')).toBeTruthy();
  });

  describe('a successful consent', () => {
    it('redirects to the registered URI with code, state, scope and session_state', async () => {
      const w = await buildWorld(sb);
      await arrange(w);
      const scope = 'openid profile email offline_access accounting.settings';
      const res = await getAuthorize(pkceUrl(w, { state: 'xyz-123', scope }));
      expect(res.status).toBe(302);
      expect(`${res.location!.origin}${res.location!.pathname}`).toBe(REDIRECT);
      const q = res.location!.searchParams;
      expect(q.get('code')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(q.get('state')).toBe('xyz-123');
      expect(q.get('scope')).toBe(scope);
      expect(q.get('session_state')).toMatch(/^\S+$/);
      expect(q.has('error')).toBe(false);
    });

    it('echoes state exactly, even with characters that need encoding', async () => {
      const w = await buildWorld(sb);
      await arrange(w);
      const weird = 'a b&c=d/é+?#';
      const res = await getAuthorize(pkceUrl(w, { state: weird }));
      expect(res.location!.searchParams.get('state')).toBe(weird);
    });

    it('records one connection per ticked organisation, sharing one authEventId', async () => {
      const w = await buildWorld(sb, { orgs: 3 });
      await arrange(w, { tenantIds: w.tenantIds.slice(0, 2) });
      await getAuthorize(pkceUrl(w));
      const s = await state();
      const mine = s.connections.filter((c: any) => c.clientId === w.clientId && c.userId === w.userId);
      expect(mine.map((c: any) => c.tenantId).sort()).toEqual(w.tenantIds.slice(0, 2).sort());
      expect(new Set(mine.map((c: any) => c.authEventId)).size).toBe(1);
    });

    it('uses each arranged consent once, in order; the next request shows the login page', async () => {
      const w = await buildWorld(sb);
      await arrange(w, { decision: 'deny' });
      await arrange(w);
      expect((await getAuthorize(pkceUrl(w))).location!.searchParams.get('error')).toBe('access_denied');
      expect((await getAuthorize(pkceUrl(w))).location!.searchParams.get('code')).toBeTruthy();
      const page = await getAuthorize(pkceUrl(w));
      expect(page.status).toBe(200);
      expect(page.location).toBeNull();
      expect(page.body).toContain('Log in to Xero');
    });
  });

  describe('organisation rules', () => {
    it('refuses (control API 400) to arrange more than one organisation for an app without multiOrgConsent', async () => {
      const w = await buildWorld(sb, { orgs: 2, multiOrgConsent: false });
      const r = await sb.controlRaw('POST', '/sandbox/consents', { clientId: w.clientId, userId: w.userId, tenantIds: w.tenantIds });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/multi-organisation/);
      expect((await state()).arrangedConsents).toBe(0);
      // One organisation is fine.
      await arrange(w, { tenantIds: [w.tenantIds[0]] });
      expect((await getAuthorize(pkceUrl(w))).location!.searchParams.get('code')).toBeTruthy();
    });

    it('refuses to arrange an organisation the user has no role in', async () => {
      const w = await buildWorld(sb, { orgs: 1 });
      const { tenantId } = await sb.control('POST', '/sandbox/orgs', { name: 'Stranger Ltd' });
      const r = await sb.controlRaw('POST', '/sandbox/consents', { clientId: w.clientId, userId: w.userId, tenantIds: [tenantId] });
      expect(r.status).toBe(400);
    });

    it('sends a consent over the tier connection cap to /connectionLimit, which states the limit', async () => {
      const w = await buildWorld(sb, { orgs: 2, app: { connectionCap: 1, name: 'Capped App' } });
      await arrange(w);
      const res = await getAuthorize(pkceUrl(w));
      expect(res.status).toBe(302);
      expect(res.location!.origin).toBe(sb.origin);
      expect(res.location!.pathname).toBe('/connectionLimit');
      expect(res.location!.searchParams.has('code')).toBe(false);
      const page = await fetch(res.location!);
      const text = await page.text();
      expect(page.status).toBe(403);
      expect(text).toContain('Connection limit reached');
      expect(text).toContain('Capped App');
      expect(text).toMatch(/\b1 organisation\b/);
      // The app has no connections yet, so the page must not claim it is "already connected" to any.
      expect(text).not.toMatch(/already connected to 1/);
      // Nothing was connected.
      expect((await state()).connections).toEqual([]);
    });

    it('counts organisations across all users of the app, and not ones already connected', async () => {
      const w = await buildWorld(sb, { orgs: 2, app: { connectionCap: 2 } });
      await arrange(w);
      expect((await getAuthorize(pkceUrl(w))).location!.searchParams.get('code')).toBeTruthy();
      // Reconnecting the same two is not "new".
      await arrange(w);
      expect((await getAuthorize(pkceUrl(w))).location!.searchParams.get('code')).toBeTruthy();
      // A second user connecting a third organisation goes over.
      const { tenantId } = await sb.control('POST', '/sandbox/orgs', { name: 'Third Org' });
      const { userId } = await sb.control('POST', '/sandbox/users', { email: 'second@firm.example', givenName: 'Sam', familyName: 'Second' });
      await sb.control('PUT', `/sandbox/users/${userId}/orgs/${tenantId}`, { role: 'standard' });
      await arrange(w, { userId, tenantIds: [tenantId] });
      expect((await getAuthorize(pkceUrl(w))).location!.pathname).toBe('/connectionLimit');
    });

    it('applies the tier’s default cap (starter: 5)', async () => {
      const w = await buildWorld(sb, { orgs: 6, app: { tier: 'starter' } });
      await arrange(w, { tenantIds: w.tenantIds.slice(0, 5) });
      expect((await getAuthorize(pkceUrl(w))).location!.searchParams.get('code')).toBeTruthy();
      await arrange(w, { tenantIds: [w.tenantIds[5]] });
      expect((await getAuthorize(pkceUrl(w))).location!.pathname).toBe('/connectionLimit');
    });
  });
});
