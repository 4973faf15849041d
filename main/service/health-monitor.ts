import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { App, Grant, Incident } from '../../shared/domain.js';
import type { Clock } from '../core/clock.js';
import { assessHealth, type HealthReport } from '../health/assess.js';
import { reconcileIncidents, type IncidentEvent } from '../health/incidents.js';
import type { KeychainState } from '../secrets/keychain.js';
import type { DocumentStore } from '../store/ports.js';
import type { Log } from './activity-recorder.js';

/**
 * The latest health report and the incidents that follow from it: assessing now, or once per quiet moment
 * after changes, opening and closing incidents in the document, and telling listeners. Separate because it
 * only reads the document and the facts of the moment (the keychain's state, the clock skew) and writes only
 * incidents; the assessment itself is the pure `assessHealth` in ../health.
 */

export interface HealthMonitorDeps {
  store: DocumentStore;
  clock: Clock;
  keychainState: () => KeychainState;
  clockSkewMs: () => number | null;
  log: Log;
}

export class HealthMonitor {
  #report: HealthReport | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Set when closing starts: the final assessment's own write must not schedule another. */
  #closing = false;
  readonly #incidentListeners = new Set<(e: IncidentEvent) => void>();
  readonly #assessedListeners = new Set<() => void>();

  constructor(private readonly deps: HealthMonitorDeps) {}

  /** The latest report (null before the first assessment). */
  get report(): HealthReport | null {
    return this.#report;
  }

  onIncident(listener: (e: IncidentEvent) => void): () => void {
    this.#incidentListeners.add(listener);
    return () => this.#incidentListeners.delete(listener);
  }

  /** Called after every assessment. */
  onAssessed(listener: () => void): () => void {
    this.#assessedListeners.add(listener);
    return () => this.#assessedListeners.delete(listener);
  }

  /** Re-assesses health and brings incidents up to date (opening and closing them). */
  async assess(): Promise<HealthReport> {
    const { deps } = this;
    const doc = deps.store.peek();
    const now = deps.clock.now();
    const report = assessHealth({
      apps: doc.apps as Record<string, App>,
      staff: doc.staff,
      organisations: doc.organisations,
      grants: doc.grants as Record<string, Grant>,
      connections: doc.connections as never,
      settings: doc.settings,
      now,
      keychain: deps.keychainState(),
      clockSkewMs: deps.clockSkewMs(),
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
      await deps.store.update((d) => {
        d.incidents = structuredClone(incidents);
      });
    }
    for (const e of events) {
      if (e.kind === 'superseded') continue;
      await deps.log('engine', e.kind === 'opened' ? 'incident-opened' : 'incident-recovered', {
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

  /** One assessment soon, however many changes ask for it meanwhile (none once closing has begun). */
  schedule(): void {
    if (this.#timer || this.#closing) return;
    // Many grants change in a pass; assessing once per quiet moment keeps a 200-grant sweep cheap.
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.assess().catch((err: unknown) => void this.deps.log('engine', 'assess-failed', { detail: (err as Error).message }));
    }, 1000);
    this.#timer.unref();
  }

  /** Closing has begun: nothing schedules another assessment from now on. */
  beginClose(): void {
    this.#closing = true;
  }

  /** Cancels an assessment scheduled before closing began (the service's final one replaces it). */
  cancelScheduled(): void {
    if (this.#timer) clearTimeout(this.#timer);
  }
}
