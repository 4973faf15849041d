import { SignJWT, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  api,
  buildWorld,
  connect,
  decodeJwt,
  REDIRECT,
  refresh,
  type World,
} from '../../../../support/sandbox.js';
import { useSandbox } from '../../../../support/use-sandbox.js';

/**
 * `POST /connect/revocation` (xero-protocol.md §1, §3.3, §11.4): "Revokes a user's refresh token and removes all
 * their connections to your app", 200 with an empty body. `GET /connect/userinfo` (§4.5): the OIDC claims.
 */
describe('identity: revocation', () => {
  const sb = useSandbox({ resetEachTest: true });

  /** Form POST to the revocation endpoint, authenticating as the world's app (Basic for web apps). */
  async function revoke(w: World, token: string, opts: { secret?: string; form?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const form: Record<string, string> = { token, ...opts.form };
    const secret = opts.secret ?? w.clientSecret;
    if (secret) headers.authorization = `Basic ${Buffer.from(`${w.clientId}:${secret}`).toString('base64')}`;
    else form.client_id = w.clientId;
    const res = await fetch(`${sb.origin}/connect/revocation`, { method: 'POST', headers, body: new URLSearchParams(form) });
    const text = await res.text();
    return { status: res.status, text, body: text ? JSON.parse(text) : null };
  }
  const state = () => sb.control('GET', '/sandbox/state');
  const connectionsOf = async (w: World) =>
    (await state()).connections.filter((c: any) => c.clientId === w.clientId && c.userId === w.userId);

  it('answers 200 with an empty body to a PKCE app revoking its refresh token', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w);
    const res = await revoke(w, t.refresh_token);
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
  });

  it('kills the refresh token: refreshing afterwards gets invalid_grant', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w);
    await revoke(w, t.refresh_token);
    const r = await refresh(sb, w, t.refresh_token);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: 'invalid_grant' });
  });

  it('removes all the user’s connections to the app, and the access token stops working', async () => {
    const w = await buildWorld(sb, { orgs: 3 });
    const t = await connect(sb, w);
    expect(await connectionsOf(w)).toHaveLength(3);
    expect((await api(sb, '/connections', t.access_token)).body).toHaveLength(3);
    await revoke(w, t.refresh_token);
    expect(await connectionsOf(w)).toEqual([]);
    const s = await state();
    const grants = s.grants.filter((g: any) => g.clientId === w.clientId);
    expect(grants.length).toBeGreaterThan(0);
    expect(grants.map((g: any) => g.revokedReason)).toEqual(grants.map(() => 'revoked'));
    const conns = await api(sb, '/connections', t.access_token);
    expect(conns.status).toBe(401);
    expect(conns.body.Detail).toBe('AuthenticationUnsuccessful');
  });

  it('revokes every token chain the user holds for the app, even when given an old rotated token', async () => {
    const w = await buildWorld(sb, { orgs: 2 });
    const a = await connect(sb, w, { tenantIds: [w.tenantIds[0]!] });
    const b = await connect(sb, w, { tenantIds: [w.tenantIds[1]!] });
    const rotated = await refresh(sb, w, a.refresh_token);
    expect(rotated.status).toBe(200);
    expect((await revoke(w, a.refresh_token)).status).toBe(200);
    expect((await refresh(sb, w, rotated.body.refresh_token)).body).toEqual({ error: 'invalid_grant' });
    expect((await refresh(sb, w, b.refresh_token)).body).toEqual({ error: 'invalid_grant' });
    expect(await connectionsOf(w)).toEqual([]);
  });

  it('leaves other users of the app, and the same user’s other apps, connected', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const mine = await connect(sb, w);
    // A colleague in the same organisation, same app.
    const { userId } = await sb.control('POST', '/sandbox/users', { email: 'colleague@firm.example', givenName: 'Col', familyName: 'League' });
    await sb.control('PUT', `/sandbox/users/${userId}/orgs/${w.tenantIds[0]}`, { role: 'standard' });
    const colleague = await connect(sb, { ...w, userId }, { userId });
    // The same user, another app.
    const other = await sb.control('POST', '/sandbox/apps', { name: 'Second App', type: 'pkce', redirectUris: [REDIRECT] });
    const w2 = { ...w, clientId: other.clientId };
    const second = await connect(sb, w2);

    await revoke(w, mine.refresh_token);
    expect((await refresh(sb, w, colleague.refresh_token)).status).toBe(200);
    expect((await refresh(sb, w2, second.refresh_token)).status).toBe(200);
    const conns = (await state()).connections;
    expect(conns.filter((c: any) => c.userId === userId && c.clientId === w.clientId)).toHaveLength(1);
    expect(conns.filter((c: any) => c.userId === w.userId && c.clientId === other.clientId)).toHaveLength(1);
  });

  it('answers 200 to an unknown token (RFC 7009) and changes nothing', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w);
    const res = await revoke(w, 'no-such-token');
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(await connectionsOf(w)).toHaveLength(2);
    expect((await refresh(sb, w, t.refresh_token)).status).toBe(200);
  });

  it('answers 200 to revoking the same token twice', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w);
    expect((await revoke(w, t.refresh_token)).status).toBe(200);
    expect((await revoke(w, t.refresh_token)).status).toBe(200);
  });

  it('does not let another app revoke this app’s token', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w);
    const other = await sb.control('POST', '/sandbox/apps', { name: 'Intruder', type: 'pkce', redirectUris: [REDIRECT] });
    expect((await revoke({ ...w, clientId: other.clientId }, t.refresh_token)).status).toBe(200);
    expect(await connectionsOf(w)).toHaveLength(2);
    expect((await refresh(sb, w, t.refresh_token)).status).toBe(200);
  });

  describe('for a web app', () => {
    it('accepts client_secret_basic', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      const t = await connect(sb, w);
      expect((await revoke(w, t.refresh_token)).status).toBe(200);
      expect((await refresh(sb, w, t.refresh_token)).body).toEqual({ error: 'invalid_grant' });
    });

    it('accepts client_secret_post', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      const t = await connect(sb, w);
      const res = await fetch(`${sb.origin}/connect/revocation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: t.refresh_token, client_id: w.clientId, client_secret: w.clientSecret! }),
      });
      expect(res.status).toBe(200);
      expect(await connectionsOf(w)).toEqual([]);
    });

    it('refuses a wrong secret with invalid_client and revokes nothing', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      const t = await connect(sb, w);
      const res = await revoke(w, t.refresh_token, { secret: 'wrong' });
      expect(res).toMatchObject({ status: 400, body: { error: 'invalid_client' } });
      expect(await connectionsOf(w)).toHaveLength(2);
      expect((await refresh(sb, w, t.refresh_token)).status).toBe(200);
    });

    it('answers invalid_client with 401 when invalidClientStatus is 401', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      const t = await connect(sb, w);
      await sb.control('PUT', '/sandbox/settings', { invalidClientStatus: 401 });
      expect(await revoke(w, t.refresh_token, { secret: 'wrong' })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    });

    it('refuses a request with no client authentication', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      const t = await connect(sb, w);
      const res = await fetch(`${sb.origin}/connect/revocation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: t.refresh_token }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'invalid_client' });
    });

    it('answers invalid_client, not a server error, to malformed Basic credentials', async () => {
      const w = await buildWorld(sb, { type: 'web' });
      const res = await fetch(`${sb.origin}/connect/revocation`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${w.clientId}:%E0%A4%A`).toString('base64')}`,
        },
        body: new URLSearchParams({ token: 'x' }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'invalid_client' });
    });
  });

  it('refuses an unknown client_id with invalid_client', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w);
    expect(await revoke({ ...w, clientId: 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF' }, t.refresh_token)).toMatchObject({
      status: 400,
      body: { error: 'invalid_client' },
    });
  });

  it('answers invalid_request when token is missing', async () => {
    const w = await buildWorld(sb);
    const res = await fetch(`${sb.origin}/connect/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: w.clientId }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid_request' });
  });
});

describe('identity: userinfo', () => {
  const sb = useSandbox({ resetEachTest: true });

  const userinfo = async (token: string | null, method = 'GET') => {
    const res = await fetch(`${sb.origin}/connect/userinfo`, {
      method,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };

  it('answers a Bearer access token with the user’s OIDC claims', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w);
    const res = await userinfo(t.access_token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      sub: decodeJwt(t.id_token!).payload.sub,
      xero_userid: w.userId,
      email: w.email,
      preferred_username: w.email,
      given_name: 'Ada',
      family_name: 'Adviser',
      name: 'Ada Adviser',
    });
    expect(res.body.sub).toMatch(/^[0-9a-f]{32}$/);
  });

  it('also answers POST', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w);
    const res = await userinfo(t.access_token, 'POST');
    expect(res.status).toBe(200);
    expect(res.body.xero_userid).toBe(w.userId);
  });

  it('shows only what the granted scopes allow', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w, { scope: 'openid offline_access accounting.settings' });
    const res = await userinfo(t.access_token);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['sub', 'xero_userid']);
  });

  it.each([
    ['no token', null],
    ['a garbled token', 'not.a.jwt'],
    ['an opaque string', 'abc123'],
  ])('answers 401 with WWW-Authenticate to %s', async (_label, token) => {
    const res = await userinfo(token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    expect(res.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('answers 401 to a token signed with someone else’s key', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w);
    const { privateKey } = await generateKeyPair('RS256');
    const { header, payload } = decodeJwt(t.access_token);
    const forged = await new SignJWT(payload).setProtectedHeader(header).sign(privateKey);
    expect((await userinfo(forged)).status).toBe(401);
  });

  it('answers 401 to a refresh token used as a bearer token', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w);
    expect((await userinfo(t.refresh_token)).status).toBe(401);
  });

  it('answers 401 once the access token has expired', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w);
    await sb.control('POST', '/sandbox/clock', { advanceSeconds: 1801 });
    expect((await userinfo(t.access_token)).status).toBe(401);
  });

  it('answers 401 after the grant was revoked', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w);
    await fetch(`${sb.origin}/connect/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: t.refresh_token, client_id: w.clientId }),
    });
    expect((await userinfo(t.access_token)).status).toBe(401);
  });

  it('answers 401 to a token without the openid scope', async () => {
    const w = await buildWorld(sb);
    const t = await connect(sb, w, { scope: 'offline_access accounting.settings' });
    expect((await userinfo(t.access_token)).status).toBe(401);
  });
});
