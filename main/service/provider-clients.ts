import type { App } from '../../shared/domain.js';
import type { Clock } from '../core/clock.js';
import { createProviderClient, DiscoveryCache, type ProviderClient } from '../oauth/provider-client.js';
import type { ProviderConnections } from '../providers/provider.js';
import { providerOf } from '../providers/registry.js';
import { requireKeychain, ServiceError } from './service-errors.js';

/**
 * The clients the service talks to providers with: one sign-in client per app (cached, with its client secret
 * read from the keychain once), a throw-away client for checking an app before it is saved, and an app's
 * organisation listing API. Separate because the refresher, connecting, adding apps and disconnecting all need
 * them, and a new client secret must reach all of them through one cache (`forget`).
 */

/** How calls to a provider are made: the host's clock and fetch, and the per-request deadline. */
export interface ProviderCallOptions {
  clock: Clock;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export class ProviderClients {
  readonly #clients = new Map<string, ProviderClient>();
  readonly #discovery = new DiscoveryCache();

  constructor(
    private readonly options: ProviderCallOptions,
    /** An app's client secret as the keychain holds it (the vault's `readClientSecret`). */
    private readonly readClientSecret: (appId: string) => Promise<string | null>,
  ) {}

  /** The app's sign-in client, made once (a web app's secret is read from the keychain then). */
  async clientFor(app: App): Promise<ProviderClient> {
    const cached = this.#clients.get(app.id);
    if (cached) return cached;
    const secret = app.authType === 'web' ? await requireKeychain(() => this.readClientSecret(app.id)) : null;
    if (app.authType === 'web' && !secret) {
      throw new ServiceError('keychain', `${app.name}'s client secret is not in the keychain; add the app again with its secret.`);
    }
    const client = this.unsaved(app, secret);
    this.#clients.set(app.id, client);
    return client;
  }

  /** A client with the secret as given, not cached: for an app being checked before it is saved. Throws on a bad issuer. */
  unsaved(app: App, clientSecret: string | null): ProviderClient {
    const { options } = this;
    return createProviderClient({
      issuer: app.issuer,
      clientId: app.clientId,
      clientSecret,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      clock: options.clock,
      allowInsecureLoopback: isLoopback(app.issuer),
      discoveryCache: this.#discovery,
      isAllowedEndpoint: endpointCheck(app),
    });
  }

  /** Drops an app's cached client, so the next call reads its (new) secret from the keychain. */
  forget(appId: string): void {
    this.#clients.delete(appId);
  }

  /** The provider's organisation listing (and disconnecting) API for an app. */
  connectionsFor(app: App): ProviderConnections {
    const { options } = this;
    return providerOf(app).connections(app, { fetch: options.fetch ?? fetch, clock: options.clock, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
  }
}

/** Which discovered endpoints an app's provider really uses (each provider's own list). */
function endpointCheck(app: App): (url: string) => boolean {
  return (url) => providerOf(app).isAllowedEndpoint(app, url);
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}
