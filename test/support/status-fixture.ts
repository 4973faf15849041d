import type { StatusSnapshot } from '../../shared/api.js';

/**
 * A status snapshot shaped like the sandbox's `scale` seed (by default 2,000 organisations × 5 apps, 40 staff:
 * 200 grants, 10,000 connections), built in memory for unit tests of the status deltas. Ids are UUID-sized, as
 * Xero's are, so byte counts are realistic.
 */
export function scaleStatus(size: { orgs?: number; apps?: number; staff?: number } = {}): StatusSnapshot {
  const orgs = size.orgs ?? 2000;
  const apps = size.apps ?? 5;
  const staff = size.staff ?? 40;
  const uuid = (kind: number, n: number) => `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  const at = '2026-03-01T09:00:00.000Z';
  return {
    generatedAt: at,
    keychain: 'available',
    apps: Array.from({ length: apps }, (_, a) => ({
      id: uuid(1, a),
      name: `Scale App ${a + 1}`,
      clientId: `CLIENT${a}`.padEnd(32, 'X'),
      authType: 'pkce' as const,
      connectionCap: null,
      connectionCount: orgs,
      multiOrgConsent: true,
      createdBy: null,
      credentialState: 'ok' as const,
    })),
    staff: Array.from({ length: staff }, (_, s) => ({ id: uuid(2, s), email: `staff${s}@firm.example`, name: `Staff Member ${s}`, status: 'active' as const })),
    grants: Array.from({ length: apps * staff }, (_, g) => ({
      id: uuid(3, g),
      appId: uuid(1, Math.floor(g / staff)),
      staffId: uuid(2, g % staff),
      health: 'healthy' as const,
      cause: null,
      lastRefreshAt: at,
      refreshTokenExpiresAt: '2026-04-30T09:00:00.000Z',
      daysLeft: 60,
      lastFailure: null,
    })),
    connections: Array.from({ length: apps * orgs }, (_, c) => {
      const a = Math.floor(c / orgs);
      const o = c % orgs;
      const s = o % staff;
      return {
        id: uuid(4, c),
        appId: uuid(1, a),
        orgId: uuid(5, o),
        orgName: `Scale Organisation ${String(o).padStart(4, '0')}`,
        grantId: uuid(3, a * staff + s),
        staffId: uuid(2, s),
        health: 'healthy' as const,
        cause: null,
        confidence: null,
        since: at,
        fix: null,
        fixAction: null,
        incidentId: null,
      };
    }),
    incidents: [],
    settings: { probeIntervalMinutes: 60, keepAliveHours: 24, expiringAfterDays: 14, notifications: true, firmName: 'Scale Firm', advisorName: '' },
    clockSkewMs: null,
  };
}

/** A deep copy at a later time: what the service answers when nothing changed. */
export function later(s: StatusSnapshot, at = '2026-03-01T09:00:05.000Z'): StatusSnapshot {
  return { ...structuredClone(s), generatedAt: at };
}
