import type { App, Connection, Failure, Grant, Settings } from '../../shared/domain.js';
import type { Clock } from '../core/clock.js';
import type { AccessTokenCache } from './access-tokens.js';
import { delayFor, nextBackoffMs } from './backoff.js';
import type { RefreshResult } from './refresher.js';

/**
 * The engine keeps every grant alive and watched with ONE timer (the scheduler's deadline heap):
 *
 * - each active grant has one entry, `grant:<id>`, whose task makes sure the grant has a live access token
 *   (refreshing when the token is missing or near expiry, and at least every `keepAliveHours` so no refresh
 *   token ever approaches its provider's limit (Xero: 60 days unused) while Relink runs), then reads its `/connections` when the
 *   probe interval has passed, then schedules itself again;
 * - a transient failure reschedules with backoff and jitter, honouring Retry-After;
 * - grants left with a write-ahead marker by a crashed process are refreshed first, inside the grace window.
 */

/**
 * One organisation a grant reaches, as its provider's connections port lists it, in the terms the stored
 * document uses: `tenantId` is the provider's organisation id, `authEventId` the consent that connected it
 * (empty when the provider does not say), the dates ISO 8601. The field names are the document's, which began
 * with Xero's listing; a provider maps its own answer onto them.
 */
export interface ListedConnection {
  id: string;
  tenantId: string;
  tenantName: string | null;
  tenantType: string;
  authEventId: string;
  createdDateUtc: string;
  updatedDateUtc: string;
}

export type ListResult = { ok: true; connections: ListedConnection[] } | { ok: false; failure: Failure };
export type ProbeResult = { ok: true } | { ok: false; failure: Failure };

export interface ConnectionsPort {
  list(accessToken: string, opts?: { authEventId?: string }): Promise<ListResult>;
  /**
   * Whether an app asking for these scopes can check its organisations one by one. The provider knows which of
   * its calls the scopes allow, so the engine never reads a scope name.
   */
  canProbe(scopes: readonly string[]): boolean;
  /** Checks one organisation with this app's scopes: reachable, or why not (a role too narrow included). */
  probe(accessToken: string, tenantId: string, scopes: readonly string[]): Promise<ProbeResult>;
}

/** What the engine reads and records. Implemented over the metadata store by the service. */
export interface EngineStore {
  grants(): Readonly<Record<string, Grant>>;
  connectionsOf(grantId: string): Connection[];
  app(appId: string): App | undefined;
  settings(): Settings;
  /** Reconciles one grant's `/connections` answer: listed ones present, the rest missing since now. */
  recordConnections(grantId: string, listed: ListedConnection[], at: number): Promise<void>;
  recordProbeFailure(grantId: string, failure: Failure): Promise<void>;
  recordTenantProbe(connectionId: string, failure: Failure | null): Promise<void>;
}

export interface SchedulerPort {
  schedule(key: string, at: number, task: () => Promise<void>): void;
  cancel(key: string): void;
  start(): void;
  stop(): void;
  resume(): void;
}

export interface EngineDeps {
  clock: Clock;
  scheduler: SchedulerPort;
  store: EngineStore;
  accessTokens: AccessTokenCache;
  refresh: (grantId: string) => Promise<RefreshResult>;
  connectionsFor: (app: App) => ConnectionsPort;
  /** Grants with a "refresh in flight" marker left behind by a process that died mid-refresh. */
  interruptedGrants: () => Promise<string[]>;
  /** Called after anything was recorded, so health can be re-assessed. */
  onChange: () => void;
  random?: () => number;
}

export interface PassSummary {
  grants: number;
  refreshed: number;
  transient: number;
  revoked: number;
  appRejected: number;
  probed: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/**
 * The soonest a grant's task runs again after it started. Whatever the task found (a token the server gave
 * almost no life, a probe that could not get a token), its next run is at least this far off: a grant whose
 * deadline did not move forward is looked at again a second later, never in a loop.
 */
export const MIN_RERUN_MS = 1000;

export class Engine {
  readonly #attempts = new Map<string, number>();
  readonly #lastProbe = new Map<string, number>();
  #running = false;

  constructor(private readonly deps: EngineDeps) {}

