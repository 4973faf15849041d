import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorld, connect, decodeJwt, startTestSandbox, type TestSandbox } from '../../../../support/sandbox.js';

/**
 * Discovery and JWKS (xero-protocol.md §1): a client configured only with the sandbox's origin must find every
 * endpoint there, and be able to verify every JWT the sandbox signs against the published key set.
 */
describe('identity: discovery document and JWKS', () => {
  let sb: TestSandbox;
  let doc: Record<string, any>;
  let jwks: { keys: Array<Record<string, any>> };

  beforeAll(async () => {
    sb = await startTestSandbox();
    doc = await (await fetch(`${sb.origin}/.well-known/openid-configuration`)).json();
    jwks = await (await fetch(doc.jwks_uri)).json();
  });
  afterAll(() => sb.close());

  describe('the discovery document', () => {
    it('is served as JSON at /.well-known/openid-configuration', async () => {
      const res = await fetch(`${sb.origin}/.well-known/openid-configuration`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it('names the sandbox origin itself as the issuer (what every JWT carries as iss)', () => {
      expect(doc.issuer).toBe(sb.origin);
      expect(doc.issuer).not.toMatch(/\/$/);
    });

    it('puts every endpoint on the sandbox origin, at Xero’s paths', () => {
      expect(doc.authorization_endpoint).toBe(`${sb.origin}/identity/connect/authorize`);
      expect(doc.token_endpoint).toBe(`${sb.origin}/connect/token`);
      expect(doc.userinfo_endpoint).toBe(`${sb.origin}/connect/userinfo`);
      expect(doc.revocation_endpoint).toBe(`${sb.origin}/connect/revocation`);
      expect(doc.jwks_uri).toBe(`${sb.origin}/.well-known/openid-configuration/jwks`);
      for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'revocation_endpoint', 'jwks_uri']) {
        expect(new URL(doc[key]).origin, key).toBe(sb.origin);
      }
    });

    it('advertises what Xero supports: code flow, S256, RS256, basic and post client auth', () => {
      expect(doc.response_types_supported).toEqual(['code']);
      expect(doc.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
      expect(doc.code_challenge_methods_supported).toContain('S256');
      expect(doc.id_token_signing_alg_values_supported).toEqual(['RS256']);
      expect(doc.token_endpoint_auth_methods_supported).toEqual(
        expect.arrayContaining(['client_secret_basic', 'client_secret_post']),
      );
      expect(doc.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'email', 'offline_access']));
    });

    it('serves the advertised endpoints (authorize and both identity hosts’ paths answer)', async () => {
      // Xero's authorize lives under /identity on login.xero.com; the sandbox accepts it with and without.
      for (const path of ['/identity/connect/authorize', '/connect/authorize']) {
        const res = await fetch(`${sb.origin}${path}?client_id=nope`, { redirect: 'manual' });
        expect(res.status, path).toBe(400);
        expect(await res.text()).toContain('Unknown client or client not enabled');
      }
      const token = await fetch(doc.token_endpoint, { method: 'POST' });
      expect(token.status).toBe(400);
      const userinfo = await fetch(doc.userinfo_endpoint);
      expect(userinfo.status).toBe(401);
    });
  });

  describe('the JWKS', () => {
    it('publishes exactly one RS256 signing key with kid and x5t, and no private parts', () => {
      expect(jwks.keys).toHaveLength(1);
      const [key] = jwks.keys;
      expect(key).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256', e: 'AQAB' });
      expect(key!.kid).toMatch(/^[0-9A-F]{40}$/);
      expect(key!.x5t).toMatch(/^[A-Za-z0-9_-]{27}$/);
      expect(Buffer.from(key!.x5t, 'base64url').toString('hex').toUpperCase()).toBe(key!.kid);
      expect(typeof key!.n).toBe('string');
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key, secret).not.toHaveProperty(secret);
    });

    it('has the key whose kid and x5t every issued JWT names in its header', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      const [key] = jwks.keys;
      for (const jwt of [t.access_token, t.id_token!]) {
        const { header } = decodeJwt(jwt);
        expect(header).toMatchObject({ alg: 'RS256', kid: key!.kid, x5t: key!.x5t, typ: 'JWT' });
      }
    });

    it('verifies the access token and id_token signatures (jose remote JWKS)', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      const keySet = createRemoteJWKSet(new URL(doc.jwks_uri));
      const access = await jwtVerify(t.access_token, keySet, {
        issuer: doc.issuer,
        audience: `${doc.issuer}/resources`,
        algorithms: ['RS256'],
      });
      expect(access.payload.client_id).toBe(w.clientId);
      expect(access.protectedHeader.kid).toBe(jwks.keys[0]!.kid);
      const id = await jwtVerify(t.id_token!, keySet, { issuer: doc.issuer, audience: w.clientId, algorithms: ['RS256'] });
      expect(id.payload.email).toBe(w.email);
    });

    it('rejects a token whose payload was tampered with (the signature really covers it)', async () => {
      const w = await buildWorld(sb);
      const t = await connect(sb, w);
      const [h, p, s] = t.access_token.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8'));
      claims.xero_userid = '00000000-0000-0000-0000-000000000000';
      const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
      const keySet = createRemoteJWKSet(new URL(doc.jwks_uri));
      await expect(jwtVerify(forged, keySet, { issuer: doc.issuer })).rejects.toThrow(/signature/i);
    });

    it('keeps the same key across a control-API reset, so tokens stay verifiable', async () => {
      await sb.control('POST', '/sandbox/reset', { seed: 'empty' });
      const again = await (await fetch(doc.jwks_uri)).json();
      expect(again).toEqual(jwks);
    });
  });
});
