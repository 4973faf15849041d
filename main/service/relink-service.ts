import type { AddAppInput, ConnectReport, StatusSnapshot } from '../../shared/api.js';
import { settingsSchema, type ActivityEntry, type App, type Explanation, type Settings } from '../../shared/domain.js';
import { isoNow, type Clock } from '../core/clock.js';
import type { HealthReport } from '../health/assess.js';
import type { IncidentEvent } from '../health/incidents.js';
import type { AppChecks } from '../providers/provider.js';
import { DEFAULT_PROVIDER, providerOf } from '../providers/registry.js';
import { AccessTokenCache } from '../refresh/access-tokens.js';
import { Engine, type PassSummary } from '../refresh/engine.js';
import { Refresher, type RefreshResult } from '../refresh/refresher.js';
import { Scheduler } from '../refresh/scheduler.js';
import { SingleFlight } from '../refresh/single-flight.js';
import type { KeychainState } from '../secrets/keychain.js';
import type { ActivityLogPort, DocumentStore, RecoveryEvent, RefreshJournalPort, SecretVault, StoragePorts } from '../store/ports.js';
import { FirmWorkflows } from '../workflows/workflow-service.js';
import { ActivityRecorder, type Log } from './activity-recorder.js';
import { AppRegistry } from './app-registry.js';
import { ConnectFlow, type ConnectOptions } from './connect-flow.js';
import { Disconnector, type DisconnectResult } from './disconnect.js';
import { HealthMonitor } from './health-monitor.js';
import { KeychainWatch } from './keychain-watch.js';
import { MetadataEngineStore } from './metadata-engine-store.js';
import { ProviderClients } from './provider-clients.js';
import { requireKeychainAvailable, ServiceError } from './service-errors.js';
import { statusView } from './status-view.js';

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

export { ServiceError } from './service-errors.js';
export type { ConnectOptions } from './connect-flow.js';
export type { AppChecks } from '../providers/provider.js';

const DEFAULT_CONCURRENCY = 16;

/** How often a keychain that is locked, missing or not answering is asked again. */
export const KEYCHAIN_REPROBE_MS = 15_000;

export class RelinkService {
  readonly #accessTokens: AccessTokenCache;
  readonly #engine: Engine;
  readonly #engineStore: MetadataEngineStore;
  readonly #scheduler: Scheduler;
  readonly #refresher: Refresher;
  readonly #recorder: ActivityRecorder;
  readonly #log: Log;
  readonly #clients: ProviderClients;
  readonly #health: HealthMonitor;
  readonly #keychain: KeychainWatch;
  readonly #apps: AppRegistry;
  readonly #connectFlow: ConnectFlow;
  readonly #disconnector: Disconnector;
  #skewMs: number | null = null;
  #running = false;
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

