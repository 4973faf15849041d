import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { api, buildWorld, connect, decodeJwt, refresh, startTestSandbox, type TestSandbox } from '../../../../support/sandbox.js';
import { useSandbox } from '../../../../support/use-sandbox.js';

/**
 * `GET /connections` and `DELETE /connections/{id}` against Xero's own OpenAPI description
 * (shared/reference/xero-identity.yaml) and xero-protocol.md §1, §4.2, §5.2, §11.5.
 */

const IDENTITY_YAML = '/work/shared/reference/xero-identity.yaml';
const XERO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SEVEN_FIELDS = ['id', 'authEventId', 'tenantId', 'tenantType', 'tenantName', 'createdDateUtc', 'updatedDateUtc'];

interface Validators {
  /** The response schema exactly as Xero publishes it. */
  asPublished: ValidateFunction;
  /** The same schema made strict: all seven fields required, nothing else allowed. */
  strict: ValidateFunction;
  /** The schema with ajv-formats' RFC 3339 `date-time`, to show why it cannot be used as is. */
  rfc3339: ValidateFunction;
  example: unknown;
}

function buildValidators(): Validators {
  const doc = parse(readFileSync(IDENTITY_YAML, 'utf8'));
  const response = doc.paths['/Connections'].get.responses['200'].content['application/json'];
  const listSchema = response.schema;
  expect(listSchema.items.$ref).toBe('#/components/schemas/Connection');

  // OpenAPI annotations Ajv does not know; they carry no validation meaning.
  const vocabulary = ['externalDocs', 'x-is-datetime', 'x-php-format', 'components'];
  const withComponents = (connection: unknown) => ({ ...listSchema, components: { schemas: { Connection: connection } } });

  // Xero writes dates in .NET round-trip form with seven fractional digits and no offset or `Z`
  // ("2019-12-07T18:46:19.5165400", the example in the very same YAML). RFC 3339 `date-time`, which is what
  // ajv-formats implements, requires an offset and so rejects Xero's own example. The spec's `format:
  // date-time` therefore means "Xero's date-time", and that is the format registered here.
  const makeAjv = (xeroDates: boolean) => {
    const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
    addFormats(ajv, ['uuid', 'date-time']);
    if (xeroDates) ajv.addFormat('date-time', XERO_DATE);
    ajv.addVocabulary(vocabulary);
    return ajv;
  };

  const published = doc.components.schemas.Connection;
  const strictConnection = structuredClone(published);
  strictConnection.type = 'object';
  strictConnection.required = SEVEN_FIELDS;
  strictConnection.additionalProperties = false;
  expect(Object.keys(strictConnection.properties).sort()).toEqual([...SEVEN_FIELDS].sort());

  return {
    asPublished: makeAjv(true).compile(withComponents(published)),
    strict: makeAjv(true).compile(withComponents(strictConnection)),
    rfc3339: makeAjv(false).compile(withComponents(published)),
    example: JSON.parse(response.example),
  };
}

describe('the Connection schema check itself', () => {
  const v = buildValidators();

  it("accepts Xero's own published example once date-time means Xero's seven-digit, Z-less form", () => {
    expect(v.asPublished(v.example), JSON.stringify(v.asPublished.errors)).toBe(true);
    expect(v.rfc3339(v.example)).toBe(false);
    expect(v.rfc3339.errors?.map((e) => e.instancePath)).toContain('/0/createdDateUtc');
  });

  it('rejects a missing field, an extra field, a non-uuid id and a date with Z', () => {
    const good = {
      id: randomUUID(), authEventId: randomUUID(), tenantId: randomUUID(), tenantType: 'ORGANISATION',
      tenantName: 'X', createdDateUtc: '2019-12-07T18:46:19.5165400', updatedDateUtc: '2019-12-07T18:46:19.5187840',
    };
    expect(v.strict([good])).toBe(true);
    const { authEventId: _omit, ...missing } = good;
    expect(v.strict([missing])).toBe(false);
    expect(v.strict([{ ...good, userId: 'u' }])).toBe(false);
    expect(v.strict([{ ...good, id: 'not-a-uuid' }])).toBe(false);
    expect(v.strict([{ ...good, createdDateUtc: '2019-12-07T18:46:19.5165400Z' }])).toBe(false);
    expect(v.strict([{ ...good, createdDateUtc: '2019-12-07T18:46:19.516Z' }])).toBe(false);
  });
});

