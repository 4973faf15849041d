// Over 500 lines: the firm's workflows (password changes, plan runs, tracked apps, offboarding, reports) over
// one store and one connect; each is a short method over pure cores in this folder.
import { randomUUID } from 'node:crypto';
import type { ConnectReport, StatusSnapshot } from '../../shared/api.js';
import type { ActivityEntry, App, StaffMember } from '../../shared/domain.js';
import {
  auditReportSchema,
  offboardingMoveResultSchema,
  passwordChangePreviewSchema,
  planStepResultSchema,
  reconnectPlanSchema,
  reconnectRunViewSchema,
  trackedConnectionSchema,
  trackedImportPreviewSchema,
  trackedImportResultSchema,
  trackedInputSchema,
  trackedViewSchema,
  type AuditReport,
  type Offboarding,
  type OffboardingMove,
  type OffboardingMoveResult,
  type PasswordChange,
  type PasswordChangePreview,
  type PlanStepResult,
  type ReconnectPlan,
  type ReconnectRun,
  type ReconnectRunView,
  type TrackedImportPreview,
  type TrackedImportResult,
  type TrackedInput,
  type TrackedView,
} from '../../shared/workflows.js';
import { isoNow, type Clock } from '../core/clock.js';
import type { ActivityLogPort, DocumentStore } from '../store/ports.js';
import type { MetadataDocument } from '../store/schema.js';
import type { CsvOptions } from './csv.js';
import { appResolution, auditStaff, remainingOrgs } from './offboarding-audit.js';
import { createRun, nextItem, recordConsent, recordFailure, requeueItem, runView, setRunState, skipItem } from './plan-run.js';
import { declaredBreak, planReconnect, previewPasswordChange } from './reconnect-plan.js';
import { activityCsv, activityRange, auditCsv, auditHtml } from './reports.js';
import { trackedView } from './tracked-health.js';
import { previewTrackedCsv, trackedCsv } from './tracked-import.js';
import { existingKeys, newTracked, resolveTracked, trackedKey } from './tracked-inventory.js';
import { providerOf as registryProviderOf } from '../providers/registry.js';
import {
  appProvider,
  findStaff,
  listNames,
  namesStaff,
  orgName,
  plural,
  staffName,
  staffProvider,
  type ConnectionHealth,
  type ProviderLookup,
  type WorkflowWorld,
} from './world.js';

/**
 * The firm workflows as a service: reads and writes the metadata store, appends to the activity log, and runs
 * consents through the host's `connect`. RelinkService owns one and exposes its methods; everything it needs
 * comes in through `WorkflowHost`, so it never imports the service (or anything platform-specific) itself.
 *
 * Store updates follow metadata-store.ts's rules: values (ids, times, whole new records) are computed before
 * `update`, and each mutator finds its target by id and tolerates it being gone.
 */

export type ServiceErrorCode = 'usage' | 'not-found' | 'keychain' | 'unreachable' | 'not-authorised' | 'rejected';

export interface WorkflowConnectOptions {
  open: (url: string) => Promise<void>;
  timeoutMs: number;
  signal?: AbortSignal;
  onVerifying?: () => void;
}

export interface WorkflowHost {
  store: DocumentStore;
  activity: ActivityLogPort;
  clock: Clock;
  actor: 'advisor' | 'cli';
  /** Who is using Relink, in words ("Alex Reid (alex)"): recorded with everything they do. */
  person(): string;
  status(): StatusSnapshot;
  /** One consent; `expectTenantIds` are reported still missing (with why) if the provider does not list them afterwards. */
  connect(appId: string, options: WorkflowConnectOptions & { expectStaffId?: string; expectTenantIds?: string[] }): Promise<ConnectReport>;
  /** The host's error type (ServiceError), so hosts map codes to exit codes and banners as usual. */
  error(code: ServiceErrorCode, message: string): Error;
  /**
   * Which provider an app answers to (the registry's `providerOf` when not given): the workflows' sentences use
   * its terms and follow its policy. Handed to the pure workflow modules inside every world they are given.
   */
  providerOf?: ProviderLookup;
}

/** Completed or cancelled plans are forgotten after this long. */
const KEEP_FINISHED_RUNS_MS = 90 * 86_400_000;
const MAX_DETAIL = 1900;

const clip = (text: string) => (text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text);
const sentence = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

function serviceCode(err: unknown): ServiceErrorCode | null {
  const e = err as { name?: string; code?: string } | null;
  return e && e.name === 'ServiceError' && typeof e.code === 'string' ? (e.code as ServiceErrorCode) : null;
}

/** An activity export's range and, optionally, the same filters as the window's Activity view. */
export interface ActivityExportRange {
  from: string;
  to: string;
  action?: string;
  staffId?: string;
  appId?: string;
}

export class FirmWorkflows {
  /** Plans with a consent open in the browser right now (one at a time per plan). */
  readonly #running = new Set<string>();
  /** Offboardings with a move consent open right now. */
  readonly #moving = new Set<string>();

  constructor(private readonly host: WorkflowHost) {}

  // ── reading ──────────────────────────────────────────────────────────────────────────────────────

