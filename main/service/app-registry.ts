import { registerSecret } from '../core/redact.js';
import { isoNow, type Clock } from '../core/clock.js';
import { addAppInputSchema, type AddAppInput } from '../../shared/api.js';
import type { App } from '../../shared/domain.js';
import type { ProviderClient } from '../oauth/provider-client.js';
import type { AppChecks } from '../providers/provider.js';
import { DEFAULT_PROVIDER, providerOf } from '../providers/registry.js';
import type { PassSummary } from '../refresh/engine.js';
import type { DocumentStore } from '../store/ports.js';
import type { Log } from './activity-recorder.js';
import type { ProviderClients } from './provider-clients.js';
import { requireKeychain, ServiceError } from './service-errors.js';

/**
 * The apps the firm controls: adding one (after checking with its provider what can be checked before anyone
 * signs in), finding one by whatever an advisor types, and a web app's new client secret. Separate because
 * none of it touches the refresh engine's state: it reads and writes the document's apps, the keychain's
 * client secrets and the client cache, and hands back to the service (`watch`, `check`) what follows.
 */

export interface AppRegistryDeps {
  store: DocumentStore;
  clock: Clock;
  actor: 'cli' | 'advisor';
  clients: Pick<ProviderClients, 'unsaved' | 'forget'>;
  /** Stores an app's client secret in the keychain (the vault's `saveClientSecret`). */
  saveClientSecret: (appId: string, secret: string) => Promise<void>;
  /** Throws the service's keychain error unless the keychain can be used now. */
  requireKeychainAvailable: () => void;
  log: Log;
  /** Puts a grant back under the engine's watch. */
  watch: (grantId: string) => void;
  /** One pass now over the app's active grants (the service's `check`). */
  check: (filter: { app: string }) => Promise<PassSummary>;
}

const DEFAULT_PORTS = [5001, 5002, 5003];

export class AppRegistry {
  constructor(private readonly deps: AppRegistryDeps) {}

  /**
   * Adds an app after checking what can be checked before anyone signs in, and says which is which (see
   * #checkApp). Nothing is saved when a check fails.
   */
  async addAppChecked(input: AddAppInput, clientSecret: string | null): Promise<{ app: App; checks: AppChecks }> {
    const { deps } = this;
    // Known to the redactor before it is sent to the provider for the check, which is before the vault stores it.
    if (clientSecret) registerSecret(clientSecret);
    const parsed = addAppInputSchema.safeParse(input);
    if (!parsed.success) {
      throw new ServiceError('usage', parsed.error.issues.map((i) => i.message).join(' '));
    }
    const a = parsed.data;
    if (a.authType === 'web' && !clientSecret) {
      throw new ServiceError('usage', `A web app needs its client secret (${DEFAULT_PROVIDER.terms.newClientSecretPlace}).`);
    }
    if (a.authType === 'pkce' && clientSecret) {
      throw new ServiceError('usage', 'A PKCE app has no client secret; leave it out, or add the app as a web app.');
    }
    const provider = DEFAULT_PROVIDER;
    const clientIdProblem = provider.clientIdProblem(a.clientId);
    if (clientIdProblem) throw new ServiceError('usage', clientIdProblem);
    // The secret goes to the keychain only: say so before asking the provider anything.
    if (clientSecret) deps.requireKeychainAvailable();
    const doc = deps.store.peek();
    if (Object.values(doc.apps).some((x) => x.clientId === a.clientId)) {
      throw new ServiceError('usage', `An app with client id ${a.clientId} is already set up.`);
    }
    const app: App = {
      id: uniqueSlug(a.name, new Set(Object.keys(doc.apps))),
      name: a.name,
      provider: provider.id,
      clientId: a.clientId,
      authType: a.authType,
      issuer: a.issuer ?? provider.defaultIssuer,
      apiBase: a.apiBase ?? a.issuer ?? provider.defaultApiBase,
      redirectPorts: a.redirectPorts ?? DEFAULT_PORTS,
      scopes: [...new Set([...provider.requiredScopes, ...(a.scopes ?? provider.defaultScopes)])],
      connectionCap: a.connectionCap ?? null,
      multiOrgConsent: a.multiOrgConsent ?? false,
      createdBy: a.createdBy ?? null,
      createdAt: isoNow(deps.clock),
    };
    const checks = await this.#checkApp(app, clientSecret);
    if (clientSecret) await requireKeychain(() => deps.saveClientSecret(app.id, clientSecret));
    await deps.store.update((d) => {
      d.apps[app.id] = app;
    }, { durable: true });
    await deps.log(deps.actor, 'app-added', { appId: app.id, detail: `${app.name} (${app.authType})` });
    return { app, checks };
  }

  /** What can be checked about a new app before anyone signs in (the provider's checkApp says what and how). */
  async #checkApp(app: App, clientSecret: string | null): Promise<AppChecks> {
    let client: ProviderClient;
    try {
      client = this.deps.clients.unsaved(app, clientSecret);
    } catch (err) {
      throw new ServiceError('usage', `Relink cannot sign in at ${app.issuer}: ${(err as Error).message} Leave the sign-in server empty for ${DEFAULT_PROVIDER.terms.name}.`);
    }
    const outcome = await providerOf(app).checkApp(app, client, this.deps.clock);
    if (!outcome.ok) throw new ServiceError(outcome.code, outcome.message);
    return outcome.checks;
  }

  apps(): App[] {
    return Object.values(this.deps.store.peek().apps) as App[];
  }

  /** An app by id, name (case-insensitive) or client id. */
  findApp(ref: string): App {
    const wanted = ref.trim().toLowerCase();
    const app = this.apps().find((a) => a.id === ref || a.clientId === ref || a.name.toLowerCase() === wanted);
    if (!app) {
      const known = this.apps().map((a) => `${a.id} (${a.name})`).join(', ') || 'none yet — add one with `relink apps add`';
      throw new ServiceError('not-found', `No app "${ref}". Known apps: ${known}.`);
    }
    return app;
  }

  /**
   * A web app's new client secret, after someone generated one in the provider's developer portal (the old one stops
   * working at once). Connections refused with `invalid_client` are given another try and checked now.
   */
  async updateClientSecret(appRef: string, clientSecret: string): Promise<PassSummary> {
    const { deps } = this;
    const app = this.findApp(appRef);
    if (app.authType !== 'web') {
      throw new ServiceError('usage', `${app.name} signs in with PKCE and has no client secret; nothing to update.`);
    }
    const secret = clientSecret.trim();
    if (!secret) throw new ServiceError('usage', `Paste the client secret from ${providerOf(app).terms.appConfigurationPlace}.`);
    deps.requireKeychainAvailable();
    await requireKeychain(() => deps.saveClientSecret(app.id, secret));
    deps.clients.forget(app.id);
    const now = isoNow(deps.clock);
    const rejected = Object.values(deps.store.peek().grants).filter((g) => g.appId === app.id && g.state === 'app-rejected').map((g) => g.id);
    await deps.store.update(
      (d) => {
        for (const id of rejected) {
          const g = d.grants[id];
          if (g) Object.assign(g, { state: 'active', stateSince: now });
        }
      },
      { durable: true },
    );
    await deps.log(deps.actor, 'app-credentials-updated', { appId: app.id, detail: `${rejected.length} connection sign-ins retried` });
    for (const id of rejected) deps.watch(id);
    return deps.check({ app: app.id });
  }
}

function uniqueSlug(name: string, taken: Set<string>): string {
  const base = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'app';
  let slug = base;
  for (let i = 2; taken.has(slug); i++) slug = `${base}-${i}`;
  return slug;
}