  /** Arms the schedule for every active grant; interrupted refreshes go first. */
  async start(): Promise<void> {
    this.#running = true;
    const interrupted = new Set(await this.deps.interruptedGrants());
    const now = this.deps.clock.now();
    for (const g of Object.values(this.deps.store.grants())) {
      if (g.state !== 'active') continue;
      this.#schedule(g.id, interrupted.has(g.id) ? now : this.#nextDeadline(g, now));
    }
    this.deps.scheduler.start();
  }

  stop(): void {
    this.#running = false;
    this.deps.scheduler.stop();
  }

  /** After sleep or a wall-clock jump: everything overdue runs now (the scheduler spreads it with jitter). */
  resume(): void {
    this.deps.scheduler.resume();
  }

  /** Settings changed (probe interval, keep-alive): every watched grant gets its next deadline again. */
  replan(): void {
    if (!this.#running) return;
    const now = this.deps.clock.now();
    for (const g of Object.values(this.deps.store.grants())) {
      if (g.state === 'active') this.#schedule(g.id, this.#nextDeadline(g, now));
    }
  }

  /** A grant was added or reconnected: watch it from now on. */
  watch(grantId: string): void {
    if (this.#running) this.#schedule(grantId, this.deps.clock.now());
  }

  unwatch(grantId: string): void {
    this.deps.scheduler.cancel(`grant:${grantId}`);
  }

  /**
   * One full pass over the chosen grants, now: refresh each (a fresh process holds no access tokens, and a
   * refresh is also the keep-alive), read its `/connections`, and probe each organisation's API access.
   */
  checkNow(grantIds: string[], opts: { concurrency?: number; probeTenants?: boolean } = {}): Promise<PassSummary> {
    return this.#pass(grantIds, opts.concurrency ?? 8, { probeTenants: opts.probeTenants ?? true });
  }

  /** Refresh every given grant concurrently (the wake-up sweep), without probing. */
  sweep(grantIds: string[], concurrency = 8): Promise<PassSummary> {
    return this.#pass(grantIds, concurrency, null);
  }

  async #pass(grantIds: string[], concurrency: number, probe: { probeTenants: boolean } | null): Promise<PassSummary> {
    const summary: PassSummary = { grants: grantIds.length, refreshed: 0, transient: 0, revoked: 0, appRejected: 0, probed: 0 };
    let next = 0;
    const worker = async () => {
      while (next < grantIds.length) {
        const id = grantIds[next++]!;
        const result = await this.deps.refresh(id);
        if (result.kind === 'refreshed') summary.refreshed++;
        else if (result.kind === 'transient') summary.transient++;
        else if (result.kind === 'revoked') summary.revoked++;
        else if (result.kind === 'app-rejected') summary.appRejected++;
        if (!probe) continue;
        if (result.kind === 'refreshed' && (await this.#probe(id, probe.probeTenants))) summary.probed++;
        this.deps.onChange();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    if (!probe) this.deps.onChange();
    return summary;
  }

  #schedule(grantId: string, at: number): void {
    this.deps.scheduler.schedule(`grant:${grantId}`, at, () => this.#tend(grantId));
  }

  #nextDeadline(g: Grant, now: number): number {
    return Math.max(now, Math.min(this.#refreshDueAt(g), this.#probeDueAt(g)));
  }

  /**
   * When the grant must next be refreshed: at its keep-alive, or when its access token falls due. The one rule
   * for both the deadline (`#nextDeadline`) and the task's decision to refresh (`#tend`), so that a task woken
   * for a refresh always refreshes; when the token falls due is the cache's to say (access-tokens.ts). Without
   * a token in memory only the keep-alive counts here: nothing needs one until a probe, and a task that runs
   * without one refreshes first anyway.
   */
  #refreshDueAt(g: Grant): number {
    const keepAlive = timeOf(g.lastRefreshAt) + this.deps.store.settings().keepAliveHours * HOUR;
    const tokenDue = this.deps.accessTokens.refreshDueAt(g.id);
    return tokenDue === undefined ? keepAlive : Math.min(keepAlive, tokenDue);
  }

  #probeDueAt(g: Grant): number {
    const lastProbe = this.#lastProbe.get(g.id) ?? timeOf(g.lastProbeAt);
    return lastProbe + this.deps.store.settings().probeIntervalMinutes * MINUTE;
  }

  /**
   * The scheduled task of one grant. Whatever goes wrong inside it (a journal folder that cannot be written,
   * a bug), the grant stays watched: the error goes to the scheduler's `onTaskError` and the grant is tried
   * again with backoff, never left without a deadline until the next restart.
   */
  async #tend(grantId: string): Promise<void> {
    try {
      await this.#tendOnce(grantId);
    } catch (err) {
      this.#retryLater(grantId, null);
      throw err;
    }
  }

  async #tendOnce(grantId: string): Promise<void> {
    const g = this.deps.store.grants()[grantId];
    if (!g || g.state !== 'active' || !this.#running) return;
    const startedAt = this.deps.clock.now();
    if (this.deps.accessTokens.get(grantId) === undefined || startedAt >= this.#refreshDueAt(g)) {
      const result = await this.deps.refresh(grantId);
      this.deps.onChange();
      if (result.kind === 'transient') return this.#retryLater(grantId, result.failure);
      if (result.kind !== 'refreshed') return; // revoked, app-rejected or gone: nothing more to schedule
    }
    this.#attempts.delete(grantId);
    if (this.deps.clock.now() >= this.#probeDueAt(g)) {
      await this.#probe(grantId, false);
      this.deps.onChange();
    }
    const fresh = this.deps.store.grants()[grantId];
    if (fresh && fresh.state === 'active' && this.#running) {
      this.#schedule(grantId, Math.max(this.#nextDeadline(fresh, this.deps.clock.now()), startedAt + MIN_RERUN_MS));
    }
  }

  /** Tries the grant again after backoff; a failure the server answered may name its own delay (Retry-After). */
  #retryLater(grantId: string, failure: Failure | null): void {
    const attempt = (this.#attempts.get(grantId) ?? 0) + 1;
    this.#attempts.set(grantId, attempt);
    const random = this.deps.random ?? Math.random;
    const wait = failure ? delayFor(failure, attempt, this.deps.clock.now(), { random }) : nextBackoffMs(attempt, { random });
    if (this.#running) this.#schedule(grantId, this.deps.clock.now() + wait);
  }

  /** Reads the grant's `/connections` (and optionally each organisation's API); true when it succeeded. */
  async #probe(grantId: string, probeTenants: boolean): Promise<boolean> {
    const g = this.deps.store.grants()[grantId];
    const app = g && this.deps.store.app(g.appId);
    if (!g || !app) return false;
    let token = this.deps.accessTokens.get(grantId);
    if (!token) return false;
    const api = this.deps.connectionsFor(app);
    let listed = await api.list(token);
    if (!listed.ok && (listed.failure.kind === 'token-expired' || listed.failure.kind === 'authentication-unsuccessful')) {
      // Refresh once and try again: an expired access token says nothing about the connection.
      this.deps.accessTokens.delete(grantId);
      const r = await this.deps.refresh(grantId);
      token = r.kind === 'refreshed' ? this.deps.accessTokens.get(grantId) : undefined;
      if (!token) return false;
      listed = await api.list(token);
    }
    const at = this.deps.clock.now();
    this.#lastProbe.set(grantId, at);
    if (!listed.ok) {
      await this.deps.store.recordProbeFailure(grantId, listed.failure);
      return false;
    }
    await this.deps.store.recordConnections(grantId, listed.connections, at);
    if (probeTenants && api.canProbe(app.scopes)) {
      for (const c of this.deps.store.connectionsOf(grantId)) {
        if (!c.present) continue;
        const r = await api.probe(token, c.tenantId, app.scopes);
        // Rate limits and outages say nothing about this organisation's access.
        if (!r.ok && ['rate-limited', 'server-error', 'network', 'timeout'].includes(r.failure.kind)) continue;
        await this.deps.store.recordTenantProbe(c.id, r.ok ? null : r.failure);
      }
    }
    return true;
  }
}

/** Milliseconds of a stored ISO date; a missing or unreadable one counts as long ago (so it is due). */
function timeOf(iso: string | null | undefined): number {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? t : 0;
}
