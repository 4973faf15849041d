import { useMemo, useState } from 'react';
import { BROKEN_HEALTH } from '../../../../shared/domain.js';
import { indexSnapshot, staffName, type AppView, type SnapshotIndex } from '../../state/derive.js';
import { href } from '../../state/router.js';
import { runCheck, useRelink, useSnapshot } from '../../state/store.js';
import { ReconnectControl } from '../../operations/ReconnectControl.js';
import { HelpLink } from '../../ui/HelpLink.js';
import { StatusText } from '../../ui/Status.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import type { Tone } from '../../ui/words.js';
import { Icon, type IconName } from '../../ui/Icon.js';
import { AddAppForm } from './AddAppForm.js';
import { UpdateSecretForm } from './UpdateSecretForm.js';
import { AppChecks, type AddedApp } from './AppChecks.js';
import { ACTIONS, DataTable } from '../../ui/DataTable.js';

/** The firm's own Xero apps: connections against the plan's limit, whether Xero accepts them, who made them. */
export function AppsView() {
  const snapshot = useSnapshot();
  const index = useMemo(() => indexSnapshot(snapshot), [snapshot]);
  const [adding, setAdding] = useState(false);
  const [added, setAdded] = useState<AddedApp | null>(null);
  const rejected = index.apps.filter((a) => a.credentialState === 'rejected');
  const demo = useRelink((s) => s.session?.demo ?? false);

  return (
    <>
      <ViewHeading description="The Xero apps your firm set up in Xero's developer portal. Relink holds their connections.">Apps</ViewHeading>

      {rejected.map((app) => (
        <section key={app.id} className="callout tone-bad" aria-labelledby={`rejected-${app.id}`}>
          <h2 id={`rejected-${app.id}`} className="callout-title">
            Xero no longer accepts {app.name}'s credentials
          </h2>
          <p>
            Every connection through this app stops until it is fixed. Usually someone generated a new client secret
            or deleted the app in Xero's developer portal (deleting the Xero login of the person who created it deletes
            the app too). Check the app under My Apps → {app.name} → Configuration.
          </p>
          <p className="muted">
            {/* In the demo, main opens the sandbox's stand-in for the portal: the demo's apps exist only there. */}
            <HelpLink topic="xero-developer-portal">{demo ? "Open My Apps in the demo's developer portal" : 'Open My Apps in the developer portal'}</HelpLink>
          </p>
          {app.authType === 'web' ? (
            <UpdateSecretForm app={app} demo={demo} />
          ) : (
            <p className="muted">
              {app.name} signs in without a secret (PKCE), so Xero refusing it means the app was deleted or its client id
              changed: add it again with the client id shown in the developer portal.
            </p>
          )}
        </section>
      ))}

      {added && (
        <div className="callout tone-ok" role="status">
          <StatusText tone="ok" icon="check" text={`${added.name} was added. Use Connect organisations to approve it in Xero.`} />
          <AppChecks app={added} />
        </div>
      )}

      <section aria-labelledby="apps-heading" className="section">
        <div className="section-head">
          <h2 id="apps-heading">Your apps</h2>
          {!adding && (
            <button type="button" className="button" onClick={() => setAdding(true)}>
              Add an app
            </button>
          )}
        </div>
        {adding && (
          <div className="card">
            <h3>Add a Xero app</h3>
            <AddAppForm
              onAdded={(app) => {
                setAdded(app);
                setAdding(false);
              }}
              onCancel={() => setAdding(false)}
            />
          </div>
        )}
        {index.apps.length === 0 ? (
          <p className="empty">No apps yet.</p>
        ) : (
          <div className="table-wrap">
            <DataTable
              className="apps-table"
              before={
                <colgroup>
                  <col className="col-app" />
                  <col className="col-count" />
                  <col className="col-accepted" />
                  <col className="col-creator" />
                  <col className="col-actions" />
                </colgroup>
              }
              columns={['App', 'Organisations connected', 'Xero accepts it', 'Created by', ACTIONS]}>
              <tbody>
                {index.apps.map((app) => (
                  <AppRow key={app.id} app={app} index={index} />
                ))}
              </tbody>
            </DataTable>
          </div>
        )}
      </section>
    </>
  );
}