describe('GET /connections', () => {
  let sb: TestSandbox;
  const v = buildValidators();
  beforeAll(async () => {
    sb = await startTestSandbox();
  });
  afterAll(() => sb.close());

  async function orgNames(): Promise<Map<string, string>> {
    const state = await sb.control('GET', '/sandbox/state');
    return new Map(state.orgs.map((o: { tenantId: string; name: string }) => [o.tenantId, o.name]));
  }

  it("answers Xero's Connection shape, strictly valid against xero-identity.yaml, without a tenant header", async () => {
    const w = await buildWorld(sb, { orgs: 3 });
    const t = await connect(sb, w);
    const res = await api(sb, '/connections', t.access_token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('xero-correlation-id')).toMatch(UUID);
    expect(v.strict(res.body), JSON.stringify(v.strict.errors)).toBe(true);
    expect(res.body).toHaveLength(3);

    const names = await orgNames();
    const claims = decodeJwt(t.access_token).payload;
    for (const c of res.body) {
      expect(Object.keys(c).sort()).toEqual([...SEVEN_FIELDS].sort());
      expect(c.id).toMatch(UUID);
      expect(c.tenantId).toMatch(UUID);
      expect(c.tenantType).toBe('ORGANISATION');
      expect(c.tenantName).toBe(names.get(c.tenantId));
      expect(c.authEventId).toBe(claims.authentication_event_id);
      for (const date of [c.createdDateUtc, c.updatedDateUtc]) {
        expect(date).toMatch(XERO_DATE);
        expect(date).not.toMatch(/Z$/i);
        expect(date).not.toMatch(/[+-]\d\d:\d\d$/);
        // No kind on the wire: a client must read it as UTC.
        expect(Math.abs(Date.parse(`${date}Z`) - Date.now())).toBeLessThan(10_000);
      }
      expect(Date.parse(`${c.updatedDateUtc}Z`)).toBeGreaterThanOrEqual(Date.parse(`${c.createdDateUtc}Z`));
    }
    expect(res.body.map((c: { tenantId: string }) => c.tenantId).sort()).toEqual([...w.tenantIds].sort());
    expect(new Set(res.body.map((c: { id: string }) => c.id)).size).toBe(3);
  });

  it('reports a PRACTICE tenant with tenantType PRACTICE', async () => {
    const { tenantId } = await sb.control('POST', '/sandbox/orgs', { name: `Practice ${randomUUID()}`, tenantType: 'PRACTICE' });
    const w = await buildWorld(sb, { orgs: 0 });
    await sb.control('PUT', `/sandbox/users/${w.userId}/orgs/${tenantId}`, { role: 'adviser' });
    const t = await connect(sb, { ...w, tenantIds: [tenantId] });
    const res = await api(sb, '/connections', t.access_token);
    expect(v.strict(res.body), JSON.stringify(v.strict.errors)).toBe(true);
    expect(res.body).toEqual([expect.objectContaining({ tenantId, tenantType: 'PRACTICE' })]);
  });

  it('serves /Connections (capital C, as the OpenAPI spells it) the same way', async () => {
    const w = await buildWorld(sb, { orgs: 2 });
    const t = await connect(sb, w);
    const lower = await api(sb, '/connections', t.access_token);
    const upper = await api(sb, '/Connections', t.access_token);
    expect(upper.status).toBe(200);
    expect(v.strict(upper.body)).toBe(true);
    expect(upper.body).toEqual(lower.body);
  });

  it('filters by ?authEventId to the organisations picked in that one consent', async () => {
    const w = await buildWorld(sb, { orgs: 3 });
    const first = await connect(sb, w, { tenantIds: [w.tenantIds[0]!] });
    const second = await connect(sb, w, { tenantIds: [w.tenantIds[1]!, w.tenantIds[2]!] });
    expect(first.authEventId).not.toBe(second.authEventId);

    const all = await api(sb, '/connections', second.access_token);
    expect(all.body).toHaveLength(3);

    const one = await api(sb, `/connections?authEventId=${first.authEventId}`, second.access_token);
    expect(one.status).toBe(200);
    expect(v.strict(one.body)).toBe(true);
    expect(one.body.map((c: { tenantId: string }) => c.tenantId)).toEqual([w.tenantIds[0]]);
    expect(one.body[0].authEventId).toBe(first.authEventId);

    const two = await api(sb, `/connections?authEventId=${second.authEventId}`, second.access_token);
    expect(two.body.map((c: { tenantId: string }) => c.tenantId).sort()).toEqual([w.tenantIds[1], w.tenantIds[2]].sort());
    expect(two.body.every((c: { authEventId: string }) => c.authEventId === second.authEventId)).toBe(true);

    const none = await api(sb, `/connections?authEventId=${randomUUID()}`, second.access_token);
    expect(none.status).toBe(200);
    expect(none.body).toEqual([]);
  });

  it('answers [] for a valid token whose consent connected no organisation', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w, { tenantIds: [] });
    const res = await api(sb, '/connections', t.access_token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
    expect(v.strict(res.body)).toBe(true);
  });

  it('answers [] while the token lives on after its last connection went, when the grant survives that (Xero-OpenAPI#585)', async () => {
    await sb.control('PUT', '/sandbox/settings', { lastConnectionRemovalRevokesGrant: false });
    try {
      const w = await buildWorld(sb, { orgs: 1 });
      const t = await connect(sb, w);
      const [conn] = (await api(sb, '/connections', t.access_token)).body;
      expect((await api(sb, `/connections/${conn.id}`, t.access_token, undefined, { method: 'DELETE' })).status).toBe(204);
      expect((await api(sb, '/connections', t.access_token)).body).toEqual([]);
      const org = await api(sb, '/api.xro/2.0/Organisation', t.access_token, w.tenantIds[0]);
      expect(org.status).toBe(403);
      expect(org.body.Detail).toBe('AuthenticationUnsuccessful');
    } finally {
      await sb.control('PUT', '/sandbox/settings', { lastConnectionRemovalRevokesGrant: true });
    }
  });

  it('shows a user only their own connections to this app, not other users’ or other apps’', async () => {
    const w = await buildWorld(sb, { orgs: 2 });
    const t = await connect(sb, w);
    // A colleague in the same organisations connects the same app.
    const { userId: colleague } = await sb.control('POST', '/sandbox/users', {
      email: `colleague-${randomUUID()}@firm.example`, givenName: 'Col', familyName: 'League',
    });
    for (const tid of w.tenantIds) await sb.control('PUT', `/sandbox/users/${colleague}/orgs/${tid}`, { role: 'standard' });
    const theirs = await connect(sb, w, { userId: colleague, tenantIds: [w.tenantIds[0]!] });
    // The same user connects a second app.
    const other = await sb.control('POST', '/sandbox/apps', {
      name: `Other ${randomUUID()}`, type: 'pkce', redirectUris: ['http://127.0.0.1:5001/callback'], tier: 'advanced', multiOrgConsent: true,
    });
    await connect(sb, { ...w, clientId: other.clientId }, { tenantIds: [w.tenantIds[1]!] });

    const mine = await api(sb, '/connections', t.access_token);
    expect(mine.body).toHaveLength(2);
    const colleagues = await api(sb, '/connections', theirs.access_token);
    expect(colleagues.body.map((c: { tenantId: string }) => c.tenantId)).toEqual([w.tenantIds[0]]);
    const ids = new Set(mine.body.map((c: { id: string }) => c.id));
    expect(ids.has(colleagues.body[0].id)).toBe(false);
  });

  it('refuses a missing, garbled or expired token with 401', async () => {
    // Its own sandbox: it moves the clock.
    const sb = await startTestSandbox();
    onTestFinished(() => sb.close());
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    const none = await api(sb, '/connections', null);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ Title: 'Unauthorized', Status: 401, Detail: 'AuthenticationUnsuccessful' });
    const garbled = await api(sb, '/connections', 'not.a.jwt');
    expect(garbled.status).toBe(401);
    expect(garbled.body.Detail).toBe('AuthenticationUnsuccessful');
    await sb.control('POST', '/sandbox/clock', { advanceSeconds: 1801 });
    const expired = await api(sb, '/connections', t.access_token);
    expect(expired.status).toBe(401);
    expect(expired.body.Detail).toMatch(/^TokenExpired: token expired at \d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d$/);
  });
});

