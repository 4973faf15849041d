// Over 500 lines for now: connecting, checking and the engine share this class's private state; the pure parts
// (status-view.ts, consent-report.ts), the workflows (service.workflows) and the choice of storage
// (../app/create-relink.ts, over ../store/ports.ts) are already outside it.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import {
  addAppInputSchema,
  connectReportSchema,
  type AddAppInput,
  type ConnectReport,
  type StatusSnapshot,
} from '../../shared/api.js';
import { BROKEN_HEALTH, settingsSchema, type ActivityEntry, type App, type Explanation, type Grant, type Incident, type Settings } from '../../shared/domain.js';
import { isoNow, type Clock } from '../core/clock.js';
import { assessHealth, type HealthReport } from '../health/assess.js';
import { reconcileIncidents, type IncidentEvent } from '../health/incidents.js';
import { registerSecret } from '../core/redact.js';
import { describeAuthorizationProblem, isAuthorizationProblem, runAuthorization } from '../oauth/authorize-flow.js';
import { createProviderClient, DiscoveryCache, type ProviderClient } from '../oauth/provider-client.js';
import type { AppChecks, ProviderConnections } from '../providers/provider.js';
import { DEFAULT_PROVIDER, providerOf } from '../providers/registry.js';
import { AccessTokenCache } from '../refresh/access-tokens.js';
import { Engine, type PassSummary } from '../refresh/engine.js';
import { Refresher, type RefreshResult } from '../refresh/refresher.js';
import { Scheduler } from '../refresh/scheduler.js';
import { SingleFlight } from '../refresh/single-flight.js';
import type { KeychainState } from '../secrets/keychain.js';
import type { ActivityLogPort, DocumentStore, GrantLockPort, RecoveryEvent, RefreshJournalPort, SecretVault, StoragePorts } from '../store/ports.js';
import { applyListing, MetadataEngineStore } from './metadata-engine-store.js';
import { statusView } from './status-view.js';
import { consentReport } from './consent-report.js';
import { FirmWorkflows } from '../workflows/workflow-service.js';

/**
 * Relink's service: one object that owns the state and implements what the hosts (CLI, Electron, browser
 * mode) offer. It runs on storage ports (../store/ports.ts) opened by the composition root
 * (../app/create-relink.ts) and on the clock and fetch the host passes; nothing here imports Electron, a
 * keychain library or a file format, so a second storage (a firm database) needs no change here.
 */
export interface ServiceOptions {
  clock: Clock;
  fetch?: typeof fetch;
  actor: 'cli' | 'advisor';
  /**
   * The computer's user name, recorded with what an advisor does (default: the operating system's, from
   * `os.userInfo()`). Next to it goes the name set in Settings, if any.
   */
  osUser?: string;
  /**
   * How many grants are refreshed at once (default 16). A pass is bound by the keychain, not by the provider
   * (Xero does not count token refreshes against its per-organisation API limits), and more refreshes in
   * flight keep the keychain busy while others wait on the network.
   */
  concurrency?: number;
  /** Per-request deadline of calls to the provider (token endpoint, its organisation listing, the API), default 30 s. */
  timeoutMs?: number;
  /** How often a keychain that is locked, missing or not answering is asked again (default KEYCHAIN_REPROBE_MS). */
  keychainReprobeMs?: number;
}

