import { useMemo, useState } from 'react';
import { BROKEN_HEALTH } from '../../../../shared/domain.js';
import { appName, compareNames, indexSnapshot, type SnapshotIndex, type StaffView as Person } from '../../state/derive.js';
import { href, navigate } from '../../state/router.js';
import { request, runCheck, useSnapshot } from '../../state/store.js';
import { Icon } from '../../ui/Icon.js';
import { HealthBadge, StatusText } from '../../ui/Status.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { ago, day } from '../../ui/format.js';
import { HEALTH_WORDS, plural, STAFF_STATUS_WORDS } from '../../ui/words.js';
import { ACTIONS, DataTable } from '../../ui/DataTable.js';

/**
 * The firm's people and what depends on each of them: their sign-ins (one per app), the organisations reached
 * through them, and how many are broken — the first question before someone leaves.
 */
export function StaffView() {
  const snapshot = useSnapshot();
  const index = useMemo(() => indexSnapshot(snapshot), [snapshot]);
  const people = useMemo(() => [...snapshot.staff].sort((a, b) => compareNames(a.name || a.email, b.name || b.email)), [snapshot.staff]);

  return (
    <>
      <ViewHeading description="Each connection works through one person's Xero sign-in. If that person changes their password or leaves, their connections break together.">
        Staff
      </ViewHeading>
      {people.length === 0 ? (
        <p className="empty">Nobody has connected an app yet.</p>
      ) : (
        <div className="table-wrap">
          <DataTable className="staff-table" columns={['Person', 'Status', 'Sign-ins', 'Organisations', 'Need attention', ACTIONS]}>
            <tbody>
              {people.map((p) => (
                <PersonRows key={p.id} person={p} index={index} now={snapshot.generatedAt} />
              ))}
            </tbody>
          </DataTable>
        </div>
      )}
    </>
  );
}

function PersonRows({ person, index, now }: { person: Person; index: SnapshotIndex; now: string }) {
  const [open, setOpen] = useState(false);
  const [checking, setChecking] = useState(false);
  const [declaring, setDeclaring] = useState(false);
  const [declareError, setDeclareError] = useState<string | null>(null);
  const grants = index.grantsByStaff.get(person.id) ?? [];
  const connections = index.connectionsByStaff.get(person.id) ?? [];
  const orgs = new Set(connections.map((c) => c.orgId)).size;
  const broken = connections.filter((c) => BROKEN_HEALTH.has(c.health)).length;
  const status = STAFF_STATUS_WORDS[person.status];
  const detailId = `staff-${person.id}-signins`;
  const name = person.name || person.email;

  return (
    <>
      <tr>
        <th scope="row">
          <button
            type="button"
            className="disclosure"
            aria-expanded={open}
            aria-controls={detailId}
            onClick={() => setOpen((o) => !o)}
          >
            <Icon name={open ? 'chevron-down' : 'chevron-right'} />
            <span>
              <span className="cell-title">{name}</span>
              <span className="cell-sub">{person.email}</span>
            </span>
          </button>
        </th>
        <td>
          <StatusText tone={status.tone} icon={person.status === 'active' ? 'user' : 'alert'} text={status.label} />
        </td>
        <td>{grants.length}</td>
        <td>{orgs.toLocaleString()}</td>
        <td>
          {broken > 0 ? (
            <a href={href('organisations', null, { staff: person.id, health: 'attention' })}>{plural(broken, 'connection')}</a>
          ) : (
            <span className="muted">None</span>
          )}
        </td>
        <td>
          <div className="row-actions">
            <button
              type="button"
              className="button subtle"
              aria-label={`Check now: ${name}'s connections`}
              aria-disabled={checking}
              onClick={async () => {
                if (checking) return;
                setChecking(true);
                await runCheck({ staffId: person.id });
                setChecking(false);
              }}
            >
              <Icon name="refresh" className={checking ? 'spin' : undefined} />
              Check now
            </button>
            {grants.length > 0 && (
              <button
                type="button"
                className="button subtle"
                aria-label={`Password changed: ${name} changed their Xero password`}
                aria-disabled={declaring}
                onClick={async () => {
                  if (declaring) return;
                  setDeclaring(true);
                  setDeclareError(null);
                  const r = await request('staff.passwordChanged', { staffId: person.id });
                  setDeclaring(false);
                  if (r.ok) navigate(href('reconnect', person.id));
                  else setDeclareError(r.error.message);
                }}
              >
                Password changed…
              </button>
            )}
            <a className="button subtle" href={href('offboarding', person.id)} aria-label={`Offboard ${name}…`}>
              Offboard…
            </a>
          </div>
          {declareError && (
            <p className="field-error" role="alert">
              {declareError}
            </p>
          )}
        </td>
      </tr>
      <tr id={detailId} hidden={!open} className="staff-detail-row">
        <td colSpan={6}>
          {grants.length === 0 ? (
            <p className="muted">No sign-ins.</p>
          ) : (
            <ul className="signin-list">
              {grants.map((g) => {
                const count = connections.filter((c) => c.grantId === g.id).length;
                return (
                  <li key={g.id} className="signin">
                    <span className="cell-title">{appName(index, g.appId)}</span>
                    <HealthBadge health={g.health} />
                    <span>{plural(count, 'organisation')}</span>
                    <span className="muted">Last refreshed {ago(g.lastRefreshAt, now)}</span>
                    <span className={g.daysLeft <= 7 && g.health !== 'healthy' ? '' : 'muted'}>
                      {g.daysLeft > 0 ? `Keeps working unused until ${day(g.refreshTokenExpiresAt)} (${plural(g.daysLeft, 'day')})` : 'Ended'}
                    </span>
                    {g.lastFailure && BROKEN_HEALTH.has(g.health) && (
                      <span className="muted">
                        Xero's answer: <code>{g.lastFailure}</code>
                      </span>
                    )}
                    {g.health !== 'healthy' && <span className="visually-hidden">{HEALTH_WORDS[g.health].meaning}</span>}
                  </li>
                );
              })}
            </ul>
          )}
        </td>
      </tr>
    </>
  );
}
