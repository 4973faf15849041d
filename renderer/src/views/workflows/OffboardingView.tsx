// Over 500 lines: the offboarding audit screen and its sections (verdict, sign-ins, apps created, third-party
// apps), which share the audit being shown and its reload.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ApiResult, Operation } from '../../../../shared/api.js';
import type { AuditReport } from '../../../../shared/workflows.js';
import { isActive } from '../../state/operations.js';
import { href, type Route } from '../../state/router.js';
import { refreshSnapshot, request, saveTextFile, startAuditMove, useClaimOperations, useRelink, useSnapshot } from '../../state/store.js';
import { useResource, type Topic } from '../../state/resource.js';
import { OperationStatus } from '../../operations/OperationStatus.js';
import { Icon } from '../../ui/Icon.js';
import { Busy, HealthBadge, StatusText } from '../../ui/Status.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { when } from '../../ui/format.js';
import { DEPENDENCY_WORDS, plural, STAFF_STATUS_WORDS, TRACKED_STATE_WORDS, VERDICT_WORDS } from '../../ui/words.js';
import { ReconnectAddress } from './TrackedChecklist.js';
import { ACTIONS, DataTable } from '../../ui/DataTable.js';
import { ConfirmDialog } from '../../ui/ConfirmDialog.js';
import { DisconnectButton } from '../../operations/DisconnectButton.js';
import { DEFAULT_SETTINGS } from '../../../../shared/domain.js';

/**
 * Before someone leaves: everything that depends on them (sign-ins, the organisations behind them, apps they
 * created in Xero's developer portal, third-party apps they authorised), moving each to the advisor who takes
 * over, and the verdict: safe to remove only when nothing depends on them any more.
 */
