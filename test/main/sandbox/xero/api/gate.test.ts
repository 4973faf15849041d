import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api, buildWorld, connect, decodeJwt, startTestSandbox, type TestSandbox, type World } from '../../../../support/sandbox.js';
import { useSandbox } from '../../../../support/use-sandbox.js';

/**
 * Xero's API gate (xero-protocol.md §5.2, §11.6), checked in order: token (401 TokenExpired, then 401
 * AuthenticationUnsuccessful), tenant (403), scope (401 AuthorizationUnsuccessful + `WWW-Authenticate:
 * insufficient_scope`), role (401 AuthorizationUnsuccessful without that header), and only then the limiter.
 */

const ORGANISATION = '/api.xro/2.0/Organisation';
const BALANCE_SHEET = '/api.xro/2.0/Reports/BalanceSheet';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STAMP = /^TokenExpired: token expired at (\d\d)\/(\d\d)\/(\d{4}) (\d\d):(\d\d):(\d\d)$/;
const NARROW_SCOPES = 'openid profile email offline_access accounting.contacts accounting.reports.balancesheet.read';

type Res = Awaited<ReturnType<typeof api>>;

/** The PascalCase RFC 7807-like body Xero's API answers with, and its correlation id. */
function expectProblem(res: Res, status: number, title: string, detail: string | RegExp): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Object.keys(res.body).sort()).toEqual(['Detail', 'Extensions', 'Instance', 'Status', 'Title', 'Type']);
  expect(res.body.Type).toBeNull();
  expect(res.body.Title).toBe(title);
  expect(res.body.Status).toBe(status);
  if (typeof detail === 'string') expect(res.body.Detail).toBe(detail);
  else expect(res.body.Detail).toMatch(detail);
  expect(res.body.Extensions).toEqual({});
  expect(res.body.Instance).toMatch(UUID);
  expect(res.headers.get('xero-correlation-id')).toBe(res.body.Instance);
}

function expectAppMinHeader(res: Res): void {
  expect(res.headers.get('x-appminlimit-remaining') ?? '(absent)', `X-AppMinLimit-Remaining on a ${res.status}`).toMatch(/^\d+$/);
}

function expectTenantHeaders(res: Res): void {
  expectAppMinHeader(res);
  expect(res.headers.get('x-daylimit-remaining') ?? '(absent)', `X-DayLimit-Remaining on a ${res.status}`).toMatch(/^\d+$/);
  expect(res.headers.get('x-minlimit-remaining') ?? '(absent)', `X-MinLimit-Remaining on a ${res.status}`).toMatch(/^\d+$/);
}

