import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../../main/core/clock.js';
import { failureSchema } from '../../../../shared/domain.js';
import { parseXeroDate, XeroConnectionsApi, type ApiFailure } from '../../../../main/providers/xero/connections-api.js';
import { isTransient } from '../../../../main/providers/xero/errors.js';
import { buildWorld, connect } from '../../../support/sandbox.js';
import { useSandbox } from '../../../support/use-sandbox.js';

/**
 * XeroConnectionsApi against the sandbox over real HTTP (xero-protocol.md §4.2, §5.2, §5.4): the connection
 * list with and without authEventId, Xero's Z-less dates read as UTC, and every way one tenant can refuse
 * (token expired, disconnected, scope missing, role too narrow, rate limits) — without the access token ever
 * appearing in a result.
 */

const NARROW_SCOPES = 'openid profile email offline_access accounting.contacts accounting.reports.balancesheet.read';
const clock = new SystemClock();

function expectFailure(result: { ok: boolean }, token: string): ApiFailure {
  expect(result.ok).toBe(false);
  const f = result as ApiFailure;
  expect(failureSchema.safeParse(f.failure).success, JSON.stringify(f.failure)).toBe(true);
  expect(JSON.stringify(result)).not.toContain(token);
  return f;
}

describe('parseXeroDate', () => {
  const tz = process.env.TZ;
  afterEach(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  it('reads .NET dates without Z as UTC, whatever the local time zone', () => {
    process.env.TZ = 'Pacific/Auckland';
    const expected = Date.UTC(2019, 11, 7, 18, 46, 19, 516);
    expect(parseXeroDate('2019-12-07T18:46:19.5165400')).toBe(expected);
    // What a naive parse does with the same text here: local time, 13 hours off.
    expect(new Date('2019-12-07T18:46:19.516').getTime()).not.toBe(expected);
  });

  it.each([
    ['2019-12-07T18:46:19.5165400Z', Date.UTC(2019, 11, 7, 18, 46, 19, 516)],
    ['2019-12-07T18:46:19', Date.UTC(2019, 11, 7, 18, 46, 19)],
    ['2019-12-08T07:46:19.5+13:00', Date.UTC(2019, 11, 7, 18, 46, 19, 500)],
    ['/Date(1575744379516+0000)/', 1575744379516],
  ])('%s', (text, ms) => {
    expect(parseXeroDate(text)).toBe(ms);
  });

  it.each(['', 'yesterday', '2019-02-31T00:00:00', '2019-13-01T00:00:00', '2019-12-07 25:00:00', '1575744379516'])('%j is not a date', (text) => {
    expect(parseXeroDate(text)).toBeNull();
  });
});

describe('XeroConnectionsApi against the sandbox', () => {
  const sb = useSandbox({ resetEachTest: true });
  const api = (timeoutMs?: number) => new XeroConnectionsApi(fetch, sb.origin, clock, timeoutMs ? { timeoutMs } : {});

  it('lists every connection of the grant, fields as Xero sends them, dates parsed as UTC', async () => {
    const w = await buildWorld(sb, { orgs: 3 });
    const before = Date.now();
    const t = await connect(sb, w);
    const result = await api().list(t.access_token);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const state = await sb.control('GET', '/sandbox/state');
    const names = new Map<string, string>(state.orgs.map((o: { tenantId: string; name: string }) => [o.tenantId, o.name]));
    expect(result.connections.map((c) => c.tenantId).sort()).toEqual([...w.tenantIds].sort());
    for (const c of result.connections) {
      expect(c.authEventId).toBe(t.authEventId);
      expect(c.tenantType).toBe('ORGANISATION');
      expect(c.tenantName).toBe(names.get(c.tenantId));
      expect(c.createdDateUtc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$/);
      expect(c.createdAt).toBe(Date.parse(`${c.createdDateUtc.slice(0, 23)}Z`));
      expect(c.createdAt).toBeGreaterThanOrEqual(before - 1000);
      expect(c.createdAt).toBeLessThanOrEqual(Date.now() + 1000);
      expect(c.updatedAt).toBeGreaterThanOrEqual(c.createdAt);
    }
    expect(result.serverDate).toBeGreaterThan(before - 2000);
    expect(Math.abs(result.skewMs!)).toBeLessThan(2000);
  });

  it('filters by authEventId: each consent finds exactly the organisations it connected', async () => {
    const w = await buildWorld(sb, { orgs: 2 });
    const [a, b] = w.tenantIds as [string, string];
    const first = await connect(sb, w, { tenantIds: [a] });
    const second = await connect(sb, w, { tenantIds: [b] });
    expect(second.authEventId).not.toBe(first.authEventId);
    const c = api();

    const onlyB = await c.list(second.access_token, { authEventId: second.authEventId });
    expect(onlyB.ok && onlyB.connections.map((x) => x.tenantId)).toEqual([b]);
    const onlyA = await c.list(second.access_token, { authEventId: first.authEventId });
    expect(onlyA.ok && onlyA.connections.map((x) => x.tenantId)).toEqual([a]);
    const all = await c.list(second.access_token);
    expect(all.ok && all.connections.map((x) => x.tenantId).sort()).toEqual([a, b].sort());
    const none = await c.list(second.access_token, { authEventId: '00000000-0000-0000-0000-000000000000' });
    expect(none).toMatchObject({ ok: true, connections: [] });
  });

  it('answers token-expired (refresh and retry once) after the sandbox clock passes 30 minutes', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    await sb.control('POST', '/sandbox/clock', { advanceSeconds: 1801 });
    const listed = expectFailure(await api().list(t.access_token), t.access_token);
    expect(listed.failure).toMatchObject({ kind: 'token-expired', httpStatus: 401, detail: expect.stringMatching(/^401 TokenExpired \(expired \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$/) });
    const probed = expectFailure(await api().organisation(t.access_token, w.tenantIds[0]!), t.access_token);
    expect(probed.failure.kind).toBe('token-expired');
    expect(isTransient(probed.failure)).toBe(true);
    // Refusals still report the app-wide allowance.
    expect(probed.limits?.appMinute).toBeGreaterThan(0);
  });

  it('answers authentication-unsuccessful for a revoked token', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    await sb.control('POST', `/sandbox/users/${w.userId}/password`);
    const f = expectFailure(await api().list(t.access_token), t.access_token);
    expect(f.failure).toMatchObject({ kind: 'authentication-unsuccessful', detail: '401 AuthenticationUnsuccessful' });
  });

  it('probes one tenant: ok with its name and the allowance left; 403 forbidden once the app is disconnected there', async () => {
    const w = await buildWorld(sb, { orgs: 2 });
    const [a, b] = w.tenantIds as [string, string];
    const t = await connect(sb, w);
    const c = api();

    const ok = await c.organisation(t.access_token, a);
    expect(ok.ok).toBe(true);
    if (ok.ok) {
      expect(ok.organisationName).toMatch(/^Org 1 /);
      expect(ok.limits).toEqual({ day: expect.any(Number), minute: expect.any(Number), appMinute: expect.any(Number) });
      expect(ok.limits.minute).toBeLessThan(60);
    }

    await sb.control('DELETE', `/sandbox/orgs/${a}/apps/${w.clientId}`);
    const gone = expectFailure(await c.organisation(t.access_token, a), t.access_token);
    expect(gone.failure).toMatchObject({ kind: 'forbidden', httpStatus: 403, detail: '403 AuthenticationUnsuccessful' });
    // The grant still reaches the other organisation, and /connections no longer lists the first.
    expect((await c.organisation(t.access_token, b)).ok).toBe(true);
    const listed = await c.list(t.access_token);
    expect(listed.ok && listed.connections.map((x) => x.tenantId)).toEqual([b]);
  });

  it('insufficient-scope when the token lacks the scope the endpoint needs', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w, { scope: NARROW_SCOPES });
    const f = expectFailure(await api().organisation(t.access_token, w.tenantIds[0]!), t.access_token);
    expect(f.failure).toMatchObject({ kind: 'insufficient-scope', httpStatus: 401 });
    // The report its scopes do cover still works.
    expect((await api().reportProbe(t.access_token, w.tenantIds[0]!)).ok).toBe(true);
  });

  it('role-restricted when an invoice-only user asks for the Balance Sheet', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w, { scope: `${NARROW_SCOPES} accounting.settings` });
    const tenant = w.tenantIds[0]!;
    expect((await api().reportProbe(t.access_token, tenant)).ok).toBe(true);
    await sb.control('PUT', `/sandbox/users/${w.userId}/orgs/${tenant}`, { role: 'invoice-only' });
    const f = expectFailure(await api().reportProbe(t.access_token, tenant), t.access_token);
    expect(f.failure).toMatchObject({ kind: 'role-restricted', detail: '401 AuthorizationUnsuccessful (role too narrow)' });
    // The organisation itself is still reachable: the role, not the connection, is the problem.
    expect((await api().organisation(t.access_token, tenant)).ok).toBe(true);
  });

  it('rate limits: the allowance headers count down, and the 429 names the minute limit with its retry time', async () => {
    await sb.control('PUT', '/sandbox/settings', { minuteLimit: 2 });
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    const c = api();
    const tenant = w.tenantIds[0]!;
    const first = await c.organisation(t.access_token, tenant);
    const second = await c.organisation(t.access_token, tenant);
    expect(first.ok && first.limits.minute).toBe(1);
    expect(second.ok && second.limits.minute).toBe(0);
    const before = Date.now();
    const third = expectFailure(await c.organisation(t.access_token, tenant), t.access_token);
    expect(third.failure).toMatchObject({ kind: 'rate-limited', httpStatus: 429, detail: expect.stringMatching(/minute limit/) });
    const wait = Date.parse(third.failure.retryAt!) - before;
    expect(wait).toBeGreaterThan(50_000);
    expect(wait).toBeLessThanOrEqual(61_000 + 1000);
    expect(third.limits).toMatchObject({ minute: 0 });
  });

  it('rate limits injected on /connections: day (long Retry-After) and concurrent (none)', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    await sb.control('POST', '/sandbox/faults', { target: 'connections', kind: 'rate-limit', problem: 'day', retryAfter: 66_975 }, 201);
    await sb.control('POST', '/sandbox/faults', { target: 'connections', kind: 'rate-limit', problem: 'concurrent' }, 201);
    const before = Date.now();
    const day = expectFailure(await api().list(t.access_token), t.access_token);
    expect(day.failure.detail).toMatch(/daily limit/);
    expect(Date.parse(day.failure.retryAt!) - before).toBeGreaterThanOrEqual(66_975_000);
    const concurrent = expectFailure(await api().list(t.access_token), t.access_token);
    expect(concurrent.failure.detail).toMatch(/concurrent limit/);
    expect((await api().list(t.access_token)).ok).toBe(true);
  });

  it('remove(): 204 removes, a second remove finds it gone (404), someone else’s connection is 403', async () => {
    const w = await buildWorld(sb, { orgs: 2 });
    const t = await connect(sb, w);
    const c = api();
    const listed = await c.list(t.access_token);
    if (!listed.ok) throw new Error('list failed');
    const target = listed.connections[0]!;
    expect(await c.remove(t.access_token, target.id)).toMatchObject({ ok: true, removed: true });
    const after = await c.list(t.access_token);
    expect(after.ok && after.connections.map((x) => x.id)).not.toContain(target.id);
    expect(await c.remove(t.access_token, target.id)).toMatchObject({ ok: true, removed: false });

    const other = await buildWorld(sb, { orgs: 1 });
    const theirs = await connect(sb, other);
    const theirList = await c.list(theirs.access_token);
    if (!theirList.ok) throw new Error('list failed');
    const f = expectFailure(await c.remove(t.access_token, theirList.connections[0]!.id), t.access_token);
    expect(f.failure.kind).toBe('forbidden');
  });

  it('a client deadline shorter than the sandbox hang → timeout, classified transient', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    await sb.control('PUT', '/sandbox/settings', { hangSeconds: 2 });
    await sb.control('POST', '/sandbox/faults', { target: 'connections', kind: 'timeout' }, 201);
    const f = expectFailure(await api(200).list(t.access_token), t.access_token);
    expect(f.failure).toEqual({ kind: 'timeout', at: expect.any(String), detail: 'no answer within 0.2 s' });
    expect(f.serverDate).toBeNull();
  });

  it('a cut connection → network; a 503 → server-error', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    await sb.control('POST', '/sandbox/faults', { target: 'api', kind: 'reset' }, 201);
    await sb.control('POST', '/sandbox/faults', { target: 'api', kind: 'status-503' }, 201);
    expect(expectFailure(await api().organisation(t.access_token, w.tenantIds[0]!), t.access_token).failure.kind).toBe('network');
    expect(expectFailure(await api().organisation(t.access_token, w.tenantIds[0]!), t.access_token).failure).toMatchObject({
      kind: 'server-error',
      detail: '503 Xero is offline for maintenance',
    });
  });

  it('estimates the clock skew from the Date header (sandbox 10 minutes ahead)', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    await sb.control('PUT', '/sandbox/settings', { clockSkewSeconds: 600 });
    const result = await api().list(t.access_token);
    expect(result.ok).toBe(true);
    expect(Math.abs(result.skewMs! - 600_000)).toBeLessThan(2000);
  });
});

