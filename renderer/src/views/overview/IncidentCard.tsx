import type { ConnectTarget } from '../../state/store.js';
import { runCheck } from '../../state/store.js';
import { appName, staffName, type ConnectionView, type IncidentView, type SnapshotIndex } from '../../state/derive.js';
import { href } from '../../state/router.js';
import { ReconnectControl } from '../../operations/ReconnectControl.js';
import { IncidentScope } from '../../operations/IncidentScope.js';
import { HealthBadge } from '../../ui/Status.js';
import { ago } from '../../ui/format.js';
import { CONFIDENCE_WORDS, HEALTH_WORDS } from '../../ui/words.js';

/**
 * One incident in one sentence (main writes the summary), how sure Relink is, the evidence on request, and
 * the button that fixes it.
 */
export function IncidentCard({ incident, index, now }: { incident: IncidentView; index: SnapshotIndex; now: string }) {
  const connections = index.connectionsByIncident.get(incident.id) ?? [];
  const worst = connections.reduce<ConnectionView | null>(
    (w, c) => (!w || HEALTH_WORDS[c.health].rank < HEALTH_WORDS[w.health].rank ? c : w),
    null,
  );
  const headingId = `incident-${incident.id}`;
  return (
    <li className="incident card">
      <div className="incident-top">
        {worst && <HealthBadge health={worst.health} />}
        <span className={`confidence confidence-${incident.confidence}`}>{capitalise(CONFIDENCE_WORDS[incident.confidence])}</span>
        <span className="muted">Noticed {ago(incident.openedAt, now)}</span>
      </div>
      <h3 id={headingId} className="incident-summary">
        {incident.summary}
      </h3>
      <p className="incident-fix">{incident.fix.text}</p>
      <IncidentScope incident={incident} />
      {incident.evidence.length > 0 && (
        <details className="evidence">
          <summary>Why Relink thinks so ({incident.evidence.length})</summary>
          <ul>
            {incident.evidence.map((e, i) => (
              <li key={i}>{e}</li>
            ))}
          </ul>
        </details>
      )}
      <IncidentActions incident={incident} index={index} connections={connections} />
    </li>
  );
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

interface Target extends ConnectTarget {
  label: string;
  ariaLabel: string;
  who?: string;
  app: string;
}

/** The consents that fix an incident: one per (app, person), since one approval covers all their organisations. */
export function incidentTargets(incident: IncidentView, index: SnapshotIndex, connections: ConnectionView[]): Target[] {
  const inOrg = incident.fix.action === 'reconnect-in-org';
  // Someone who lost access cannot approve again: leave the approver open (the report warns who did approve).
  const staffGone = incident.cause === 'staff-removed';
  const groups = new Map<string, { appId: string; staffId: string; orgs: Map<string, string> }>();
  for (const c of connections) {
    const key = `${c.appId}\u0000${c.staffId}`;
    const g = groups.get(key) ?? { appId: c.appId, staffId: c.staffId, orgs: new Map<string, string>() };
    g.orgs.set(c.orgId, c.orgName);
    groups.set(key, g);
  }
  if (groups.size === 0 && incident.appId) {
    groups.set('only', { appId: incident.appId, staffId: incident.staffId ?? '', orgs: new Map(incident.tenantIds.map((t) => [t, index.rowsById.get(t)?.name ?? t])) });
  }
  const several = groups.size > 1;
  return [...groups.values()].map((g) => {
    const app = appName(index, g.appId);
    const who = g.staffId ? staffName(index, g.staffId) : undefined;
    const onlyOrg = g.orgs.size === 1 ? [...g.orgs][0] : undefined;
    const tenantId = inOrg && onlyOrg ? onlyOrg[0] : null;
    const staffId = staffGone || !g.staffId ? null : g.staffId;
    const org = tenantId && onlyOrg ? onlyOrg[1] : null;
    // Every visible label is the start of its accessible name, so speech users can say what they see.
    const label = staffGone ? 'Reconnect as another advisor' : several ? `Reconnect ${app}` : 'Reconnect';
    const ariaLabel = staffGone
      ? `Reconnect as another advisor: ${app}${org ? ` for ${org}` : ''}`
      : org
        ? `Reconnect ${app} for ${org}`
        : who
          ? `Reconnect ${app} as ${who}`
          : `Reconnect ${app}`;
    // Another advisor taking over: the result should say which of these organisations did not come back.
    const tenantIds = staffGone ? [...g.orgs.keys()] : undefined;
    return { appId: g.appId, staffId, tenantId, label, ariaLabel, app, ...(tenantIds ? { tenantIds } : {}), ...(staffId && who ? { who } : {}) };
  });
}

function IncidentActions({ incident, index, connections }: { incident: IncidentView; index: SnapshotIndex; connections: ConnectionView[] }) {
  switch (incident.fix.action) {
    case 'reconnect':
    case 'reconnect-in-org':
      return (
        <div className="incident-actions">
          {incident.cause === 'password-changed' && incident.staffId && (
            // Everything the person authorised, in the fewest approvals, plus their third-party apps.
            <a
              className="button"
              href={href('reconnect', incident.staffId)}
              aria-label={`Plan the reconnection: everything ${staffName(index, incident.staffId)} authorised`}
            >
              Plan the reconnection
            </a>
          )}
          {incidentTargets(incident, index, connections).map((t) => (
            <ReconnectControl
              key={`${t.appId}:${t.staffId}:${t.tenantId}`}
              target={{ appId: t.appId, staffId: t.staffId, tenantId: t.tenantId, ...(t.tenantIds ? { tenantIds: t.tenantIds } : {}) }}
              label={t.label}
              ariaLabel={t.ariaLabel}
              appName={t.app}
              {...(t.who ? { who: t.who } : {})}
            />
          ))}
        </div>
      );
    case 'update-app-credentials':
      return (
        <div className="incident-actions">
          <a className="button primary" href={href('apps')}>
            Review {appName(index, incident.appId ?? connections[0]?.appId)} in Apps
          </a>
        </div>
      );
    case 'unlock-keychain':
      return (
        <div className="incident-actions">
          <a className="button primary" href={href('settings')}>
            Open keychain settings
          </a>
        </div>
      );
    case 'check-clock':
      return (
        <div className="incident-actions">
          <button type="button" className="button" onClick={() => void runCheck()}>
            Check again
          </button>
        </div>
      );
    case 'wait':
    case 'none':
      return null;
  }
}
