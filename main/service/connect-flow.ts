import { randomUUID } from 'node:crypto';
import { connectReportSchema, type ConnectReport } from '../../shared/api.js';
import { BROKEN_HEALTH, type App, type Grant } from '../../shared/domain.js';
import { isoNow, type Clock } from '../core/clock.js';
import type { HealthReport } from '../health/assess.js';
import { describeAuthorizationProblem, isAuthorizationProblem, runAuthorization } from '../oauth/authorize-flow.js';
import type { ProviderClient } from '../oauth/provider-client.js';
import type { ProviderConnections } from '../providers/provider.js';
import { providerOf } from '../providers/registry.js';
import type { AccessTokenCache } from '../refresh/access-tokens.js';
import type { DocumentStore, GrantLockPort, RefreshJournalPort, SecretVault } from '../store/ports.js';
import type { Log } from './activity-recorder.js';
import { consentReport } from './consent-report.js';
import { applyListing } from './metadata-engine-store.js';
import { requireKeychain, ServiceError } from './service-errors.js';

/**
 * Connecting and reconnecting: refusing a sign-in known to fail, one consent in the system browser, storing
 * its refresh token under the grant's lock, reading what the provider connected, and the report of what came
 * back. Separate because it is the one long flow of the service (a browser, a callback, the keychain, the
 * provider's listings) and needs of the rest only a few ports: the client cache, the grant lock, the journal,
 * the latest health report, and the engine's `watch`.
 */

export interface ConnectOptions {
  open: (url: string) => Promise<void>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** For a reconnect: who is expected to approve (a warning is given if someone else does). */
  expectStaffId?: string;
  /** Organisations this consent should bring back; any the provider does not list afterwards are reported missing. */
  expectTenantIds?: string[];
  /** Told when the approval has arrived and Relink is reading what the provider connected. */
  onVerifying?: () => void;
  /**
   * Told, before the browser opens, which organisations the advisor must tick on the provider's consent page:
   * those this consent should bring back (the expected person's organisations for this app, and
   * `expectTenantIds`) that are not working now. The window names them, since a consent page that connects
   * many organisations (`policy.consent`) lists every organisation the person can reach. Workflows pass their
   * opener's fields through, so this reaches plan steps and moves too.
   */
  onScope?: (scope: { tenantIds: string[] }) => void;
}

export interface ConnectFlowDeps {
  store: DocumentStore;
  clock: Clock;
  actor: 'cli' | 'advisor';
  journal: Pick<RefreshJournalPort, 'bumpGeneration'>;
  vault: Pick<SecretVault, 'saveInitial'>;
  lock: GrantLockPort;
  accessTokens: Pick<AccessTokenCache, 'set'>;
  /** An app by id, name or client id (the app registry's `findApp`). */
  findApp: (ref: string) => App;
  /** Throws the service's keychain error unless the keychain can be used now. */
  requireKeychainAvailable: () => void;
  clientFor: (app: App) => Promise<ProviderClient>;
  connectionsFor: (app: App) => ProviderConnections;
  /** Drops what the refresher holds for a grant whose token is being replaced (the refresher's `forget`). */
  forgetRefresh: (grantId: string) => void;
  /** The latest health report, if any (which organisations work now). */
  report: () => HealthReport | null;
  /** Told the clock skew the provider's answer showed. */
  onSkew: (ms: number) => void;
  log: Log;
  /** Puts a grant under the engine's watch. */
  watch: (grantId: string) => void;
  /** Re-assesses health (the service's `assess`). */
  assess: () => Promise<unknown>;
}

export class ConnectFlow {
  constructor(private readonly deps: ConnectFlowDeps) {}

