import type { ConnectReport } from '../../shared/api.js';
import type { App } from '../../shared/domain.js';
import { DEFAULT_PROVIDER, providerOf } from '../providers/registry.js';

/**
 * What one consent brought back, in the advisor's terms: the organisations connected for the first time,
 * those reachable again, and those expected that are still missing, each with why. Pure: the service reads
 * the provider's listings and passes them in; the words name the app's provider (its `terms`), and how many
 * organisations one approval connects follows its `policy.consent`.
 */

export interface ListedOrganisation {
  tenantId: string;
  tenantName?: string | null;
}

export interface ConsentFacts {
  /** The app (its provider: the default provider when not given). */
  app: Pick<App, 'id' | 'name' | 'multiOrgConsent'> & Partial<Pick<App, 'provider'>>;
  grantId: string;
  staff: { id: string; email: string; name: string };
  /** The organisations this grant reached before the consent (tenant id → name). */
  before: ReadonlyMap<string, string>;
  /** The organisations the consent was meant to bring back (the ones before, and any the advisor asked for). */
  expected: ReadonlyMap<string, string>;
  /** Everything the new token reaches, or null when the provider's listing could not be read. */
  listed: readonly ListedOrganisation[] | null;
  /** Why the listing could not be read (with `listed: null`). */
  listingFailure: string | null;
  /** What this consent ticked (the provider's `organisationsOfConsent`), or null when that listing was not available. */
  ticked: readonly string[] | null;
  /** The staff member who was meant to approve, if one was. */
  expectStaffId: string | null;
}

export function consentReport(f: ConsentFacts): ConnectReport {
  const { app, staff } = f;
  const { terms, policy } = providerOf({ provider: app.provider ?? DEFAULT_PROVIDER.id });
  const ticks = policy.consent === 'many-organisations';
  const base = {
    appId: app.id,
    grantId: f.grantId,
    staff,
    warning:
      f.expectStaffId && f.expectStaffId !== staff.id
        ? `This was approved by ${staff.name}${staff.email ? ` (${staff.email})` : ''}, not by the staff member expected; the connection now depends on ${staff.name}.`
        : null,
  };
  if (f.listed === null) {
    // Nothing is known about what came back: every expected organisation is still to be checked, once.
    return {
      ...base,
      connected: [],
      reconnected: [],
      stillMissing: [...f.expected].map(([tenantId, name]) => ({ tenantId, name, reason: `Could not read ${terms.name}'s connections (${f.listingFailure ?? 'no answer'}); check again later.` })),
    };
  }
  const listed = f.listed;
  const tickedIds = new Set(f.ticked ?? listed.map((c) => c.tenantId));
  const reachable = new Map(listed.map((c) => [c.tenantId, c.tenantName ?? c.tenantId] as const));
  return {
    ...base,
    connected: listed.filter((c) => !f.before.has(c.tenantId) && tickedIds.has(c.tenantId)).map((c) => ({ tenantId: c.tenantId, name: c.tenantName ?? c.tenantId })),
    reconnected: [...f.before].filter(([t]) => reachable.has(t)).map(([tenantId]) => ({ tenantId, name: reachable.get(tenantId)! })),
    stillMissing: [...f.expected]
      .filter(([t]) => !reachable.has(t))
      .map(([tenantId, orgName]) => ({
        tenantId,
        name: orgName,
        reason: !f.before.has(tenantId)
          ? ticks
            ? `Not connected by this approval: ${staff.name} may have no access to ${orgName} in ${terms.name}, or did not tick it on the consent page. Reconnect as someone who has access, and tick it.`
            : `Not connected by this approval: ${staff.name} may have no access to ${orgName} in ${terms.name}, or chose another organisation. Reconnect as someone who has access, and choose ${orgName}.`
          : app.multiOrgConsent && ticks
            ? `Not ticked on the consent page, so ${terms.name} did not connect it. Reconnect and tick it.`
            : `${app.name} connects one organisation per approval: reconnect again and choose ${orgName}.`,
      })),
  };
}
