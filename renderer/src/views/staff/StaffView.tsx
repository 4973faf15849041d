import { useMemo, useState } from 'react';
import { BROKEN_HEALTH } from '../../../../shared/domain.js';
import type { PasswordChangePreview } from '../../../../shared/workflows.js';
import { appName, compareNames, indexSnapshot, type SnapshotIndex, type StaffView as Person } from '../../state/derive.js';
import { href, navigate } from '../../state/router.js';
import { request, runCheck, useSnapshot } from '../../state/store.js';
import { Icon } from '../../ui/Icon.js';
import { HealthBadge, StatusText } from '../../ui/Status.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { ago, day } from '../../ui/format.js';
import { failureWords, HEALTH_WORDS, plural, STAFF_STATUS_WORDS, WORKING_HEALTH } from '../../ui/words.js';
import { ACTIONS, DataTable } from '../../ui/DataTable.js';
import { ConfirmDialog } from '../../ui/ConfirmDialog.js';

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
  // "Password changed…": first what it would do (nothing recorded yet), then the advisor confirms.
  const [preview, setPreview] = useState<PasswordChangePreview | null>(null);
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
                  const r = await request('staff.passwordChangePreview', { staffId: person.id });
                  setDeclaring(false);
                  if (r.ok) setPreview(r.value);
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
          {declareError && !preview && (
            <p className="field-error" role="alert">
              {declareError}
            </p>
          )}
          <PasswordChangeDialog
            preview={preview}
            name={name}
            busy={declaring}
            error={preview ? declareError : null}
            onCancel={() => {
              setPreview(null);
              setDeclareError(null);
            }}
            onConfirm={async () => {
              setDeclaring(true);
              setDeclareError(null);
              const r = await request('staff.passwordChanged', { staffId: person.id });
              setDeclaring(false);
              if (!r.ok) return setDeclareError(r.error.message);
              setPreview(null);
              navigate(href('reconnect', person.id));
            }}
          />
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
                    {/* A forecast only for a sign-in that works today (a broken one keeps working for no days). */}
                    {WORKING_HEALTH.has(g.health) && (
                      <span className={g.daysLeft <= 7 && g.health !== 'healthy' ? '' : 'muted'}>
                        {g.daysLeft > 0 ? `Keeps working unused until ${day(g.refreshTokenExpiresAt)} (${plural(g.daysLeft, 'day')})` : 'Ends today unless Relink refreshes it'}
                      </span>
                    )}
                    {g.lastFailure && BROKEN_HEALTH.has(g.health) && <span className="muted">Xero's answer: {failureWords(g.lastFailure)}</span>}
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

/** What recording "their password changed" does, shown before it is recorded: the plan it leads to, and what works now. */
function PasswordChangeDialog({
  preview,
  name,
  busy,
  error,
  onConfirm,
  onCancel,
}: {
  preview: PasswordChangePreview | null;
  name: string;
  busy: boolean;
  error: string | null;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const plan = preview?.plan;
  const connections = plan?.totals.connections ?? 0;
  return (
    <ConfirmDialog
      open={preview !== null}
      title={`Record that ${name} changed their Xero password?`}
      confirmLabel="Record the password change"
      busy={busy}
      error={error}
      onConfirm={onConfirm}
      onCancel={onCancel}
    >
      {preview && plan && (
        <>
          <p>
            Relink will treat {preview.signIns === 1 ? 'their sign-in' : `all ${plural(preview.signIns, 'sign-in')}`} as needing {name}'s approval
            again, and plan{' '}
            {plan.totals.consents === 0
              ? 'nothing: none of their connections can be brought back by their approval'
              : `${plural(plan.totals.consents, 'approval')} for ${plural(plan.totals.organisations, 'organisation')}`}
            {plan.totals.tracked > 0 ? `, then ${plural(plan.totals.tracked, 'third-party app')} to reconnect in their own settings` : ''}.
          </p>
          {preview.workingNow > 0 && (
            <p className="confirm-dialog-warning">
              <StatusText
                tone="warn"
                icon="alert"
                text={
                  preview.workingNow === connections
                    ? `All ${plural(connections, 'connection')} work right now. If ${name} has not changed their password, there is nothing to reconnect: check their connections instead.`
                    : `${preview.workingNow} of these ${plural(connections, 'connection')} work right now.`
                }
              />
            </p>
          )}
          {preview.alreadyDeclaredAt && <p className="muted">A password change for {name} is already recorded; this records it again from now.</p>}
          <p className="muted">You can withdraw it afterwards from the reconnect page; that is recorded in the activity log too.</p>
        </>
      )}
    </ConfirmDialog>
  );
}
