import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  api,
  authorizeUrl,
  buildWorld,
  connect,
  getAuthorize,
  pkcePair,
  refresh,
  startTestSandbox,
  tokenRequest,
  type TestSandbox,
  type World,
} from '../../../../support/sandbox.js';

/**
 * The ways real connections break, driven through the control API, and what a client then sees on the wire
 * (xero-protocol.md §5, §6, §11.7): `400 {"error":"invalid_grant"}` when the grant is gone, 403 for a
 * tenant that is no longer connected, `invalid_client` when the app's credentials are.
 */

const ORGANISATION = '/api.xro/2.0/Organisation';
const DAY = 86_400;

type Res = Awaited<ReturnType<typeof api>>;

function expectInvalidGrant(res: { status: number; body: unknown }): void {
  expect(res.status).toBe(400);
  expect(res.body).toEqual({ error: 'invalid_grant' });
}

function expectInvalidClient(res: { status: number; body: unknown }): void {
  expect(res.status).toBe(400);
  expect(res.body).toEqual({ error: 'invalid_client' });
}

function expect401Unsuccessful(res: Res): void {
  expect(res.status).toBe(401);
  expect(res.body).toMatchObject({ Title: 'Unauthorized', Detail: 'AuthenticationUnsuccessful' });
}

function expect403(res: Res): void {
  expect(res.status).toBe(403);
  expect(res.body).toMatchObject({ Title: 'Forbidden', Detail: 'AuthenticationUnsuccessful' });
}

const tenantsOf = (res: Res) => (res.body as Array<{ tenantId: string }>).map((c) => c.tenantId).sort();

