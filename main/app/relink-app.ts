// Over 500 lines: one class behind both windows (Electron and browser mode) — its profile, demo, operations and
// pushes share the open service and the operation table; the channel handlers are a table at its end.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ConnectReport, Operation, Session, StatusSnapshot } from '../../shared/api.js';
import { StatusPublisher } from './status-delta.js';
import type { WorkflowConnectOptions } from '../workflows/workflow-service.js';
import { BROKEN_HEALTH } from '../../shared/domain.js';
import { HELP_URLS } from '../../shared/help-links.js';
import { createDispatcher, diskFullError, EventHub, type ApiHost, type Handlers } from '../api/dispatcher.js';
import { isoNow } from '../core/clock.js';
import { populateDemo, startDemoSandbox, type DemoFirm } from '../demo/demo-firm.js';
import { SANDBOX_PORTAL_PATH } from '../sandbox/xero/portal-path.js';
import { ServiceError, type ConnectOptions, type RelinkService } from '../service/relink-service.js';
import { createRelink, localProfile } from './create-relink.js';
import type { RelinkAppOptions, ShellHooks } from './host-options.js';
import { keychainHelp, type KeychainHelp } from './keychain-help.js';
import type { Keychain } from '../secrets/keychain.js';
import { MemoryKeychain } from '../secrets/memory-keychain.js';

/**
 * The application a window talks to: one RelinkService (the real profile, or the demo's), the API handlers
 * behind the contract in shared/api.ts, consents in progress ("operations"), and the pushes that keep every
 * window's picture current. Electron and browser mode both host exactly this; neither adds behaviour.
 */

/** How long a consent may wait for the advisor in the browser before it is given up. */
const CONSENT_TIMEOUT_MS = 10 * 60_000;
/** Windows get at most one status change a second: a 200-grant pass changes things hundreds of times. */
const STATUS_PUSH_INTERVAL_MS = 1000;
const KEEP_FINISHED_OPERATIONS = 50;

interface RunningOperation {
  view: Operation;
  abort: AbortController;
}

