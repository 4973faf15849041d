import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { buildWorld, REDIRECT, SCOPES, type World } from '../../../../support/sandbox.js';
import { useSandbox } from '../../../../support/use-sandbox.js';

/**
 * A certified, strict OpenID Connect client (openid-client v6, on oauth4webapi) configured with nothing but the
 * sandbox's origin. If discovery, the issuer, the JWKS, the id_token claims, the token response shape or the
 * redirect were off, it would refuse — so these tests hold the sandbox to the standards a real client enforces.
 */
describe('identity: an off-the-shelf OpenID Connect client (openid-client)', () => {
  const sb = useSandbox({ resetEachTest: true });

  const discover = (w: World, auth: client.ClientAuth, metadata?: Partial<client.ClientMetadata>) =>
    client.discovery(new URL(sb.origin), w.clientId, metadata, auth, { execute: [client.allowInsecureRequests] });

  /** Builds the authorize URL with PKCE, state and nonce, runs it against an arranged consent, and returns the callback. */
  async function authorize(config: client.Configuration, w: World) {
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const codeChallenge = await client.calculatePKCECodeChallenge(pkceCodeVerifier);
    const expectedState = client.randomState();
    const expectedNonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: SCOPES,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
      state: expectedState,
      nonce: expectedNonce,
    });
    expect(url.origin).toBe(sb.origin);
    expect(url.pathname).toBe('/identity/connect/authorize');
    await sb.control('POST', '/sandbox/consents', { clientId: w.clientId, userId: w.userId, tenantIds: w.tenantIds });
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const callback = new URL(res.headers.get('location')!);
    return { callback, checks: { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true } };
  }

  it('discovers the sandbox: issuer and endpoints come from its own origin', async () => {
    const w = await buildWorld(sb);
    const config = await discover(w, client.None());
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(sb.origin);
    expect(meta.token_endpoint).toBe(`${sb.origin}/connect/token`);
    expect(meta.supportsPKCE()).toBe(true);
  });

  it('completes the PKCE flow (no secret), validates the id_token, refreshes, reads userinfo and revokes', async () => {
    const w = await buildWorld(sb);
    const config = await discover(w, client.None());
    const { callback, checks } = await authorize(config, w);

    const tokens = await client.authorizationCodeGrant(config, callback, checks);
    expect(tokens.token_type).toBe('bearer'); // oauth4webapi normalises the case
    expect(tokens.expiresIn()).toBeGreaterThan(1790);
    expect(tokens.expiresIn()).toBeLessThanOrEqual(1800);
    expect(tokens.scope!.split(' ').sort()).toEqual(SCOPES.split(' ').sort());
    const claims = tokens.claims()!;
    expect(claims.iss).toBe(sb.origin);
    expect(claims.aud).toBe(w.clientId);
    expect(claims.nonce).toBe(checks.expectedNonce);
    expect(claims.email).toBe(w.email);
    expect(claims.xero_userid).toBe(w.userId);

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.claims()!.sub).toBe(claims.sub);

    const info = await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
    expect(info).toMatchObject({ sub: claims.sub, xero_userid: w.userId, email: w.email, name: 'Ada Adviser' });

    await client.tokenRevocation(config, refreshed.refresh_token!);
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('completes the flow for a web app with client_secret_basic', async () => {
    const w = await buildWorld(sb, { type: 'web' });
    const config = await discover(w, client.ClientSecretBasic(w.clientSecret!));
    const { callback, checks } = await authorize(config, w);
    const tokens = await client.authorizationCodeGrant(config, callback, checks);
    expect(tokens.claims()!.aud).toBe(w.clientId);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.claims()!.sub).toBe(tokens.claims()!.sub);
  });

  it('completes the flow for a web app with client_secret_post', async () => {
    const w = await buildWorld(sb, { type: 'web' });
    const config = await discover(w, client.ClientSecretPost(w.clientSecret!));
    const { callback, checks } = await authorize(config, w);
    const tokens = await client.authorizationCodeGrant(config, callback, checks);
    expect((await client.refreshTokenGrant(config, tokens.refresh_token!)).access_token).toBeTruthy();
  });

  it('surfaces a wrong client secret as invalid_client', async () => {
    const w = await buildWorld(sb, { type: 'web' });
    const config = await discover(w, client.ClientSecretBasic('not-the-secret'));
    const { callback, checks } = await authorize(config, w);
    await expect(client.authorizationCodeGrant(config, callback, checks)).rejects.toMatchObject({ error: 'invalid_client' });
  });

  it('surfaces a denied consent as access_denied', async () => {
    const w = await buildWorld(sb);
    const config = await discover(w, client.None());
    const expectedState = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: SCOPES,
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      state: expectedState,
    });
    await sb.control('POST', '/sandbox/consents', { clientId: w.clientId, userId: w.userId, decision: 'deny' });
    const res = await fetch(url, { redirect: 'manual' });
    const callback = new URL(res.headers.get('location')!);
    await expect(
      client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState }),
    ).rejects.toMatchObject({ error: 'access_denied' });
  });

  it('rejects an id_token from a server clock 10 minutes ahead, and accepts it once told about the skew (xero-node#327)', async () => {
    const w = await buildWorld(sb);
    await sb.control('PUT', '/sandbox/settings', { clockSkewSeconds: 600 });
    const strict = await discover(w, client.None());
    const first = await authorize(strict, w);
    await expect(client.authorizationCodeGrant(strict, first.callback, first.checks)).rejects.toThrow(/nbf|iat|timestamp/i);

    const tolerant = await discover(w, client.None(), { [client.clockSkew]: 600 });
    const second = await authorize(tolerant, w);
    const tokens = await client.authorizationCodeGrant(tolerant, second.callback, second.checks);
    expect(tokens.claims()!.sub).toMatch(/^[0-9a-f]{32}$/);
  });
});