/** A failure a host should show as it is (with its own exit code or banner). */
export class ServiceError extends Error {
  constructor(
    readonly code: 'usage' | 'not-found' | 'keychain' | 'unreachable' | 'not-authorised' | 'rejected',
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

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


export type { AppChecks } from '../providers/provider.js';

const DEFAULT_PORTS = [5001, 5002, 5003];
const DEFAULT_CONCURRENCY = 16;

/** How often a keychain that is locked, missing or not answering is asked again. */
export const KEYCHAIN_REPROBE_MS = 15_000;

export class RelinkService {
  readonly #accessTokens: AccessTokenCache;
  readonly #engine: Engine;
  readonly #engineStore: MetadataEngineStore;
  readonly #scheduler: Scheduler;
  readonly #clients = new Map<string, ProviderClient>();
  readonly #discovery = new DiscoveryCache();
  readonly #incidentListeners = new Set<(e: IncidentEvent) => void>();
  readonly #assessedListeners = new Set<() => void>();
  #report: HealthReport | null = null;
  #skewMs: number | null = null;
  #assessTimer: NodeJS.Timeout | null = null;
  #reprobeTimer: NodeJS.Timeout | null = null;
  #unwatchKeychain: (() => void) | null = null;
  readonly #keychainListeners = new Set<(state: KeychainState) => void>();
  #running = false;
  readonly #grantLock: GrantLockPort;
  readonly #refresher: Refresher;
  /** Refreshes under way, so `close()` can let them finish (see there). */
  readonly #refreshing = new Set<Promise<unknown>>();

  /**
   * The storage ports this service runs on. Public for tests and the demo (which ages a grant); hosts go
   * through the service's methods, so a host never depends on how or where Relink stores things.
   */
  readonly store: DocumentStore;
  readonly vault: SecretVault;
  readonly journal: RefreshJournalPort;
  readonly activity: ActivityLogPort;
  /** What opening the document store had to repair, if anything: hosts show it once. */
  readonly recovery: RecoveryEvent | null;

  private constructor(
    private readonly opts: ServiceOptions,
    storage: StoragePorts,
  ) {
    const { clock } = opts;
    const { store, vault, journal, activity } = storage;
    this.store = store;
    this.vault = vault;
    this.journal = journal;
    this.activity = activity;
    this.recovery = storage.recovery;
    this.#accessTokens = new AccessTokenCache(clock);
    this.#engineStore = new MetadataEngineStore(store);
    this.#grantLock = storage.lock;
    const refresher = new Refresher({
      clock,
      vault,
      journal,
      generations: journal,
      lock: this.#grantLock,
      flights: new SingleFlight<string, RefreshResult>(),
      grants: this.#engineStore,
      accessTokens: this.#accessTokens,
      clientFor: (app) => this.#clientFor(app),
      classify: (app, outcome, now) => providerOf(app).classifyTokenOutcome(outcome, now, 'refresh'),
      onSkew: (ms) => {
        this.#skewMs = ms;
      },
    });
    this.#refresher = refresher;
    this.#scheduler = new Scheduler(clock, {
      maxConcurrent: opts.concurrency ?? DEFAULT_CONCURRENCY,
      onTaskError: (key, err) => void this.#log('engine', 'task-failed', { detail: `${key}: ${(err as Error).message}` }),
      onClockJump: () => this.#engine.resume(),
    });
    this.#engine = new Engine({
      clock,
      scheduler: this.#scheduler,
      store: this.#engineStore,
      accessTokens: this.#accessTokens,
      refresh: (grantId) => this.#refreshGrant(grantId),
      connectionsFor: (app) => this.#connectionsFor(app),
      // Damaged markers too: a marker cut short by a crash is a refresh that may have been in flight.
      interruptedGrants: () => journal.interrupted(),
      onChange: () => this.#scheduleAssess(),
    });
  }

  /** One refresh through the single-flight refresher, logged when the provider refuses it (the engine's and a disconnect's). */
  async #refreshGrant(grantId: string): Promise<RefreshResult> {
    const before = this.store.peek().grants[grantId]?.state;
    const pending = this.#refresher.refresh(grantId);
    this.#refreshing.add(pending);
    const result = await pending.finally(() => this.#refreshing.delete(pending));
    if (result.kind === 'revoked' || result.kind === 'app-rejected') {
      const g = this.store.peek().grants[grantId];
      if (before === 'active' && g) {
        await this.#log('engine', result.kind === 'revoked' ? 'grant-refused' : 'app-credentials-rejected', {
          appId: g.appId,
          grantId,
          staffId: g.staffId,
          detail: result.failure.detail,
        });
      }
    }
    return result;
  }

  /**
   * The service on opened storage: follows the keychain, records a repair of the document, assesses health.
   * Only the composition root calls it (createRelink in ../app/create-relink.ts), which opens the storage.
   */
  static async start(storage: StoragePorts, opts: ServiceOptions): Promise<RelinkService> {
    const service = new RelinkService(opts, storage);
    service.#watchKeychain();
    if (storage.recovery) {
      await service.#log('engine', 'metadata-recovered', { detail: storage.recovery.message });
    }
    await service.assess();
    return service;
  }

  // ── apps ───────────────────────────────────────────────────────────────────────────────────────────

  async addApp(input: AddAppInput, clientSecret: string | null): Promise<App> {
    return (await this.addAppChecked(input, clientSecret)).app;
  }

  /**
   * Adds an app after checking what can be checked before anyone signs in, and says which is which (see
   * #checkApp). Nothing is saved when a check fails.
   */
  async addAppChecked(input: AddAppInput, clientSecret: string | null): Promise<{ app: App; checks: AppChecks }> {
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
    if (clientSecret) this.#requireKeychainAvailable();
    const doc = this.store.peek();
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
      createdAt: isoNow(this.opts.clock),
    };
    const checks = await this.#checkApp(app, clientSecret);
    if (clientSecret) await this.#requireKeychain(() => this.vault.saveClientSecret(app.id, clientSecret));
    await this.store.update((d) => {
      d.apps[app.id] = app;
    }, { durable: true });
    await this.#log(this.opts.actor, 'app-added', { appId: app.id, detail: `${app.name} (${app.authType})` });
    return { app, checks };
  }

  /** What can be checked about a new app before anyone signs in (the provider's checkApp says what and how). */
  async #checkApp(app: App, clientSecret: string | null): Promise<AppChecks> {
    let client: ProviderClient;
    try {
      client = createProviderClient({
        issuer: app.issuer,
        clientId: app.clientId,
        clientSecret,
        ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
        ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
        clock: this.opts.clock,
        allowInsecureLoopback: isLoopback(app.issuer),
        discoveryCache: this.#discovery,
        isAllowedEndpoint: endpointCheck(app),
      });
    } catch (err) {
      throw new ServiceError('usage', `Relink cannot sign in at ${app.issuer}: ${(err as Error).message} Leave the sign-in server empty for ${DEFAULT_PROVIDER.terms.name}.`);
    }
    const outcome = await providerOf(app).checkApp(app, client, this.opts.clock);
    if (!outcome.ok) throw new ServiceError(outcome.code, outcome.message);
    return outcome.checks;
  }

  apps(): App[] {
    return Object.values(this.store.peek().apps) as App[];
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

  // ── connect / reconnect ────────────────────────────────────────────────────────────────────────────

  /**
   * Refuses, before any browser opens, a sign-in Relink knows will fail: the keychain cannot keep its token, or
   * the provider already rejects the app's credentials (a grant of the app was refused with invalid_client or
   * unauthorized_client). Then the advisor would approve there only to be told `invalid_client` at the very
   * last step; the fix is the app's secret (or client id), not a new sign-in. Returns the app otherwise.
   */
  assertConnectable(appRef: string): App {
    const app = this.findApp(appRef);
    this.#requireKeychainAvailable();
    const refused = Object.values(this.store.peek().grants).find((g) => g.appId === app.id && g.state === 'app-rejected');
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
    const app = this.assertConnectable(appRef);
    const provider = providerOf(app);
    const { terms } = provider;
    const client = await this.#clientFor(app);
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
      const failure = provider.classifyTokenOutcome(result.outcome, this.opts.clock.now(), 'code-exchange');
      if (failure.kind === 'invalid-client' || failure.kind === 'unauthorized-client') {
        throw new ServiceError('rejected', `${terms.name} rejected ${app.name}'s credentials (${failure.detail}). Check the client id and secret in ${terms.developerPortal}.`);
      }
      const unreachable = ['network', 'timeout', 'server-error'].includes(failure.kind);
      throw new ServiceError(unreachable ? 'unreachable' : 'rejected', `The sign-in did not complete: ${failure.detail}.`);
    }
    if (result.skewMs) this.#skewMs = result.skewMs;
    options.onVerifying?.();
    const { tokens, claims } = result;
    if (!tokens.refreshToken) {
      throw new ServiceError('rejected', `${app.name} did not receive a refresh token: its scopes must include offline_access.`);
    }
    const staffId = claims ? provider.staffIdOf(claims) : null;
    if (!staffId) throw new ServiceError('rejected', `${terms.name} did not say who approved (no id_token): the app needs the openid scope.`);
    const email = claims?.email ?? claims?.preferred_username ?? '';
    const name = [claims?.given_name, claims?.family_name].filter(Boolean).join(' ') || email || staffId;

    const doc = this.store.peek();
    const existing = Object.values(doc.grants).find((g) => g.appId === app.id && g.staffId === staffId);
    const grantId = existing?.id ?? randomUUID();
    // Under the grant's lock, so a refresh in this or another process cannot rotate the old token over the new
    // one; the generation moves first, so every process reads the new token from the keychain next time.
    await this.#grantLock.withLock(grantId, async () => {
      await this.journal.bumpGeneration(grantId);
      this.#refresher.forget(grantId);
      await this.#requireKeychain(() => this.vault.saveInitial(grantId, tokens.refreshToken!));
    });
    const receivedAt = this.opts.clock.now();
    this.#accessTokens.set(grantId, tokens.accessToken, receivedAt + tokens.expiresIn * 1000);

    const { all, ticked, consentIds } = await provider.organisationsOfConsent(this.#connectionsFor(app), {
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
    const now = isoNow(this.opts.clock);
    await this.store.update(
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
    await this.#log(this.opts.actor, existing ? 'reconnected' : 'connected', {
      appId: app.id,
      grantId,
      staffId,
      tenantIds: listed.map((c) => c.tenantId),
      detail: `${report.connected.length} connected, ${report.reconnected.length} reconnected, ${report.stillMissing.length} still missing`,
    });
    this.#engine.watch(grantId);
    await this.assess();
    return connectReportSchema.parse(report);
  }

  /** The organisations a consent for (app, staff member) must tick: expected, and not working now. */
  #toTick(appId: string, staffId: string | null, extra: string[]): string[] {
    const doc = this.store.peek();
    const own = Object.values(doc.connections).filter((c) => c.appId === appId && staffId !== null && c.staffId === staffId);
    const expected = new Set([...own.map((c) => c.tenantId), ...extra]);
    const working = new Set(
      own.filter((c) => !BROKEN_HEALTH.has(this.#report?.connections[c.id]?.health ?? 'unverified') && c.present).map((c) => c.tenantId),
    );
    return [...expected].filter((t) => !working.has(t));
  }

  /**
   * A web app's new client secret, after someone generated one in the provider's developer portal (the old one stops
   * working at once). Connections refused with `invalid_client` are given another try and checked now.
   */
  async updateClientSecret(appRef: string, clientSecret: string): Promise<PassSummary> {
    const app = this.findApp(appRef);
    if (app.authType !== 'web') {
      throw new ServiceError('usage', `${app.name} signs in with PKCE and has no client secret; nothing to update.`);
    }
    const secret = clientSecret.trim();
    if (!secret) throw new ServiceError('usage', `Paste the client secret from ${providerOf(app).terms.appConfigurationPlace}.`);
    this.#requireKeychainAvailable();
    await this.#requireKeychain(() => this.vault.saveClientSecret(app.id, secret));
    this.#clients.delete(app.id);
    const now = isoNow(this.opts.clock);
    const rejected = Object.values(this.store.peek().grants).filter((g) => g.appId === app.id && g.state === 'app-rejected').map((g) => g.id);
    await this.store.update(
      (d) => {
        for (const id of rejected) {
          const g = d.grants[id];
          if (g) Object.assign(g, { state: 'active', stateSince: now });
        }
      },
      { durable: true },
    );
    await this.#log(this.opts.actor, 'app-credentials-updated', { appId: app.id, detail: `${rejected.length} connection sign-ins retried` });
    for (const id of rejected) this.#engine.watch(id);
    return this.check({ app: app.id });
  }

  // ── checking and running ───────────────────────────────────────────────────────────────────────────

  /** One full pass now over the active grants (optionally of one app or one staff member). */
  async check(filter: { app?: string; staff?: string } = {}): Promise<PassSummary> {
    this.#requireKeychainAvailable();
    const appId = filter.app ? this.findApp(filter.app).id : undefined;
    const staffId = filter.staff ? this.#findStaffId(filter.staff) : undefined;
    const ids = Object.values(this.store.peek().grants)
      .filter((g) => g.state === 'active' && (!appId || g.appId === appId) && (!staffId || g.staffId === staffId))
      .map((g) => g.id);
    const summary = await this.#engine.checkNow(ids, { concurrency: this.opts.concurrency ?? DEFAULT_CONCURRENCY });
    await this.assess();
    return summary;
  }

  /** The wake-up sweep: refresh the given grants (default: all active) concurrently, without probing. */
  async sweep(grantIds?: string[]): Promise<PassSummary> {
    const ids = grantIds ?? Object.values(this.store.peek().grants).filter((g) => g.state === 'active').map((g) => g.id);
    return this.#engine.sweep(ids, this.opts.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /** Keep every grant alive and watched until `stop()`. */
  async run(): Promise<void> {
    this.#requireKeychainAvailable();
    await this.#engine.start();
    this.#running = true;
  }

  /** Whether `run()` is keeping grants alive. */
  get running(): boolean {
    return this.#running;
  }

  /** After the computer wakes up or its clock jumps. */
  resume(): void {
    this.#engine.resume();
  }

  get armedTimers(): number {
    return this.#scheduler.armedTimers;
  }

  async close(): Promise<void> {
    this.#running = false;
    this.#engine.stop();
    this.#unwatchKeychain?.();
    this.#stopReprobe();
    // A refresh already sent may have rotated the token at the provider: let it store the new one and clear its
    // journal marker, rather than leave the grant depending on a restart within its grace period. Then give the
    // task it belongs to (the probe that follows) a moment to record its result, so it does not fail against a
    // closed store. Both bounded, so a hung request cannot hold a stopping process for ever.
    const settle = async (busy: () => boolean, ms: number) => {
      for (const end = Date.now() + ms; busy() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    };
    await settle(() => this.#refreshing.size > 0, 35_000);
    await settle(() => this.#scheduler.running > 0, 5_000);
    if (this.#assessTimer) clearTimeout(this.#assessTimer);
    await this.assess();
    await this.store.close();
  }

  /**
   * Deletes this profile's secrets — every grant's refresh token and every web app's client secret — when the
   * vault can be used now (otherwise nothing: a locked keychain is not asked to forget). For a host throwing a
   * profile away (an old demo), so that it never needs to reach into the storage itself.
   */
  async forgetSecrets(): Promise<void> {
    if (this.keychainState !== 'available') return;
    const doc = this.store.peek();
    for (const id of Object.keys(doc.grants)) await this.vault.deleteGrant(id);
    for (const a of Object.values(doc.apps)) if (a.authType === 'web') await this.vault.deleteClientSecret(a.id);
  }

  // ── health, incidents, status ──────────────────────────────────────────────────────────────────────

  onIncident(listener: (e: IncidentEvent) => void): () => void {
    this.#incidentListeners.add(listener);
    return () => this.#incidentListeners.delete(listener);
  }

  /** Re-assesses health and brings incidents up to date (opening and closing them). */
  async assess(): Promise<HealthReport> {
    const doc = this.store.peek();
    const now = this.opts.clock.now();
    const report = assessHealth({
      apps: doc.apps as Record<string, App>,
      staff: doc.staff,
      organisations: doc.organisations,
      grants: doc.grants as Record<string, Grant>,
      connections: doc.connections as never,
      settings: doc.settings,
      now,
      keychain: this.keychainState,
      clockSkewMs: this.#skewMs,
    });
    this.#report = report;
    // A finding with nothing to do (a connection taken over by a newer authorisation) is not an incident.
    const actionable = report.findings.filter((f) => f.fix.action !== 'none');
    const { incidents, events } = reconcileIncidents(doc.incidents as Record<string, Incident>, actionable, report.connections, {
      now,
      newId: () => randomUUID(),
    });
    // Compared as values, not as JSON text: the stored incidents come back in the schema's key order
    // (fix: {text, action}) and fresh ones in the order health builds them, so the text always differed and
    // every `relink status` rewrote relink.json with nothing changed — on a full disk, a failure for nothing.
    if (!isDeepStrictEqual(incidents, doc.incidents)) {
      await this.store.update((d) => {
        d.incidents = structuredClone(incidents);
      });
    }
    for (const e of events) {
      if (e.kind === 'superseded') continue;
      await this.#log('engine', e.kind === 'opened' ? 'incident-opened' : 'incident-recovered', {
        ...(e.incident.appId ? { appId: e.incident.appId } : {}),
        ...(e.incident.staffId ? { staffId: e.incident.staffId } : {}),
        tenantIds: e.incident.tenantIds,
        detail: e.incident.summary,
      });
      for (const l of this.#incidentListeners) l(e);
    }
    for (const l of this.#assessedListeners) l();
    return report;
  }

  /** Called after every assessment: the moment a host should push a fresh status to its windows. */
  onAssessed(listener: () => void): () => void {
    this.#assessedListeners.add(listener);
    return () => this.#assessedListeners.delete(listener);
  }

  settings(): Settings {
    return { ...this.store.peek().settings };
  }

  /** Changes settings; the engine reads them on its next decision, so a new probe interval applies at once. */
  async updateSettings(patch: Partial<Settings>): Promise<Settings> {
    const next = settingsSchema.safeParse({ ...this.store.peek().settings, ...patch });
    if (!next.success) throw new ServiceError('usage', next.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    await this.store.update((d) => {
      d.settings = next.data;
    }, { durable: true });
    await this.#log(this.opts.actor, 'settings-changed', { detail: Object.keys(patch).join(', ') });
    this.#engine.replan();
    await this.assess();
    return next.data;
  }

  /** The activity log, newest `limit` entries matching, oldest first. */
  async activityEntries(query: { from?: string; to?: string; action?: string; staffId?: string; appId?: string; limit: number }): Promise<ActivityEntry[]> {
    const { staffId, appId, limit, ...rest } = query;
    const entries = await this.activity.read({ ...rest, ...(staffId || appId ? {} : { limit }) });
    const matching = staffId || appId ? entries.filter((e) => (!staffId || e.staffId === staffId) && (!appId || e.appId === appId)) : entries;
    return matching.slice(-limit);
  }

  status(): StatusSnapshot {
    return statusView(this.store.peek(), this.#report!, {
      generatedAt: isoNow(this.opts.clock),
      keychain: this.keychainState,
      clockSkewMs: this.#skewMs,
    });
  }

  explain(text: string): Explanation {
    return DEFAULT_PROVIDER.explain(text);
  }

  get clockSkewMs(): number | null {
    return this.#skewMs;
  }

  /** The keychain as the last call or probe found it: it can lock, unlock or stop answering at any time. */
  get keychainState(): KeychainState {
    const state = this.vault.state;
    return state === 'unknown' ? 'unavailable' : state;
  }

  /** Called when the keychain's state changes (after the store has been re-assessed for it). */
  onKeychainChange(listener: (state: KeychainState) => void): () => void {
    this.#keychainListeners.add(listener);
    return () => this.#keychainListeners.delete(listener);
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * Follows the keychain: while it is locked, missing or not answering it is probed every
   * KEYCHAIN_REPROBE_MS, so an unlock is noticed without anyone pressing anything; when it comes back,
   * rotated tokens held in memory are saved first, and grants that failed for it are tried again at once
   * rather than at the end of their backoff.
   */
  #watchKeychain(): void {
    this.#unwatchKeychain = this.vault.onStateChange((state) => void this.#keychainChanged(state));
    if (this.vault.state !== 'available') this.#startReprobe();
  }

  async #keychainChanged(state: KeychainState): Promise<void> {
    if (state === 'available') {
      this.#stopReprobe();
      // Chosen before the held tokens are saved (saving one clears its grant's failure): each of these sits in a
      // backoff that may be minutes long, and is put back on its normal deadline now.
      const waiting = Object.values(this.store.peek().grants)
        .filter((g) => g.state === 'active' && g.consecutiveFailures > 0 && g.lastFailure?.kind === 'keychain')
        .map((g) => g.id);
      await this.#refresher.saveHeld().catch((err: unknown) => void this.#log('engine', 'task-failed', { detail: `saving held tokens: ${(err as Error).message}` }));
      for (const id of new Set([...waiting, ...this.#refresher.heldGrants])) this.#engine.watch(id);
    } else {
      this.#startReprobe();
    }
    await this.assess().catch((err: unknown) => void this.#log('engine', 'assess-failed', { detail: (err as Error).message }));
    for (const listener of this.#keychainListeners) listener(state);
  }

  #startReprobe(): void {
    if (this.#reprobeTimer) return;
    this.#reprobeTimer = setInterval(() => void this.vault.probe().catch(() => undefined), this.opts.keychainReprobeMs ?? KEYCHAIN_REPROBE_MS);
    this.#reprobeTimer.unref();
  }

  #stopReprobe(): void {
    if (this.#reprobeTimer) clearInterval(this.#reprobeTimer);
    this.#reprobeTimer = null;
  }

  #scheduleAssess(): void {
    if (this.#assessTimer) return;
    // Many grants change in a pass; assessing once per quiet moment keeps a 200-grant sweep cheap.
    this.#assessTimer = setTimeout(() => {
      this.#assessTimer = null;
      void this.assess().catch((err: unknown) => void this.#log('engine', 'assess-failed', { detail: (err as Error).message }));
    }, 1000);
    this.#assessTimer.unref();
  }

  async #clientFor(app: App): Promise<ProviderClient> {
    const cached = this.#clients.get(app.id);
    if (cached) return cached;
    const secret = app.authType === 'web' ? await this.#requireKeychain(() => this.vault.readClientSecret(app.id)) : null;
    if (app.authType === 'web' && !secret) {
      throw new ServiceError('keychain', `${app.name}'s client secret is not in the keychain; add the app again with its secret.`);
    }
    const client = createProviderClient({
      issuer: app.issuer,
      clientId: app.clientId,
      clientSecret: secret,
      ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
      ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
      clock: this.opts.clock,
      allowInsecureLoopback: isLoopback(app.issuer),
      discoveryCache: this.#discovery,
      isAllowedEndpoint: endpointCheck(app),
    });
    this.#clients.set(app.id, client);
    return client;
  }

  #connectionsFor(app: App): ProviderConnections {
    return providerOf(app).connections(app, { fetch: this.opts.fetch ?? fetch, clock: this.opts.clock, ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}) });
  }

  #findStaffId(ref: string): string {
    const wanted = ref.trim().toLowerCase();
    const s = Object.values(this.store.peek().staff).find((x) => x.id === ref || x.email.toLowerCase() === wanted);
    if (!s) throw new ServiceError('not-found', `No staff member "${ref}" has connected anything yet.`);
    return s.id;
  }

  #requireKeychainAvailable(): void {
    const state = this.keychainState;
    if (state === 'available') return;
    const what =
      state === 'locked'
        ? 'The keychain is locked.'
        : state === 'not-answering'
          ? 'The keychain is not answering (Relink asks it again every few seconds).'
          : 'The keychain is not available (on Linux, GNOME Keyring or another Secret Service must be running in your desktop session).';
    throw new ServiceError(
      'keychain',
      `${what} Unlock your keychain (GNOME Keyring, macOS Keychain or Windows Credential Manager) and try again; nothing was changed or deleted.`,
    );
  }

  async #requireKeychain<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new ServiceError('keychain', (err as Error).message);
    }
  }

  /**
   * Who is using Relink here, as records name them: the name set in Settings and the computer's user name,
   * "Alex Reid (alex)", or the user name alone.
   */
  person(): string {
    const user = this.opts.osUser ?? osUserName();
    const name = this.store.peek().settings.advisorName?.trim();
    return name && name !== user ? `${name} (${user})` : user;
  }

  async #log(actor: 'engine' | 'advisor' | 'cli', action: string, fields: { appId?: string; grantId?: string; staffId?: string; tenantIds?: string[]; detail?: string }): Promise<void> {
    try {
      await this.activity.append({ actor, ...(actor === 'engine' ? {} : { person: this.person() }), action, ...fields });
    } catch {
      // The activity log is a record, not a dependency: failing to append never stops the engine.
    }
  }

  // ══ Firm workflows (issue 5) ═══════════════════════════════════════════════════════════════════════
  // Bulk reconnect after a password change, the tracked third-party inventory, the staff offboarding audit and
  // the reports. The logic lives in main/workflows (FirmWorkflows, pure modules underneath); these methods are
  // the service's face for the hosts. STAFF arguments take an email or a staff id.

  #firmWorkflows: FirmWorkflows | null = null;

  /** The firm's workflows (password changes, reconnect plans, tracked apps, offboarding, reports), on this service's store and connect. */
  get workflows(): FirmWorkflows {
    this.#firmWorkflows ??= new FirmWorkflows({
      store: this.store,
      activity: this.activity,
      clock: this.opts.clock,
      actor: this.opts.actor,
      person: () => this.person(),
      status: () => this.status(),
      connect: (appId, options) => this.connect(appId, options),
      error: (code, message) => new ServiceError(code, message),
      providerOf,
    });
    return this.#firmWorkflows;
  }

  /**
   * Disconnects one organisation from an app at its provider (the provider's `connections().remove`), e.g. a
   * client connected by a box ticked by mistake. It cannot be undone — connecting it again takes a new approval
   * — so hosts ask first. The connection is then forgotten (a deliberate disconnect is not a broken connection)
   * and logged.
   */
  async disconnectConnection(connectionId: string): Promise<{ appId: string; tenantId: string; organisation: string; removed: boolean }> {
    const doc = this.store.peek();
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
    this.#requireKeychainAvailable();
    const api = this.#connectionsFor(app);
    const token = async (renew: boolean): Promise<string> => {
      if (renew) this.#accessTokens.delete(g.id);
      const cached = this.#accessTokens.get(g.id);
      if (cached) return cached;
      const r = await this.#refreshGrant(g.id);
      const fresh = r.kind === 'refreshed' ? this.#accessTokens.get(g.id) : undefined;
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
    await this.store.update((d) => {
      delete d.connections[connectionId];
    }, { durable: true });
    await this.#log(this.opts.actor, 'connection-disconnected', {
      appId: app.id,
      grantId: g.id,
      staffId: g.staffId,
      tenantIds: [c.tenantId],
      detail: `${organisation} disconnected from ${app.name} in ${terms.name}${res.removed ? '' : ` (${terms.name} no longer had it)`}.`,
    });
    await this.assess();
    return { appId: app.id, tenantId: c.tenantId, organisation, removed: res.removed };
  }

}

/** The operating system's name for the user running Relink (a fixed word when the system cannot say). */
/** Which discovered endpoints an app's provider really uses (each provider's own list). */
function endpointCheck(app: App): (url: string) => boolean {
  return (url) => providerOf(app).isAllowedEndpoint(app, url);
}

function osUserName(): string {
  try {
    return os.userInfo().username || 'unknown user';
  } catch {
    // No passwd entry for the uid (some containers): Relink still records that someone here did it.
    return 'unknown user';
  }
}

function uniqueSlug(name: string, taken: Set<string>): string {
  const base = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'app';
  let slug = base;
  for (let i = 2; taken.has(slug); i++) slug = `${base}-${i}`;
  return slug;
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}
