import type { StatusSnapshot } from '../../../shared/api.js';
import { DEFAULT_SETTINGS, type Cause, type Health } from '../../../shared/domain.js';

/** A small status snapshot for renderer unit tests: apps, staff and connections given in short form. */

export type ConnectionSpec = {
  org: string;
  orgName?: string;
  app: string;
  staff: string;
  health: Health;
  cause?: Cause | null;
  incident?: string | null;
};

export const AT = '2026-03-01T09:00:00.000Z';

export function app(id: string, name: string): StatusSnapshot['apps'][number] {
  return {
    id,
    name,
    clientId: `client-${id}`,
    authType: 'pkce',
    connectionCap: null,
    connectionCount: 0,
    multiOrgConsent: true,
    createdBy: null,
    credentialState: 'ok',
  };
}

export function person(id: string, name: string, email = `${id}@firm.example`): StatusSnapshot['staff'][number] {
  return { id, name, email, status: 'active' };
}

export function snapshot(parts: {
  apps: StatusSnapshot['apps'];
  staff?: StatusSnapshot['staff'];
  connections: ConnectionSpec[];
  grants?: Array<{ id: string; app: string; staff: string }>;
  incidents?: StatusSnapshot['incidents'];
}): StatusSnapshot {
  return {
    generatedAt: AT,
    keychain: 'available',
    apps: parts.apps,
    staff: parts.staff ?? [],
    grants: (parts.grants ?? []).map((g) => ({
      id: g.id,
      appId: g.app,
      staffId: g.staff,
      health: 'healthy',
      cause: null,
      lastRefreshAt: AT,
      refreshTokenExpiresAt: '2026-04-30T09:00:00.000Z',
      daysLeft: 60,
      lastFailure: null,
    })),
    connections: parts.connections.map((c, i) => ({
      id: `conn-${i}`,
      appId: c.app,
      orgId: c.org,
      orgName: c.orgName ?? c.org,
      grantId: `grant-${c.app}-${c.staff}`,
      staffId: c.staff,
      health: c.health,
      cause: c.cause ?? null,
      confidence: c.cause ? 'likely' : null,
      since: null,
      fix: null,
      fixAction: null,
      incidentId: c.incident ?? null,
    })),
    incidents: parts.incidents ?? [],
    settings: DEFAULT_SETTINGS,
    clockSkewMs: null,
  };
}
