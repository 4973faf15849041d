import type { StatusSnapshot } from '../../shared/api.js';
import type { HealthReport } from '../health/assess.js';
import { refreshTokenExpiresAt } from '../health/lifetime.js';
import { DEFAULT_PROVIDER, providerOf } from '../providers/registry.js';
import type { KeychainState } from '../secrets/keychain.js';
import type { DeepReadonly, MetadataDocument } from '../store/schema.js';

/**
 * The status the window and `relink status` show: the metadata document and the latest health report,
 * projected into the API's shape. Pure: the service passes what it knows of the moment (the time, the
 * keychain's state, the clock skew the provider's answers showed). It is checked against the schema once, at
 * the edge it leaves by: the dispatcher (`status.get`), the window push (EventHub), the CLI's `--json`.
 */

export interface StatusFacts {
  generatedAt: string;
  keychain: KeychainState;
  clockSkewMs: number | null;
}

export function statusView(doc: DeepReadonly<MetadataDocument>, report: HealthReport, facts: StatusFacts): StatusSnapshot {
  const grants = Object.values(doc.grants);
  const openIncidents = Object.values(doc.incidents).filter((i) => i.closedAt === null);
  const superseded = new Set(report.superseded);
  const incidentOf = new Map<string, string>();
  for (const i of openIncidents) for (const c of i.connectionIds) incidentOf.set(c, i.id);
  const snapshot: StatusSnapshot = {
    generatedAt: facts.generatedAt,
    keychain: facts.keychain,
    apps: Object.values(doc.apps).map((a) => {
      const own = grants.filter((g) => g.appId === a.id);
      const tenants = new Set(Object.values(doc.connections).filter((c) => c.appId === a.id && c.present).map((c) => c.tenantId));
      return {
        id: a.id,
        name: a.name,
        clientId: a.clientId,
        authType: a.authType,
        connectionCap: a.connectionCap,
        connectionCount: tenants.size,
        multiOrgConsent: a.multiOrgConsent,
        createdBy: a.createdBy,
        credentialState: own.some((g) => g.state === 'app-rejected')
          ? 'rejected'
          : own.some((g) => g.lastRefreshAt !== null && g.state === 'active')
            ? 'ok'
            : 'unchecked',
      };
    }),
    staff: Object.values(doc.staff).map((s) => ({ id: s.id, email: s.email, name: s.name, status: s.status })),
    grants: grants.map((g) => {
      const v = report.grants[g.id];
      return {
        id: g.id,
        appId: g.appId,
        staffId: g.staffId,
        health: v?.health ?? 'unverified',
        cause: v?.cause ?? null,
        lastRefreshAt: g.lastRefreshAt,
        refreshTokenExpiresAt: refreshTokenExpiresAt(g, providerOf({ provider: doc.apps[g.appId]?.provider ?? DEFAULT_PROVIDER.id }).policy),
        daysLeft: v?.daysLeft ?? 0,
        lastFailure: g.lastFailure?.detail ?? null,
      };
    }),
    // Connections another authorisation took over are history: the organisation shows under its successor.
    connections: Object.values(doc.connections).filter((c) => !superseded.has(c.id)).map((c) => {
      const v = report.connections[c.id];
      return {
        id: c.id,
        appId: c.appId,
        orgId: c.tenantId,
        orgName: doc.organisations[c.tenantId]?.name ?? c.tenantId,
        grantId: c.grantId,
        staffId: c.staffId,
        health: v?.health ?? 'unverified',
        cause: v?.cause ?? null,
        confidence: v?.confidence ?? null,
        since: v?.since ?? null,
        fix: v?.fix?.text ?? null,
        fixAction: v?.fix?.action ?? null,
        incidentId: incidentOf.get(c.id) ?? null,
      };
    }),
    incidents: openIncidents
      .sort((a, b) => a.openedAt.localeCompare(b.openedAt))
      .map((i) => ({
        id: i.id,
        cause: i.cause,
        confidence: i.confidence,
        staffId: i.staffId,
        appId: i.appId,
        connectionCount: i.connectionIds.length,
        organisationCount: i.tenantIds.length,
        summary: i.summary,
        evidence: [...i.evidence],
        fix: { ...i.fix },
        openedAt: i.openedAt,
        tenantIds: [...i.tenantIds],
      })),
    settings: { ...doc.settings },
    clockSkewMs: facts.clockSkewMs,
  };
  return snapshot;
}
