import type { App, Connection, Grant, Organisation, StaffMember } from '../../shared/domain.js';

/**
 * The records of a seeded relink.json, for tests that start from what an earlier Relink left behind rather than
 * connecting through the sandbox: an app, a grant, its connections, the staff and the organisations. Every
 * date is `SEEDED_AT` unless a test says otherwise, and no app's sign-in server answers (port 9), so nothing
 * seeded can reach a real or sandboxed Xero.
 */

export const SEEDED_AT = '2026-03-01T09:00:00.000Z';

/** Xero user ids of the seeded advisers, and the tenant id of seeded organisation `i`. */
export const JANE = '7f3c1a52-1d6e-4c3a-9a4b-1f2e3d4c5b6a';
export const TOM = '0b9d8c7e-6f5a-4b3c-8d2e-1a0f9e8d7c6b';
export const seededTenant = (i: number): string => `a1b2c3d4-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** The first line a third-party-apps CSV must start with (main/workflows/tracked-import.ts). */
export const TRACKED_CSV_HEADER = 'organisation,app,authorised_by,reconnect_url,notes';

/** An app as `relink apps add` records it; its issuer and API base are a closed loopback port. */
export function seededApp(id: string, name: string, over: Partial<App> = {}): App {
  return {
    id,
    name,
    provider: 'xero',
    clientId: `${id.toUpperCase().replace(/-/g, '')}CLIENT`,
    authType: 'pkce',
    issuer: 'http://127.0.0.1:9',
    apiBase: 'http://127.0.0.1:9',
    redirectPorts: [5999],
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    connectionCap: null,
    multiOrgConsent: true,
    createdBy: null,
    createdAt: SEEDED_AT,
    ...over,
  };
}

/** A grant last refreshed and checked at `SEEDED_AT`; `revoked`: Xero answered its last refresh with invalid_grant. */
export function seededGrant(id: string, appId: string, staffId: string, state: 'active' | 'revoked' = 'active'): Grant {
  const revoked = state === 'revoked';
  return {
    id,
    appId,
    staffId,
    scopes: [],
    authEventIds: [],
    connectedAt: SEEDED_AT,
    refreshTokenIssuedAt: SEEDED_AT,
    lastRefreshAt: SEEDED_AT,
    lastProbeAt: SEEDED_AT,
    consecutiveFailures: revoked ? 1 : 0,
    lastFailure: revoked ? { kind: 'invalid-grant', at: SEEDED_AT, detail: '400 invalid_grant' } : null,
    state,
    stateSince: SEEDED_AT,
  };
}

/** The connection of `grant` to `tenantId`, present when `/connections` was last read. */
export function seededConnection(id: string, grant: Pick<Grant, 'id' | 'appId' | 'staffId'>, tenantId: string): Connection {
  return {
    id,
    appId: grant.appId,
    grantId: grant.id,
    staffId: grant.staffId,
    tenantId,
    authEventId: 'ae',
    createdDateUtc: '2026-03-01T09:00:00.0000000',
    updatedDateUtc: '2026-03-01T09:00:00.0000000',
    present: true,
    lastSeenAt: SEEDED_AT,
    missingSince: null,
    lastApiFailure: null,
  };
}

export function seededStaff(id: string, email: string, name: string, status: StaffMember['status'] = 'active'): StaffMember {
  return { id, email, name, status, firstSeenAt: SEEDED_AT };
}

export function seededOrganisation(tenantId: string, name: string): Organisation {
  return { tenantId, name, tenantType: 'ORGANISATION', firstSeenAt: SEEDED_AT };
}

/** Records by their id (organisations by tenant id), as relink.json keeps them. */
export function byId<T extends { id: string } | { tenantId: string }>(items: T[]): Record<string, T> {
  return Object.fromEntries(items.map((item) => ['id' in item ? item.id : item.tenantId, item]));
}

/**
 * A relink.json as the previous Relink (schema 1) wrote it, so that whatever opens it also goes through the
 * 1 → 2 migration: the given records, no incidents, default settings.
 */
export function seededMetadataV1(parts: {
  revision: number;
  apps: App[];
  staff: StaffMember[];
  organisations: Organisation[];
  grants: Grant[];
  connections: Connection[];
}): Record<string, unknown> {
  return {
    schemaVersion: 1,
    revision: parts.revision,
    apps: byId(parts.apps),
    staff: byId(parts.staff),
    organisations: byId(parts.organisations),
    grants: byId(parts.grants),
    connections: byId(parts.connections),
    incidents: {},
    settings: { probeIntervalMinutes: 15, keepAliveHours: 24, expiringAfterDays: 45, notifications: true },
  };
}
