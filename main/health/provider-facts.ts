import type { App } from '../../shared/domain.js';
import type { Provider } from '../providers/provider.js';
import { DEFAULT_PROVIDER } from '../providers/registry.js';

/**
 * What the health rules know of a provider: its nouns for their sentences and its policy for their decisions.
 * Nothing else, so the assessment stays pure (no endpoints, no fetch) and a test can pass a provider of its own.
 */
export type ProviderFacts = Pick<Provider, 'id' | 'terms' | 'policy'>;

/** How the assessment finds an app's provider: `providerOf` from the registry, unless a caller injects another. */
export type ProviderLookup = (app: Pick<App, 'provider'>) => ProviderFacts;

export interface ProvidersOfApps {
  /** The provider of one app; an app Relink no longer knows is read as the default provider's. */
  ofApp(appId: string | null): ProviderFacts;
  /**
   * The one provider that speaks for a finding spanning several apps (a person's refused grants, an outage).
   * A staff member is one login at one provider (keyed by that provider's user id), so such apps share it;
   * should they not, the provider most of them belong to speaks, ties going to the id that sorts first, so
   * the choice does not depend on the order records were stored in. No apps at all: the default provider.
   */
  among(appIds: Iterable<string>): ProviderFacts;
}

export function providersOfApps(apps: Readonly<Record<string, App>>, lookup: ProviderLookup): ProvidersOfApps {
  const ofApp = (appId: string | null) => lookup({ provider: (appId && apps[appId]?.provider) || DEFAULT_PROVIDER.id });
  return {
    ofApp,
    among(appIds) {
      const counts = new Map<string, { facts: ProviderFacts; n: number }>();
      for (const id of appIds) {
        const facts = ofApp(id);
        const seen = counts.get(facts.id);
        counts.set(facts.id, { facts, n: (seen?.n ?? 0) + 1 });
      }
      const ranked = [...counts.values()].sort((a, b) => b.n - a.n || a.facts.id.localeCompare(b.facts.id));
      return ranked[0]?.facts ?? ofApp(null);
    },
  };
}