  /**
   * Refuses, before any browser opens, a sign-in Relink knows will fail: the keychain cannot keep its token, or
   * the provider already rejects the app's credentials (a grant of the app was refused with invalid_client or
   * unauthorized_client). Then the advisor would approve there only to be told `invalid_client` at the very
   * last step; the fix is the app's secret (or client id), not a new sign-in. Returns the app otherwise.
   */
  assertConnectable(appRef: string): App {
    const app = this.deps.findApp(appRef);
    this.deps.requireKeychainAvailable();
    const refused = Object.values(this.deps.store.peek().grants).find((g) => g.appId === app.id && g.state === 'app-rejected');
    if (refused) {
      const code = refused.lastFailure?.detail ? ` (${refused.lastFailure.detail})` : '';
      const { terms } = providerOf(app);
      throw new ServiceError(
        'rejected',
        app.authType === 'web'
          ? `${terms.name} rejects ${app.name}'s credentials${code}, so a sign-in would fail at its last step. Update the app's secret first: Apps → ${app.name} → Enter the new client secret. Nothing was changed.`
          : `${terms.name} rejects ${app.name}'s client id${code}, so a sign-in would fail at its last step. Check the app in ${terms.developerPortal} first and add it again with its current client id. Nothing was changed.`,
      );
    }
    return app;
  }