/** Formats `exp` the way Xero's detail does, independently of the sandbox's own helper. */
function xeroStamp(exp: number): string {
  const d = new Date(exp * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** The same claims and header as a real token, signed by a key the sandbox never published. */
async function forgeWithForeignKey(token: string): Promise<string> {
  const { header, payload } = decodeJwt(token);
  const { privateKey } = await generateKeyPair('RS256');
  return new SignJWT(payload).setProtectedHeader(header).sign(privateKey);
}

describe('API gate: the access token', () => {
  let sb: TestSandbox;
  let w: World;
  let token: string;
  beforeEach(async () => {
    sb = await startTestSandbox();
    w = await buildWorld(sb, { orgs: 1 });
    token = (await connect(sb, w)).access_token;
  });
  afterEach(() => sb.close());

  it('lets a fresh token through to the organisation it is connected to', async () => {
    const res = await api(sb, ORGANISATION, token, w.tenantIds[0]);
    expect(res.status).toBe(200);
    expect(res.body.Organisations[0].OrganisationID).toBe(w.tenantIds[0]);
    expectTenantHeaders(res);
    // xero-protocol.md §11.6: every API response names its correlation id, successes included.
    expect(res.headers.get('xero-correlation-id')).toMatch(UUID);
  });

  it('answers 401 TokenExpired with the token’s own exp as MM/dd/yyyy HH:mm:ss UTC once 1801 s have passed', async () => {
    const exp = decodeJwt(token).payload.exp as number;
    expect((await api(sb, ORGANISATION, token, w.tenantIds[0])).status).toBe(200);
    await sb.control('POST', '/sandbox/clock', { advanceSeconds: 1801 });
    const res = await api(sb, ORGANISATION, token, w.tenantIds[0]);
    expectProblem(res, 401, 'Unauthorized', STAMP);
    expect(res.body.Detail).toBe(`TokenExpired: token expired at ${xeroStamp(exp)}`);
    const [, mm, dd, yyyy, hh, mi, ss] = STAMP.exec(res.body.Detail)!.map(Number);
    expect(Date.UTC(yyyy!, mm! - 1, dd!, hh!, mi!, ss!) / 1000).toBe(exp);
    expectAppMinHeader(res);
  });

  it('still accepts the token at 1799 s', async () => {
    await sb.control('POST', '/sandbox/clock', { advanceSeconds: 1799 });
    expect((await api(sb, ORGANISATION, token, w.tenantIds[0])).status).toBe(200);
  });

  it.each([
    ['no Authorization header', async () => null],
    ['a garbled token', async () => 'garbage'],
    ['a three-part token that is not a JWT', async () => 'aaa.bbb.ccc'],
    ['a token signed by a different key', async (t: string) => forgeWithForeignKey(t)],
    [
      'a real token with its payload edited',
      async (t: string) => {
        const [h, , s] = t.split('.');
        const payload = { ...decodeJwt(t).payload, scope: ['accounting.settings', 'accounting.reports.read'] };
        return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
      },
    ],
    [
      'an unsigned alg:none token',
      async (t: string) => {
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
        return `${header}.${t.split('.')[1]}.`;
      },
    ],
  ])('answers 401 AuthenticationUnsuccessful to %s', async (_name, make) => {
    const bad = await make(token);
    const res = await api(sb, ORGANISATION, bad, w.tenantIds[0]);
    expectProblem(res, 401, 'Unauthorized', 'AuthenticationUnsuccessful');
    expect(res.headers.get('www-authenticate')).toBeNull();
    expectAppMinHeader(res);
  });

  it('answers 401 AuthenticationUnsuccessful to a well-signed token whose grant was revoked', async () => {
    await sb.control('POST', `/sandbox/users/${w.userId}/password`);
    const res = await api(sb, ORGANISATION, token, w.tenantIds[0]);
    expectProblem(res, 401, 'Unauthorized', 'AuthenticationUnsuccessful');
    expectAppMinHeader(res);
  });
});

describe('API gate: tenant, scope and role', () => {
  const sb = useSandbox();

  it('answers 403 Forbidden AuthenticationUnsuccessful without a xero-tenant-id header', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    const res = await api(sb, ORGANISATION, t.access_token);
    expectProblem(res, 403, 'Forbidden', 'AuthenticationUnsuccessful');
    expectAppMinHeader(res);
  });

  it('answers 403 for an empty xero-tenant-id header', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    const res = await api(sb, ORGANISATION, t.access_token, undefined, { headers: { 'xero-tenant-id': '' } });
    expectProblem(res, 403, 'Forbidden', 'AuthenticationUnsuccessful');
  });

  it('answers 403 for a tenant the user belongs to but did not connect, an unknown tenant, and another user’s tenant', async () => {
    const w = await buildWorld(sb, { orgs: 2 });
    const t = await connect(sb, w, { tenantIds: [w.tenantIds[0]!] });
    const stranger = await buildWorld(sb, { orgs: 1 });
    await connect(sb, stranger);
    for (const tenant of [w.tenantIds[1]!, randomUUID(), stranger.tenantIds[0]!]) {
      const res = await api(sb, ORGANISATION, t.access_token, tenant);
      expectProblem(res, 403, 'Forbidden', 'AuthenticationUnsuccessful');
      expectTenantHeaders(res);
    }
    expect((await api(sb, ORGANISATION, t.access_token, w.tenantIds[0])).status).toBe(200);
  });

  it('matches the tenant id case-insensitively, as a GUID', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    const res = await api(sb, ORGANISATION, t.access_token, w.tenantIds[0]!.toUpperCase());
    expect(res.status).toBe(200);
  });

  it('answers 401 AuthorizationUnsuccessful with WWW-Authenticate: insufficient_scope to a token without accounting.settings', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w, { scope: NARROW_SCOPES });
    expect(decodeJwt(t.access_token).payload.scope).not.toContain('accounting.settings');
    const res = await api(sb, ORGANISATION, t.access_token, w.tenantIds[0]);
    expectProblem(res, 401, 'Unauthorized', 'AuthorizationUnsuccessful');
    expect(res.headers.get('www-authenticate')).toBe('insufficient_scope');
    expectTenantHeaders(res);
    // The same token may still read what its scopes cover.
    expect((await api(sb, BALANCE_SHEET, t.access_token, w.tenantIds[0])).status).toBe(200);
  });

  it('accepts accounting.settings.read alone for the Organisation endpoint', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w, { scope: 'openid offline_access accounting.settings.read' });
    expect((await api(sb, ORGANISATION, t.access_token, w.tenantIds[0])).status).toBe(200);
  });

  it('answers 401 AuthorizationUnsuccessful without insufficient_scope when an invoice-only user asks for the Balance Sheet', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w, { scope: `${NARROW_SCOPES} accounting.settings` });
    expect((await api(sb, BALANCE_SHEET, t.access_token, w.tenantIds[0])).status).toBe(200);

    await sb.control('PUT', `/sandbox/users/${w.userId}/orgs/${w.tenantIds[0]}`, { role: 'invoice-only' });
    const res = await api(sb, BALANCE_SHEET, t.access_token, w.tenantIds[0]);
    expectProblem(res, 401, 'Unauthorized', 'AuthorizationUnsuccessful');
    expect(res.headers.get('www-authenticate')).toBeNull();
    expectTenantHeaders(res);
    // Their role still covers what every role may do.
    expect((await api(sb, ORGANISATION, t.access_token, w.tenantIds[0])).status).toBe(200);
  });

  it.each(['adviser', 'standard', 'read-only'])('lets a %s user read the Balance Sheet', async (role) => {
    const w = await buildWorld(sb, { orgs: 1 });
    await sb.control('PUT', `/sandbox/users/${w.userId}/orgs/${w.tenantIds[0]}`, { role });
    const t = await connect(sb, w, { scope: NARROW_SCOPES });
    const res = await api(sb, BALANCE_SHEET, t.access_token, w.tenantIds[0]);
    expect(res.status).toBe(200);
    expect(res.body.Reports[0].ReportID).toBe('BalanceSheet');
  });
});