  #doc(): MetadataDocument {
    return this.host.store.peek() as unknown as MetadataDocument;
  }

  #now(): string {
    return isoNow(this.host.clock);
  }

  #providerOf(): ProviderLookup {
    return this.host.providerOf ?? registryProviderOf;
  }

  /** The stored facts with the host's provider lookup, for the pure functions that need no health verdicts. */
  #facts(): MetadataDocument & { providerOf: ProviderLookup } {
    return { ...this.#doc(), providerOf: this.#providerOf() };
  }

  /** The stored facts plus the current health verdicts, for the pure workflow functions. */
  world(): WorkflowWorld {
    const doc = this.#doc();
    const status = this.host.status();
    const connections: Record<string, ConnectionHealth> = {};
    for (const c of status.connections) connections[c.id] = { health: c.health, cause: c.cause, fixAction: c.fixAction };
    const grants: Record<string, { health: ConnectionHealth['health']; cause: ConnectionHealth['cause'] }> = {};
    for (const g of status.grants) grants[g.id] = { health: g.health, cause: g.cause };
    return {
      apps: doc.apps,
      staff: doc.staff,
      organisations: doc.organisations,
      grants: doc.grants,
      connections: doc.connections,
      incidents: doc.incidents,
      tracked: doc.tracked,
      passwordChanges: doc.passwordChanges,
      offboardings: doc.offboardings,
      settings: doc.settings,
      health: { connections, grants },
      now: this.host.clock.now(),
      providerOf: this.#providerOf(),
    };
  }

  /** A staff member by email or staff id, or a not-found error that says who is known. */
  staff(ref: string): StaffMember {
    const doc = this.#doc();
    const found = findStaff(doc.staff, ref);
    if (found) return found;
    const known = Object.values(doc.staff)
      .slice(0, 10)
      .map((s) => s.email || s.id)
      .join(', ');
    throw this.host.error(
      'not-found',
      `No staff member "${ref}" is known to Relink (staff appear once they have connected an app through Relink). ` +
        (known ? `Known: ${known}${Object.keys(doc.staff).length > 10 ? ', …' : ''}.` : 'None is known yet.'),
    );
  }

  #app(ref: string): App {
    const apps = Object.values(this.#doc().apps);
    const wanted = ref.trim().toLowerCase();
    const app = apps.find((a) => a.id === ref || a.clientId === ref || a.name.toLowerCase() === wanted);
    if (!app) throw this.host.error('not-found', `No app "${ref}". Known apps: ${apps.map((a) => a.id).join(', ') || 'none yet'}.`);
    return app;
  }

  /** Who is acting, as records store it. */
  #who(): { by: 'advisor' | 'cli'; person: string } {
    return { by: this.host.actor, person: this.host.person() };
  }

  async #log(action: string, fields: Omit<ActivityEntry, 'ts' | 'actor' | 'action' | 'person'>): Promise<void> {
    try {
      await this.host.activity.append({
        actor: this.host.actor,
        person: this.host.person(),
        action,
        ...fields,
        ...(fields.detail ? { detail: clip(fields.detail) } : {}),
      });
    } catch {
      // The activity log is a record, not a dependency: failing to append never stops a workflow.
    }
  }

  // ── bulk reconnect ───────────────────────────────────────────────────────────────────────────────

  /** What declaring a password change would do (nothing is recorded): shown before the advisor confirms. */
  previewPasswordChange(staffRef: string): PasswordChangePreview {
    const s = this.staff(staffRef);
    return passwordChangePreviewSchema.parse(previewPasswordChange(this.world(), s.id));
  }

  /** "Jane changed her password": recorded (and logged); returns the plan for her connections. */
  async declarePasswordChanged(staffRef: string): Promise<ReconnectPlan> {
    const s = this.staff(staffRef);
    // Her password is her login at the provider of her sign-ins (see staffProvider for several).
    const provider = staffProvider(this.#facts(), s.id);
    if (!provider.policy.passwordChangeRevokesGrants) {
      throw this.host.error(
        'usage',
        `A password change does not end sign-ins to ${provider.terms.name}, so ${staffName(this.#doc(), s.id)}'s connections need no reconnecting for it: nothing was recorded.`,
      );
    }
    const who = this.#who();
    const declaration: PasswordChange = { id: randomUUID(), staffId: s.id, declaredAt: this.#now(), declaredBy: who.by, person: who.person };
    await this.host.store.update((d) => {
      d.passwordChanges[declaration.id] = { ...declaration };
    }, { durable: true });
    const plan = this.planReconnect({ staff: s.id });
    await this.#log('password-change-declared', {
      staffId: s.id,
      detail: `${staffName(this.#doc(), s.id)}'s ${provider.terms.name} password change was reported: ${plural(plan.totals.consents, 'consent')} for ${plural(plan.totals.organisations, 'organisation')}, ${plural(plan.totals.tracked, 'third-party app')} to reconnect.`,
    });
    return plan;
  }

  /**
   * Takes back "Jane changed her password" (it was a mistake, or she did not): every declaration for her still
   * in force is marked withdrawn (kept, for the record) and logged. Her connections are judged on what the
   * provider says again. A plan already started stays: it shows what is still queued, and can be stopped.
   */
  async withdrawPasswordChange(staffRef: string): Promise<ReconnectPlan> {
    const s = this.staff(staffRef);
    const doc = this.#facts();
    const open = Object.values(doc.passwordChanges).filter((d) => d.staffId === s.id && !d.withdrawnAt).map((d) => d.id);
    if (open.length === 0) throw this.host.error('usage', `No password change is recorded for ${staffName(doc, s.id)}, so there is nothing to withdraw.`);
    const still = Object.values(doc.grants).filter((g) => g.staffId === s.id && declaredBreak(g, doc) !== null).length;
    const who = this.#who();
    const at = this.#now();
    await this.host.store.update((d) => {
      for (const id of open) {
        const x = d.passwordChanges[id];
        if (x && !x.withdrawnAt) d.passwordChanges[id] = { ...x, withdrawnAt: at, withdrawnBy: who.by, withdrawnPerson: who.person };
      }
    }, { durable: true });
    await this.#log('password-change-withdrawn', {
      staffId: s.id,
      detail: `The report that ${staffName(this.#doc(), s.id)} changed their ${staffProvider(doc, s.id).terms.name} password was withdrawn${still ? `: ${plural(still, 'sign-in')} no longer treated as needing a reconnect` : ''}.`,
    });
    return this.planReconnect({ staff: s.id });
  }

  planReconnect(filter: { staff?: string } = {}): ReconnectPlan {
    const staffId = filter.staff ? this.staff(filter.staff).id : undefined;
    return reconnectPlanSchema.parse(planReconnect(this.world(), staffId ? { staffId } : {}));
  }

  /**
   * Starts working through the plan (persisted). If an unfinished plan for the same scope exists, that one is
   * returned instead, so pressing "start" twice or after a restart resumes rather than duplicates.
   */
  async startReconnectRun(filter: { staff?: string } = {}): Promise<ReconnectRunView> {
    const staffId = filter.staff ? this.staff(filter.staff).id : null;
    const open = Object.values(this.#doc().reconnectRuns).find((r) => r.staffId === staffId && (r.state === 'running' || r.state === 'paused'));
    if (open) return this.reconnectRun(open.id);
    const plan = this.planReconnect(staffId ? { staff: staffId } : {});
    if (plan.consents.length === 0 && plan.tracked.length === 0) {
      throw this.host.error('usage', `Nothing needs reconnecting${staffId ? ` for ${staffName(this.#doc(), staffId)}` : ''}: every connection Relink knows of is working.`);
    }
    const now = this.#now();
    const run = createRun(plan, { id: randomUUID(), now, actor: this.host.actor, person: this.host.person(), staffId });
    const cutoff = this.host.clock.now() - KEEP_FINISHED_RUNS_MS;
    const stale = Object.values(this.#doc().reconnectRuns)
      .filter((r) => (r.state === 'complete' || r.state === 'cancelled') && Date.parse(r.stateSince) < cutoff)
      .map((r) => r.id);
    await this.host.store.update((d) => {
      for (const id of stale) delete d.reconnectRuns[id];
      d.reconnectRuns[run.id] = structuredClone(run);
    }, { durable: true });
    await this.#log('reconnect-plan-started', {
      ...(staffId ? { staffId } : {}),
      tenantIds: [...new Set(plan.consents.flatMap((c) => c.orgIds))],
      detail: `${plural(plan.totals.consents, 'consent')} for ${plural(plan.totals.organisations, 'organisation')} across ${plural(plan.totals.apps, 'app')}; ${plural(plan.totals.tracked, 'third-party app')} to reconnect.`,
    });
    return this.reconnectRun(run.id);
  }

  #storedRun(runId: string): ReconnectRun {
    const run = this.#doc().reconnectRuns[runId];
    if (!run) throw this.host.error('not-found', `No reconnect plan ${runId}; it may have finished long ago.`);
    return structuredClone(run);
  }

  async #saveRun(run: ReconnectRun): Promise<void> {
    const copy = structuredClone(run);
    await this.host.store.update((d) => {
      d.reconnectRuns[copy.id] = structuredClone(copy);
    }, { durable: true });
  }

  reconnectRun(runId: string): ReconnectRunView {
    return reconnectRunViewSchema.parse(runView(this.#storedRun(runId), this.world()));
  }

  /** Every plan kept (newest first). */
  reconnectRuns(): ReconnectRunView[] {
    const world = this.world();
    return Object.values(this.#doc().reconnectRuns)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .map((r) => reconnectRunViewSchema.parse(runView(structuredClone(r), world)));
  }

  /**
   * Opens the next queued consent of a plan (or `itemId`, which may be a failed or skipped one to try again)
   * through the host's connect — the system browser and the provider's consent page — then verifies and records what
   * it brought back. One consent per call: the window drives the queue item by item.
   */
  async runNextPlanItem(runId: string, opener: WorkflowConnectOptions, opts: { itemId?: string } = {}): Promise<PlanStepResult> {
    let run = this.#storedRun(runId);
    if (run.state === 'paused') throw this.host.error('usage', 'This plan is paused: resume it to carry on.');
    if (run.state === 'cancelled') throw this.host.error('usage', 'This plan was cancelled: start a new one.');
    if (this.#running.has(runId)) throw this.host.error('usage', 'A consent for this plan is already waiting in the browser: finish or cancel it first.');
    const result = (outcome: PlanStepResult['outcome'], message: string, itemId: string | null, report: ConnectReport | null): PlanStepResult =>
      planStepResultSchema.parse({ run: runView(run, this.world()), itemId, outcome, message, report });

    let item = opts.itemId ? run.items.find((i) => i.id === opts.itemId) : nextItem(run);
    if (opts.itemId && !item) throw this.host.error('not-found', `No step ${opts.itemId} in this plan.`);
    if (!item || item.state === 'done') {
      const failed = run.items.filter((i) => i.state === 'failed').length;
      const message = item
        ? 'That step is already done.'
        : failed
          ? `No consent is queued; ${plural(failed, 'step')} failed — run ${failed === 1 ? 'it' : 'them'} again or skip ${failed === 1 ? 'it' : 'them'}.`
          : 'Every consent in this plan is done.';
      return result('nothing-to-do', message, item?.id ?? null, null);
    }
    if (item.state !== 'pending') {
      run = requeueItem(run, item.id, this.#now());
      item = run.items.find((i) => i.id === item!.id)!;
    }
    const step = item;
    this.#running.add(runId);
    let report: ConnectReport;
    try {
      report = await this.host.connect(step.appId, { ...opener, expectStaffId: step.staffId, expectTenantIds: step.remainingOrgIds });
    } catch (err) {
      if (opener.signal?.aborted) return result('cancelled', 'Cancelled; the step stays queued.', step.id, null);
      const code = serviceCode(err);
      if (code === 'keychain') throw err; // nothing was attempted: the host shows the keychain's state
      const message = code
        ? `${(err as Error).message} Run this step again when ready, or skip it.`
        : `The step stopped on an unexpected error (${(err as Error).message}). Run it again, or skip it.`;
      run = recordFailure(this.#storedRun(runId), step.id, message, this.#now());
      await this.#saveRun(run);
      await this.#log('reconnect-plan-step-failed', { appId: step.appId, staffId: step.staffId, tenantIds: step.remainingOrgIds, detail: message });
      if (!code) throw err;
      return result('failed', message, step.id, null);
    } finally {
      this.#running.delete(runId);
    }
    // Re-read: the plan may have been paused (or another step recorded) while the browser was open.
    const judged = recordConsent(this.#storedRun(runId), step.id, report, this.#doc(), this.#now());
    run = judged.run;
    await this.#saveRun(run);
    await this.#log(judged.outcome === 'wrong-person' ? 'reconnect-plan-wrong-person' : 'reconnect-plan-step', {
      appId: step.appId,
      staffId: step.staffId,
      grantId: report.grantId,
      tenantIds: step.remainingOrgIds,
      detail: judged.message,
    });
    if (run.state === 'complete') await this.#log('reconnect-plan-complete', { ...(run.staffId ? { staffId: run.staffId } : {}), detail: `All ${plural(run.items.length, 'consent')} done or skipped.` });
    return result(judged.outcome, judged.message, step.id, report);
  }

  async skipPlanItem(runId: string, itemId: string, reason?: string): Promise<ReconnectRunView> {
    const run = this.#storedRun(runId);
    const item = run.items.find((i) => i.id === itemId);
    if (!item) throw this.host.error('not-found', `No step ${itemId} in this plan.`);
    if (item.state === 'done') throw this.host.error('usage', 'That step is already done.');
    const why = reason?.trim() || 'Skipped by the advisor.';
    await this.#saveRun(skipItem(run, itemId, why, this.#now()));
    await this.#log('reconnect-plan-step-skipped', { appId: item.appId, staffId: item.staffId, tenantIds: item.remainingOrgIds, detail: why });
    return this.reconnectRun(runId);
  }

  async pauseReconnectRun(runId: string): Promise<ReconnectRunView> {
    return this.#changeRunState(runId, 'paused', 'reconnect-plan-paused');
  }

  async resumeReconnectRun(runId: string): Promise<ReconnectRunView> {
    return this.#changeRunState(runId, 'running', 'reconnect-plan-resumed');
  }

  async cancelReconnectRun(runId: string): Promise<ReconnectRunView> {
    return this.#changeRunState(runId, 'cancelled', 'reconnect-plan-cancelled');
  }

  /** Undoes "Stop this plan": the stopped plan carries on where it was (unless a newer one for the same scope is open). */
  async reopenReconnectRun(runId: string): Promise<ReconnectRunView> {
    const run = this.#storedRun(runId);
    if (run.state !== 'cancelled') throw this.host.error('usage', `This plan is ${run.state}, not stopped: there is nothing to reopen.`);
    const newer = Object.values(this.#doc().reconnectRuns).find((r) => r.id !== run.id && r.staffId === run.staffId && (r.state === 'running' || r.state === 'paused'));
    if (newer) throw this.host.error('usage', 'A newer plan for the same people is open: carry on with that one instead.');
    await this.#saveRun(setRunState(run, 'running', this.#now()));
    await this.#log('reconnect-plan-reopened', { ...(run.staffId ? { staffId: run.staffId } : {}), detail: 'The stopped plan was reopened.' });
    return this.reconnectRun(runId);
  }

  async #changeRunState(runId: string, state: 'running' | 'paused' | 'cancelled', action: string): Promise<ReconnectRunView> {
    const run = this.#storedRun(runId);
    if (run.state === 'cancelled' || (run.state === 'complete' && state !== 'cancelled')) {
      throw this.host.error('usage', `This plan is already ${run.state}.`);
    }
    if (run.state !== state) {
      await this.#saveRun(setRunState(run, state, this.#now()));
      await this.#log(action, { ...(run.staffId ? { staffId: run.staffId } : {}) });
    }
    return this.reconnectRun(runId);
  }

  // ── tracked third-party connections ──────────────────────────────────────────────────────────────

  // Tracked views need only stored facts (staff, incidents, declarations), not the health snapshot.
  trackedConnections(): TrackedView[] {
    const world = this.#facts();
    return Object.values(world.tracked)
      .map((t) => trackedView(t, world))
      .sort((a, b) => a.organisation.localeCompare(b.organisation) || a.app.localeCompare(b.app) || a.id.localeCompare(b.id))
      .map((v) => trackedViewSchema.parse(v));
  }

  #trackedView(id: string): TrackedView {
    const world = this.#facts();
    const t = world.tracked[id];
    if (!t) throw this.host.error('not-found', `No tracked connection ${id}.`);
    return trackedViewSchema.parse(trackedView(t, world));
  }

  async addTracked(input: TrackedInput): Promise<TrackedView> {
    const parsed = trackedInputSchema.safeParse(input);
    if (!parsed.success) throw this.host.error('usage', parsed.error.issues.map((i) => i.message).join(' '));
    const world = this.#facts();
    const resolved = resolveTracked(
      {
        organisation: parsed.data.organisation,
        app: parsed.data.app,
        authorisedBy: parsed.data.authorisedBy,
        reconnectUrl: parsed.data.reconnectUrl ?? '',
        notes: parsed.data.notes ?? '',
      },
      world,
    );
    if (!resolved.ok) throw this.host.error('usage', `${resolved.reasons.map(sentence).join('. ')}.`);
    const v = resolved.value;
    if (existingKeys(world).has(trackedKey(v.tenantId, v.app, v.staff.id))) {
      throw this.host.error('usage', `${v.app} for ${v.organisation} authorised by ${v.staff.email || v.staff.name} is already tracked.`);
    }
    const entry = trackedConnectionSchema.parse(newTracked(v, { id: randomUUID(), now: this.#now(), source: 'manual' }));
    await this.host.store.update((d) => {
      d.tracked[entry.id] = structuredClone(entry);
    }, { durable: true });
    await this.#log('tracked-added', { staffId: v.staff.id, tenantIds: [v.tenantId], detail: `${v.app} for ${v.organisation}` });
    return this.#trackedView(entry.id);
  }

  async removeTracked(id: string): Promise<void> {
    const t = this.#doc().tracked[id];
    if (!t) throw this.host.error('not-found', `No tracked connection ${id}.`);
    await this.host.store.update((d) => {
      delete d.tracked[id];
    }, { durable: true });
    await this.#log('tracked-removed', { tenantIds: [t.tenantId], detail: `${t.app} for ${orgName(this.#doc(), t.tenantId)}` });
  }

  /** Parses and checks every row of a CSV file; writes nothing. */
  previewTrackedImport(csv: string): TrackedImportPreview {
    const { values: _values, ...preview } = previewTrackedCsv(csv, this.#facts());
    return trackedImportPreviewSchema.parse(preview);
  }

  /**
   * Imports a CSV file: all rows or none. With any invalid row nothing is written unless `skipInvalid`, which
   * imports the valid rows and reports the others as skipped. Everything imported is written in one update.
   */
  async importTracked(csv: string, opts: { skipInvalid?: boolean } = {}): Promise<TrackedImportResult> {
    const { values, ...preview } = previewTrackedCsv(csv, this.#facts());
    const refuse = (message: string): TrackedImportResult =>
      trackedImportResultSchema.parse({ ...preview, committed: false, imported: [], skipped: 0, message });
    if (preview.fileError) return refuse(`Nothing was imported. ${preview.fileError}`);
    if (preview.rejected.length > 0 && !opts.skipInvalid) {
      return refuse(
        `Nothing was imported: ${plural(preview.rejected.length, 'row')} of ${preview.rows} ${preview.rejected.length === 1 ? 'has a problem' : 'have problems'}. ` +
          'Fix them and import again, or import with skip-invalid to leave them out.',
      );
    }
    if (values.length === 0) return refuse('Nothing was imported: no row could be imported.');
    const now = this.#now();
    const entries = values.map((v) => trackedConnectionSchema.parse(newTracked(v, { id: randomUUID(), now, source: 'import' })));
    await this.host.store.update((d) => {
      // Re-checked here in case another Relink process imported the same rows since the preview.
      const keys = existingKeys({ tracked: d.tracked, staff: d.staff });
      for (const e of entries) {
        const key = trackedKey(e.tenantId, e.app, e.authorisedBy);
        if (keys.has(key)) continue;
        d.tracked[e.id] = structuredClone(e);
        keys.set(key, e);
      }
    }, { durable: true });
    const skipped = preview.rejected.length;
    await this.#log('tracked-imported', {
      tenantIds: [...new Set(entries.map((e) => e.tenantId))],
      detail: `${plural(entries.length, 'tracked connection')} imported${skipped ? `; ${plural(skipped, 'row')} skipped as invalid` : ''}.`,
    });
    const after = this.#facts();
    return trackedImportResultSchema.parse({
      ...preview,
      committed: true,
      imported: entries.filter((e) => after.tracked[e.id]).map((e) => trackedView(after.tracked[e.id]!, after)),
      skipped,
      message: `Imported ${plural(entries.length, 'tracked connection')}${skipped ? `; skipped ${plural(skipped, 'invalid row')}` : ''}.`,
    });
  }

  exportTrackedCsv(opts: CsvOptions = {}): string {
    return trackedCsv(this.trackedConnections(), this.#doc(), opts);
  }

  /** The advisor confirms a tracked connection was reconnected in its own app. */
  async confirmTrackedReconnected(id: string): Promise<TrackedView> {
    const t = this.#doc().tracked[id];
    if (!t) throw this.host.error('not-found', `No tracked connection ${id}.`);
    const staffId = findStaff(this.#doc().staff, t.authorisedBy)?.id ?? null;
    const event = { at: this.#now(), action: 'reconnected' as const, ...this.#who(), fromStaffId: staffId, toStaffId: staffId };
    await this.host.store.update((d) => {
      const x = d.tracked[id];
      if (x) d.tracked[id] = { ...x, confirmedAt: event.at, confirmedBy: event.by, history: [...x.history, event].slice(-200) };
    }, { durable: true });
    await this.#log('tracked-reconnected', { ...(staffId ? { staffId } : {}), tenantIds: [t.tenantId], detail: `${t.app} for ${orgName(this.#doc(), t.tenantId)} confirmed reconnected` });
    return this.#trackedView(id);
  }

  /** Someone else authorised it now (an offboarding move): recorded with who and when. */
  async moveTracked(id: string, toStaffRef: string): Promise<TrackedView> {
    const t = this.#doc().tracked[id];
    if (!t) throw this.host.error('not-found', `No tracked connection ${id}.`);
    const to = this.staff(toStaffRef);
    if (to.status !== 'active') throw this.host.error('usage', `${staffName(this.#doc(), to.id)} is marked as ${to.status}: choose an active advisor.`);
    const from = findStaff(this.#doc().staff, t.authorisedBy)?.id ?? null;
    if (from === to.id) throw this.host.error('usage', `${t.app} is already authorised by ${staffName(this.#doc(), to.id)}.`);
    const event = { at: this.#now(), action: 'moved' as const, ...this.#who(), fromStaffId: from, toStaffId: to.id };
    await this.host.store.update((d) => {
      const x = d.tracked[id];
      if (x) d.tracked[id] = { ...x, authorisedBy: to.id, confirmedAt: event.at, confirmedBy: event.by, history: [...x.history, event].slice(-200) };
    }, { durable: true });
    await this.#log('tracked-moved', {
      staffId: to.id,
      tenantIds: [t.tenantId],
      detail: `${t.app} for ${orgName(this.#doc(), t.tenantId)} moved from ${staffName(this.#doc(), from ?? t.authorisedBy)} to ${staffName(this.#doc(), to.id)}`,
    });
    return this.#trackedView(id);
  }

  // ── offboarding ──────────────────────────────────────────────────────────────────────────────────

  auditStaff(staffRef: string): AuditReport {
    const s = this.staff(staffRef);
    return auditReportSchema.parse(auditStaff(this.world(), s.id));
  }

  /**
   * Marks a staff member leaving, removed, or active again. Leaving or removed flags every tracked connection
   * they authorised, takes their connections out of reconnect plans (they are moved instead), and is what the
   * health rules read as evidence when their grants stop working.
   */
  async setStaffStatus(staffRef: string, status: StaffMember['status']): Promise<StaffMember> {
    const s = this.staff(staffRef);
    if (s.status !== status) {
      await this.host.store.update((d) => {
        const x = d.staff[s.id];
        if (x) x.status = status;
      }, { durable: true });
      await this.#log(`staff-marked-${status}`, { staffId: s.id, detail: `${staffName(this.#doc(), s.id)} marked as ${status}` });
    }
    return { ...this.#doc().staff[s.id]! };
  }

  /** Chooses who takes over the leaver's dependencies; from then on only that advisor's reconnects count. */
  async setOffboardingTarget(staffRef: string, targetRef: string): Promise<AuditReport> {
    const s = this.staff(staffRef);
    const target = this.staff(targetRef);
    if (target.id === s.id) throw this.host.error('usage', 'Choose someone other than the person leaving to take over.');
    if (target.status !== 'active') throw this.host.error('usage', `${staffName(this.#doc(), target.id)} is marked as ${target.status}: choose an active advisor.`);
    const now = this.#now();
    await this.host.store.update((d) => {
      const known = d.offboardings[s.id];
      d.offboardings[s.id] = known
        ? { ...known, targetStaffId: target.id }
        : { staffId: s.id, startedAt: now, targetStaffId: target.id, moves: [], warnings: [] };
    }, { durable: true });
    await this.#log('offboarding-target-set', { staffId: s.id, detail: `${staffName(this.#doc(), target.id)} takes over from ${staffName(this.#doc(), s.id)}` });
    return this.auditStaff(s.id);
  }

  async #recordOffboarding(staffId: string, change: { moves?: OffboardingMove[]; warning?: Offboarding['warnings'][number] }, now: string): Promise<void> {
    await this.host.store.update((d) => {
      const known: Offboarding = d.offboardings[staffId] ?? { staffId, startedAt: now, targetStaffId: null, moves: [], warnings: [] };
      d.offboardings[staffId] = {
        ...known,
        moves: [...known.moves, ...(change.moves ?? []).map((m) => structuredClone(m))].slice(-20_000),
        warnings: change.warning ? [...known.warnings, structuredClone(change.warning)].slice(-500) : known.warnings,
      };
    }, { durable: true });
  }

  /**
   * Moves one app's connections from the leaver to the chosen advisor with one consent (one organisation, for an
   * app without multi-organisation consent): the browser opens the provider's consent page, the advisor signs in as
   * themselves and ticks the organisations. Counted only if the id_token says the chosen advisor approved.
   */
  async runOffboardingMove(staffRef: string, step: { appId: string; tenantId?: string }, opener: WorkflowConnectOptions): Promise<OffboardingMoveResult> {
    const s = this.staff(staffRef);
    const targetId = this.#doc().offboardings[s.id]?.targetStaffId ?? null;
    const target = targetId ? this.#doc().staff[targetId] : undefined;
    if (!target) throw this.host.error('usage', `Choose who takes over from ${staffName(this.#doc(), s.id)} first.`);
    const app = this.#app(step.appId);
    const done = (outcome: OffboardingMoveResult['outcome'], message: string, report: ConnectReport | null) =>
      offboardingMoveResultSchema.parse({ audit: this.auditStaff(s.id), outcome, message, report });
    const remaining = remainingOrgs(this.auditStaff(s.id), app.id);
    if (step.tenantId && !remaining.includes(step.tenantId)) {
      return done('nothing-to-do', `${app.name} in ${orgName(this.#doc(), step.tenantId)} does not depend on ${staffName(this.#doc(), s.id)} (any more).`, null);
    }
    if (remaining.length === 0) return done('nothing-to-do', `Nothing of ${app.name} depends on ${staffName(this.#doc(), s.id)} any more.`, null);
    const provider = appProvider(this.#facts(), app.id);
    const manyAtOnce = app.multiOrgConsent && provider.policy.consent === 'many-organisations';
    const wanted = step.tenantId ? [step.tenantId] : manyAtOnce ? remaining : [remaining[0]!];
    if (this.#moving.has(s.id)) throw this.host.error('usage', 'A move consent is already waiting in the browser: finish or cancel it first.');
    this.#moving.add(s.id);
    let report: ConnectReport;
    try {
      report = await this.host.connect(app.id, { ...opener, expectStaffId: target.id, expectTenantIds: wanted });
    } catch (err) {
      if (opener.signal?.aborted) return done('cancelled', 'Cancelled; nothing was moved.', null);
      const code = serviceCode(err);
      if (!code || code === 'keychain') throw err;
      return done('failed', `${(err as Error).message} Nothing was moved.`, null);
    } finally {
      this.#moving.delete(s.id);
    }
    const now = this.#now();
    const targetName = staffName(this.#doc(), target.id);
    if (report.staff.id !== target.id) {
      const approver = `${report.staff.name}${report.staff.email ? ` (${report.staff.email})` : ''}`;
      const message =
        `${app.name} was approved in ${provider.terms.name} by ${approver}, not by ${targetName}, so it was not counted as moved: sign in to ` +
        `${provider.terms.name} as ${targetName} and try again${report.staff.id === s.id ? ` (it was approved by ${staffName(this.#doc(), s.id)}, who is leaving)` : ''}.`;
      await this.#recordOffboarding(s.id, { warning: { at: now, kind: 'wrong-person', appId: app.id, tenantIds: wanted, approvedBy: { ...report.staff }, message } }, now);
      await this.#log('offboarding-move-wrong-person', { appId: app.id, staffId: s.id, grantId: report.grantId, tenantIds: wanted, detail: message });
      return done('wrong-person', message, report);
    }
    const audit = this.auditStaff(s.id);
    const nowMoved = wanted.filter((t) => audit.connections.some((c) => c.appId === app.id && c.tenantId === t && c.state === 'moved'));
    const missing = wanted.filter((t) => !nowMoved.includes(t));
    if (nowMoved.length) {
      await this.#recordOffboarding(
        s.id,
        {
          moves: nowMoved.map((t) => ({ at: now, kind: 'connection', appId: app.id, tenantId: t, trackedId: null, toStaffId: target.id, ...this.#who(), how: 'reconnected', note: null })),
        },
        now,
      );
      await this.#log('offboarding-moved', {
        appId: app.id,
        staffId: s.id,
        grantId: report.grantId,
        tenantIds: nowMoved,
        detail: `${app.name}: ${listNames(nowMoved.map((t) => orgName(this.#doc(), t)))} moved from ${staffName(this.#doc(), s.id)} to ${targetName}`,
      });
    }
    // Connected although nobody asked for it: not one of the leaver's organisations for this app (a box ticked by
    // mistake on the provider's consent page connects a new client). Flagged, with the offer to disconnect it.
    const leaversOrgs = new Set(audit.connections.filter((c) => c.appId === app.id).map((c) => c.tenantId));
    const unplanned = report.connected.map((o) => o.tenantId).filter((t) => !leaversOrgs.has(t));
    const unplannedNote = unplanned.length
      ? ` Not planned: ${targetName}'s approval also connected ${listNames(unplanned.map((t) => orgName(this.#doc(), t)), 5)} to ${app.name}, which ${staffName(this.#doc(), s.id)}'s offboarding did not ask for. If ${unplanned.length === 1 ? 'it was' : 'they were'} ticked by mistake, disconnect ${unplanned.length === 1 ? 'it' : 'them'}.`
      : '';
    if (unplanned.length) {
      await this.#recordOffboarding(
        s.id,
        { warning: { at: now, kind: 'unplanned', appId: app.id, tenantIds: unplanned, approvedBy: { ...report.staff }, message: unplannedNote.trim() } },
        now,
      );
      await this.#log('offboarding-move-unplanned', { appId: app.id, staffId: s.id, grantId: report.grantId, tenantIds: unplanned, detail: unplannedNote.trim() });
    }
    const why = (t: string) =>
      report.stillMissing.find((m) => m.tenantId === t)?.reason ??
      `${provider.terms.name} did not connect it for ${targetName}: if ${targetName} has no access to that organisation in ${provider.terms.name}, ask its admin to invite them, then try again.`;
    const message = missing.length
      ? `${nowMoved.length ? `Moved ${listNames(nowMoved.map((t) => orgName(this.#doc(), t)))} to ${targetName}. ` : ''}Still missing, so still depending on ${staffName(this.#doc(), s.id)}: ${missing.map((t) => `${orgName(this.#doc(), t)} (${why(t)})`).join('; ')}.${unplannedNote}`
      : `Moved ${app.name} for ${listNames(nowMoved.map((t) => orgName(this.#doc(), t)))} to ${targetName}.${unplannedNote}`;
    return done(missing.length ? 'partial' : unplanned.length ? 'unplanned' : 'moved', message, report);
  }

  /** An app the leaver created, or one already resolved in their offboarding (it stays listed once resolved). */
  #createdApp(s: StaffMember, appRef: string): App {
    const app = this.#app(appRef);
    const off = this.#doc().offboardings[s.id];
    if (!namesStaff(app.createdBy, s) && !off?.moves.some((m) => m.kind === 'app' && m.appId === app.id)) {
      throw this.host.error('usage', `${app.name} is not recorded as created by ${staffName(this.#doc(), s.id)}.`);
    }
    return app;
  }

  /**
   * The replacement for an app the leaver created: another app (not theirs) the firm added to Relink. Nothing is
   * taken on trust: the audit counts the app as moved once every organisation it reaches (now, or when the
   * replacement was chosen) is reached through the replacement by someone else's working sign-in.
   */
  async useReplacementApp(staffRef: string, appRef: string, replacementRef: string): Promise<AuditReport> {
    const s = this.staff(staffRef);
    const app = this.#createdApp(s, appRef);
    const replacement = this.#app(replacementRef);
    const doc = this.#doc();
    if (replacement.id === app.id) throw this.host.error('usage', `Choose a different app to replace ${app.name}.`);
    const replacementProvider = appProvider(this.#facts(), replacement.id);
    // Only where the provider deletes an app with its creator would the replacement go with the leaver too.
    if (namesStaff(replacement.createdBy, s) && replacementProvider.policy.appDeletedWithCreator) {
      throw this.host.error(
        'usage',
        `${replacement.name} is also recorded as created by ${staffName(doc, s.id)}: deleting their ${replacementProvider.terms.name} user deletes it too. Choose an app created under a firm login.`,
      );
    }
    const tenantIds = [...new Set(Object.values(doc.connections).filter((c) => c.appId === app.id && c.present).map((c) => c.tenantId))];
    const now = this.#now();
    await this.#recordOffboarding(
      s.id,
      {
        moves: [
          { at: now, kind: 'app', appId: app.id, tenantId: null, trackedId: null, toStaffId: null, ...this.#who(), how: 'recreated', note: null, replacementAppId: replacement.id, tenantIds },
        ],
      },
      now,
    );
    const audit = this.auditStaff(s.id);
    const entry = audit.appsCreated.find((a) => a.appId === app.id);
    const missing = entry?.replacement?.organisations.filter((o) => !o.reached) ?? [];
    await this.#log('offboarding-app-replacement-chosen', {
      appId: app.id,
      staffId: s.id,
      detail: `${replacement.name} chosen to replace ${app.name}, which ${staffName(doc, s.id)} created; ${
        missing.length ? `not yet reached through it: ${listNames(missing.map((o) => o.name), 5)}` : 'every organisation is reached through it'
      }.`,
    });
    return audit;
  }

  /**
   * The advisor's statement that the provider transferred an app the leaver created to another login. Relink cannot
   * see its developer portal, so this is an override: recorded with who said it, when and why, shown as such in the
   * audit and its reports, and the app's creator in Relink becomes the new owner (so Apps says the same).
   */
  async overrideCreatedApp(staffRef: string, appRef: string, opts: { newOwner: string; reason: string }): Promise<AuditReport> {
    const s = this.staff(staffRef);
    const app = this.#createdApp(s, appRef);
    const reason = opts.reason.trim().slice(0, 2000);
    if (!reason) {
      throw this.host.error('usage', `Say what you checked (for example, who at ${appProvider(this.#facts(), app.id).terms.name} confirmed the transfer): the report shows it with your name.`);
    }
    const owner = opts.newOwner.trim();
    if (!owner) throw this.host.error('usage', 'Say which login the app belongs to now.');
    const known = findStaff(this.#doc().staff, owner);
    if (known?.id === s.id) throw this.host.error('usage', `The app would still be ${staffName(this.#doc(), s.id)}'s: name the login it was transferred to.`);
    const newOwner = known ? known.email || known.id : owner;
    const now = this.#now();
    await this.#recordOffboarding(
      s.id,
      {
        moves: [
          {
            at: now,
            kind: 'app',
            appId: app.id,
            tenantId: null,
            trackedId: null,
            toStaffId: known?.id ?? null,
            ...this.#who(),
            how: 'transferred',
            note: reason,
            newOwner,
            previousCreatedBy: app.createdBy,
          },
        ],
      },
      now,
    );
    await this.host.store.update((d) => {
      const a = d.apps[app.id];
      if (a) a.createdBy = newOwner;
    }, { durable: true });
    await this.#log('offboarding-app-override', {
      appId: app.id,
      staffId: s.id,
      detail: `Override: ${app.name} marked transferred from ${staffName(this.#doc(), s.id)} to ${staffName(this.#doc(), newOwner)} (not verified by Relink): ${reason}`,
    });
    return this.auditStaff(s.id);
  }

  /** Takes back the replacement or transfer recorded for an app the leaver created; a transfer's creator is restored. */
  async withdrawAppResolution(staffRef: string, appRef: string): Promise<AuditReport> {
    const s = this.staff(staffRef);
    const app = this.#createdApp(s, appRef);
    const off = this.#doc().offboardings[s.id];
    const current = appResolution(off, app.id);
    if (!current) throw this.host.error('usage', `Nothing is recorded for ${app.name} to withdraw.`);
    const now = this.#now();
    await this.#recordOffboarding(
      s.id,
      { moves: [{ at: now, kind: 'app', appId: app.id, tenantId: null, trackedId: null, toStaffId: null, ...this.#who(), how: 'withdrawn', note: null }] },
      now,
    );
    if (current.how === 'transferred' && current.previousCreatedBy !== undefined) {
      const restore = current.previousCreatedBy;
      await this.host.store.update((d) => {
        const a = d.apps[app.id];
        if (a && a.createdBy === current.newOwner) a.createdBy = restore;
      }, { durable: true });
    }
    await this.#log('offboarding-app-withdrawn', {
      appId: app.id,
      staffId: s.id,
      detail: `${current.how === 'recreated' ? 'The replacement chosen' : 'The transfer recorded'} for ${app.name} was withdrawn: it depends on ${staffName(this.#doc(), s.id)} again.`,
    });
    return this.auditStaff(s.id);
  }

  auditCsv(staffRef: string, opts: CsvOptions = {}): string {
    return auditCsv(this.auditStaff(staffRef), opts);
  }

  auditHtml(staffRef: string): string {
    const audit = this.auditStaff(staffRef);
    return auditHtml(audit, staffProvider(this.#facts(), audit.staff.id));
  }

  // ── activity export ──────────────────────────────────────────────────────────────────────────────

  /** The activity log from `from` to `to` as CSV (dates are whole UTC days, both inclusive: see activityRange). */
  async exportActivityCsv(range: ActivityExportRange, opts: CsvOptions = {}): Promise<string> {
    return (await this.exportActivity(range, opts)).csv;
  }

  /**
   * The same export with what it holds: how many entries, the first's and the last's time (so the window can name
   * the file by the range really exported). The optional filters are the window's: what happened, who, which app.
   */
  async exportActivity(range: ActivityExportRange, opts: CsvOptions = {}): Promise<{ csv: string; count: number; first: string | null; last: string | null }> {
    const r = activityRange(range.from, range.to);
    if (!r.ok) throw this.host.error('usage', r.reason);
    const entries = (await this.host.activity.read({ from: r.from, to: r.to, ...(range.action ? { action: range.action } : {}) })).filter(
      (e) => (!range.staffId || e.staffId === range.staffId) && (!range.appId || e.appId === range.appId),
    );
    return { csv: activityCsv(entries, this.#doc(), opts), count: entries.length, first: entries[0]?.ts ?? null, last: entries.at(-1)?.ts ?? null };
  }
}
