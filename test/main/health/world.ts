import {
  DEFAULT_SETTINGS,
  appSchema,
  connectionSchema,
  failureSchema,
  grantSchema,
  organisationSchema,
  settingsSchema,
  staffSchema,
  type App,
  type Connection,
  type Failure,
  type Grant,
  type Organisation,
  type Settings,
  type StaffMember,
} from '../../../shared/domain.js';
import type { HealthInput } from '../../../main/health/assess.js';
import type { KeychainState } from '../../../main/secrets/keychain.js';

/**
 * A small builder for the facts `assessHealth` reads: apps, staff, organisations, grants and connections,
 * each validated with its zod schema from shared/domain.ts so fixtures stay shaped like the real store.
 * Times are relative to `NOW` (a fixed instant) so every test is deterministic.
 */

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const NOW = Date.parse('2025-03-14T09:30:00.000Z');

export const iso = (t: number) => new Date(t).toISOString();
/** An ISO date `ms` before NOW. */
export const ago = (ms: number) => iso(NOW - ms);

export function failure(kind: Failure['kind'], over: Partial<Failure> = {}): Failure {
  const details: Partial<Record<Failure['kind'], string>> = {
    'invalid-grant': '400 invalid_grant',
    'invalid-client': '400 invalid_client',
    'unauthorized-client': '400 unauthorized_client',
    'rate-limited': '429 Too Many Requests (minute limit)',
    'server-error': '503 Service Unavailable',
    'malformed-response': '502 HTML from a proxy',
    network: 'ECONNRESET',
    timeout: 'timeout after 30000 ms',
    'insufficient-scope': '401 AuthorizationUnsuccessful (insufficient_scope)',
    'role-restricted': '403 role does not allow this',
    forbidden: '403 Forbidden',
    keychain: 'keychain locked',
    'clock-skew': 'JWT not yet valid',
  };
  return failureSchema.parse({ kind, at: ago(10 * MINUTE), detail: details[kind] ?? kind, ...over });
}

export class World {
  readonly apps: Record<string, App> = {};
  readonly staff: Record<string, StaffMember> = {};
  readonly organisations: Record<string, Organisation> = {};
  readonly grants: Record<string, Grant> = {};
  readonly connections: Record<string, Connection> = {};
  settings: Settings = { ...DEFAULT_SETTINGS };
  now = NOW;
  keychain: KeychainState = 'available';
  clockSkewMs: number | null = null;
  private seq = 0;

  app(id: string, over: Partial<App> = {}): App {
    const app = appSchema.parse({
      id,
      name: id.replace(/(^|-)(\w)/g, (_, sp: string, c: string) => (sp ? ' ' : '') + c.toUpperCase()),
      provider: 'xero',
      clientId: `client-${id}`,
      authType: 'pkce',
      issuer: 'https://identity.xero.com',
      apiBase: 'https://api.xero.com',
      redirectPorts: [53682, 53683],
      scopes: ['openid', 'profile', 'email', 'offline_access', 'accounting.transactions'],
      connectionCap: 25,
      multiOrgConsent: true,
      createdBy: null,
      createdAt: ago(400 * DAY),
      ...over,
    });
    this.apps[id] = app;
    return app;
  }

  person(id: string, name: string, over: Partial<StaffMember> = {}): StaffMember {
    const s = staffSchema.parse({
      id,
      email: `${name.toLowerCase().replace(/\s+/g, '.')}@firm.example`,
      name,
      status: 'active',
      firstSeenAt: ago(300 * DAY),
      ...over,
    });
    this.staff[id] = s;
    return s;
  }

  org(tenantId: string, name = `Client ${tenantId}`): Organisation {
    const o = organisationSchema.parse({ tenantId, name, tenantType: 'ORGANISATION', firstSeenAt: ago(200 * DAY) });
    this.organisations[tenantId] = o;
    return o;
  }

  /** `n` organisations named `${prefix}-1…n`. */
  orgs(prefix: string, n: number): string[] {
    return Array.from({ length: n }, (_, i) => this.org(`${prefix}-${i + 1}`).tenantId);
  }

