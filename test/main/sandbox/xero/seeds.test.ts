import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  authorizeUrl,
  getAuthorize,
  pkcePair,
  startTestSandbox,
  tokenRequest,
  type TestSandbox,
} from '../../../support/sandbox.js';
import { useSandbox } from '../../../support/use-sandbox.js';

/**
 * Seeds: `demo` is a believable accounting firm, identical on every run; `scale` is sized for benchmarks;
 * both are reachable through POST /sandbox/reset and at start-up.
 */

interface StateOrg { tenantId: string; name: string; tenantType: string }
interface StateUser { userId: string; email: string; roles: Record<string, string> }
interface StateApp { clientId: string; name: string; type: 'pkce' | 'web'; multiOrgConsent: boolean; tier: string; connectionCap: number | null; redirectUris: string[]; createdBy: string | null }
interface State { orgs: StateOrg[]; users: StateUser[]; apps: StateApp[]; thirdPartyConnections: Array<{ tenantId: string; appName: string; authorisedBy: string }>; connections: unknown[] }

const ids = (s: State) => ({
  tenantIds: s.orgs.map((o) => `${o.name}=${o.tenantId}`).sort(),
  userIds: s.users.map((u) => `${u.email}=${u.userId}`).sort(),
  clientIds: s.apps.map((a) => `${a.name}=${a.clientId}`).sort(),
});

/** Runs a PKCE consent through a seeded app's own loopback redirect URI. */
async function connectVia(sb: TestSandbox, app: StateApp, userId: string, tenantIds: string[]) {
  await sb.control('POST', '/sandbox/consents', { clientId: app.clientId, userId, tenantIds });
  const redirectUri = app.redirectUris[0]!;
  const { verifier, challenge } = pkcePair();
  const auth = await getAuthorize(authorizeUrl(sb.origin, { clientId: app.clientId, redirectUri, challenge }));
  expect(auth.status, auth.body.slice(0, 200)).toBe(302);
  const res = await tokenRequest(sb.origin, {
    grant_type: 'authorization_code', code: auth.location!.searchParams.get('code')!, redirect_uri: redirectUri,
    code_verifier: verifier, client_id: app.clientId,
  });
  expect(res.status).toBe(200);
  return res.body as { access_token: string };
}