  /**
   * One consent in the system browser, then: store the refresh token for (app, staff member), read
   * what this consent ticked and everything reachable (the provider's organisationsOfConsent), and report
   * which organisations were connected, reconnected, or are still missing and why.
   */
  async connect(appRef: string, options: ConnectOptions): Promise<ConnectReport> {
    const { deps } = this;
    const app = this.assertConnectable(appRef);
    const provider = providerOf(app);
    const { terms } = provider;
    const client = await deps.clientFor(app);
    options.onScope?.({ tenantIds: this.#toTick(app.id, options.expectStaffId ?? null, options.expectTenantIds ?? []) });
    const result = await runAuthorization({
      client,
      ports: app.redirectPorts,
      scopes: app.scopes,
      open: options.open,
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (result.kind !== 'connected') {
      if (result.kind === 'denied') throw new ServiceError('not-authorised', `The approval was declined in ${terms.name}, so nothing changed.`);
      if (result.kind === 'timeout') throw new ServiceError('not-authorised', 'No approval arrived before the time ran out; nothing changed. Run it again when ready.');
      if (isAuthorizationProblem(result)) {
        const problem = describeAuthorizationProblem(result, { app: app.name, provider: terms.name, developerPortal: terms.developerPortal });
        throw new ServiceError(problem.code, problem.message);
      }
      if (result.kind !== 'failed') throw new ServiceError('not-authorised', 'Cancelled; nothing changed.');
      if (!result.outcome || result.outcome.ok) throw new ServiceError('unreachable', `Could not reach ${terms.name}'s sign-in service: ${result.reason}`);
      const failure = provider.classifyTokenOutcome(result.outcome, deps.clock.now(), 'code-exchange');
      if (failure.kind === 'invalid-client' || failure.kind === 'unauthorized-client') {
        throw new ServiceError('rejected', `${terms.name} rejected ${app.name}'s credentials (${failure.detail}). Check the client id and secret in ${terms.developerPortal}.`);
      }
      const unreachable = ['network', 'timeout', 'server-error'].includes(failure.kind);
      throw new ServiceError(unreachable ? 'unreachable' : 'rejected', `The sign-in did not complete: ${failure.detail}.`);
    }
    if (result.skewMs) deps.onSkew(result.skewMs);
    options.onVerifying?.();
    const { tokens, claims } = result;
    if (!tokens.refreshToken) {
      throw new ServiceError('rejected', `${app.name} did not receive a refresh token: its scopes must include offline_access.`);
    }
    const staffId = claims ? provider.staffIdOf(claims) : null;
    if (!staffId) throw new ServiceError('rejected', `${terms.name} did not say who approved (no id_token): the app needs the openid scope.`);
    const email = claims?.email ?? claims?.preferred_username ?? '';
    const name = [claims?.given_name, claims?.family_name].filter(Boolean).join(' ') || email || staffId;

    const doc = deps.store.peek();
    const existing = Object.values(doc.grants).find((g) => g.appId === app.id && g.staffId === staffId);
    const grantId = existing?.id ?? randomUUID();
    // Under the grant's lock, so a refresh in this or another process cannot rotate the old token over the new
    // one; the generation moves first, so every process reads the new token from the keychain next time.
    await deps.lock.withLock(grantId, async () => {
      await deps.journal.bumpGeneration(grantId);
      deps.forgetRefresh(grantId);
      await requireKeychain(() => deps.vault.saveInitial(grantId, tokens.refreshToken!));
    });
    const receivedAt = deps.clock.now();
    deps.accessTokens.set(grantId, tokens.accessToken, receivedAt + tokens.expiresIn * 1000);

    const { all, ticked, consentIds } = await provider.organisationsOfConsent(deps.connectionsFor(app), {
      accessToken: tokens.accessToken,
      accessClaims: result.accessClaims,
      callback: result.callback,
    });
    const before = new Map(
      Object.values(doc.connections)
        .filter((c) => c.grantId === grantId)
        .map((c) => [c.tenantId, doc.organisations[c.tenantId]?.name ?? c.tenantId] as const),
    );

    // Organisations the advisor meant to bring back through this consent (e.g. another advisor taking over a
    // removed colleague's clients) count as expected too.
    const expected = new Map(before);
    for (const t of options.expectTenantIds ?? []) if (!expected.has(t)) expected.set(t, doc.organisations[t]?.name ?? t);
    const now = isoNow(deps.clock);
    await deps.store.update(
      (d) => {
        const known = d.staff[staffId];
        d.staff[staffId] = known
          ? { ...known, email: email || known.email, name }
          : { id: staffId, email, name, status: 'active', firstSeenAt: now };
        const g: Grant = {
          id: grantId,
          appId: app.id,
          staffId,
          scopes: tokens.scope.length ? tokens.scope : app.scopes,
          authEventIds: [...new Set([...(d.grants[grantId]?.authEventIds ?? []), ...consentIds])],
          connectedAt: d.grants[grantId]?.connectedAt ?? now,
          refreshTokenIssuedAt: now,
          lastRefreshAt: now,
          lastProbeAt: null,
          consecutiveFailures: 0,
          lastFailure: null,
          state: 'active',
          stateSince: now,
        };
        d.grants[grantId] = g;
        if (all.ok) applyListing(d, grantId, all.connections, receivedAt);
      },
      { durable: true },
    );
    const listed = all.ok ? all.connections : [];
    const report = consentReport({
      app,
      grantId,
      staff: { id: staffId, email, name },
      before,
      expected,
      listed: all.ok ? all.connections : null,
      listingFailure: all.ok ? null : all.failure.detail,
      ticked: ticked.ok ? ticked.connections.map((c) => c.tenantId) : null,
      expectStaffId: options.expectStaffId ?? null,
    });
    await deps.log(deps.actor, existing ? 'reconnected' : 'connected', {
      appId: app.id,
      grantId,
      staffId,
      tenantIds: listed.map((c) => c.tenantId),
      detail: `${report.connected.length} connected, ${report.reconnected.length} reconnected, ${report.stillMissing.length} still missing`,
    });
    deps.watch(grantId);
    await deps.assess();
    return connectReportSchema.parse(report);
  }

  /** The organisations a consent for (app, staff member) must tick: expected, and not working now. */
  #toTick(appId: string, staffId: string | null, extra: string[]): string[] {
    const doc = this.deps.store.peek();
    const report = this.deps.report();
    const own = Object.values(doc.connections).filter((c) => c.appId === appId && staffId !== null && c.staffId === staffId);
    const expected = new Set([...own.map((c) => c.tenantId), ...extra]);
    const working = new Set(
      own.filter((c) => !BROKEN_HEALTH.has(report?.connections[c.id]?.health ?? 'unverified') && c.present).map((c) => c.tenantId),
    );
    return [...expected].filter((t) => !working.has(t));
  }
}
