import { useEffect, useRef } from 'react';
import { BROKEN_HEALTH } from '../../../../shared/domain.js';
import { appName, staffName, type AppView, type ConnectionView, type SnapshotIndex } from '../../state/derive.js';
import { latestFor } from '../../state/operations.js';
import { href } from '../../state/router.js';
import { useRelink } from '../../state/store.js';
import { ReconnectControl } from '../../operations/ReconnectControl.js';
import { Icon } from '../../ui/Icon.js';
import { HealthBadge } from '../../ui/Status.js';
import { ago, day, when } from '../../ui/format.js';
import { CAUSE_WORDS, CONFIDENCE_WORDS, failureWords, HEALTH_WORDS, needAttention, plural, WORKING_HEALTH } from '../../ui/words.js';

/**
 * One organisation: every app's connection to it, what is wrong in plain words, the evidence, who connected
 * it, how long a working one keeps working unused, and Reconnect where reconnecting can fix it. Escape closes
 * it (OrganisationsView listens on the whole window).
 */
export function OrganisationDetail({
  orgId,
  index,
  now,
  focusOnOpen,
  onClose,
}: {
  orgId: string;
  index: SnapshotIndex;
  now: string;
  focusOnOpen: boolean;
  onClose: () => void;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  const row = index.rowsById.get(orgId);

  useEffect(() => {
    if (focusOnOpen) heading.current?.focus();
  }, [orgId, focusOnOpen]);

  if (!row) {
    return (
      <section className="detail" aria-label="Organisation">
        <div className="detail-head">
          <h2 ref={heading} tabIndex={-1}>
            Organisation not found
          </h2>
          <CloseButton label="Close" onClose={onClose} />
        </div>
        <p>This organisation is no longer connected to any of the firm's apps.</p>
      </section>
    );
  }

  // Every connection to this organisation (two people may each have connected the same app), most urgent
  // first; then the apps not connected at all.
  const present = row.all
    .map((connection) => ({ app: index.appsById.get(connection.appId), connection }))
    .filter((x): x is { app: AppView; connection: ConnectionView } => x.app !== undefined)
    .sort(
      (a, b) =>
        HEALTH_WORDS[a.connection.health].rank - HEALTH_WORDS[b.connection.health].rank ||
        (index.appColumn.get(a.app.id) ?? 0) - (index.appColumn.get(b.app.id) ?? 0),
    );
  const missing = index.apps.filter((_, i) => (row.cellCounts[i] ?? 0) === 0);
  const broken = present.filter((x) => BROKEN_HEALTH.has(x.connection.health)).length;
  const appsConnected = index.apps.length - missing.length;

  return (
    <section className="detail" aria-labelledby="detail-title">
      <div className="detail-head">
        <h2 id="detail-title" ref={heading} tabIndex={-1}>
          {row.name}
        </h2>
        <CloseButton label={`Close ${row.name}`} onClose={onClose} />
      </div>
      <p className="muted">
        {plural(appsConnected, 'app')} connected
        {present.length > appsConnected ? ` through ${plural(present.length, 'sign-in')}` : ''}
        {broken > 0 ? `; ${needAttention(broken)}` : '; all working'}.
      </p>
      <ul className="detail-connections">
        {present.map(({ app, connection }) => (
          <ConnectionDetail
            key={connection.id}
            twin={(row.cellCounts[index.appColumn.get(app.id) ?? -1] ?? 0) > 1}
            app={app} connection={connection} orgName={row.name} index={index} now={now} />
        ))}
      </ul>
      {missing.length > 0 && (
        <div className="detail-missing">
          <h3>Not connected</h3>
          <ul className="plain-list">
            {missing.map((app) => (
              <li key={app.id} className="detail-missing-app">
                <span>{app.name}</span>
                {app.credentialState === 'rejected' ? (
                  // Connecting an app Xero rejects cannot work: say where the fix is instead.
                  <a href={href('apps')} className="cell-sub">
                    Xero does not accept {app.name} now: fix it in Apps first
                  </a>
                ) : (
                  <ReconnectControl
                    target={{ appId: app.id, staffId: null, tenantId: row.id }}
                    label="Connect"
                    ariaLabel={`Connect ${app.name} for ${row.name}`}
                    appName={app.name}
                    primary={false}
                  />
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

function CloseButton({ label, onClose }: { label: string; onClose: () => void }) {
  return (
    <button type="button" className="icon-button" aria-label={label} title="Close (Esc)" onClick={onClose}>
      <Icon name="close" />
    </button>
  );
}

function ConnectionDetail({
  twin,
  app,
  connection: c,
  orgName,
  index,
  now,
}: {
  /** Another person's sign-in reaches the same organisation through the same app. */
  twin: boolean;
  app: AppView;
  connection: ConnectionView;
  orgName: string;
  index: SnapshotIndex;
  now: string;
}) {
  const operations = useRelink((s) => s.operations);
  const grant = index.grantsById.get(c.grantId);
  const staff = index.staffById.get(c.staffId);
  const incident = c.incidentId ? index.incidentsById.get(c.incidentId) : undefined;
  const broken = BROKEN_HEALTH.has(c.health);
  const who = staffName(index, c.staffId);
  const headingId = `conn-${c.id}`;
  // A sign-in started elsewhere for the same person and app (an incident's Reconnect) covers this one too.
  const op = latestFor(operations, c.appId, c.orgId, c.staffId);

  return (
    <li className={`detail-connection${broken ? ' broken' : ''}`}>
      <div className="detail-connection-head">
        <h3 id={headingId}>
          {app.name}
          {twin && <span className="muted"> · {who}</span>}
        </h3>
        <HealthBadge health={c.health} />
      </div>
      {c.cause ? (
        <p className="detail-why">
          <strong>Why: </strong>
          {incident ? incident.summary : CAUSE_WORDS[c.cause]}
          {c.confidence && <span className={`confidence confidence-${c.confidence}`}>{CONFIDENCE_WORDS[c.confidence]}</span>}
        </p>
      ) : (
        c.health !== 'healthy' && <p className="detail-why">{HEALTH_WORDS[c.health].meaning}</p>
      )}
      {incident && incident.evidence.length > 0 && (
        <details className="evidence">
          <summary>Why Relink thinks so ({incident.evidence.length})</summary>
          <ul>
            {incident.evidence.map((e, i) => (
              <li key={i}>{e}</li>
            ))}
          </ul>
        </details>
      )}
      {c.fix && (
        <p className="detail-fix">
          <strong>What to do: </strong>
          {c.fix}
        </p>
      )}
      <dl className="facts">
        <div>
          <dt>Connected by</dt>
          <dd>
            {staff ? (
              <>
                {staff.name || staff.email}
                {staff.name && <span className="muted email">{staff.email}</span>}
                {staff.status !== 'active' && <span className="muted"> · {staff.status === 'leaving' ? 'leaving the firm' : 'no longer at the firm'}</span>}
              </>
            ) : (
              who
            )}
          </dd>
        </div>
        <div>
          <dt>Last refreshed</dt>
          <dd title={when(grant?.lastRefreshAt ?? null)}>{ago(grant?.lastRefreshAt ?? null, now)}</dd>
        </div>
        {/* A forecast only for a connection that works today: a broken one keeps working for no days at all. */}
        {grant && WORKING_HEALTH.has(c.health) && (
          <div>
            <dt>Keeps working unused for</dt>
            <dd title={when(grant.refreshTokenExpiresAt)}>
              {grant.daysLeft > 0 ? `${plural(grant.daysLeft, 'more day')} (until ${day(grant.refreshTokenExpiresAt)})` : 'Ends today unless Relink refreshes it'}
            </dd>
          </div>
        )}
        {c.since && c.health !== 'healthy' && (
          <div>
            <dt>{broken ? 'Broken since' : 'Since'}</dt>
            <dd title={when(c.since)}>{ago(c.since, now)}</dd>
          </div>
        )}
        {grant?.lastFailure && broken && (
          <div>
            <dt>Xero's answer</dt>
            <dd>{failureWords(grant.lastFailure)}</dd>
          </div>
        )}
      </dl>
      {/* Reconnecting cannot fix an app Xero rejects or a locked keychain: point at the real fix first. */}
      {c.fixAction === 'update-app-credentials' && (
        <a className="button primary align-start" href={href('apps')}>
          Review {app.name} in Apps
        </a>
      )}
      {c.fixAction === 'unlock-keychain' && (
        <a className="button primary align-start" href={href('settings')}>
          Open keychain settings
        </a>
      )}
      {/* Xero refuses every sign-in of an app it no longer accepts, so a Reconnect here would only fail. */}
      {c.health !== 'app-broken' && c.fixAction !== 'update-app-credentials' && (
        <ReconnectControl
          target={{ appId: c.appId, staffId: c.staffId, tenantId: c.orgId }}
          label="Reconnect"
          ariaLabel={`Reconnect ${appName(index, c.appId)} for ${orgName}${twin ? ` as ${who}` : ''}`}
          who={who}
          appName={app.name}
          primary={(broken || c.health === 'expiring') && c.fixAction !== 'unlock-keychain'}
          operation={op}
        />
      )}
    </li>
  );
}
