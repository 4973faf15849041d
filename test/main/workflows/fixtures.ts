import type { ConnectReport } from '../../../shared/api.js';
import type { Incident } from '../../../shared/domain.js';
import {
  offboardingSchema,
  passwordChangeSchema,
  trackedConnectionSchema,
  type Offboarding,
  type PasswordChange,
  type TrackedConnection,
} from '../../../shared/workflows.js';
import { assessHealth } from '../../../main/health/assess.js';
import { reconcileIncidents } from '../../../main/health/incidents.js';
import type { ConnectionHealth, WorkflowWorld } from '../../../main/workflows/world.js';
import { ago, DAY, World } from '../health/world.js';

export { ago, DAY, HOUR, iso, MINUTE, NOW } from '../health/world.js';

/**
 * The health tests' World plus what the firm workflows add (incidents, tracked connections, declarations,
 * offboardings), turned into a WorkflowWorld with REAL verdicts: `world()` runs assessHealth and the incident
 * lifecycle on the facts, exactly as the service does before handing them to the workflows.
 */
export class FirmWorld extends World {
  incidents: Record<string, Incident> = {};
  readonly tracked: Record<string, TrackedConnection> = {};
  readonly passwordChanges: Record<string, PasswordChange> = {};
  readonly offboardings: Record<string, Offboarding> = {};
  #ids = 0;

  track(tenantId: string, app: string, authorisedBy: string, over: Partial<TrackedConnection> = {}): TrackedConnection {
    if (!this.organisations[tenantId]) this.org(tenantId);
    const t = trackedConnectionSchema.parse({
      id: `t-${++this.#ids}`,
      tenantId,
      app,
      authorisedBy,
      reconnectUrl: `https://${app.toLowerCase().replace(/\W+/g, '')}.example/settings/xero`,
      notes: '',
      source: 'manual',
      createdAt: ago(200 * DAY),
      confirmedAt: null,
      confirmedBy: null,
      history: [],
      ...over,
    });
    this.tracked[t.id] = t;
    return t;
  }

  declare(staffId: string, at = ago(10 * 60_000)): PasswordChange {
    const d = passwordChangeSchema.parse({ id: `d-${++this.#ids}`, staffId, declaredAt: at, declaredBy: 'advisor' });
    this.passwordChanges[d.id] = d;
    return d;
  }

  offboarding(staffId: string, over: Partial<Offboarding> = {}): Offboarding {
    const o = offboardingSchema.parse({ staffId, startedAt: ago(DAY), targetStaffId: null, moves: [], warnings: [], ...over });
    this.offboardings[staffId] = o;
    return o;
  }

  world(): WorkflowWorld {
    const report = assessHealth(this.input());
    const { incidents } = reconcileIncidents(this.incidents, report.findings, report.connections, { now: this.now, newId: () => `i-${++this.#ids}` });
    this.incidents = incidents;
    const connections: Record<string, ConnectionHealth> = {};
    for (const [id, v] of Object.entries(report.connections)) connections[id] = { health: v.health, cause: v.cause, fixAction: v.fix?.action ?? null };
    const grants: Record<string, { health: ConnectionHealth['health']; cause: ConnectionHealth['cause'] }> = {};
    for (const [id, v] of Object.entries(report.grants)) grants[id] = { health: v.health, cause: v.cause };
    return {
      apps: this.apps,
      staff: this.staff,
      organisations: this.organisations,
      grants: this.grants,
      connections: this.connections,
      incidents: this.incidents,
      tracked: this.tracked,
      passwordChanges: this.passwordChanges,
      offboardings: this.offboardings,
      settings: this.settings,
      health: { connections, grants },
      now: this.now,
    };
  }
}

/** A connect report as RelinkService.connect returns it. */
export function report(
  over: Partial<ConnectReport> & { staff: ConnectReport['staff'] },
  orgs: { connected?: string[]; reconnected?: string[]; stillMissing?: Array<[string, string]> } = {},
): ConnectReport {
  const org = (t: string) => ({ tenantId: t, name: `Client ${t}` });
  return {
    appId: 'practice-sync',
    grantId: 'g-x',
    connected: (orgs.connected ?? []).map(org),
    reconnected: (orgs.reconnected ?? []).map(org),
    stillMissing: (orgs.stillMissing ?? []).map(([t, reason]) => ({ ...org(t), reason })),
    warning: null,
    ...over,
  };
}