export class RelinkApp implements ApiHost, ShellHooks {
  readonly #hub = new EventHub();
  readonly #operations = new Map<string, RunningOperation>();
  readonly #attentionListeners = new Set<(count: number) => void>();
  readonly #incidentListeners = new Set<(e: { kind: 'opened' | 'recovered'; incidentId: string; summary: string }) => void>();
  #service!: RelinkService;
  #unsubscribe: Array<() => void> = [];
  #demo: DemoFirm | null = null;
  /** The demo runs without a keychain, its sandbox sign-ins held in memory (see #startDemo). */
  #demoSecretsInMemory = false;
  #statusTimer: NodeJS.Timeout | null = null;
  #lastPush = 0;
  /** What windows were last told of the status; the event hub checks each push against the contract (the one check on this side). */
  readonly #status = new StatusPublisher({
    listening: () => this.#hub.size > 0,
    whole: (status) => this.#hub.emit('status', status),
    delta: (delta) => this.#hub.emit('statusDelta', delta),
  });
  #attention = 0;
  #closed = false;
  /** Profile switches (demo start) and close are serialised so requests never see a half-open service. */
  #switching: Promise<unknown> = Promise.resolve();

  readonly dispatch: ApiHost['dispatch'];

  private constructor(private readonly opts: RelinkAppOptions) {
    this.dispatch = createDispatcher(this.#handlers(), (channel, err) =>
      this.#logLine(`request ${channel} failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  static async open(opts: RelinkAppOptions): Promise<RelinkApp> {
    const app = new RelinkApp(opts);
    if (opts.demo) await app.#startDemo();
    else await app.#openProfile(opts.dataDir, opts.keychainService, true);
    return app;
  }

  subscribe(listener: (event: Parameters<Parameters<ApiHost['subscribe']>[0]>[0], payload: unknown) => void): () => void {
    return this.#hub.subscribe(listener);
  }

  get service(): RelinkService {
    return this.#service;
  }

  /** While the demo runs: its sandbox's stand-in for Xero's developer portal (where the demo's secrets are). */
  get demoPortalUrl(): string | null {
    return this.#demo ? `${this.#demo.sandbox.origin}${SANDBOX_PORTAL_PATH}` : null;
  }

  // ── ShellHooks ─────────────────────────────────────────────────────────────────────────────────────

  attentionCount(): number {
    return this.#attention;
  }

  onAttentionChange(listener: (count: number) => void): () => void {
    this.#attentionListeners.add(listener);
    return () => this.#attentionListeners.delete(listener);
  }

  onIncident(listener: (e: { kind: 'opened' | 'recovered'; incidentId: string; summary: string }) => void): () => void {
    this.#incidentListeners.add(listener);
    return () => this.#incidentListeners.delete(listener);
  }

  notificationsEnabled(): boolean {
    return this.#service.settings().notifications;
  }

  suspend(): void {
    this.#logLine('the computer is going to sleep');
  }

  resume(): void {
    // Timers did not run while asleep: whatever fell due is caught up now (the scheduler spreads it out).
    if (this.#service.running) this.#service.resume();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#serialised(() => this.#closeProfile());
  }

  // ── profiles ───────────────────────────────────────────────────────────────────────────────────────

  async #openProfile(dataDir: string, keychainService: string, run: boolean, keychain: Keychain = this.opts.keychain): Promise<void> {
    const service = await createRelink({
      storage: localProfile({ dataDir, keychainService, keychain, backend: this.opts.backendFor(dataDir) }),
      clock: this.opts.clock,
      actor: 'advisor',
    });
    if (service.recovery) this.#logLine(service.recovery.message);
    this.#service = service;
    this.#unsubscribe = [
      // The store's change event is the one source of status pushes: every committed update — an action's, a
      // workflow's, the engine's — reaches the window without each handler remembering to say so. A fresh
      // assessment (health moves with time as well as with the document) pushes too.
      service.onDocumentChange(() => this.#statusChanged()),
      service.onAssessed(() => this.#statusChanged()),
      // Unlocked after the window opened locked: start keeping connections alive now, without a restart.
      service.onKeychainChange((state) => {
        if (run && state === 'available' && !service.running && this.#service === service) {
          void service.run().catch((err: unknown) => this.#logLine(`could not start after the keychain came back: ${(err as Error).message}`));
        }
        this.#statusChanged();
      }),
      service.onIncident((e) => {
        if (e.kind === 'superseded') return;
        const view = { kind: e.kind, incidentId: e.incident.id, summary: e.incident.summary };
        this.#hub.emit('incident', view);
        for (const l of this.#incidentListeners) l(view);
      }),
    ];
    // A locked keychain still opens the window: the status says so and what to do; nothing runs until then.
    if (run && service.keychainState === 'available') await service.run();
    this.#statusChanged();
  }

  async #closeProfile(): Promise<void> {
    for (const op of this.#operations.values()) op.abort.abort();
    if (this.#statusTimer) clearTimeout(this.#statusTimer);
    this.#statusTimer = null;
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    await this.#service?.close();
    await this.#demo?.close();
    this.#demo = null;
    this.#demoSecretsInMemory = false;
  }

  /**
   * Demo mode: a profile of its own (`<dataDir>/demo`, keychain service `<name> Demo`) so the demo never mixes
   * with the firm's real connections, rebuilt on every start because the in-process sandbox is new each time.
   */
  async #startDemo(): Promise<void> {
    const dir = path.join(this.opts.dataDir, 'demo');
    const keychainService = `${this.opts.keychainService} Demo`;
    await this.#forgetProfile(dir, keychainService);
    const sandbox = await startDemoSandbox();
    try {
      await this.#openProfile(dir, keychainService, false);
      const state = this.#service.keychainState;
      if (state !== 'available') {
        // The demo's tokens are the sandbox's and open nothing outside it, so without a usable keychain they are
        // held in memory for this run (and lost when it ends); the banner says so, the log too. The firm's own
        // profile never does this: it shows what is missing instead (keychain-help.ts).
        for (const u of this.#unsubscribe) u();
        this.#unsubscribe = [];
        await this.#service.close();
        await this.#openProfile(dir, keychainService, false, new MemoryKeychain());
        this.#demoSecretsInMemory = true;
        this.#logLine(`the keychain is ${state}: the demo keeps its sandbox sign-ins in memory for this run only`);
      }
      const story = await populateDemo(this.#service, sandbox, this.opts.clock);
      this.#demo = { sandbox, story, close: () => sandbox.close() };
    } catch (err) {
      for (const u of this.#unsubscribe) u();
      this.#unsubscribe = [];
      await this.#service?.close().catch(() => undefined);
      await sandbox.close();
      throw err;
    }
    this.#statusChanged();
  }

  /** Deletes an old demo profile's keychain entries, then its folder. */
  async #forgetProfile(dir: string, keychainService: string): Promise<void> {
    const exists = await fs.stat(dir).then(() => true, () => false);
    if (!exists) return;
    const old = await createRelink({
      storage: localProfile({ dataDir: dir, keychainService, keychain: this.opts.keychain, backend: this.opts.backendFor(dir) }),
      clock: this.opts.clock,
      actor: 'advisor',
    });
    try {
      await old.forgetSecrets();
    } finally {
      await old.close();
    }
    await fs.rm(dir, { recursive: true, force: true });
  }

  // ── pushes ─────────────────────────────────────────────────────────────────────────────────────────

  #statusChanged(): void {
    if (this.#statusTimer || this.#closed) return;
    const wait = Math.max(0, this.#lastPush + STATUS_PUSH_INTERVAL_MS - Date.now());
    this.#statusTimer = setTimeout(() => {
      this.#statusTimer = null;
      this.#lastPush = Date.now();
      try {
        this.#pushStatus();
      } catch (err) {
        this.#logLine(`could not push the status: ${(err as Error).message}`);
      }
    }, wait);
    this.#statusTimer.unref?.();
  }

  /** Takes the status now and tells the windows what changed (status-delta.ts); returns it and its version. */
  #pushStatus(): { snapshot: StatusSnapshot; version: number } {
    const snapshot = this.#service.status();
    const attention = snapshot.connections.filter((c) => BROKEN_HEALTH.has(c.health)).length;
    if (attention !== this.#attention) {
      this.#attention = attention;
      for (const l of this.#attentionListeners) l(attention);
    }
    return this.#status.publish(snapshot);
  }

  #session(): Session {
    return {
      host: this.opts.host,
      version: this.opts.version,
      firstRun: this.#service.apps().length === 0,
      demo: this.#demo !== null,
      engineRunning: this.#service.running,
      secretsInMemory: this.#demo !== null && this.#demoSecretsInMemory,
      keychainHelp: this.keychainHelp,
    };
  }

  /** The window's session, as `session.get` answers it (hosts print parts of it). */
  session(): Session {
    return this.#session();
  }

  /** What is missing and how to get it, when this profile's keychain cannot be used (never for an in-memory demo). */
  get keychainHelp(): KeychainHelp | null {
    return keychainHelp(this.#service.keychainState);
  }

  // ── consents ───────────────────────────────────────────────────────────────────────────────────────

  #startConnect(appId: string, staffId: string | null, tenantId: string | null, tenantIds: string[]): Operation {
    const app = this.#service.findApp(appId);
    return this.#startOperation(
      { kind: 'connect', appId: app.id, staffId, tenantId },
      (o) => o.view.kind === 'connect' && o.view.appId === app.id && o.view.staffId === staffId,
      async (opener) => {
        const report = await this.#service.connect(app.id, {
          ...opener,
          ...(staffId ? { expectStaffId: staffId } : {}),
          ...(tenantIds.length ? { expectTenantIds: tenantIds } : {}),
        });
        return { report, outcome: null, message: null };
      },
    );
  }

  /**
   * One consent in the system browser, followed as an operation: the window sees it wait for approval, verify,
   * and finish, whatever started it (Reconnect, a step of a reconnect plan, moving a leaver's connections).
   * A second press for the same thing while one is open shows that one rather than opening another tab.
   */
  #startOperation(
    init: Pick<Operation, 'kind' | 'appId' | 'staffId' | 'tenantId'> & Partial<Pick<Operation, 'runId' | 'itemId' | 'leaverId'>>,
    same: (o: RunningOperation) => boolean,
    work: (opener: WorkflowConnectOptions) => Promise<{ report: ConnectReport | null; outcome: string | null; message: string | null }>,
  ): Operation {
    for (const op of this.#operations.values()) if (!op.view.finishedAt && same(op)) return op.view;
    // A sign-in known to fail (Xero rejects the app, or no keychain to keep it) is refused before the browser opens.
    this.#service.assertConnectable(init.appId);
    const op: RunningOperation = {
      abort: new AbortController(),
      view: {
        id: randomUUID(),
        runId: null,
        itemId: null,
        leaverId: null,
        ...init,
        tenantIds: [],
        outcome: null,
        message: null,
        state: 'waiting-for-approval',
        authorizeUrl: null,
        startedAt: isoNow(this.opts.clock),
        finishedAt: null,
        report: null,
        error: null,
      },
    };
    this.#operations.set(op.view.id, op);
    const update = (patch: Partial<Operation>) => {
      op.view = { ...op.view, ...patch };
      this.#hub.emit('operation', op.view);
    };
    // `onScope` rides along in the opener: workflows spread it into their connect options unchanged.
    const opener: WorkflowConnectOptions & Pick<ConnectOptions, 'onScope'> = {
      timeoutMs: CONSENT_TIMEOUT_MS,
      signal: op.abort.signal,
      onScope: ({ tenantIds }) => update({ tenantIds }),
      open: async (url) => {
        update({ authorizeUrl: url });
        // If the browser does not come up, the window offers the same page as a link; keep waiting.
        await this.opts.openAuthorizeUrl(url).catch((err: unknown) => this.#logLine(`could not open the browser: ${(err as Error).message}`));
      },
      onVerifying: () => update({ state: 'verifying' }),
    };
    void work(opener)
      .then(
        ({ report, outcome, message }) => {
          const failed = outcome === 'failed' || outcome === 'cancelled';
          const state = op.abort.signal.aborted || outcome === 'cancelled' ? 'cancelled' : failed ? 'failed' : 'succeeded';
          update({ state, report, outcome, message, finishedAt: isoNow(this.opts.clock), ...(failed && message ? { error: { code: 'not-authorised' as const, message } } : {}) });
        },
        (err: unknown) => {
          const cancelled = op.abort.signal.aborted;
          const error =
            err instanceof ServiceError
              ? { code: err.code, message: err.message }
              : (diskFullError(err) ?? { code: 'internal' as const, message: 'The connection could not be completed because of a problem inside Relink. Try again.' });
          if (!(err instanceof ServiceError)) this.#logLine(`${init.kind} failed: ${(err as Error).message}`);
          update({ state: cancelled ? 'cancelled' : 'failed', error: cancelled ? null : error, finishedAt: isoNow(this.opts.clock) });
        },
      )
      .finally(() => {
        this.#pruneOperations();
        this.#statusChanged();
      });
    this.#hub.emit('operation', op.view);
    return op.view;
  }

  #startPlanStep(runId: string, itemId: string | undefined): Operation {
    const run = this.#service.workflows.reconnectRun(runId);
    const item = run.items.find((i) => i.id === (itemId ?? run.nextItemId));
    if (!item) throw new ServiceError('usage', 'Nothing is left to reconnect in this plan.');
    return this.#startOperation(
      { kind: 'plan-step', appId: item.appId, staffId: item.staffId, tenantId: null, runId, itemId: item.id },
      (o) => o.view.kind === 'plan-step' && o.view.runId === runId,
      async (opener) => {
        const r = await this.#service.workflows.runNextPlanItem(runId, opener, { itemId: item.id });
        return { report: r.report, outcome: r.outcome, message: r.message };
      },
    );
  }

  #startMove(leaverId: string, appId: string, tenantId: string | null): Operation {
    const audit = this.#service.workflows.auditStaff(leaverId);
    if (!audit.target) throw new ServiceError('usage', 'First choose the advisor who takes over, then reconnect as them.');
    return this.#startOperation(
      { kind: 'offboarding-move', appId, staffId: audit.target.id, tenantId, leaverId: audit.staff.id },
      (o) => o.view.kind === 'offboarding-move' && o.view.leaverId === audit.staff.id && o.view.appId === appId,
      async (opener) => {
        const r = await this.#service.workflows.runOffboardingMove(leaverId, { appId, ...(tenantId ? { tenantId } : {}) }, opener);
        return { report: r.report, outcome: r.outcome, message: r.message };
      },
    );
  }

  #pruneOperations(): void {
    const finished = [...this.#operations.values()].filter((o) => o.view.finishedAt);
    for (const o of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED_OPERATIONS))) this.#operations.delete(o.view.id);
  }

  // ── handlers ───────────────────────────────────────────────────────────────────────────────────────

  #handlers(): Handlers {
    return {
      'session.get': () => this.#session(),
      'status.get': () => {
        const { snapshot, version } = this.#pushStatus();
        return { ...snapshot, version };
      },
      'status.sync': () => ({ version: this.#pushStatus().version }),
      'apps.add': async ({ app, clientSecret }) => {
        const { app: added, checks } = await this.#service.addAppChecked(app, clientSecret);
        const { snapshot } = this.#pushStatus();
        this.#hub.emit('session', this.#session());
        const summary = snapshot.apps.find((a) => a.id === added.id);
        if (!summary) throw new Error(`app ${added.id} missing from the status after adding it`);
        return { ...summary, checks };
      },
      'connect.start': ({ appId, staffId, tenantId, tenantIds }) => this.#startConnect(appId, staffId, tenantId, tenantIds ?? (tenantId ? [tenantId] : [])),
      'apps.updateSecret': async ({ appId, clientSecret }) => {
        const summary = await this.#service.updateClientSecret(appId, clientSecret);
        return summary;
      },
      'connect.cancel': ({ operationId }) => {
        const op = this.#operations.get(operationId);
        if (!op || op.view.finishedAt) return { cancelled: false };
        op.abort.abort();
        return { cancelled: true };
      },
      'operations.list': () => [...this.#operations.values()].map((o) => o.view),
      'check.run': async ({ appId, staffId }) => {
        const summary = await this.#service.check({ ...(appId ? { app: appId } : {}), ...(staffId ? { staff: staffId } : {}) });
        return summary;
      },
      explain: ({ text }) => this.#service.explain(text),
      'activity.list': (query) => this.#service.activityEntries(query),
      'settings.update': async (patch) => {
        const settings = await this.#service.updateSettings(patch);
        return settings;
      },
      'demo.start': async () => {
        if (this.#demo) return this.#session();
        if (this.#service.apps().length > 0) {
          throw new ServiceError('usage', 'The demo is offered before any app is set up; this profile already has apps.');
        }
        await this.#serialised(async () => {
          await this.#closeProfile();
          try {
            await this.#startDemo();
          } catch (err) {
            // Back to the advisor's own (empty) profile, as if the demo had never been asked for.
            await this.#openProfile(this.opts.dataDir, this.opts.keychainService, true);
            throw err;
          }
        });
        const session = this.#session();
        this.#hub.emit('session', session);
        return session;
      },
      'help.open': async ({ topic }) => {
        // The demo's apps exist only in its sandbox, so "the developer portal" there is the sandbox's stand-in.
        const portal = topic === 'xero-developer-portal' ? this.demoPortalUrl : null;
        await this.opts.openHelpUrl(portal ?? HELP_URLS[topic]);
        return { opened: true };
      },

      // ── firm workflows ──
      'staff.passwordChangePreview': ({ staffId }) => this.#service.workflows.previewPasswordChange(staffId),
      'staff.passwordChanged': async ({ staffId }) => await this.#service.workflows.declarePasswordChanged(staffId),
      'staff.withdrawPasswordChange': async ({ staffId }) => await this.#service.workflows.withdrawPasswordChange(staffId),
      'staff.setStatus': async ({ staffId, status }) => {
        const s = await this.#service.workflows.setStaffStatus(staffId, status);
        return { staffId: s.id, status: s.status };
      },
      'plan.get': ({ staffId }) => this.#service.workflows.planReconnect(staffId ? { staff: staffId } : {}),
      'plan.start': async ({ staffId }) => await this.#service.workflows.startReconnectRun(staffId ? { staff: staffId } : {}),
      'plan.runs': () => this.#service.workflows.reconnectRuns(),
      'plan.runNext': ({ runId, itemId }) => this.#startPlanStep(runId, itemId),
      'plan.skip': async ({ runId, itemId, reason }) => await this.#service.workflows.skipPlanItem(runId, itemId, reason),
      'plan.pause': async ({ runId }) => await this.#service.workflows.pauseReconnectRun(runId),
      'plan.resume': async ({ runId }) => await this.#service.workflows.resumeReconnectRun(runId),
      'plan.cancel': async ({ runId }) => {
        for (const o of this.#operations.values()) if (o.view.runId === runId && !o.view.finishedAt) o.abort.abort();
        return await this.#service.workflows.cancelReconnectRun(runId);
      },
      'plan.reopen': async ({ runId }) => await this.#service.workflows.reopenReconnectRun(runId),
      'connections.disconnect': async ({ connectionId }) => await this.#service.disconnectConnection(connectionId),
      'tracked.list': () => this.#service.workflows.trackedConnections(),
      'tracked.add': async (input) => await this.#service.workflows.addTracked(input),
      'tracked.remove': async ({ id }) => {
        await this.#service.workflows.removeTracked(id);
        return { removed: true };
      },
      'tracked.preview': ({ csv }) => this.#service.workflows.previewTrackedImport(csv),
      'tracked.import': async ({ csv, skipInvalid }) => await this.#service.workflows.importTracked(csv, { skipInvalid }),
      'tracked.export': () => ({ fileName: `relink-tracked-connections-${this.#today()}.csv`, csv: this.#service.workflows.exportTrackedCsv({ bom: true }) }),
      'tracked.confirm': async ({ id }) => await this.#service.workflows.confirmTrackedReconnected(id),
      'tracked.move': async ({ id, toStaffId }) => await this.#service.workflows.moveTracked(id, toStaffId),
      'audit.get': ({ staffId }) => this.#service.workflows.auditStaff(staffId),
      'audit.setTarget': async ({ staffId, targetStaffId }) => await this.#service.workflows.setOffboardingTarget(staffId, targetStaffId),
      'audit.move': ({ staffId, appId, tenantId }) => this.#startMove(staffId, appId, tenantId ?? null),
      'audit.useReplacement': async ({ staffId, appId, replacementAppId }) => await this.#service.workflows.useReplacementApp(staffId, appId, replacementAppId),
      'audit.overrideApp': async ({ staffId, appId, newOwner, reason }) => await this.#service.workflows.overrideCreatedApp(staffId, appId, { newOwner, reason }),
      'audit.withdrawAppMove': async ({ staffId, appId }) => await this.#service.workflows.withdrawAppResolution(staffId, appId),
      'audit.csv': ({ staffId }) => {
        const audit = this.#service.workflows.auditStaff(staffId);
        const who = (audit.staff.email || audit.staff.name).replace(/[^a-z0-9]+/gi, '-').toLowerCase();
        return { fileName: `relink-offboarding-${who}-${this.#today()}.csv`, csv: this.#service.workflows.auditCsv(staffId, { bom: true }) };
      },
      'activity.exportCsv': async (range) => {
        const out = await this.#service.workflows.exportActivity(range, { bom: true });
        // Named by what it holds (the first and last entry's day), not by the bounds asked for ("1970-…").
        const from = (out.first ?? range.from).slice(0, 10);
        const to = (out.last ?? range.to).slice(0, 10);
        return { fileName: `relink-activity-${from}-to-${to}.csv`, ...out };
      },
      'file.save': async ({ fileName, content }) => {
        if (!this.opts.saveFile) throw new ServiceError('usage', 'This window saves files itself: use your browser\'s download.');
        return { saved: await this.opts.saveFile(fileName, content) };
      },
      'report.savePdf': async ({ fileName }) => {
        if (!this.opts.savePdf) throw new ServiceError('usage', 'In a browser, print the report and choose "Save as PDF".');
        return { saved: await this.opts.savePdf(fileName) };
      },
    };
  }

  #today(): string {
    return new Date(this.opts.clock.now()).toISOString().slice(0, 10);
  }

  async #serialised(fn: () => Promise<void>): Promise<void> {
    const run = this.#switching.then(fn);
    this.#switching = run.catch(() => undefined);
    await run;
  }

  #logLine(line: string): void {
    this.opts.log?.(`relink: ${line}`);
  }
}