export function OffboardingView({ route }: { route: Route }) {
  const staffId = route.id;
  const snapshot = useSnapshot();
  // When one of this leaver's moves finishes, main has verified it and the audit changed: read it again.
  const topics = useMemo<Topic[]>(() => [{ event: 'operation', when: (op) => op.kind === 'offboarding-move' && op.leaverId === staffId && !isActive(op) }], [staffId]);
  const report = useResource('audit.get', staffId ? { staffId } : null, { topics });
  const audit = report.data;
  const setAudit = report.mutate;
  const [actionError, setError] = useState<string | null>(null);
  const error = actionError ?? report.error?.message ?? null;
  // Every move for this leaver shows in its app's row (also once moved), so the tray leaves them out.
  useClaimOperations((o) => o.kind === 'offboarding-move' && o.leaverId === staffId);

  const reloadAudit = report.reload;
  const load = useCallback(async () => {
    await reloadAudit();
    setError(null);
  }, [reloadAudit]);

  const apply = async (p: Promise<ApiResult<AuditReport>>) => {
    const r = await p;
    if (r.ok) {
      setAudit(r.value);
      setError(null);
    } else setError(r.error.message);
  };

  if (!staffId) return <p className="empty">Choose a person in Staff to offboard.</p>;
  const person = snapshot.staff.find((s) => s.id === staffId);
  const name = audit ? audit.staff.name || audit.staff.email : person ? person.name || person.email : 'this person';
  const candidates = snapshot.staff.filter((s) => s.id !== staffId && s.status === 'active');
  const target = audit?.target ?? null;
  const targetName = target ? target.name || target.email : null;

  return (
    <>
      <p className="breadcrumb">
        <a href={href('staff')}>Staff</a> <span aria-hidden="true">/</span> {name}
      </p>
      <ViewHeading description="Everything that stops working when this person's Xero user is removed, and moving each to another advisor first.">
        Offboarding {name}
      </ViewHeading>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {!audit ? (
        !error && <Busy text="Looking for everything that depends on them…" />
      ) : (
        <>
          <Verdict audit={audit} />
          {audit.firmName === DEFAULT_SETTINGS.firmName && (
            <p className="callout firm-name-hint">
              The reports print the firm as "{audit.firmName}". <a href={href('settings')}>Set your firm's name in Settings</a> before filing one.
            </p>
          )}

          <section className="section card offboarding-setup" aria-labelledby="ob-setup">
            <h2 id="ob-setup">Who takes over</h2>
            <p>
              <span className="report-label">{name}: </span>
              <StatusText tone={STAFF_STATUS_WORDS[audit.staff.status].tone} icon={audit.staff.status === 'active' ? 'user' : 'alert'} text={STAFF_STATUS_WORDS[audit.staff.status].label} />
              {audit.staff.status === 'active' && (
                <button type="button" className="button small leave-button" onClick={() => void request('staff.setStatus', { staffId, status: 'leaving' }).then(async (r) => (r.ok ? (await load(), await refreshSnapshot()) : setError(r.error.message)))}>
                  Mark as leaving
                </button>
              )}
            </p>
            <div className="field">
              <label htmlFor="ob-target">Advisor who takes over</label>
              <select id="ob-target" value={target?.id ?? ''} onChange={(e) => e.target.value && void apply(request('audit.setTarget', { staffId, targetStaffId: e.target.value }))}>
                <option value="">Choose an advisor…</option>
                {candidates.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name || s.email}
                  </option>
                ))}
              </select>
              <p className="field-help">Reconnections count only when Xero says this advisor approved them.</p>
            </div>
            <div className="button-row">
              <button
                type="button"
                className="button"
                onClick={async () => {
                  const r = await request('audit.csv', { staffId });
                  if (!r.ok) return setError(r.error.message);
                  const saved = await saveTextFile(r.value.fileName, r.value.csv);
                  if (!saved.ok) setError(saved.error.message);
                }}
              >
                Download CSV
              </button>
              <a className="button" href={href('reports', 'offboarding', {}, staffId)}>
                Report for filing (PDF)
              </a>
            </div>
          </section>

          {audit.warnings.length > 0 && (
            <section className="callout tone-bad" aria-labelledby="ob-warnings">
              <h2 id="ob-warnings" className="callout-title">
                Warnings
              </h2>
              <ul className="plain-list">
                {audit.warnings.map((w, i) => (
                  <li key={i}>
                    <StatusText tone="warn" icon="alert" text={w.message} /> <span className="muted">({when(w.at)})</span>
                    {w.unplanned.length > 0 && (
                      <ul className="plain-list unplanned-list">
                        {w.unplanned.map((u) => (
                          <li key={u.connectionId}>
                            {u.organisation} is connected to {u.appName}.{' '}
                            <DisconnectButton connectionId={u.connectionId} organisation={u.organisation} appName={u.appName} onDone={load} />
                          </li>
                        ))}
                      </ul>
                    )}
                  </li>
                ))}
              </ul>
            </section>
          )}

          <section className="section" aria-labelledby="ob-grants">
            <h2 id="ob-grants">Xero sign-ins they approved</h2>
            {audit.grants.length === 0 ? (
              <p className="empty">None.</p>
            ) : (
              <div className="table-wrap">
                <DataTable columns={['App', 'Health', 'Organisations', 'Moved', ACTIONS]}>
                  <tbody>
                    {audit.grants.map((g) => (
                      <tr key={g.grantId}>
                        <th scope="row">{g.appName}</th>
                        <td>
                          <HealthBadge health={g.health} />
                        </td>
                        <td>{g.organisations}</td>
                        <td>
                          <StatusText tone={g.moved >= g.organisations ? 'ok' : 'bad'} icon={g.moved >= g.organisations ? 'check' : 'alert'} text={`${g.moved} of ${g.organisations}`} />
                        </td>
                        <td>
                          <MoveControl
                            done={g.moved >= g.organisations}
                            staffId={staffId}
                            appId={g.appId}
                            appName={g.appName}
                            targetName={targetName}
                            // An app that connects one organisation per approval moves one organisation at a time.
                            tenantId={
                              snapshot.apps.find((a) => a.id === g.appId)?.multiOrgConsent === false
                                ? audit.connections.find((c) => c.appId === g.appId && c.state === 'depends')?.tenantId
                                : undefined
                            }
                          />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </DataTable>
              </div>
            )}
          </section>

          <section className="section" aria-labelledby="ob-connections">
            <h2 id="ob-connections">Organisations reached through them</h2>
            {audit.connections.length === 0 ? (
              <p className="empty">None.</p>
            ) : (
              <div className="table-wrap">
                <DataTable columns={['Organisation', 'App', 'Health', 'State']}>
                  <tbody>
                    {audit.connections.map((c) => (
                      <tr key={c.connectionId}>
                        <th scope="row">{c.organisation}</th>
                        <td>{c.appName}</td>
                        <td>
                          <HealthBadge health={c.health} />
                        </td>
                        <td>
                          <DependencyState state={c.state} movedTo={c.movedTo?.name ?? null} movedAt={c.movedAt} />
                          {c.note && <span className="cell-sub">{c.note}</span>}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </DataTable>
              </div>
            )}
          </section>

          <section className="section" aria-labelledby="ob-apps">
            <h2 id="ob-apps">Apps they created in Xero's developer portal</h2>
            {audit.appsCreated.length === 0 ? (
              <p className="empty">None recorded.</p>
            ) : (
              <ul className="plain-list created-apps">
                {audit.appsCreated.map((a) => (
                  <CreatedApp key={a.appId} app={a} staffId={staffId} name={name} candidates={candidates} onAudit={setAudit} />
                ))}
              </ul>
            )}
          </section>

          <section className="section" aria-labelledby="ob-tracked">
            <h2 id="ob-tracked">Third-party apps they authorised</h2>
            {audit.tracked.length === 0 ? (
              <p className="empty">None recorded. Add them under Third-party apps.</p>
            ) : (
              <div className="table-wrap">
                <DataTable columns={['App', 'Organisation', 'Where to reconnect', 'State', ACTIONS]}>
                  <tbody>
                    {audit.tracked.map((t) => (
                      <tr key={t.id}>
                        <th scope="row">{t.app}</th>
                        <td>{t.organisation}</td>
                        <td>
                          <ReconnectAddress url={t.reconnectUrl} app={t.app} organisation={t.organisation} />
                        </td>
                        <td>
                          <DependencyState state={t.state} movedTo={t.movedTo?.name ?? null} movedAt={t.movedAt} />
                          <span className="cell-sub">{TRACKED_STATE_WORDS[t.health].label}</span>
                        </td>
                        <td>
                          {t.state === 'depends' && target && (
                            <button
                              type="button"
                              className="button small"
                              aria-label={`Move to ${targetName}: ${t.app} for ${t.organisation}`}
                              onClick={async () => {
                                const r = await request('tracked.move', { id: t.id, toStaffId: target.id });
                                if (r.ok) await load();
                                else setError(r.error.message);
                              }}
                            >
                              Move to {targetName}
                            </button>
                          )}
                          {t.state === 'depends' && !target && <span className="muted">Choose who takes over first.</span>}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </DataTable>
              </div>
            )}
          </section>
        </>
      )}
    </>
  );
}

function Verdict({ audit }: { audit: AuditReport }) {
  const v = VERDICT_WORDS[audit.verdict];
  const safe = audit.verdict === 'safe-to-remove';
  const p = audit.progress;
  return (
    <section className={`callout verdict tone-${safe ? 'ok' : audit.verdict === 'safe-by-override' ? 'warn' : 'bad'}`} aria-labelledby="ob-verdict">
      <h2 id="ob-verdict" className="verdict-title">
        <StatusText tone={v.tone} icon={safe ? 'check' : 'alert'} text={v.label} />
      </h2>
      <p>
        {p.moved} of {plural(p.total, 'thing that depends', 'things that depend')} on them moved{p.overridden ? `, ${p.overridden} overridden (not verified)` : ''}, {p.remaining} remaining.
      </p>
      {audit.reasons.length > 0 && (
        <ul className="bullets verdict-reasons" aria-label="What still depends on them">
          {audit.reasons.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
        </ul>
      )}
      {audit.overrides.length > 0 && (
        <ul className="bullets verdict-overrides" aria-label="Resolved on an advisor's word, not verified">
          {audit.overrides.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
        </ul>
      )}
      {safe && <p>Relink verified that nothing depends on {audit.staff.name || audit.staff.email} any more: their Xero user can be removed.</p>}
    </section>
  );
}

function DependencyState({ state, movedTo, movedAt, how }: { state: AuditReport['appsCreated'][number]['state']; movedTo: string | null; movedAt: string | null; how?: string | null }) {
  const w = DEPENDENCY_WORDS[state];
  const text =
    state === 'moved' ? `${how ? capitalise(how) : 'Moved'}${movedTo ? ` to ${movedTo}` : ''}` : state === 'overridden' ? `${how ? `${capitalise(how)}: ` : ''}${w.label}` : w.label;
  return (
    <>
      <StatusText tone={w.tone} icon={state === 'moved' ? 'check' : 'alert'} text={text} />
      {movedAt && <span className="cell-sub">{when(movedAt)}</span>}
    </>
  );
}

/**
 * One app the leaver created, and how it stops depending on them: a replacement Relink can check (every
 * organisation reached through it), or — only as an explicit override — the advisor's word that Xero
 * transferred it. Either can be withdrawn.
 */
function CreatedApp({
  app: a,
  staffId,
  name,
  candidates,
  onAudit,
}: {
  app: AuditReport['appsCreated'][number];
  staffId: string;
  name: string;
  candidates: Array<{ id: string; name: string; email: string }>;
  onAudit: (audit: AuditReport) => void;
}) {
  const [dialog, setDialog] = useState<'replace' | 'override' | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [replacement, setReplacement] = useState('');
  const [owner, setOwner] = useState('');
  const [otherOwner, setOtherOwner] = useState('');
  const [reason, setReason] = useState('');
  const ids = `ob-app-${a.appId}`;
  const close = () => {
    setDialog(null);
    setError(null);
  };
  const send = async (p: Promise<ApiResult<AuditReport>>) => {
    setBusy(true);
    setError(null);
    const r = await p;
    setBusy(false);
    if (!r.ok) return setError(r.error.message);
    setDialog(null);
    onAudit(r.value);
    void refreshSnapshot();
  };
  const newOwner = owner === 'other' ? otherOwner.trim() : owner;
  const resolved = a.replacement !== null || a.override !== null;
  return (
    <li className="card created-app">
      <div className="checklist-head">
        <span className="cell-title">{a.appName}</span>
        <DependencyState state={a.state} movedTo={null} movedAt={a.movedAt} how={a.how} />
      </div>
      {!resolved && a.state === 'depends' && <p>{a.guidance}</p>}
      <p className="muted">Used by {plural(a.organisations, 'organisation')}.</p>
      {a.replacement && (
        <div className="replacement">
          <p>
            Replacement: <strong>{a.replacement.appName}</strong>
            {a.replacement.createdBy ? ` (created by ${a.replacement.createdBy})` : " (Relink has no record of who created it)"}.{' '}
            {a.state === 'moved'
              ? 'Relink checked that every organisation is reached through it.'
              : `Reached through it so far: ${a.replacement.organisations.filter((o) => o.reached).length} of ${a.replacement.organisations.length}.`}
          </p>
          <ul className="plain-list org-states" aria-label={`Organisations of ${a.appName} through ${a.replacement.appName}`}>
            {a.replacement.organisations.map((o) => (
              <li key={o.tenantId}>
                <StatusText tone={o.reached ? 'ok' : 'bad'} icon={o.reached ? 'check' : 'alert'} text={`${o.name}: ${o.reached ? 'reached' : 'not reached yet'}`} />
              </li>
            ))}
          </ul>
        </div>
      )}
      {a.override && (
        <p className="override-note">
          <StatusText tone="warn" icon="alert" text={`${a.movedBy ?? 'Override'} (${when(a.override.at)}): "${a.override.reason}"`} />
        </p>
      )}
      {a.state === 'moved' && !a.replacement && a.movedBy && <p className="muted">{a.movedBy}.</p>}
      <div className="button-row">
        {!resolved && a.state === 'depends' && (
          <>
            <button type="button" className="button small" aria-label={`Use a replacement app: ${a.appName}`} onClick={() => setDialog('replace')}>
              Use a replacement app…
            </button>
            <button type="button" className="button small subtle" aria-label={`Record a transfer (override): ${a.appName}`} onClick={() => setDialog('override')}>
              Record a transfer (override)…
            </button>
          </>
        )}
        {resolved && (
          <button type="button" className="button small subtle" aria-label={`${a.override ? 'Withdraw the override' : 'Withdraw the replacement'}: ${a.appName}`} aria-disabled={busy} onClick={() => !busy && void send(request('audit.withdrawAppMove', { staffId, appId: a.appId }))}>
            {a.override ? 'Withdraw the override' : 'Withdraw the replacement'}
          </button>
        )}
      </div>
      {error && !dialog && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}

      <ConfirmDialog
        open={dialog === 'replace'}
        title={`Replace ${a.appName}?`}
        confirmLabel="Use this replacement"
        busy={busy}
        error={error}
        confirmDisabled={!replacement}
        confirmHint={a.replacementCandidates.length ? 'Choose the replacement app first.' : 'Add the replacement app under Apps first.'}
        onCancel={close}
        onConfirm={() => void send(request('audit.useReplacement', { staffId, appId: a.appId, replacementAppId: replacement }))}
      >
        <p>
          Relink counts {a.appName} as moved once all {plural(a.organisations, 'organisation')} it reaches are reached through the replacement by someone other
          than {name}. Until then the audit lists the ones still missing. You can withdraw the choice.
        </p>
        {a.replacementCandidates.length === 0 ? (
          <p className="muted">No other app is set up in Relink. Create the replacement under a firm login in Xero's developer portal, add it under Apps, then come back.</p>
        ) : (
          <div className="field">
            <label htmlFor={`${ids}-replacement`}>Replacement app</label>
            <select id={`${ids}-replacement`} value={replacement} onChange={(e) => setReplacement(e.target.value)}>
              <option value="">Choose an app…</option>
              {a.replacementCandidates.map((c) => (
                <option key={c.appId} value={c.appId}>
                  {c.appName}
                </option>
              ))}
            </select>
          </div>
        )}
      </ConfirmDialog>

      <ConfirmDialog
        open={dialog === 'override'}
        title={`Record that ${a.appName} was transferred?`}
        confirmLabel="Record the override"
        busy={busy}
        error={error}
        confirmDisabled={!newOwner || !reason.trim()}
        confirmHint="Say who owns the app now and what you checked."
        onCancel={close}
        onConfirm={() => void send(request('audit.overrideApp', { staffId, appId: a.appId, newOwner, reason: reason.trim() }))}
      >
        <p>
          Relink cannot see Xero's developer portal, so it cannot check that {a.appName} no longer belongs to {name}. If you record this, the audit counts it
          as resolved <strong>on your word</strong>: the verdict, the CSV and the PDF show it as an override, with your name and what you write here.
        </p>
        <p className="muted">If the app is still {name}'s, deleting their Xero user deletes it, and {plural(a.organisations, 'organisation')} lose it at once.</p>
        <div className="field">
          <label htmlFor={`${ids}-owner`}>Whose login it belongs to now</label>
          <select id={`${ids}-owner`} value={owner} onChange={(e) => setOwner(e.target.value)}>
            <option value="">Choose…</option>
            {candidates.map((c) => (
              <option key={c.id} value={c.email || c.id}>
                {c.name || c.email}
              </option>
            ))}
            <option value="other">Another login (type it)…</option>
          </select>
        </div>
        {owner === 'other' && (
          <div className="field">
            <label htmlFor={`${ids}-other`}>The login's email</label>
            <input id={`${ids}-other`} type="email" value={otherOwner} maxLength={320} onChange={(e) => setOtherOwner(e.target.value)} />
          </div>
        )}
        <div className="field">
          <label htmlFor={`${ids}-reason`}>What you checked</label>
          <textarea id={`${ids}-reason`} rows={3} maxLength={2000} value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. Xero support moved it to the firm's developer login on 3 March (case 12345)" />
        </div>
      </ConfirmDialog>
    </li>
  );
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "Reconnect as <target>": the sign-in for one app, its progress in place, and main's verdict on it. */
function MoveControl({
  staffId,
  appId,
  appName,
  targetName,
  tenantId,
  done,
}: {
  done: boolean;
  staffId: string;
  appId: string;
  appName: string;
  targetName: string | null;
  tenantId: string | undefined;
}) {
  const ops = useRelink((s) => s.operations);
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const op: Operation | null = ops.find((o) => o.kind === 'offboarding-move' && o.leaverId === staffId && o.appId === appId) ?? null;
  const active = !!op && isActive(op);
  const last = useRef(op?.state);
  useEffect(() => {
    const was = last.current;
    last.current = op?.state;
    // The audit reads itself again on this event (its topic); the picture of connections is asked for too.
    if (op && was && was !== op.state && !isActive(op)) void refreshSnapshot();
  }, [op, op?.state]);

  if (!targetName && !done) return <span className="muted">Choose who takes over first.</span>;
  const tone = op?.outcome === 'moved' ? 'ok' : op?.outcome === 'failed' ? 'bad' : 'warn';
  return (
    <div className="reconnect">
      {!done && (
        <button
          type="button"
          className="button primary small"
          aria-label={`Reconnect as ${targetName}: ${appName}`}
          aria-disabled={active || starting}
          onClick={async () => {
            if (active || starting) return;
            setError(null);
            setStarting(true);
            const r = await startAuditMove(staffId, appId, tenantId);
            setStarting(false);
            if (!r.ok) setError(r.error.message);
          }}
        >
          {(active || starting) && <Icon name="spinner" className="spin" />}
          Reconnect as {targetName}
        </button>
      )}
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <div role="status" aria-live="polite" className="reconnect-progress">
        {/* While it runs: the sign-in link and Cancel; afterwards main's verdict on the move (a wrong person is not counted). */}
        {op && (isActive(op) || !op.message) && <OperationStatus op={op} {...(targetName ? { who: targetName } : {})} appName={appName} />}
        {op && !isActive(op) && op.message && (
          <div className={`operation operation-${op.state}`}>
            <StatusText tone={tone} icon={op.outcome === 'moved' ? 'check' : 'alert'} text={op.message} />
          </div>
        )}
      </div>
    </div>
  );
}