describe('demo seed', () => {
  let sb: TestSandbox;
  let state: State;
  beforeAll(async () => {
    sb = await startTestSandbox({ seed: 'demo' });
    state = await sb.control('GET', '/sandbox/state');
  });
  afterAll(() => sb.close());

  it('has about 40 organisations, 6 staff and 3 apps', () => {
    expect(state.orgs).toHaveLength(40);
    expect(new Set(state.orgs.map((o) => o.name)).size).toBe(40);
    expect(state.users).toHaveLength(6);
    expect(state.apps).toHaveLength(3);
    expect(state.connections).toEqual([]);
  });

  it('has a PKCE app with multi-organisation consent and a web app', () => {
    expect(state.apps.some((a) => a.type === 'pkce' && a.multiOrgConsent)).toBe(true);
    expect(state.apps.some((a) => a.type === 'web')).toBe(true);
    // Apps belong to staff, so deleting a leaver can take an app with them.
    const userIds = new Set(state.users.map((u) => u.userId));
    expect(state.apps.every((a) => a.createdBy !== null && userIds.has(a.createdBy))).toBe(true);
  });

  it('gives every staff member organisations, a partner who is in all of them, and one invoice-only role', () => {
    for (const u of state.users) expect(Object.keys(u.roles).length, u.email).toBeGreaterThan(0);
    expect(state.users.some((u) => Object.keys(u.roles).length === 40)).toBe(true);
    const roles = state.users.flatMap((u) => Object.values(u.roles));
    expect(roles).toContain('invoice-only');
    const tenantIds = new Set(state.orgs.map((o) => o.tenantId));
    for (const u of state.users) for (const t of Object.keys(u.roles)) expect(tenantIds.has(t)).toBe(true);
  });

  it('lists third-party connections in organisations, each authorised by a member of that organisation', () => {
    expect(state.thirdPartyConnections.length).toBeGreaterThan(0);
    const users = new Map(state.users.map((u) => [u.userId, u]));
    for (const c of state.thirdPartyConnections) {
      expect(c.appName).toEqual(expect.any(String));
      expect(state.orgs.some((o) => o.tenantId === c.tenantId)).toBe(true);
      expect(users.get(c.authorisedBy)?.roles[c.tenantId], `${c.appName} in ${c.tenantId}`).toBeDefined();
    }
    // None of them is one of the firm's own apps.
    const own = new Set(state.apps.map((a) => a.name));
    expect(state.thirdPartyConnections.some((c) => own.has(c.appName))).toBe(false);
  });

  it('works end to end: the partner connects several organisations through the PKCE app and calls the API', async () => {
    const app = state.apps.find((a) => a.type === 'pkce' && a.multiOrgConsent)!;
    const partner = state.users.find((u) => Object.keys(u.roles).length === 40)!;
    const tenantIds = Object.keys(partner.roles).slice(0, 3);
    const t = await connectVia(sb, app, partner.userId, tenantIds);
    const list = await api(sb, '/connections', t.access_token);
    expect(list.body.map((c: { tenantId: string }) => c.tenantId).sort()).toEqual([...tenantIds].sort());
    expect((await api(sb, '/api.xro/2.0/Organisation', t.access_token, tenantIds[0])).status).toBe(200);
  });

  it('is identical in two separate sandboxes: same tenantIds, userIds and clientIds', async () => {
    const other = await startTestSandbox({ seed: 'demo' });
    try {
      const otherState: State = await other.control('GET', '/sandbox/state');
      expect(ids(otherState)).toEqual(ids(state));
      expect(otherState.thirdPartyConnections).toEqual(state.thirdPartyConnections);
      expect(otherState.users.map((u) => u.roles)).toEqual(state.users.map((u) => u.roles));
      // Web-app secrets are the exception: they must not be derivable from the public seed.
      const a = await sb.control('POST', '/sandbox/reset', { seed: 'demo' });
      const b = await other.control('POST', '/sandbox/reset', { seed: 'demo' });
      const secret = (s: { apps: Array<{ clientSecret?: string }> }) => s.apps.find((x) => x.clientSecret)!.clientSecret;
      expect(secret(a)).not.toBe(secret(b));
      expect(a.apps.map((x: { clientId: string }) => x.clientId)).toEqual(b.apps.map((x: { clientId: string }) => x.clientId));
    } finally {
      await other.close();
    }
  });

  it('comes back with the same ids after a reset to demo', async () => {
    const summary = await sb.control('POST', '/sandbox/reset', { seed: 'demo' });
    expect(summary).toMatchObject({ seed: 'demo', orgs: 40, users: 6, connections: 0 });
    expect(ids(await sb.control('GET', '/sandbox/state'))).toEqual(ids(state));
  });
});