const CREDENTIALS: Record<AppView['credentialState'], { text: string; tone: Tone; icon: IconName }> = {
  ok: { text: 'Accepted', tone: 'ok', icon: 'check' },
  rejected: { text: 'Rejected', tone: 'bad', icon: 'alert' },
  unchecked: { text: 'Not checked yet', tone: 'muted', icon: 'question' },
};

function AppRow({ app, index }: { app: AppView; index: SnapshotIndex }) {
  const [checking, setChecking] = useState(false);
  const cred = CREDENTIALS[app.credentialState];
  const broken = useMemo(
    () => index.rows.reduce((n, r) => n + r.all.filter((c) => c.appId === app.id && BROKEN_HEALTH.has(c.health)).length, 0),
    [index, app.id],
  );
  const cap = app.connectionCap;
  const nearCap = cap !== null && app.connectionCount >= cap * 0.9;
  // Main records the creator as a staff id or an email; show the person's name when Relink knows them.
  const creatorRef = app.createdBy;
  const creatorStaff = creatorRef
    ? (index.staffById.get(creatorRef) ?? [...index.staffById.values()].find((s) => s.email.toLowerCase() === creatorRef.toLowerCase()))
    : undefined;
  const creator = creatorStaff ? staffName(index, creatorStaff.id) : creatorRef;

  return (
    <tr>
      <th scope="row">
        <span className="cell-title">{app.name}</span>
        <span className="cell-sub">
          {app.authType === 'pkce' ? 'Desktop app (PKCE)' : 'Web app with a secret'}
          {app.multiOrgConsent ? ', several organisations per approval' : ', one organisation per approval'}
        </span>
        <span className="cell-sub">
          Client id <code>{app.clientId}</code>
        </span>
      </th>
      <td>
        <span className="cell-title">
          {cap === null ? app.connectionCount.toLocaleString() : `${app.connectionCount.toLocaleString()} of ${cap.toLocaleString()}`}
        </span>
        {cap !== null && (
          <span className="meter" aria-hidden="true">
            <span className={nearCap ? 'meter-fill warn' : 'meter-fill'} style={{ width: `${Math.min(100, (app.connectionCount / Math.max(cap, 1)) * 100)}%` }} />
          </span>
        )}
        {nearCap && <StatusText tone="warn" icon="alert" text={app.connectionCount >= cap! ? 'At the plan limit' : 'Near the plan limit'} className="small" />}
        {cap === null && <span className="cell-sub">No limit entered</span>}
        {broken > 0 && (
          <a className="cell-sub" href={href('organisations', null, { app: app.id, health: 'attention' })}>
            {broken === 1 ? '1 connection needs attention' : `${broken} connections need attention`}
          </a>
        )}
      </td>
      <td>
        <StatusText tone={cred.tone} icon={cred.icon} text={cred.text} />
      </td>
      <td>{creator ?? <span className="muted">Not recorded</span>}</td>
      <td>
        <div className="row-actions">
          <ReconnectControl
            target={{ appId: app.id, staffId: null, tenantId: null }}
            label="Connect organisations"
            ariaLabel={`Connect organisations to ${app.name}`}
            appName={app.name}
            primary={false}
          />
          <button
            type="button"
            className="button subtle"
            aria-label={`Check now: ${app.name}`}
            aria-disabled={checking}
            onClick={async () => {
              if (checking) return;
              setChecking(true);
              await runCheck({ appId: app.id });
              setChecking(false);
            }}
          >
            <Icon name="refresh" className={checking ? 'spin' : undefined} />
          Check now
          </button>
        </div>
      </td>
    </tr>
  );
}
