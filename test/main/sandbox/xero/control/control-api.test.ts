import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  REDIRECT,
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
} from '../../../../support/sandbox.js';

/**
 * The control API under /sandbox: every endpoint's success, and the clear 4xx each mistake gets
 * (`{error}` saying what was wrong). Also: the state snapshot never leaks a credential, and reset really
 * starts over.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CLIENT_ID = /^[0-9A-F]{32}$/;

describe('control API', () => {
  let sb: TestSandbox;
  let defaults: Record<string, unknown>;
  beforeEach(async () => {
    sb = await startTestSandbox();
    defaults = await sb.control('GET', '/sandbox/settings');
  });
  afterEach(() => sb.close());

  /** A control call with full control over body text and headers. */
  async function raw(method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}) {
    const res = await fetch(`${sb.origin}${path}`, { method, headers: opts.headers ?? {}, body: opts.body });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  }
  const state = () => sb.control('GET', '/sandbox/state');
  const newUser = (email = `u-${randomUUID()}@firm.example`) =>
    sb.control('POST', '/sandbox/users', { email, givenName: 'Una', familyName: 'User' });

  describe('organisations', () => {
    it('creates an organisation (201, tenantId) that the state lists', async () => {
      const res = await sb.controlRaw('POST', '/sandbox/orgs', { name: 'Kea Consulting' });
      expect(res.status).toBe(201);
      expect(res.body.tenantId).toMatch(UUID);
      const practice = await sb.control('POST', '/sandbox/orgs', { name: 'Kea Practice', tenantType: 'PRACTICE' }, 201);
      expect((await state()).orgs).toEqual(
        expect.arrayContaining([
          { tenantId: res.body.tenantId, name: 'Kea Consulting', tenantType: 'ORGANISATION' },
          { tenantId: practice.tenantId, name: 'Kea Practice', tenantType: 'PRACTICE' },
        ]),
      );
    });

    it('refuses a missing name or an unknown tenantType with 400 naming the field', async () => {
      const noName = await sb.controlRaw('POST', '/sandbox/orgs', {});
      expect(noName.status).toBe(400);
      expect(noName.body.error).toMatch(/name/);
      const badType = await sb.controlRaw('POST', '/sandbox/orgs', { name: 'X', tenantType: 'CLUB' });
      expect(badType.status).toBe(400);
      expect(badType.body.error).toMatch(/tenantType/);
    });
  });

  describe('users and roles', () => {
    it('creates a user (201, userId) with a normalised email', async () => {
      const res = await sb.controlRaw('POST', '/sandbox/users', { email: 'Mixed.Case@Firm.Example', givenName: 'Mix', familyName: 'Case' });
      expect(res.status).toBe(201);
      expect(res.body.userId).toMatch(UUID);
      const user = (await state()).users.find((u: { userId: string }) => u.userId === res.body.userId);
      expect(user).toMatchObject({ email: 'mixed.case@firm.example', givenName: 'Mix', familyName: 'Case', roles: {}, passwordChangedAt: null });
    });

    it('answers 409 to a duplicate email, whatever its case', async () => {
      await newUser('dup@firm.example');
      const res = await sb.controlRaw('POST', '/sandbox/users', { email: 'DUP@firm.example', givenName: 'D', familyName: 'Up' });
      expect(res.status).toBe(409);
      expect(res.body.error).toContain('dup@firm.example');
    });

    it('refuses an invalid email with 400 naming the field', async () => {
      const res = await sb.controlRaw('POST', '/sandbox/users', { email: 'not-an-email', givenName: 'N', familyName: 'O' });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/email/);
    });

    it('sets a role (200) and refuses an unknown role (400), user (404) or organisation (404)', async () => {
      const { tenantId } = await sb.control('POST', '/sandbox/orgs', { name: 'Roles Ltd' });
      const { userId } = await newUser();
      const ok = await sb.controlRaw('PUT', `/sandbox/users/${userId}/orgs/${tenantId}`, { role: 'read-only' });
      expect(ok).toEqual({ status: 200, body: { userId, tenantId, role: 'read-only' } });
      expect((await state()).users.find((u: { userId: string }) => u.userId === userId).roles).toEqual({ [tenantId]: 'read-only' });

      const badRole = await sb.controlRaw('PUT', `/sandbox/users/${userId}/orgs/${tenantId}`, { role: 'owner' });
      expect(badRole.status).toBe(400);
      expect(badRole.body.error).toMatch(/role/);
      const noUser = await sb.controlRaw('PUT', `/sandbox/users/${randomUUID()}/orgs/${tenantId}`, { role: 'adviser' });
      expect(noUser.status).toBe(404);
      expect(noUser.body.error).toMatch(/user/i);
      const noOrg = await sb.controlRaw('PUT', `/sandbox/users/${userId}/orgs/${randomUUID()}`, { role: 'adviser' });
      expect(noOrg.status).toBe(404);
      expect(noOrg.body.error).toMatch(/organisation/i);
    });

    it('removes a membership (200 with the count of connections removed), and 404s a non-member', async () => {
      const w = await buildWorld(sb, { orgs: 1 });
      await connect(sb, w);
      expect(await sb.controlRaw('DELETE', `/sandbox/users/${w.userId}/orgs/${w.tenantIds[0]}`)).toEqual({
        status: 200,
        body: { connectionsRemoved: 1 },
      });
      expect((await sb.controlRaw('DELETE', `/sandbox/users/${w.userId}/orgs/${w.tenantIds[0]}`)).status).toBe(404);
    });

    it('records a password change (200) and 404s an unknown user', async () => {
      const { userId } = await newUser();
      expect(await sb.controlRaw('POST', `/sandbox/users/${userId}/password`)).toEqual({ status: 200, body: { familiesRevoked: 0 } });
      const user = (await state()).users.find((u: { userId: string }) => u.userId === userId);
      expect(Math.abs(Date.parse(user.passwordChangedAt) - Date.now())).toBeLessThan(10_000);
      expect((await sb.controlRaw('POST', `/sandbox/users/${randomUUID()}/password`)).status).toBe(404);
    });

    it('deletes a user (200) and 404s an unknown one', async () => {
      const { userId } = await newUser();
      expect(await sb.controlRaw('DELETE', `/sandbox/users/${userId}`)).toEqual({ status: 200, body: { appsDeleted: [] } });
      expect((await state()).users).toEqual([]);
      expect((await sb.controlRaw('DELETE', `/sandbox/users/${userId}`)).status).toBe(404);
    });
  });

  describe('apps', () => {
    it('creates a PKCE app with no secret and Starter defaults', async () => {
      const res = await sb.controlRaw('POST', '/sandbox/apps', { name: 'Desk', type: 'pkce', redirectUris: [REDIRECT] });
      expect(res.status).toBe(201);
      expect(Object.keys(res.body)).toEqual(['clientId']);
      expect(res.body.clientId).toMatch(CLIENT_ID);
      const app = (await state()).apps[0];
      expect(app).toMatchObject({
        clientId: res.body.clientId, name: 'Desk', type: 'pkce', redirectUris: [REDIRECT], createdBy: null,
        tier: 'starter', connectionCap: 5, connectedOrganisations: 0, multiOrgConsent: false,
      });
      expect(app.scopes).toContain('accounting.settings');
    });

    it('creates a web app whose secret is returned once, at creation', async () => {
      const { userId } = await newUser();
      const res = await sb.controlRaw('POST', '/sandbox/apps', {
        name: 'Portal', type: 'web', redirectUris: ['https://portal.example/cb'], createdBy: userId, tier: 'core',
        connectionCap: null, multiOrgConsent: true, scopes: ['accounting.settings'],
      });
      expect(res.status).toBe(201);
      expect(res.body.clientSecret).toEqual(expect.any(String));
      expect(res.body.clientSecret.length).toBeGreaterThanOrEqual(32);
      expect((await state()).apps[0]).toMatchObject({ createdBy: userId, tier: 'core', connectionCap: null, multiOrgConsent: true, scopes: ['accounting.settings'] });
    });

    it('refuses bad app definitions with 400 naming the field, and an unknown creator with 404', async () => {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ name: 'A', type: 'spa', redirectUris: [REDIRECT] }, /type/],
        [{ name: 'A', type: 'pkce', redirectUris: [] }, /redirectUris/],
        [{ name: 'A', type: 'pkce', redirectUris: ['not a url'] }, /redirectUris/],
        [{ name: '', type: 'pkce', redirectUris: [REDIRECT] }, /name/],
        [{ name: 'A', type: 'pkce', redirectUris: [REDIRECT], tier: 'gold' }, /tier/],
      ];
      for (const [body, field] of cases) {
        const res = await sb.controlRaw('POST', '/sandbox/apps', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error).toMatch(field);
      }
      const noCreator = await sb.controlRaw('POST', '/sandbox/apps', { name: 'A', type: 'pkce', redirectUris: [REDIRECT], createdBy: randomUUID() });
      expect(noCreator.status).toBe(404);
      expect((await state()).apps).toEqual([]);
    });

    it('rotates a web app’s secret (200) and 404s an unknown app', async () => {
      const app = await sb.control('POST', '/sandbox/apps', { name: 'Web', type: 'web', redirectUris: [REDIRECT] });
      const res = await sb.controlRaw('POST', `/sandbox/apps/${app.clientId}/secret`);
      expect(res.status).toBe(200);
      expect(res.body.clientSecret).not.toBe(app.clientSecret);
      expect((await sb.controlRaw('POST', `/sandbox/apps/${randomUUID()}/secret`)).status).toBe(404);
    });

    it('deletes an app (200) and 404s an unknown one', async () => {
      const app = await sb.control('POST', '/sandbox/apps', { name: 'Gone', type: 'pkce', redirectUris: [REDIRECT] });
      expect(await sb.controlRaw('DELETE', `/sandbox/apps/${app.clientId}`)).toEqual({ status: 200, body: { deleted: app.clientId } });
      expect((await state()).apps).toEqual([]);
      expect((await sb.controlRaw('DELETE', `/sandbox/apps/${app.clientId}`)).status).toBe(404);
    });

    it('disconnects an app in an organisation (200) and 404s an unknown organisation or app', async () => {
      const w = await buildWorld(sb, { orgs: 1 });
      await connect(sb, w);
      expect((await sb.controlRaw('DELETE', `/sandbox/orgs/${randomUUID()}/apps/${w.clientId}`)).status).toBe(404);
      expect((await sb.controlRaw('DELETE', `/sandbox/orgs/${w.tenantIds[0]}/apps/${randomUUID()}`)).status).toBe(404);
      expect(await sb.controlRaw('DELETE', `/sandbox/orgs/${w.tenantIds[0]}/apps/${w.clientId}`)).toEqual({ status: 200, body: { connectionsRemoved: 1 } });
    });
  });

  describe('arranged consents', () => {
    it('queues a consent (201) that the next authorize completes without a page', async () => {
      const w = await buildWorld(sb, { orgs: 1 });
      const res = await sb.controlRaw('POST', '/sandbox/consents', { clientId: w.clientId, userId: w.userId, tenantIds: w.tenantIds });
      expect(res).toEqual({ status: 201, body: { arranged: 1 } });
      expect((await state()).arrangedConsents).toBe(1);
      const auth = await getAuthorize(authorizeUrl(sb.origin, { clientId: w.clientId, challenge: pkcePair().challenge }));
      expect(auth.status).toBe(302);
      expect(auth.location!.searchParams.get('code')).toBeTruthy();
      expect((await state()).arrangedConsents).toBe(0);
    });

    it('arranges a denial that redirects with error=access_denied', async () => {
      const w = await buildWorld(sb, { orgs: 1 });
      await sb.control('POST', '/sandbox/consents', { clientId: w.clientId, userId: w.userId, decision: 'deny' });
      const auth = await getAuthorize(authorizeUrl(sb.origin, { clientId: w.clientId, challenge: pkcePair().challenge, state: 'st-1' }));
      expect(auth.status).toBe(302);
      expect(auth.location!.searchParams.get('error')).toBe('access_denied');
      expect(auth.location!.searchParams.get('state')).toBe('st-1');
    });

    it('refuses impossible consents: several orgs for a one-org app, an org the user is not in (400), unknown app or user (404)', async () => {
      const single = await buildWorld(sb, { orgs: 2, multiOrgConsent: false });
      const many = await sb.controlRaw('POST', '/sandbox/consents', { clientId: single.clientId, userId: single.userId, tenantIds: single.tenantIds });
      expect(many.status).toBe(400);
      expect(many.body.error).toMatch(/one organisation per consent/);
      const { tenantId: foreign } = await sb.control('POST', '/sandbox/orgs', { name: 'Foreign' });
      const notMember = await sb.controlRaw('POST', '/sandbox/consents', { clientId: single.clientId, userId: single.userId, tenantIds: [foreign] });
      expect(notMember.status).toBe(400);
      expect(notMember.body.error).toMatch(/no role/);
      expect((await sb.controlRaw('POST', '/sandbox/consents', { clientId: randomUUID(), userId: single.userId })).status).toBe(404);
      expect((await sb.controlRaw('POST', '/sandbox/consents', { clientId: single.clientId, userId: randomUUID() })).status).toBe(404);
      expect((await state()).arrangedConsents).toBe(0);
    });
  });

  describe('clock', () => {
    it('moves the clock forward (200) and reports the offset in the state', async () => {
      const res = await sb.controlRaw('POST', '/sandbox/clock', { advanceSeconds: 3600 });
      expect(res.status).toBe(200);
      expect(res.body.offsetSeconds).toBe(3600);
      expect(Math.abs(Date.parse(res.body.now) - (Date.now() + 3_600_000))).toBeLessThan(10_000);
      await sb.control('POST', '/sandbox/clock', { advanceSeconds: 60 });
      expect((await state()).clockOffsetSeconds).toBe(3660);
    });

    it('refuses to move backwards or by a non-number with 400', async () => {
      for (const advanceSeconds of [-1, 'soon', null]) {
        const res = await sb.controlRaw('POST', '/sandbox/clock', { advanceSeconds });
        expect(res.status).toBe(400);
        expect(res.body.error).toMatch(/advanceSeconds/);
      }
      expect((await state()).clockOffsetSeconds).toBe(0);
    });
  });

  describe('faults', () => {
    it('adds (201), lists (200) and clears (200) faults', async () => {
      const added = await sb.controlRaw('POST', '/sandbox/faults', { target: 'token', kind: 'status-503', count: 2, retryAfter: 30 });
      expect(added.status).toBe(201);
      expect(added.body.faults).toEqual([{ target: 'token', kind: 'status-503', remaining: 2, retryAfter: 30 }]);
      await sb.control('POST', '/sandbox/faults', { target: 'api', kind: 'reset' });
      expect((await sb.control('GET', '/sandbox/faults')).faults).toHaveLength(2);
      expect((await state()).faults).toHaveLength(2);
      expect(await sb.controlRaw('DELETE', '/sandbox/faults')).toEqual({ status: 200, body: { cleared: 2 } });
      expect((await sb.control('GET', '/sandbox/faults')).faults).toEqual([]);
    });

    it('refuses an unknown target or kind, a zero count and a negative retryAfter with 400 naming the field', async () => {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ target: 'userinfo', kind: 'status-500' }, /target/],
        [{ target: 'api', kind: 'explode' }, /kind/],
        [{ target: 'api', kind: 'status-500', count: 0 }, /count/],
        [{ target: 'api', kind: 'status-503', retryAfter: -5 }, /retryAfter/],
      ];
      for (const [body, field] of cases) {
        const res = await sb.controlRaw('POST', '/sandbox/faults', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error).toMatch(field);
      }
      expect((await sb.control('GET', '/sandbox/faults')).faults).toEqual([]);
    });
  });

  describe('settings', () => {
    it('returns the defaults Xero is believed to have', async () => {
      expect(defaults).toMatchObject({
        graceSeconds: 1800, refreshTokenIdleDays: 60, accessTokenSeconds: 1800, idTokenSeconds: 300, codeSeconds: 300,
        minuteLimit: 60, concurrentLimit: 5, appMinuteLimit: 10_000,
        tierCaps: { starter: 5, core: 50, plus: 1000, advanced: 10_000, enterprise: null },
        dayLimits: { starter: 1000, core: 5000, plus: 5000, advanced: 5000, enterprise: 5000 },
      });
    });

    it('merges a partial update key by key, nested objects included', async () => {
      const res = await sb.controlRaw('PUT', '/sandbox/settings', { tierCaps: { starter: 7 }, minuteLimit: 30 });
      expect(res.status).toBe(200);
      const expected = { ...defaults, minuteLimit: 30, tierCaps: { ...(defaults.tierCaps as object), starter: 7 } };
      expect(res.body).toEqual(expected);
      expect(await sb.control('GET', '/sandbox/settings')).toEqual(expected);
      // A Starter app's cap follows the setting.
      await sb.control('POST', '/sandbox/apps', { name: 'Capped', type: 'pkce', redirectUris: [REDIRECT] });
      expect((await state()).apps[0].connectionCap).toBe(7);
    });

    it('refuses invalid values and unknown keys with 400 naming them, and changes nothing', async () => {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ minuteLimit: 0 }, /minuteLimit/],
        [{ graceReuse: 'sometimes' }, /graceReuse/],
        [{ invalidClientStatus: 403 }, /invalidClientStatus/],
        [{ hangSeconds: 0 }, /hangSeconds/],
        [{ tierCaps: { gold: 3 } }, /gold/],
        [{ dayLimits: { starter: -1 } }, /dayLimits\.starter/],
        [{ minuteLimits: 10 }, /minuteLimits/],
        [{ passwordChangeRevokesGrants: 'yes' }, /passwordChangeRevokesGrants/],
      ];
      for (const [body, field] of cases) {
        const res = await sb.controlRaw('PUT', '/sandbox/settings', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error).toMatch(field);
      }
      expect(await sb.control('GET', '/sandbox/settings')).toEqual(defaults);
    });
  });

  describe('reset', () => {
    it('returns a summary of the new world', async () => {
      const res = await sb.controlRaw('POST', '/sandbox/reset', { seed: 'demo' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ seed: 'demo', orgs: 40, users: 6, connections: 0 });
      expect(res.body.apps).toHaveLength(3);
      const empty = await sb.controlRaw('POST', '/sandbox/reset', { seed: 'empty' });
      expect(empty.body).toEqual({ seed: 'empty', orgs: 0, users: 0, apps: [], connections: 0 });
    });

    it('restores default settings, clears faults and the clock offset, and forgets every token', async () => {
      const w = await buildWorld(sb, { orgs: 1 });
      const t = await connect(sb, w);
      await sb.control('PUT', '/sandbox/settings', { minuteLimit: 3, tierCaps: { starter: 1 }, graceSeconds: 0 });
      await sb.control('POST', '/sandbox/faults', { target: 'token', kind: 'status-500', count: 5 });
      await sb.control('POST', '/sandbox/clock', { advanceSeconds: 7200 });
      await sb.control('POST', '/sandbox/consents', { clientId: w.clientId, userId: w.userId, tenantIds: w.tenantIds });

      await sb.control('POST', '/sandbox/reset', { seed: 'empty' });

      expect(await sb.control('GET', '/sandbox/settings')).toEqual(defaults);
      const s = await state();
      expect(s.faults).toEqual([]);
      expect(s.clockOffsetSeconds).toBe(0);
      expect(Math.abs(Date.parse(s.now) - Date.now())).toBeLessThan(10_000);
      expect(s).toMatchObject({ orgs: [], users: [], apps: [], connections: [], grants: [], thirdPartyConnections: [], arrangedConsents: 0 });
      // Tokens from before the reset no longer mean anything, even though the signing key is the same.
      const call = await api(sb, '/connections', t.access_token);
      expect(call.status).toBe(401);
      expect(call.body.Detail).toBe('AuthenticationUnsuccessful');
      expect((await refresh(sb, w, t.refresh_token)).body).toEqual({ error: 'invalid_client' });
    });

    it('refuses an unknown seed or a missing one with 400', async () => {
      const bad = await sb.controlRaw('POST', '/sandbox/reset', { seed: 'galaxy' });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatch(/seed/);
      const none = await sb.controlRaw('POST', '/sandbox/reset');
      expect(none.status).toBe(400);
      expect(none.body.error).toMatch(/seed/);
    });
  });

  describe('request mistakes', () => {
    it('answers 400 with a message to a body that is not JSON', async () => {
      const res = await raw('POST', '/sandbox/orgs', { body: '{"name": "Half', headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('The request body is not valid JSON.');
    });

    it('answers 400 naming unknown fields', async () => {
      const res = await sb.controlRaw('POST', '/sandbox/orgs', { name: 'Fields Ltd', colour: 'teal', size: 3 });
      expect(res.status).toBe(400);
      expect(res.body.error).toContain('colour');
      expect(res.body.error).toContain('size');
      const user = await sb.controlRaw('POST', '/sandbox/users', { email: 'a@b.example', givenName: 'A', familyName: 'B', password: 'x' });
      expect(user.status).toBe(400);
      expect(user.body.error).toContain('password');
      expect((await state()).orgs).toEqual([]);
    });

    it('answers 415 to a body that is not sent as JSON (a cross-site form post), and does nothing', async () => {
      const res = await raw('POST', '/sandbox/orgs', {
        body: 'name=Evil', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(res.status).toBe(415);
      expect((await state()).orgs).toEqual([]);
    });

    it('answers 404 naming an unknown control path', async () => {
      const res = await raw('GET', '/sandbox/nothing-here');
      expect(res.status).toBe(404);
      expect(res.body.error).toContain('/sandbox/nothing-here');
      expect((await raw('POST', '/sandbox/users/x/y/z')).status).toBe(404);
    });

    it('answers 400, not a crash, to a path parameter that is not valid percent-encoding', async () => {
      const res = await raw('DELETE', '/sandbox/users/%E0%A4%ZZ');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/percent-encoding/);
      expect((await raw('GET', '/sandbox/state')).status).toBe(200);
    });

    it('answers 405 with Allow to the wrong method', async () => {
      const res = await raw('DELETE', '/sandbox/state');
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET');
      expect(res.body.error).toMatch(/DELETE/);
      const faults = await raw('PUT', '/sandbox/faults');
      expect(faults.status).toBe(405);
      expect(faults.headers.get('allow')!.split(', ').sort()).toEqual(['DELETE', 'GET', 'POST']);
    });

    it('answers 403 to a request carrying a foreign Origin (a web page), and does nothing', async () => {
      for (const origin of ['https://evil.example', 'null', 'http://localhost:1']) {
        const post = await raw('POST', '/sandbox/orgs', {
          body: JSON.stringify({ name: 'Evil Ltd' }), headers: { 'content-type': 'application/json', origin },
        });
        expect(post.status, origin).toBe(403);
        expect(post.body.error).toMatch(/local tools/);
      }
      expect((await raw('GET', '/sandbox/state', { headers: { origin: 'https://evil.example' } })).status).toBe(403);
      expect((await raw('POST', '/sandbox/reset', { body: '{"seed":"demo"}', headers: { 'content-type': 'application/json', origin: 'https://evil.example' } })).status).toBe(403);
      expect((await state()).orgs).toEqual([]);
      // The sandbox's own origin is fine.
      const same = await raw('POST', '/sandbox/orgs', {
        body: JSON.stringify({ name: 'Own Ltd' }), headers: { 'content-type': 'application/json', origin: sb.origin },
      });
      expect(same.status).toBe(201);
    });
  });

  describe('state snapshot', () => {
    it('never contains a client secret, refresh token, access token, id_token or code', async () => {
      const demo = await sb.control('POST', '/sandbox/reset', { seed: 'demo' });
      const held: string[] = demo.apps.filter((a: { clientSecret?: string }) => a.clientSecret).map((a: { clientSecret: string }) => a.clientSecret);
      expect(held).toHaveLength(1);

      const web = await buildWorld(sb, { orgs: 2, type: 'web' });
      held.push(web.clientSecret!);
      const t = await connect(sb, web);
      held.push(t.access_token, t.refresh_token, t.id_token!);
      const r = await refresh(sb, web, t.refresh_token);
      held.push(r.body.access_token, r.body.refresh_token, r.body.id_token);
      const rotated = await sb.control('POST', `/sandbox/apps/${web.clientId}/secret`);
      held.push(rotated.clientSecret);

      // A code that was never exchanged, and one that was.
      await sb.control('POST', '/sandbox/consents', { clientId: web.clientId, userId: web.userId, tenantIds: [web.tenantIds[0]] });
      const pending = await getAuthorize(authorizeUrl(sb.origin, { clientId: web.clientId }));
      held.push(pending.location!.searchParams.get('code')!);
      await sb.control('POST', '/sandbox/consents', { clientId: web.clientId, userId: web.userId, tenantIds: [web.tenantIds[1]] });
      const used = await getAuthorize(authorizeUrl(sb.origin, { clientId: web.clientId }));
      const usedCode = used.location!.searchParams.get('code')!;
      held.push(usedCode);
      const exchanged = await tokenRequest(
        sb.origin,
        { grant_type: 'authorization_code', code: usedCode, redirect_uri: REDIRECT },
        { clientId: web.clientId, clientSecret: rotated.clientSecret },
      );
      expect(exchanged.status).toBe(200);
      held.push(exchanged.body.access_token, exchanged.body.refresh_token);

      expect(held.every((v) => typeof v === 'string' && v.length >= 20)).toBe(true);
      const texts = await Promise.all(
        ['/sandbox/state', '/sandbox/settings', '/sandbox/faults', '/'].map(async (p) => (await fetch(`${sb.origin}${p}`)).text()),
      );
      for (const text of texts) for (const secret of held) expect(text.includes(secret)).toBe(false);

      // Nor any field that looks like one.
      const keys: string[] = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (keys.push(k), walk(x));
      };
      walk(JSON.parse(texts[0]!));
      expect(keys.filter((k) => /secret|^(refresh_?token|access_?token|id_?token|code|code_?verifier|password)$/i.test(k))).toEqual([]);
    });
  });
});