describe('API gate: the order holds when two things are wrong at once', () => {
  let sb: TestSandbox;
  let w: World;
  beforeEach(async () => {
    sb = await startTestSandbox();
    w = await buildWorld(sb, { orgs: 2 });
  });
  afterEach(() => sb.close());

  it('expired token and missing tenant header → TokenExpired, not 403', async () => {
    const t = await connect(sb, w);
    await sb.control('POST', '/sandbox/clock', { advanceSeconds: 1801 });
    const res = await api(sb, ORGANISATION, t.access_token);
    expectProblem(res, 401, 'Unauthorized', STAMP);
  });

  it('expired token and a missing scope on an unconnected tenant → TokenExpired', async () => {
    const t = await connect(sb, w, { scope: NARROW_SCOPES, tenantIds: [w.tenantIds[0]!] });
    await sb.control('POST', '/sandbox/clock', { advanceSeconds: 3600 });
    const res = await api(sb, ORGANISATION, t.access_token, w.tenantIds[1]);
    expectProblem(res, 401, 'Unauthorized', STAMP);
  });

  it('foreign signature and missing tenant header → 401 AuthenticationUnsuccessful, not 403', async () => {
    const t = await connect(sb, w);
    const res = await api(sb, ORGANISATION, await forgeWithForeignKey(t.access_token));
    expectProblem(res, 401, 'Unauthorized', 'AuthenticationUnsuccessful');
  });

  it('missing tenant header and missing scope → 403, not insufficient_scope', async () => {
    const t = await connect(sb, w, { scope: NARROW_SCOPES });
    const res = await api(sb, ORGANISATION, t.access_token);
    expectProblem(res, 403, 'Forbidden', 'AuthenticationUnsuccessful');
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('missing scope and a role too narrow → insufficient_scope', async () => {
    await sb.control('PUT', `/sandbox/users/${w.userId}/orgs/${w.tenantIds[0]}`, { role: 'invoice-only' });
    const t = await connect(sb, w, { scope: 'openid offline_access accounting.settings' });
    const res = await api(sb, BALANCE_SHEET, t.access_token, w.tenantIds[0]);
    expectProblem(res, 401, 'Unauthorized', 'AuthorizationUnsuccessful');
    expect(res.headers.get('www-authenticate')).toBe('insufficient_scope');
  });

  it('a role too narrow and an exhausted minute limit → 401 AuthorizationUnsuccessful, not 429', async () => {
    await sb.control('PUT', '/sandbox/settings', { minuteLimit: 1 });
    await sb.control('PUT', `/sandbox/users/${w.userId}/orgs/${w.tenantIds[0]}`, { role: 'invoice-only' });
    const t = await connect(sb, w, { scope: NARROW_SCOPES + ' accounting.settings' });
    expect((await api(sb, ORGANISATION, t.access_token, w.tenantIds[0])).status).toBe(200);
    expect((await api(sb, ORGANISATION, t.access_token, w.tenantIds[0])).status).toBe(429);
    const res = await api(sb, BALANCE_SHEET, t.access_token, w.tenantIds[0]);
    expectProblem(res, 401, 'Unauthorized', 'AuthorizationUnsuccessful');
    expect(res.headers.get('x-minlimit-remaining')).toBe('0');
  });

  it('a missing scope and an exhausted minute limit → insufficient_scope, not 429', async () => {
    await sb.control('PUT', '/sandbox/settings', { minuteLimit: 1 });
    const t = await connect(sb, w, { scope: 'openid offline_access accounting.settings' });
    expect((await api(sb, ORGANISATION, t.access_token, w.tenantIds[0])).status).toBe(200);
    const res = await api(sb, BALANCE_SHEET, t.access_token, w.tenantIds[0]);
    expectProblem(res, 401, 'Unauthorized', 'AuthorizationUnsuccessful');
    expect(res.headers.get('www-authenticate')).toBe('insufficient_scope');
  });

  it('an expired token and an exhausted minute limit → TokenExpired, not 429', async () => {
    await sb.control('PUT', '/sandbox/settings', { minuteLimit: 1, accessTokenSeconds: 30 });
    const t = await connect(sb, w);
    expect((await api(sb, ORGANISATION, t.access_token, w.tenantIds[0])).status).toBe(200);
    expect((await api(sb, ORGANISATION, t.access_token, w.tenantIds[0])).status).toBe(429);
    await sb.control('POST', '/sandbox/clock', { advanceSeconds: 31 });
    const res = await api(sb, ORGANISATION, t.access_token, w.tenantIds[0]);
    expectProblem(res, 401, 'Unauthorized', STAMP);
  });

  it('refusals do not spend the tenant’s allowance', async () => {
    const t = await connect(sb, w, { scope: NARROW_SCOPES });
    for (let i = 0; i < 3; i++) expect((await api(sb, ORGANISATION, t.access_token, w.tenantIds[0])).status).toBe(401);
    const ok = await api(sb, BALANCE_SHEET, t.access_token, w.tenantIds[0]);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-minlimit-remaining')).toBe('59');
  });
});
