import type { App } from '../../shared/domain.js';
import type { ProviderConnections } from '../providers/provider.js';
import { providerOf } from '../providers/registry.js';
import type { AccessTokenCache } from '../refresh/access-tokens.js';
import type { RefreshResult } from '../refresh/refresher.js';
import type { DocumentStore } from '../store/ports.js';
import type { Log } from './activity-recorder.js';
import { ServiceError } from './service-errors.js';

/**
 * Disconnecting one organisation from an app at its provider, the one action that cannot be undone. Separate
 * because it is a flow of its own (an access token, renewed once if the provider calls it stale, the
 * provider's `connections().remove`, then forgetting the connection) that needs of the service only the
 * access-token cache, its single-flight refresh and the organisation listing API.
 */

export type DisconnectResult = { appId: string; tenantId: string; organisation: string; removed: boolean };

export interface DisconnectDeps {
  store: DocumentStore;
  actor: 'cli' | 'advisor';
  accessTokens: Pick<AccessTokenCache, 'get' | 'delete'>;
  /** Throws the service's keychain error unless the keychain can be used now. */
  requireKeychainAvailable: () => void;
  connectionsFor: (app: App) => ProviderConnections;
  /** One refresh of a grant through the service's single-flight refresher (logged when refused). */
  refreshGrant: (grantId: string) => Promise<RefreshResult>;
  log: Log;
  /** Re-assesses health (the service's `assess`). */
  assess: () => Promise<unknown>;
}

export class Disconnector {
  constructor(private readonly deps: DisconnectDeps) {}

  /**
   * Disconnects one organisation from an app at its provider (the provider's `connections().remove`), e.g. a
   * client connected by a box ticked by mistake. It cannot be undone — connecting it again takes a new approval
   * — so hosts ask first. The connection is then forgotten (a deliberate disconnect is not a broken connection)
   * and logged.
   */
  async disconnectConnection(connectionId: string): Promise<DisconnectResult> {
    const { deps } = this;
    const doc = deps.store.peek();
    const c = doc.connections[connectionId];
    if (!c) throw new ServiceError('not-found', 'That connection is not known to Relink (it may have been disconnected already).');
    const app = doc.apps[c.appId] as App | undefined;
    const g = doc.grants[c.grantId];
    const organisation = doc.organisations[c.tenantId]?.name ?? c.tenantId;
    if (!app || !g) throw new ServiceError('not-found', `Relink no longer holds the sign-in behind ${organisation}'s connection.`);
    const who = doc.staff[g.staffId]?.name || doc.staff[g.staffId]?.email || g.staffId;
    const { terms } = providerOf(app);
    const inProvider = `disconnect ${app.name} in ${terms.name} instead (${organisation} → ${terms.connectedAppsPlace}).`;
    if (g.state !== 'active') throw new ServiceError('usage', `${who}'s sign-in for ${app.name} no longer works, so Relink cannot disconnect ${organisation}: ${inProvider}`);
    deps.requireKeychainAvailable();
    const api = deps.connectionsFor(app);
    const token = async (renew: boolean): Promise<string> => {
      if (renew) deps.accessTokens.delete(g.id);
      const cached = deps.accessTokens.get(g.id);
      if (cached) return cached;
      const r = await deps.refreshGrant(g.id);
      const fresh = r.kind === 'refreshed' ? deps.accessTokens.get(g.id) : undefined;
      if (!fresh) {
        throw new ServiceError(
          r.kind === 'transient' ? 'unreachable' : 'rejected',
          r.kind === 'transient'
            ? `Could not reach ${terms.name} to disconnect ${organisation} (${r.failure.detail}); nothing was changed. Try again.`
            : `${terms.name} no longer accepts ${who}'s sign-in for ${app.name}, so Relink cannot disconnect ${organisation}: ${inProvider}`,
        );
      }
      return fresh;
    };
    let res = await api.remove(await token(false), connectionId);
    if (!res.ok && (res.failure.kind === 'token-expired' || res.failure.kind === 'authentication-unsuccessful')) res = await api.remove(await token(true), connectionId);
    if (!res.ok) {
      const unreachable = ['network', 'timeout', 'server-error', 'rate-limited'].includes(res.failure.kind);
      throw new ServiceError(
        unreachable ? 'unreachable' : 'rejected',
        `${terms.name} did not disconnect ${organisation} from ${app.name}; nothing was changed. ${unreachable ? 'Try again in a moment.' : `Try again, or ${inProvider}`} (${res.failure.detail})`,
      );
    }
    await deps.store.update((d) => {
      delete d.connections[connectionId];
    }, { durable: true });
    await deps.log(deps.actor, 'connection-disconnected', {
      appId: app.id,
      grantId: g.id,
      staffId: g.staffId,
      tenantIds: [c.tenantId],
      detail: `${organisation} disconnected from ${app.name} in ${terms.name}${res.removed ? '' : ` (${terms.name} no longer had it)`}.`,
    });
    await deps.assess();
    return { appId: app.id, tenantId: c.tenantId, organisation, removed: res.removed };
  }
}
