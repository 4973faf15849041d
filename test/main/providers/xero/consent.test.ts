import { describe, expect, it } from 'vitest';
import type { ConnectionsPort, ListResult } from '../../../../main/refresh/engine.js';
import { xeroProvider } from '../../../../main/providers/xero/provider.js';

/** How a finished Xero consent becomes organisations: the provider reads its own claim, the service names none. */

const listing = (tenantIds: string[]): ListResult => ({
  ok: true,
  connections: tenantIds.map((tenantId) => ({
    id: `c-${tenantId}`,
    tenantId,
    tenantName: null,
    tenantType: 'ORGANISATION',
    authEventId: 'e1',
    createdDateUtc: '2026-01-01T00:00:00',
    updatedDateUtc: '2026-01-01T00:00:00',
  })),
});

function fakeConnections(): ConnectionsPort & { calls: Array<string | undefined> } {
  const calls: Array<string | undefined> = [];
  return {
    calls,
    async list(_token, opts) {
      calls.push(opts?.authEventId);
      return opts?.authEventId ? listing(['t1']) : listing(['t1', 't2']);
    },
    canProbe: () => false,
    probe: async () => ({ ok: true }),
  };
}

describe('Xero: organisations of a consent', () => {
  it("lists everything, then what the consent's authentication_event_id ticked, and keeps that id", async () => {
    const api = fakeConnections();
    const r = await xeroProvider.organisationsOfConsent(api, {
      accessToken: 'at',
      accessClaims: { scope: [], authentication_event_id: 'e1' },
      callback: { scope: 'openid' },
    });
    expect(api.calls).toEqual([undefined, 'e1']);
    expect(r.all).toEqual(listing(['t1', 't2']));
    expect(r.ticked).toEqual(listing(['t1']));
    expect(r.consentIds).toEqual(['e1']);
  });

  it('without the claim (an access token that is not a JWT), what was ticked is everything listed', async () => {
    const api = fakeConnections();
    const r = await xeroProvider.organisationsOfConsent(api, { accessToken: 'at', accessClaims: null, callback: {} });
    expect(api.calls).toEqual([undefined]);
    expect(r.ticked).toBe(r.all);
    expect(r.consentIds).toEqual([]);
  });

  it('names the staff member by xero_userid, falling back to sub', () => {
    const claims = { sub: 's1', email: null, given_name: null, family_name: null, preferred_username: null };
    expect(xeroProvider.staffIdOf({ ...claims, xero_userid: 'u1' })).toBe('u1');
    expect(xeroProvider.staffIdOf({ ...claims, xero_userid: '' })).toBe('s1');
    expect(xeroProvider.staffIdOf(claims)).toBe('s1');
  });
});
