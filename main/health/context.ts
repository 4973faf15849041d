import type { Connection, Grant } from '../../shared/domain.js';
import { daysIdle, daysLeft } from './lifetime.js';
import { providersOfApps, type ProviderLookup, type ProvidersOfApps } from './provider-facts.js';
import type { HealthInput } from './types.js';

/**
 * The facts every rule reads, with the lookups they share, built once per assessment. Read-only: rules
 * return what they find instead of writing here.
 */
export interface HealthContext {
  readonly input: HealthInput;
  readonly grants: readonly Grant[];
  readonly providers: ProvidersOfApps;
  /** Names for sentences, with neutral words for records Relink no longer has. */
  readonly name: {
    staff(id: string | null): string;
    app(id: string | null): string;
    org(id: string): string;
  };
  connectionsOf(g: Grant): Connection[];
  /** Organisations missing from an otherwise working grant's last listing, in the order they were stored. */
  readonly missing: readonly Connection[];
  /** Days since the grant's stored refresh token was issued. */
  daysIdle(g: Grant): number;
  /** Days until it dies unused, by the lifetime of its app's provider. */
  daysLeft(g: Grant): number;
  /** The refresh-token lifetime of the grant's app's provider, in days. */
  lifetimeDays(g: Grant): number;
}

export function healthContext(input: HealthInput, lookup: ProviderLookup): HealthContext {
  const { staff, apps, organisations, now } = input;
  const providers = providersOfApps(apps, lookup);
  const connectionsOf = new Map<string, Connection[]>();
  for (const c of Object.values(input.connections)) {
    const list = connectionsOf.get(c.grantId) ?? [];
    list.push(c);
    connectionsOf.set(c.grantId, list);
  }
  const policyOf = (g: Grant) => providers.ofApp(g.appId).policy;
  return {
    input,
    grants: Object.values(input.grants),
    providers,
    name: {
      staff: (id) => (id && staff[id]?.name) || (id && staff[id]?.email) || 'A staff member',
      app: (id) => (id && apps[id]?.name) || 'an app',
      org: (id) => organisations[id]?.name || 'an organisation',
    },
    connectionsOf: (g) => connectionsOf.get(g.id) ?? [],
    missing: Object.values(input.connections).filter((c) => !c.present && input.grants[c.grantId]?.state === 'active'),
    daysIdle: (g) => daysIdle(g, now),
    daysLeft: (g) => daysLeft(g, policyOf(g), now),
    lifetimeDays: (g) => policyOf(g).refreshTokenLifetimeDays,
  };
}