describe('XeroConnectionsApi with an injected fetch', () => {
  const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWNyZXQifQ.c2lnbmF0dXJlLXNlY3JldA';
  const respond = (status: number, body: string, headers: Record<string, string> = {}) => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    const fake = (async (url: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(url), init: init ?? {} });
      return new Response(body, { status, headers: { 'content-type': 'application/json', date: new Date().toUTCString(), ...headers } });
    }) as typeof fetch;
    return { fake, calls };
  };
  const goodItem = {
    id: '7cb59f93-2964-421d-bb5e-a0f7a4572a44',
    authEventId: '00000000-0000-0000-0000-000000000000',
    tenantId: 'fe79f7dd-b6d4-4a92-ba7b-538af6289c58',
    tenantType: 'ORGANISATION',
    tenantName: 'Demo Company (NZ)',
    createdDateUtc: '2019-12-07T18:46:19.5165400',
    updatedDateUtc: '2019-12-07T18:46:19.5187840',
  };

  it("accepts Xero's own published example, sends the bearer token only in its header, no tenant header", async () => {
    const { fake, calls } = respond(200, JSON.stringify([goodItem]));
    const result = await new XeroConnectionsApi(fake, 'https://api.xero.com/', clock).list(TOKEN, { authEventId: 'abc' });
    expect(result).toMatchObject({ ok: true, connections: [{ ...goodItem, createdAt: Date.UTC(2019, 11, 7, 18, 46, 19, 516) }] });
    expect(calls[0]!.url).toBe('https://api.xero.com/connections?authEventId=abc');
    const headers = calls[0]!.init.headers as Record<string, string>;
    expect(headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(headers['xero-tenant-id']).toBeUndefined();
  });

  it('tolerates the 2020 shape without authEventId and tenantName', async () => {
    const { authEventId: _a, tenantName: _n, ...old } = goodItem;
    const result = await new XeroConnectionsApi(respond(200, JSON.stringify([old])).fake, 'https://api.xero.com', clock).list(TOKEN);
    expect(result).toMatchObject({ ok: true, connections: [{ authEventId: '', tenantName: null }] });
  });

  it.each([
    ['not JSON', '<<', /not valid JSON/],
    ['an object instead of a list', '{"connections":[]}', /unexpected shape/],
    ['a bad date', JSON.stringify([{ ...goodItem, createdDateUtc: '07/12/2019' }]), /unexpected shape \(\[0\]\.createdDateUtc\)/],
    ['a missing tenantId', JSON.stringify([{ ...goodItem, tenantId: undefined }]), /\(\[0\]\.tenantId\)/],
  ])('%s → malformed-response', async (_name, body, detail) => {
    const f = expectFailure(await new XeroConnectionsApi(respond(200, body).fake, 'https://api.xero.com', clock).list(TOKEN), TOKEN);
    expect(f.failure.kind).toBe('malformed-response');
    expect(f.failure.detail).toMatch(detail);
  });

  it('a thrown network error never carries the token', async () => {
    const fake = (async () => {
      throw new TypeError(`fetch failed for Bearer ${TOKEN}`, { cause: { code: 'ECONNREFUSED' } });
    }) as typeof fetch;
    const f = expectFailure(await new XeroConnectionsApi(fake, 'https://api.xero.com', clock).organisation(TOKEN, goodItem.tenantId), TOKEN);
    expect(f.failure).toMatchObject({ kind: 'network', detail: 'could not reach Xero (ECONNREFUSED)' });
  });

  it('does not follow a redirect with the bearer token; a 302 is a network problem', async () => {
    const { fake, calls } = respond(302, '', { location: 'http://captive.example/login' });
    const f = expectFailure(await new XeroConnectionsApi(fake, 'https://api.xero.com', clock).list(TOKEN), TOKEN);
    expect(calls[0]!.init.redirect).toBe('manual');
    expect(f.failure.kind).toBe('network');
  });

  it('sends the tenant header and asks for JSON on accounting probes', async () => {
    const { fake, calls } = respond(200, JSON.stringify({ Organisations: [{ Name: 'Acme' }] }), { 'x-minlimit-remaining': '59' });
    const result = await new XeroConnectionsApi(fake, 'https://api.xero.com', clock).organisation(TOKEN, goodItem.tenantId);
    expect(result).toMatchObject({ ok: true, organisationName: 'Acme', limits: { minute: 59, day: null, appMinute: null } });
    expect(calls[0]!.url).toBe('https://api.xero.com/api.xro/2.0/Organisation');
    expect(calls[0]!.init.headers).toMatchObject({ 'xero-tenant-id': goodItem.tenantId, accept: 'application/json' });
  });
  it.each([
    ['the settings scope', ['accounting.settings.read'], ['Organisation']],
    ['a reports scope', ['accounting.reports.read'], ['Reports/BalanceSheet']],
    ['the granular balance-sheet scope and settings', ['accounting.settings', 'accounting.reports.balancesheet.read'], ['Organisation', 'Reports/BalanceSheet']],
  ])('the engine\'s probe with %s calls only what the scopes allow', async (_name, scopes, resources) => {
    const { fake, calls } = respond(200, JSON.stringify({ Organisations: [{ Name: 'Acme' }] }));
    const api = new XeroConnectionsApi(fake, 'https://api.xero.com', clock);
    expect(api.canProbe(scopes)).toBe(true);
    expect((await api.probe(TOKEN, goodItem.tenantId, scopes)).ok).toBe(true);
    expect(calls.map((c) => c.url)).toEqual(resources.map((r) => `https://api.xero.com/api.xro/2.0/${r}`));
  });

  it('an app without a settings or reports scope has no per-organisation probe; a failed Organisation skips the report', async () => {
    const api = new XeroConnectionsApi(respond(200, '{}').fake, 'https://api.xero.com', clock);
    expect(api.canProbe(['openid', 'offline_access', 'accounting.transactions'])).toBe(false);
    const { fake, calls } = respond(403, JSON.stringify({ Title: 'Forbidden', Detail: 'AuthorizationUnsuccessful' }));
    const r = await new XeroConnectionsApi(fake, 'https://api.xero.com', clock).probe(TOKEN, goodItem.tenantId, ['accounting.settings', 'accounting.reports.read']);
    expect(r.ok).toBe(false);
    expect(calls).toHaveLength(1);
  });
});