  /**
   * Wires the collaborators (./app-registry.ts, ./connect-flow.ts, ./disconnect.ts, ./health-monitor.ts,
   * ./keychain-watch.ts, ./provider-clients.ts, ./activity-recorder.ts) to the engine and to each other: each
   * gets the few ports it needs, as functions over this service's state.
   */
  private constructor(
    private readonly opts: ServiceOptions,
    storage: StoragePorts,
  ) {
    const { clock, actor } = opts;
    const { store, vault, journal, activity, lock } = storage;
    this.store = store;
    this.vault = vault;
    this.journal = journal;
    this.activity = activity;
    this.recovery = storage.recovery;
    this.#accessTokens = new AccessTokenCache(clock);
    this.#engineStore = new MetadataEngineStore(store);
    this.#recorder = new ActivityRecorder(activity, store, opts.osUser);
    const log = (this.#log = this.#recorder.log);
    this.#clients = new ProviderClients(opts, (appId) => vault.readClientSecret(appId));
    this.#health = new HealthMonitor({ store, clock, keychainState: () => this.keychainState, clockSkewMs: () => this.#skewMs, log });
    // Health follows the document, whoever changed it (a workflow, an action, another part of the service):
    // the store's change event schedules one assessment per quiet moment, so no caller has to remember to.
    store.onChange(() => this.#health.schedule());
    this.#refresher = new Refresher({
      clock,
      vault,
      journal,
      generations: journal,
      lock,
      flights: new SingleFlight<string, RefreshResult>(),
      grants: this.#engineStore,
      accessTokens: this.#accessTokens,
      clientFor: (app) => this.#clients.clientFor(app),
      classify: (app, outcome, now) => providerOf(app).classifyTokenOutcome(outcome, now, 'refresh'),
      onSkew: (ms) => {
        this.#skewMs = ms;
      },
    });
    this.#scheduler = new Scheduler(clock, {
      maxConcurrent: opts.concurrency ?? DEFAULT_CONCURRENCY,
      onTaskError: (key, err) => void log('engine', 'task-failed', { detail: `${key}: ${(err as Error).message}` }),
      onClockJump: () => this.#engine.resume(),
    });
    this.#engine = new Engine({
      clock,
      scheduler: this.#scheduler,
      store: this.#engineStore,
      accessTokens: this.#accessTokens,
      refresh: (grantId) => this.#refreshGrant(grantId),
      connectionsFor: (app) => this.#clients.connectionsFor(app),
      // Damaged markers too: a marker cut short by a crash is a refresh that may have been in flight.
      interruptedGrants: () => journal.interrupted(),
      onChange: () => this.#health.schedule(),
    });

    const requireAvailable = () => requireKeychainAvailable(this.keychainState);
    const watch = (grantId: string) => this.#engine.watch(grantId);
    const assess = () => this.assess();
    const connectionsFor = (app: App) => this.#clients.connectionsFor(app);
    this.#keychain = new KeychainWatch({ vault, store, refresher: this.#refresher, watch, assess, log, reprobeMs: opts.keychainReprobeMs ?? KEYCHAIN_REPROBE_MS });
    this.#apps = new AppRegistry({
      store,
      clock,
      actor,
      clients: this.#clients,
      saveClientSecret: (appId, secret) => vault.saveClientSecret(appId, secret),
      requireKeychainAvailable: requireAvailable,
      log,
      watch,
      check: (filter) => this.check(filter),
    });
    this.#connectFlow = new ConnectFlow({
      store,
      clock,
      actor,
      journal,
      vault,
      lock,
      accessTokens: this.#accessTokens,
      findApp: (ref) => this.#apps.findApp(ref),
      requireKeychainAvailable: requireAvailable,
      clientFor: (app) => this.#clients.clientFor(app),
      connectionsFor,
      forgetRefresh: (grantId) => this.#refresher.forget(grantId),
      report: () => this.#health.report,
      onSkew: (ms) => {
        this.#skewMs = ms;
      },
      log,
      watch,
      assess,
    });
    this.#disconnector = new Disconnector({
      store,
      actor,
      accessTokens: this.#accessTokens,
      requireKeychainAvailable: requireAvailable,
      connectionsFor,
      refreshGrant: (grantId) => this.#refreshGrant(grantId),
      log,
      assess,
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
    service.#keychain.start();
    if (storage.recovery) {
      await service.#log('engine', 'metadata-recovered', { detail: storage.recovery.message });
    }
    await service.assess();
    return service;
  }

  // ── apps (./app-registry.ts) ───────────────────────────────────────────────────────────────────────

  async addApp(input: AddAppInput, clientSecret: string | null): Promise<App> {
    return (await this.addAppChecked(input, clientSecret)).app;
  }

  /** Adds an app after checking what can be checked before anyone signs in; nothing is saved when a check fails. */
  addAppChecked(input: AddAppInput, clientSecret: string | null): Promise<{ app: App; checks: AppChecks }> {
    return this.#apps.addAppChecked(input, clientSecret);
  }

  apps(): App[] {
    return this.#apps.apps();
  }

  /** An app by id, name (case-insensitive) or client id. */
  findApp(ref: string): App {
    return this.#apps.findApp(ref);
  }

  /** A web app's new client secret; connections refused with `invalid_client` are given another try and checked now. */
  updateClientSecret(appRef: string, clientSecret: string): Promise<PassSummary> {
    return this.#apps.updateClientSecret(appRef, clientSecret);
  }

  // ── connect / reconnect (./connect-flow.ts), disconnect (./disconnect.ts) ──────────────────────────

  /** Refuses, before any browser opens, a sign-in Relink knows will fail; returns the app otherwise. */
  assertConnectable(appRef: string): App {
    return this.#connectFlow.assertConnectable(appRef);
  }

  /** One consent in the system browser, its refresh token stored, and the report of what it brought back. */
  connect(appRef: string, options: ConnectOptions): Promise<ConnectReport> {
    return this.#connectFlow.connect(appRef, options);
  }

  /** Disconnects one organisation from an app at its provider (cannot be undone), then forgets and logs it. */
  disconnectConnection(connectionId: string): Promise<DisconnectResult> {
    return this.#disconnector.disconnectConnection(connectionId);
  }

  // ── checking and running ───────────────────────────────────────────────────────────────────────────

  /** One full pass now over the active grants (optionally of one app or one staff member). */
  async check(filter: { app?: string; staff?: string } = {}): Promise<PassSummary> {
    requireKeychainAvailable(this.keychainState);
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
    requireKeychainAvailable(this.keychainState);
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
    this.#health.beginClose();
    this.#running = false;
    this.#engine.stop();
    this.#keychain.stop();
    // A refresh already sent may have rotated the token at the provider: let it store the new one and clear its
    // journal marker, rather than leave the grant depending on a restart within its grace period. Then give the
    // task it belongs to (the probe that follows) a moment to record its result, so it does not fail against a
    // closed store. Both bounded, so a hung request cannot hold a stopping process for ever.
    const settle = async (busy: () => boolean, ms: number) => {
      for (const end = Date.now() + ms; busy() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    };
    await settle(() => this.#refreshing.size > 0, 35_000);
    await settle(() => this.#scheduler.running > 0, 5_000);
    this.#health.cancelScheduled();
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

  // ── health, incidents, status (./health-monitor.ts) ────────────────────────────────────────────────

  onIncident(listener: (e: IncidentEvent) => void): () => void {
    return this.#health.onIncident(listener);
  }

  /** Re-assesses health and brings incidents up to date (opening and closing them). */
  assess(): Promise<HealthReport> {
    return this.#health.assess();
  }

  /**
   * Called after every committed change to the document, whoever made it (the store's change event): the
   * moment a host should push a fresh status. Health is re-assessed soon after as well (see the constructor).
   */
  onDocumentChange(listener: () => void): () => void {
    return this.store.onChange(listener);
  }

  /** Called after every assessment: the moment a host should push a fresh status to its windows. */
  onAssessed(listener: () => void): () => void {
    return this.#health.onAssessed(listener);
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
    return statusView(this.store.peek(), this.#health.report!, {
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

  /** Called when the keychain's state changes (after the store has been re-assessed for it; ./keychain-watch.ts). */
  onKeychainChange(listener: (state: KeychainState) => void): () => void {
    return this.#keychain.onChange(listener);
  }

  /**
   * Who is using Relink here, as records name them: the name set in Settings and the computer's user name,
   * "Alex Reid (alex)", or the user name alone.
   */
  person(): string {
    return this.#recorder.person();
  }

  #findStaffId(ref: string): string {
    const wanted = ref.trim().toLowerCase();
    const s = Object.values(this.store.peek().staff).find((x) => x.id === ref || x.email.toLowerCase() === wanted);
    if (!s) throw new ServiceError('not-found', `No staff member "${ref}" has connected anything yet.`);
    return s.id;
  }

  // ══ Firm workflows (issue 5) ═══════════════════════════════════════════════════════════════════════
  // Bulk reconnect after a password change, the tracked third-party inventory, the staff offboarding audit and
  // the reports. The logic lives in main/workflows (FirmWorkflows, pure modules underneath); hosts call
  // `service.workflows` directly. STAFF arguments take an email or a staff id.

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
}