describe('DELETE /connections/{id}', () => {
  const sb = useSandbox();

  const del = (id: string, token: string) => api(sb, `/connections/${id}`, token, undefined, { method: 'DELETE' });

  it('answers 204 with no body, after which the connection is gone and its tenant refuses the token', async () => {
    const w = await buildWorld(sb, { orgs: 2 });
    const t = await connect(sb, w);
    const before = (await api(sb, '/connections', t.access_token)).body as Array<{ id: string; tenantId: string }>;
    const gone = before.find((c) => c.tenantId === w.tenantIds[0])!;

    const res = await del(gone.id, t.access_token);
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect(res.headers.get('xero-correlation-id')).toMatch(UUID);

    const after = (await api(sb, '/connections', t.access_token)).body as Array<{ id: string; tenantId: string }>;
    expect(after.map((c) => c.tenantId)).toEqual([w.tenantIds[1]]);
    expect((await api(sb, '/api.xro/2.0/Organisation', t.access_token, w.tenantIds[0])).status).toBe(403);
    expect((await api(sb, '/api.xro/2.0/Organisation', t.access_token, w.tenantIds[1])).status).toBe(200);
    // The token set stays valid for the remaining organisation (xero-protocol.md §6).
    expect((await refresh(sb, w, t.refresh_token)).status).toBe(200);

    const again = await del(gone.id, t.access_token);
    expect(again.status).toBe(404);
    expect(again.headers.get('xero-correlation-id')).toMatch(UUID);
  });

  it('answers 404 for an id that never existed', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    expect((await del(randomUUID(), t.access_token)).status).toBe(404);
    expect((await del('not-even-a-uuid', t.access_token)).status).toBe(404);
    expect((await api(sb, '/connections', t.access_token)).body).toHaveLength(1);
  });

  it('answers 403 to a tenantId given instead of the connection id, as Xero does (xero-node#403), and 404 to an authEventId (pyxero#307)', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    const byTenant = await del(w.tenantIds[0]!, t.access_token);
    expect(byTenant.status).toBe(403);
    expect(byTenant.body).toMatchObject({ Title: 'Forbidden', Status: 403, Detail: 'AuthenticationUnsuccessful' });
    expect((await del(t.authEventId, t.access_token)).status).toBe(404);
    expect((await api(sb, '/connections', t.access_token)).body).toHaveLength(1);
  });

  it("answers 403 AuthenticationUnsuccessful for someone else's connection and leaves it in place", async () => {
    const mine = await buildWorld(sb, { orgs: 1 });
    const theirs = await buildWorld(sb, { orgs: 1 });
    const myTokens = await connect(sb, mine);
    const theirTokens = await connect(sb, theirs);
    const [theirConn] = (await api(sb, '/connections', theirTokens.access_token)).body;

    const res = await del(theirConn.id, myTokens.access_token);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ Type: null, Title: 'Forbidden', Status: 403, Detail: 'AuthenticationUnsuccessful', Extensions: {} });
    expect((await api(sb, '/connections', theirTokens.access_token)).body).toEqual([theirConn]);
  });

  it("answers 403 for the same user's connection to a different app", async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    const other = await sb.control('POST', '/sandbox/apps', {
      name: `Other ${randomUUID()}`, type: 'pkce', redirectUris: ['http://127.0.0.1:5001/callback'], tier: 'advanced',
    });
    const otherTokens = await connect(sb, { ...w, clientId: other.clientId });
    const [otherConn] = (await api(sb, '/connections', otherTokens.access_token)).body;
    expect((await del(otherConn.id, t.access_token)).status).toBe(403);
    expect((await api(sb, '/connections', otherTokens.access_token)).body).toHaveLength(1);
  });

  it('answers 400, not a crash, to an id that is not valid percent-encoding', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    const res = await del('%ZZ', t.access_token);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ Title: 'Bad Request', Status: 400 });
    expect((await api(sb, '/connections', t.access_token)).body).toHaveLength(1);
  });

  it('needs a valid access token', async () => {
    const w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    const [conn] = (await api(sb, '/connections', t.access_token)).body;
    const res = await api(sb, `/connections/${conn.id}`, null, undefined, { method: 'DELETE' });
    expect(res.status).toBe(401);
    expect((await api(sb, '/connections', t.access_token)).body).toHaveLength(1);
  });
});
