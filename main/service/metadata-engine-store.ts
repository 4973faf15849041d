import type { App, Connection, Failure, Grant, Settings } from '../../shared/domain.js';
import type { EngineStore, ListedConnection } from '../refresh/engine.js';
import type { GrantStorePort } from '../refresh/refresher.js';
import type { DocumentStore } from '../store/ports.js';
import type { MetadataDocument } from '../store/schema.js';

/**
 * The engine's and refresher's view of the document store (any DocumentStore): what they read and the facts they record. Every
 * mutator here is re-appliable (the store replays queued mutators on top of another process's newer file).
 */
export class MetadataEngineStore implements EngineStore, GrantStorePort {
  constructor(private readonly store: DocumentStore) {}

  #doc(): MetadataDocument {
    return this.store.peek() as MetadataDocument;
  }

  grants(): Readonly<Record<string, Grant>> {
    return this.#doc().grants;
  }

  connectionsOf(grantId: string): Connection[] {
    return Object.values(this.#doc().connections).filter((c) => c.grantId === grantId);
  }

  app(appId: string): App | undefined {
    return this.#doc().apps[appId];
  }

  settings(): Settings {
    return this.#doc().settings;
  }

  async freshGrant(grantId: string): Promise<Grant | undefined> {
    return this.#doc().grants[grantId];
  }

  updateGrant(grantId: string, change: (g: Grant) => void, durable = false): Promise<void> {
    return this.store.update(
      (doc) => {
        const g = doc.grants[grantId];
        if (g) change(g);
      },
      { durable },
    );
  }

  recordConnections(grantId: string, listed: ListedConnection[], at: number): Promise<void> {
    return this.store.update((doc) => applyListing(doc, grantId, listed, at));
  }

  recordProbeFailure(grantId: string, failure: Failure): Promise<void> {
    return this.updateGrant(grantId, (g) => {
      g.consecutiveFailures += 1;
      g.lastFailure = failure;
    });
  }

  recordTenantProbe(connectionId: string, failure: Failure | null): Promise<void> {
    return this.store.update((doc) => {
      const c = doc.connections[connectionId];
      if (c) c.lastApiFailure = failure;
    });
  }
}

/**
 * Reconciles one grant's `/connections` answer into the document: organisations learnt, listed connections
 * present, this grant's other connections missing since `at` (kept, never deleted: their history is what
 * explains a disconnection).
 */
export function applyListing(doc: MetadataDocument, grantId: string, listed: ListedConnection[], at: number): void {
  const grant = doc.grants[grantId];
  if (!grant) return;
  const when = new Date(at).toISOString();
  const seen = new Set<string>();
  for (const l of listed) {
    seen.add(l.id);
    const org = doc.organisations[l.tenantId];
    if (org) {
      org.name = l.tenantName ?? org.name;
      org.tenantType = l.tenantType;
    } else {
      doc.organisations[l.tenantId] = { tenantId: l.tenantId, name: l.tenantName ?? l.tenantId, tenantType: l.tenantType, firstSeenAt: when };
    }
    const existing = doc.connections[l.id];
    doc.connections[l.id] = {
      id: l.id,
      appId: grant.appId,
      grantId,
      staffId: grant.staffId,
      tenantId: l.tenantId,
      authEventId: l.authEventId,
      createdDateUtc: l.createdDateUtc,
      updatedDateUtc: l.updatedDateUtc,
      present: true,
      lastSeenAt: when,
      missingSince: null,
      lastApiFailure: existing?.grantId === grantId ? existing.lastApiFailure : null,
    };
  }
  const listedTenants = new Set(listed.map((l) => l.tenantId));
  for (const c of Object.values(doc.connections)) {
    if (c.grantId !== grantId || seen.has(c.id)) continue;
    if (listedTenants.has(c.tenantId)) {
      // The organisation is back under a new connection id (a reconnect makes a new connection): the old
      // record is history, not a second, still-missing connection.
      delete doc.connections[c.id];
      continue;
    }
    if (c.present) {
      c.present = false;
      c.missingSince = when;
    }
  }
  grant.lastProbeAt = when;
  if (grant.lastFailure && (grant.lastFailure.kind === 'server-error' || grant.lastFailure.kind === 'network' || grant.lastFailure.kind === 'timeout' || grant.lastFailure.kind === 'rate-limited')) {
    // A probe that got through proves the transient trouble is over.
    grant.lastFailure = null;
    grant.consecutiveFailures = 0;
  }
}