  /** A healthy grant: refreshed an hour ago, last probe 5 minutes ago. */
  grant(appId: string, staffId: string, over: Partial<Grant> = {}): Grant {
    const refreshed = ago(1 * HOUR);
    const g = grantSchema.parse({
      id: `g-${appId}-${staffId}`,
      appId,
      staffId,
      scopes: ['offline_access', 'accounting.transactions'],
      authEventIds: [`ae-${appId}-${staffId}`],
      connectedAt: ago(100 * DAY),
      refreshTokenIssuedAt: refreshed,
      lastRefreshAt: refreshed,
      lastProbeAt: ago(5 * MINUTE),
      consecutiveFailures: 0,
      lastFailure: null,
      state: 'active',
      stateSince: ago(100 * DAY),
      ...over,
    });
    this.grants[g.id] = g;
    return g;
  }

  connection(grantId: string, tenantId: string, over: Partial<Connection> = {}): Connection {
    const g = this.grants[grantId];
    if (!g) throw new Error(`no grant ${grantId}`);
    if (!this.organisations[tenantId]) this.org(tenantId);
    const c = connectionSchema.parse({
      id: `c-${++this.seq}-${grantId}-${tenantId}`,
      appId: g.appId,
      grantId,
      staffId: g.staffId,
      tenantId,
      authEventId: g.authEventIds[0] ?? '',
      createdDateUtc: '2024-12-04T10:00:00.0000000',
      updatedDateUtc: '2024-12-04T10:00:00.0000000',
      present: true,
      lastSeenAt: ago(5 * MINUTE),
      missingSince: null,
      lastApiFailure: null,
      ...over,
    });
    this.connections[c.id] = c;
    return c;
  }

  /** A grant and one present connection per tenant. */
  grantWith(appId: string, staffId: string, tenants: readonly string[], over: Partial<Grant> = {}): { grant: Grant; connections: Connection[] } {
    const grant = this.grant(appId, staffId, over);
    return { grant, connections: tenants.map((t) => this.connection(grant.id, t)) };
  }

  /** Replace fields of a stored grant (re-validated). */
  update(grantId: string, over: Partial<Grant>): Grant {
    const g = grantSchema.parse({ ...this.grants[grantId], ...over });
    this.grants[grantId] = g;
    return g;
  }

  updateConnection(id: string, over: Partial<Connection>): Connection {
    const c = connectionSchema.parse({ ...this.connections[id], ...over });
    this.connections[id] = c;
    return c;
  }

  /** Xero refused the grant for good (parsed invalid_grant / invalid_client) at `when`. */
  revoke(grantId: string, when = ago(30 * MINUTE), kind: Failure['kind'] = 'invalid-grant'): Grant {
    const g = this.grants[grantId]!;
    // A refused grant cannot read /connections any more: nothing was seen after the refusal.
    for (const c of this.connectionsOf(grantId)) {
      if (Date.parse(c.lastSeenAt) > Date.parse(when)) this.updateConnection(c.id, { lastSeenAt: when });
    }
    return this.update(grantId, {
      state: kind === 'invalid-grant' ? 'revoked' : 'app-rejected',
      stateSince: when,
      consecutiveFailures: g.consecutiveFailures + 1,
      lastFailure: failure(kind, { at: when }),
    });
  }

  /** The grant's last attempt failed transiently (`n` times in a row); it stays active. */
  struggle(grantId: string, kind: Failure['kind'], n = 3): Grant {
    return this.update(grantId, { consecutiveFailures: n, lastFailure: failure(kind) });
  }

  /** The organisation is no longer listed in the grant's /connections since `when`. */
  vanish(connectionId: string, when = ago(20 * MINUTE)): Connection {
    return this.updateConnection(connectionId, { present: false, missingSince: when, lastSeenAt: iso(Date.parse(when) - 15 * MINUTE) });
  }

  connectionsOf(grantId: string): Connection[] {
    return Object.values(this.connections).filter((c) => c.grantId === grantId);
  }

  input(): HealthInput {
    return {
      apps: { ...this.apps },
      staff: { ...this.staff },
      organisations: { ...this.organisations },
      grants: { ...this.grants },
      connections: { ...this.connections },
      settings: settingsSchema.parse(this.settings),
      now: this.now,
      keychain: this.keychain,
      clockSkewMs: this.clockSkewMs,
    };
  }
}

/** Freeze an object graph so any mutation by the code under test throws (ESM is strict mode). */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