describe('breaking connections through the control API', () => {
  let sb: TestSandbox;
  let w: World;
  beforeEach(async () => {
    sb = await startTestSandbox();
    w = await buildWorld(sb, { orgs: 2 });
  });
  afterEach(() => sb.close());

  const settings = (patch: Record<string, unknown>) => sb.control('PUT', '/sandbox/settings', patch);
  const advance = (seconds: number) => sb.control('POST', '/sandbox/clock', { advanceSeconds: seconds });

  describe('password change', () => {
    it('revokes the grant: refresh gives invalid_grant and the old access token 401 AuthenticationUnsuccessful', async () => {
      const t = await connect(sb, w);
      expect((await api(sb, ORGANISATION, t.access_token, w.tenantIds[0])).status).toBe(200);

      const res = await sb.control('POST', `/sandbox/users/${w.userId}/password`);
      expect(res).toEqual({ familiesRevoked: 1 });

      expectInvalidGrant(await refresh(sb, w, t.refresh_token));
      expect401Unsuccessful(await api(sb, ORGANISATION, t.access_token, w.tenantIds[0]));
      expect401Unsuccessful(await api(sb, '/connections', t.access_token));

      // The user can connect again, and the connections were never removed.
      const again = await connect(sb, w, { tenantIds: [] });
      expect(tenantsOf(await api(sb, '/connections', again.access_token))).toEqual([...w.tenantIds].sort());
    });

    it('leaves grants alone when passwordChangeRevokesGrants is off', async () => {
      await settings({ passwordChangeRevokesGrants: false });
      const t = await connect(sb, w);
      expect(await sb.control('POST', `/sandbox/users/${w.userId}/password`)).toEqual({ familiesRevoked: 0 });
      expect((await refresh(sb, w, t.refresh_token)).status).toBe(200);
      expect((await api(sb, ORGANISATION, t.access_token, w.tenantIds[0])).status).toBe(200);
    });
  });

  describe('user removed from an organisation', () => {
    it('drops that organisation from /connections and 403s it, while other organisations and the refresh keep working', async () => {
      const t = await connect(sb, w);
      const [gone, kept] = w.tenantIds as [string, string];
      expect(await sb.control('DELETE', `/sandbox/users/${w.userId}/orgs/${gone}`)).toEqual({ connectionsRemoved: 1 });

      expect(tenantsOf(await api(sb, '/connections', t.access_token))).toEqual([kept]);
      expect403(await api(sb, ORGANISATION, t.access_token, gone));
      expect((await api(sb, ORGANISATION, t.access_token, kept)).status).toBe(200);

      const r = await refresh(sb, w, t.refresh_token);
      expect(r.status).toBe(200);
      expect403(await api(sb, ORGANISATION, r.body.access_token, gone));
      expect((await api(sb, ORGANISATION, r.body.access_token, kept)).status).toBe(200);
    });

    it('revokes the grant when the last organisation goes: refresh gives invalid_grant', async () => {
      const t = await connect(sb, w);
      await sb.control('DELETE', `/sandbox/users/${w.userId}/orgs/${w.tenantIds[0]}`);
      const latest = await refresh(sb, w, t.refresh_token);
      expect(latest.status).toBe(200);
      await sb.control('DELETE', `/sandbox/users/${w.userId}/orgs/${w.tenantIds[1]}`);
      expectInvalidGrant(await refresh(sb, w, latest.body.refresh_token));
      // Not even as a grace-period reuse of the previous token.
      expectInvalidGrant(await refresh(sb, w, t.refresh_token));
      // The access token already issued is a self-contained JWT: it lives on, sees no connections and is
      // refused per tenant (Xero-OpenAPI#585: 200 [] and 403, not 401).
      const list = await api(sb, '/connections', latest.body.access_token);
      expect(list.status).toBe(200);
      expect(list.body).toEqual([]);
      expect403(await api(sb, ORGANISATION, latest.body.access_token, w.tenantIds[1]));
    });

    it('keeps the grant after the last organisation goes when lastConnectionRemovalRevokesGrant is off', async () => {
      await settings({ lastConnectionRemovalRevokesGrant: false });
      const t = await connect(sb, w);
      for (const tid of w.tenantIds) await sb.control('DELETE', `/sandbox/users/${w.userId}/orgs/${tid}`);
      const r = await refresh(sb, w, t.refresh_token);
      expect(r.status).toBe(200);
      const list = await api(sb, '/connections', r.body.access_token);
      expect(list.status).toBe(200);
      expect(list.body).toEqual([]);
    });

    it('answers 404 when the user was not a member', async () => {
      await sb.control('DELETE', `/sandbox/users/${w.userId}/orgs/${w.tenantIds[0]}`);
      const again = await sb.controlRaw('DELETE', `/sandbox/users/${w.userId}/orgs/${w.tenantIds[0]}`);
      expect(again.status).toBe(404);
      expect(again.body.error).toMatch(/not a member/);
    });
  });

  describe('user deleted', () => {
    it('revokes their grants (invalid_grant), kills their access tokens and removes their connections', async () => {
      const t = await connect(sb, w);
      expect(await sb.control('DELETE', `/sandbox/users/${w.userId}`)).toEqual({ appsDeleted: [] });
      expectInvalidGrant(await refresh(sb, w, t.refresh_token));
      expect401Unsuccessful(await api(sb, ORGANISATION, t.access_token, w.tenantIds[0]));
      const state = await sb.control('GET', '/sandbox/state');
      expect(state.users.some((u: { userId: string }) => u.userId === w.userId)).toBe(false);
      expect(state.connections.some((c: { userId: string }) => c.userId === w.userId)).toBe(false);
      expect(state.grants.find((g: { userId: string }) => g.userId === w.userId)?.revokedReason).toBe('user-deleted');
    });

    it('deletes the apps they created, so everyone’s token calls for those apps give invalid_client', async () => {
      const { userId: creator } = await sb.control('POST', '/sandbox/users', {
        email: `creator-${randomUUID()}@firm.example`, givenName: 'Cre', familyName: 'Ator',
      });
      const theirApp = await buildWorld(sb, { orgs: 1, type: 'web', app: { createdBy: creator } });
      const t = await connect(sb, theirApp); // another user's grant on the creator's app
      const res = await sb.control('DELETE', `/sandbox/users/${creator}`);
      expect(res).toEqual({ appsDeleted: [theirApp.clientId] });

      expectInvalidClient(await refresh(sb, theirApp, t.refresh_token));
      expect401Unsuccessful(await api(sb, ORGANISATION, t.access_token, theirApp.tenantIds[0]));
      const state = await sb.control('GET', '/sandbox/state');
      expect(state.apps.some((a: { clientId: string }) => a.clientId === theirApp.clientId)).toBe(false);
      // Apps they did not create are untouched.
      const survivor = await connect(sb, w);
      expect((await refresh(sb, w, survivor.refresh_token)).status).toBe(200);
    });
  });

  describe('app disconnected in an organisation (Settings → Connected Apps)', () => {
    it('removes the organisation from /connections, 403s it, and leaves the grant refreshable', async () => {
      const t = await connect(sb, w);
      const [gone, kept] = w.tenantIds as [string, string];
      expect(await sb.control('DELETE', `/sandbox/orgs/${gone}/apps/${w.clientId}`)).toEqual({ connectionsRemoved: 1 });
      expect(tenantsOf(await api(sb, '/connections', t.access_token))).toEqual([kept]);
      expect403(await api(sb, ORGANISATION, t.access_token, gone));
      expect((await api(sb, ORGANISATION, t.access_token, kept)).status).toBe(200);
      const r = await refresh(sb, w, t.refresh_token);
      expect(r.status).toBe(200);
      expect(tenantsOf(await api(sb, '/connections', r.body.access_token))).toEqual([kept]);
    });

    it("removes every user's link to the app in that organisation", async () => {
      const { userId: colleague } = await sb.control('POST', '/sandbox/users', {
        email: `colleague-${randomUUID()}@firm.example`, givenName: 'Col', familyName: 'League',
      });
      for (const tid of w.tenantIds) await sb.control('PUT', `/sandbox/users/${colleague}/orgs/${tid}`, { role: 'standard' });
      const mine = await connect(sb, w);
      const theirs = await connect(sb, w, { userId: colleague });
      expect(await sb.control('DELETE', `/sandbox/orgs/${w.tenantIds[0]}/apps/${w.clientId}`)).toEqual({ connectionsRemoved: 2 });
      for (const t of [mine, theirs]) expect(tenantsOf(await api(sb, '/connections', t.access_token))).toEqual([w.tenantIds[1]]);
    });

    it('answers 404 when the app is not connected there', async () => {
      const res = await sb.controlRaw('DELETE', `/sandbox/orgs/${w.tenantIds[0]}/apps/${w.clientId}`);
      expect(res.status).toBe(404);
      expect(res.body.error).toMatch(/not connected/);
    });
  });

  describe('client secret rotated', () => {
    it('makes the old secret invalid_client and the new one work with the same refresh token', async () => {
      const web = await buildWorld(sb, { orgs: 1, type: 'web', multiOrgConsent: false });
      const t = await connect(sb, web);
      const { clientSecret } = await sb.control('POST', `/sandbox/apps/${web.clientId}/secret`);
      expect(clientSecret).toEqual(expect.any(String));
      expect(clientSecret).not.toBe(web.clientSecret);

      expectInvalidClient(await refresh(sb, web, t.refresh_token));
      // The refused call did not rotate the refresh token: it works once with the new secret.
      const r = await refresh(sb, { ...web, clientSecret }, t.refresh_token);
      expect(r.status).toBe(200);
      // client_secret_post with the old secret is refused too.
      const post = await tokenRequest(sb.origin, {
        grant_type: 'refresh_token', refresh_token: r.body.refresh_token, client_id: web.clientId, client_secret: web.clientSecret!,
      });
      expectInvalidClient(post);
    });

    it('honours invalidClientStatus 401', async () => {
      await settings({ invalidClientStatus: 401 });
      const web = await buildWorld(sb, { orgs: 1, type: 'web' });
      const t = await connect(sb, web);
      await sb.control('POST', `/sandbox/apps/${web.clientId}/secret`);
      const res = await refresh(sb, web, t.refresh_token);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'invalid_client' });
    });

    it('refuses to rotate a PKCE app’s secret with a 400 that says why', async () => {
      const res = await sb.controlRaw('POST', `/sandbox/apps/${w.clientId}/secret`);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/PKCE/);
    });
  });

  describe('app deleted', () => {
    it('makes its token calls invalid_client, its access tokens 401 and its authorize page an error', async () => {
      const t = await connect(sb, w);
      expect(await sb.control('DELETE', `/sandbox/apps/${w.clientId}`)).toEqual({ deleted: w.clientId });
      expectInvalidClient(await refresh(sb, w, t.refresh_token));
      expect401Unsuccessful(await api(sb, ORGANISATION, t.access_token, w.tenantIds[0]));
      const page = await getAuthorize(authorizeUrl(sb.origin, { clientId: w.clientId, challenge: pkcePair().challenge }));
      expect(page.status).toBe(400);
      expect(page.location).toBeNull();
      expect(page.body).toContain('Unknown client or client not enabled');
      expect((await sb.controlRaw('DELETE', `/sandbox/apps/${w.clientId}`)).status).toBe(404);
    });
  });

  describe('refresh token idle for 60 days', () => {
    it('expires an unused refresh token after 60 days with invalid_grant', async () => {
      const t = await connect(sb, w);
      await advance(60 * DAY);
      expectInvalidGrant(await refresh(sb, w, t.refresh_token));
    });

    it('counts the 60 days from the last rotation, so a token refreshed every 59 days lives on', async () => {
      const t = await connect(sb, w);
      await advance(59 * DAY);
      const r1 = await refresh(sb, w, t.refresh_token);
      expect(r1.status).toBe(200);
      await advance(59 * DAY);
      const r2 = await refresh(sb, w, r1.body.refresh_token);
      expect(r2.status).toBe(200);
      await advance(60 * DAY + 1);
      expectInvalidGrant(await refresh(sb, w, r2.body.refresh_token));
    });
  });

  describe('re-authorisation', () => {
    it('keeps the first refresh-token chain alive by default', async () => {
      const first = await connect(sb, w);
      const second = await connect(sb, w);
      expect((await refresh(sb, w, first.refresh_token)).status).toBe(200);
      expect((await refresh(sb, w, second.refresh_token)).status).toBe(200);
    });

    it('kills the first chain on a second consent when reauthKeepsOldRefreshToken is off', async () => {
      await settings({ reauthKeepsOldRefreshToken: false });
      const first = await connect(sb, w);
      const second = await connect(sb, w);
      expectInvalidGrant(await refresh(sb, w, first.refresh_token));
      expect((await refresh(sb, w, second.refresh_token)).status).toBe(200);
    });

    it('moves re-picked organisations to the new authEventId and bumps updatedDateUtc (reauthUpdatesAuthEventId on)', async () => {
      const first = await connect(sb, w, { tenantIds: [w.tenantIds[0]!] });
      const before = (await api(sb, '/connections', first.access_token)).body[0];
      await advance(120);
      const second = await connect(sb, w, { tenantIds: [w.tenantIds[0]!] });
      const after = (await api(sb, '/connections', second.access_token)).body;
      expect(after).toHaveLength(1);
      expect(after[0].id).toBe(before.id);
      expect(after[0].authEventId).toBe(second.authEventId);
      expect(after[0].createdDateUtc).toBe(before.createdDateUtc);
      expect(Date.parse(`${after[0].updatedDateUtc}Z`) - Date.parse(`${before.updatedDateUtc}Z`)).toBeGreaterThanOrEqual(119_000);
      expect((await api(sb, `/connections?authEventId=${second.authEventId}`, second.access_token)).body).toHaveLength(1);
      expect((await api(sb, `/connections?authEventId=${first.authEventId}`, second.access_token)).body).toEqual([]);
    });

    it('keeps the original authEventId on re-picked organisations when reauthUpdatesAuthEventId is off', async () => {
      await settings({ reauthUpdatesAuthEventId: false });
      const first = await connect(sb, w, { tenantIds: [w.tenantIds[0]!] });
      await advance(120);
      const second = await connect(sb, w, { tenantIds: [w.tenantIds[0]!, w.tenantIds[1]!] });
      const list = (await api(sb, '/connections', second.access_token)).body as Array<{ tenantId: string; authEventId: string }>;
      expect(list.find((c) => c.tenantId === w.tenantIds[0])!.authEventId).toBe(first.authEventId);
      expect(list.find((c) => c.tenantId === w.tenantIds[1])!.authEventId).toBe(second.authEventId);
      expect(tenantsOf(await api(sb, `/connections?authEventId=${second.authEventId}`, second.access_token))).toEqual([w.tenantIds[1]]);
    });
  });
});