describe('scale seed', () => {
  const sb = useSandbox();

  const orgsPerStaff = (s: State) => s.users.map((u) => Object.keys(u.roles).length);

  it('defaults to 2000 organisations, 5 apps and 40 staff, each staff member looking after 50', async () => {
    const summary = await sb.control('POST', '/sandbox/reset', { seed: 'scale' });
    expect(summary).toMatchObject({ seed: 'scale', orgs: 2000, users: 40, connections: 0 });
    expect(summary.apps).toHaveLength(5);
    const state: State = await sb.control('GET', '/sandbox/state');
    expect(state.orgs).toHaveLength(2000);
    expect(state.users).toHaveLength(40);
    expect(state.apps).toHaveLength(5);
    expect(orgsPerStaff(state)).toEqual(Array(40).fill(50));
    // Every organisation is looked after by exactly one staff member.
    const covered = state.users.flatMap((u) => Object.keys(u.roles));
    expect(new Set(covered).size).toBe(2000);
    // Apps may reach every organisation: PKCE, multi-organisation consent, no connection cap.
    for (const app of state.apps) expect(app).toMatchObject({ type: 'pkce', multiOrgConsent: true, connectionCap: null });
  });

  it('takes custom sizes: {orgs: 50, apps: 2, staff: 5} gives each staff member 10 organisations', async () => {
    const summary = await sb.control('POST', '/sandbox/reset', { seed: 'scale', scale: { orgs: 50, apps: 2, staff: 5 } });
    expect(summary).toMatchObject({ seed: 'scale', orgs: 50, users: 5 });
    expect(summary.apps).toHaveLength(2);
    const state: State = await sb.control('GET', '/sandbox/state');
    expect(orgsPerStaff(state)).toEqual([10, 10, 10, 10, 10]);
    expect(new Set(state.users.map((u) => u.email)).size).toBe(5);
  });

  it('spreads organisations as evenly as it can when they do not divide', async () => {
    await sb.control('POST', '/sandbox/reset', { seed: 'scale', scale: { orgs: 7, apps: 1, staff: 3 } });
    const state: State = await sb.control('GET', '/sandbox/state');
    expect(orgsPerStaff(state).sort((a, b) => a - b)).toEqual([2, 2, 3]);
  });

  it('fills in sizes that are left out', async () => {
    const summary = await sb.control('POST', '/sandbox/reset', { seed: 'scale', scale: { orgs: 20 } });
    expect(summary).toMatchObject({ orgs: 20, users: 40 });
    expect(summary.apps).toHaveLength(5);
  });

  it('gives the same ids whether the default sizes are left out, given as {}, or spelled out', async () => {
    await sb.control('POST', '/sandbox/reset', { seed: 'scale' });
    const omitted = ids(await sb.control('GET', '/sandbox/state'));
    await sb.control('POST', '/sandbox/reset', { seed: 'scale', scale: {} });
    expect(ids(await sb.control('GET', '/sandbox/state'))).toEqual(omitted);
    await sb.control('POST', '/sandbox/reset', { seed: 'scale', scale: { orgs: 2000, apps: 5, staff: 40 } });
    expect(ids(await sb.control('GET', '/sandbox/state'))).toEqual(omitted);
  });

  it('is deterministic for the same sizes and differs for different ones', async () => {
    await sb.control('POST', '/sandbox/reset', { seed: 'scale', scale: { orgs: 12, apps: 2, staff: 3 } });
    const first = ids(await sb.control('GET', '/sandbox/state'));
    await sb.control('POST', '/sandbox/reset', { seed: 'scale', scale: { orgs: 12, apps: 2, staff: 3 } });
    expect(ids(await sb.control('GET', '/sandbox/state'))).toEqual(first);
    await sb.control('POST', '/sandbox/reset', { seed: 'scale', scale: { orgs: 12, apps: 2, staff: 4 } });
    expect(ids(await sb.control('GET', '/sandbox/state')).tenantIds).not.toEqual(first.tenantIds);
  });

  it('works end to end: a staff member connects all their organisations in one consent', async () => {
    await sb.control('POST', '/sandbox/reset', { seed: 'scale', scale: { orgs: 50, apps: 2, staff: 5 } });
    const state: State = await sb.control('GET', '/sandbox/state');
    const staff = state.users[0]!;
    const t = await connectVia(sb, state.apps[1]!, staff.userId, Object.keys(staff.roles));
    expect((await api(sb, '/connections', t.access_token)).body).toHaveLength(10);
  });

  it('refuses sizes out of range or unknown size keys with 400', async () => {
    for (const scale of [{ orgs: 0 }, { orgs: 50_001 }, { apps: 51 }, { staff: 0 }, { staff: 2.5 }, { tenants: 5 }]) {
      const res = await sb.controlRaw('POST', '/sandbox/reset', { seed: 'scale', scale });
      expect(res.status, JSON.stringify(scale)).toBe(400);
      expect(res.body.error).toMatch(/scale/);
    }
  });
});

describe('empty seed', () => {
  it('starts with nothing at all', async () => {
    const sb = await startTestSandbox({ seed: 'empty' });
    try {
      const state: State = await sb.control('GET', '/sandbox/state');
      expect([state.orgs, state.users, state.apps, state.thirdPartyConnections]).toEqual([[], [], [], []]);
    } finally {
      await sb.close();
    }
  });
});
