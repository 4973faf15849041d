// Over 500 lines: the reconnect plan and its run, one screen whose plan, queue and step state are shared.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Operation } from '../../../../shared/api.js';
import type { PlanConsent, PlanItemView, PlanTrigger, ReconnectPlan, ReconnectRunView } from '../../../../shared/workflows.js';
import { useResource, type Topic } from '../../state/resource.js';
import { isActive } from '../../state/operations.js';
import { href, navigate, type Route } from '../../state/router.js';
import { refreshSnapshot, request, startPlanStep, useClaimOperations, useRelink, useSnapshot } from '../../state/store.js';
import { OperationStatus } from '../../operations/OperationStatus.js';
import { DisconnectButton } from '../../operations/DisconnectButton.js';
import { Icon } from '../../ui/Icon.js';
import { Busy, StatusText } from '../../ui/Status.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { when } from '../../ui/format.js';
import { consentsSentence, plural, PLAN_ITEM_WORDS, RUN_STATE_WORDS } from '../../ui/words.js';
import { TrackedChecklist } from './TrackedChecklist.js';
import { RunSummary } from './RunSummary.js';
import { ACTIONS, DataTable } from '../../ui/DataTable.js';
import { ConfirmDialog } from '../../ui/ConfirmDialog.js';

/** When a step of a plan finishes, main has verified it and updated every item (and the plan behind it). */
const PLAN_TOPICS: readonly Topic[] = [{ event: 'operation', when: (op) => op.kind === 'plan-step' && !isActive(op) }];

/**
 * Bulk reconnect after a password change: the plan (the fewest approvals Xero needs, grouped by app), then the
 * run: one approval at a time in the browser, each verified, with progress, skip, pause and retry, and then the
 * third-party apps the person authorised, ticked off by hand.
 */
export function ReconnectView({ route }: { route: Route }) {
  const staffId = route.id;
  const runParam = route.params.get('run');
  const snapshot = useSnapshot();
  const person = snapshot.staff.find((s) => s.id === staffId);
  const name = person ? person.name || person.email : 'this person';
  const runs = useResource('plan.runs', staffId ? {} : null, { topics: PLAN_TOPICS });
  const planned = useResource('plan.get', staffId ? { staffId } : null, { topics: PLAN_TOPICS });
  const plan = planned.data;
  // The run on screen stays on screen once it finishes (the unfinished-run lookup would no longer find it).
  const shownRun = useRef<{ staffId: string | null; runId: string } | null>(null);
  const wanted = runParam ?? (shownRun.current?.staffId === staffId ? shownRun.current.runId : null);
  const run = useMemo(
    () =>
      runs.data
        ?.filter((r) => (wanted ? r.id === wanted : r.staffId === staffId && (r.state === 'running' || r.state === 'paused')))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0] ?? null,
    [runs.data, wanted, staffId],
  );
  if (run) shownRun.current = { staffId, runId: run.id };
  // Both answers are in (or failed) before anything shows, so the plan never flashes before its run.
  const loading = (!runs.data && !runs.error) || (!plan && !planned.error);
  // The plan is read with a run too: its triggers (a declared password change, with its undo) show above both.
  const error = runs.error?.message ?? (run ? null : (planned.error?.message ?? null));

  const reloadRuns = runs.reload;
  const reloadPlan = planned.reload;
  const load = useCallback(async () => {
    await Promise.all([reloadRuns(), reloadPlan()]);
  }, [reloadRuns, reloadPlan]);
  // An action's answer is the run as main now has it: show it without asking again.
  const mutateRuns = runs.mutate;
  const setRun = useCallback(
    (r: ReconnectRunView) => mutateRuns((all) => [r, ...(all ?? []).filter((x) => x.id !== r.id)]),
    [mutateRuns],
  );

  if (!staffId) return <p className="empty">Choose a person in Staff to plan their reconnection.</p>;
  return (
    <>
      <p className="breadcrumb">
        <a href={href('staff')}>Staff</a> <span aria-hidden="true">/</span> {name}
      </p>
      <ViewHeading description="After a password change every sign-in the person approved stops working at once. Relink asks for the fewest approvals Xero needs and checks each one.">
        Reconnect everything {name} authorised
      </ViewHeading>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {loading && <Busy text="Working out the plan…" />}
      {!loading && plan && <Triggers triggers={plan.triggers} staffId={staffId} name={name} onChanged={load} />}
      {!loading && run && <RunPanel run={run} onRun={setRun} reload={load} />}
      {!loading && !run && plan && (
        <PlanPanel
          plan={plan}
          name={name}
          onStarted={(r) => {
            setRun(r);
            navigate(href('reconnect', staffId, { run: r.id }), { replace: true });
          }}
        />
      )}
    </>
  );
}

// ── why: what Relink noticed, or what an advisor reported (with its undo) ───────────────────────────

function Triggers({ triggers, staffId, name, onChanged }: { triggers: PlanTrigger[]; staffId: string; name: string; onChanged: () => Promise<void> }) {
  const [error, setError] = useState<string | null>(null);
  const [working, setWorking] = useState(false);
  const [withdrawn, setWithdrawn] = useState<string | null>(null);
  if (triggers.length === 0 && !withdrawn) return null;
  return (
    <section className="plan-triggers" aria-label="Why">
      <ul className="plain-list trigger-list">
        {triggers.map((t, i) => (
          <li key={i}>
            <StatusText tone="warn" icon="alert" text={t.summary} /> <span className="muted">({when(t.at)})</span>
            {t.kind === 'declared' && (
              <button
                type="button"
                className="button small subtle"
                aria-disabled={working}
                onClick={async () => {
                  if (working) return;
                  setWorking(true);
                  setError(null);
                  const r = await request('staff.withdrawPasswordChange', { staffId });
                  setWorking(false);
                  if (!r.ok) return setError(r.error.message);
                  setWithdrawn(`The password change report for ${name} was withdrawn; Relink judges their connections on what Xero says again.`);
                  await onChanged();
                  void refreshSnapshot();
                }}
              >
                Withdraw this report
              </button>
            )}
          </li>
        ))}
      </ul>
      <div role="status" aria-live="polite">
        {withdrawn && <StatusText tone="ok" icon="check" text={withdrawn} />}
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

// ── the plan ──────────────────────────────────────────────────────────────────────────────────────

function PlanPanel({ plan, name, onStarted }: { plan: ReconnectPlan; name: string; onStarted: (r: ReconnectRunView) => void }) {
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const byApp = useMemo(() => {
    const groups = new Map<string, PlanConsent[]>();
    for (const c of plan.consents) groups.set(c.appId, [...(groups.get(c.appId) ?? []), c]);
    return [...groups.values()];
  }, [plan]);
  const staffId = plan.staff?.id;

  return (
    <>
      <section className="callout plan-summary" aria-labelledby="plan-count">
        <h2 id="plan-count" className="plan-count">
          {plan.totals.consents === 0 ? 'Nothing to reconnect' : consentsSentence(plan.totals.consents, plan.totals.organisations)}
        </h2>
        <p>
          {plan.totals.consents === 0
            ? `None of ${name}'s Xero connections needs reconnecting.`
            : `${plural(plan.totals.apps, 'app')}, ${plural(plan.totals.connections, 'connection')}. One approval per app brings back every connection Xero still holds for ${name}; an organisation Xero no longer listed needs its own approval in an app that connects one organisation at a time.`}
          {plan.totals.tracked > 0 && ` Then ${plural(plan.totals.tracked, 'third-party app')} to reconnect in their own settings.`}
        </p>
        {plan.countNote && <p className="plan-count-note">{plan.countNote}</p>}
        {plan.totals.consents > 0 && (
          <div className="form-actions">
            <button
              type="button"
              className="button primary"
              aria-disabled={starting}
              onClick={async () => {
                if (starting) return;
                setStarting(true);
                setError(null);
                const r = await request('plan.start', staffId ? { staffId } : {});
                setStarting(false);
                if (r.ok) onStarted(r.value);
                else setError(r.error.message);
              }}
            >
              {starting && <Icon name="spinner" className="spin" />}
              Start reconnecting
            </button>
          </div>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </section>

      {byApp.map((consents) => {
        const first = consents[0]!;
        const headingId = `plan-app-${first.appId}`;
        return (
          <section key={first.appId} className="section card plan-app" aria-labelledby={headingId}>
            <h2 id={headingId}>{first.appName}</h2>
            <p className="muted">
              {first.multiOrgConsent
                ? `One approval brings back all ${plural(first.orgIds.length, 'organisation')}.`
                : consents.some((c) => c.note)
                  ? `This app connects one organisation per approval: ${plural(consents.length, 'approval')}, perhaps fewer if Xero still holds the earlier connections.`
                  : `This app connects one organisation per approval: ${plural(consents.length, 'approval')}.`}
            </p>
            <ol className="consent-list">
              {consents.map((c) => (
                <li key={c.id}>
                  <span className="cell-title">
                    Approval as {c.staffName || c.staffEmail}: {plural(c.orgIds.length, 'organisation')}
                  </span>
                  <span className="cell-sub">{c.organisations.map((o) => o.name).join(', ')}</span>
                  {c.note && <span className="cell-sub">{c.note}</span>}
                </li>
              ))}
            </ol>
          </section>
        );
      })}

      {plan.notes.length > 0 && (
        <section className="section" aria-labelledby="plan-notes">
          <h2 id="plan-notes">Not covered by this plan</h2>
          <ul className="bullets">
            {plan.notes.map((n, i) => (
              <li key={i}>{n}</li>
            ))}
          </ul>
        </section>
      )}
      {plan.tracked.length > 0 && (
        <section className="section" aria-labelledby="plan-tracked">
          <h2 id="plan-tracked">Third-party apps to reconnect afterwards</h2>
          <ul className="bullets">
            {plan.tracked.map((t) => (
              <li key={t.id}>
                {t.app} for {t.organisation}
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

// ── the run ───────────────────────────────────────────────────────────────────────────────────────

function RunPanel({ run, onRun, reload }: { run: ReconnectRunView; onRun: (r: ReconnectRunView) => void; reload: () => Promise<void> }) {
  const ops = useRelink((s) => s.operations);
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const [stopping, setStopping] = useState<'ask' | 'busy' | null>(null);
  const [stopError, setStopError] = useState<string | null>(null);
  const mine = ops.filter((o) => o.kind === 'plan-step' && o.runId === run.id);
  const op = mine[0] ?? null;
  const active = !!op && isActive(op);
  // Every step of this run shows here (the latest in place, earlier ones in the table), so the tray leaves them out.
  useClaimOperations((o) => o.kind === 'plan-step' && o.runId === run.id);

  // When a step finishes main has verified it and updated every item.
  const lastState = useRef(op?.state);
  useEffect(() => {
    const was = lastState.current;
    lastState.current = op?.state;
    // The run reads itself again on this event (its topic); the picture of connections is asked for too.
    if (op && was && was !== op.state && !isActive(op)) void refreshSnapshot();
  }, [op, op?.state]);

  const act = async (fn: () => Promise<{ ok: true; value: ReconnectRunView } | { ok: false; error: { message: string } }>) => {
    setError(null);
    const r = await fn();
    if (r.ok) onRun(r.value);
    else setError(r.error.message);
  };
  const runItem = async (itemId?: string) => {
    if (active || starting) return;
    setError(null);
    setStarting(true);
    const r = await startPlanStep(run.id, itemId);
    setStarting(false);
    if (!r.ok) setError(r.error.message);
  };

  const next = run.items.find((i) => i.id === run.nextItemId) ?? null;
  const p = run.progress;
  const state = RUN_STATE_WORDS[run.state];
  const finished = run.state === 'complete' || run.state === 'cancelled';
  const pct = p.total > 0 ? Math.round(((p.done + p.skipped) / p.total) * 100) : 100;

  return (
    <>
      <section className="callout run-summary" aria-labelledby="run-progress-heading">
        <div className="section-head">
          <h2 id="run-progress-heading">Progress</h2>
          <StatusText tone={state.tone} icon={run.state === 'complete' ? 'check' : run.state === 'paused' ? 'clock' : 'refresh'} text={state.label} />
        </div>
        <dl className="progress-counts" aria-label="Progress">
          <div>
            <dt>Done</dt>
            <dd>{p.done}</dd>
          </div>
          <div>
            <dt>Remaining</dt>
            <dd>{p.remaining}</dd>
          </div>
          <div>
            <dt>Failed</dt>
            <dd>{p.failed}</dd>
          </div>
          <div>
            <dt>Skipped</dt>
            <dd>{p.skipped}</dd>
          </div>
          <div>
            <dt>Approvals planned</dt>
            <dd>{p.total}</dd>
          </div>
        </dl>
        <div className="meter" role="img" aria-label={`${pct}% of the approvals dealt with`}>
          <div className="meter-fill" style={{ width: `${pct}%` }} />
        </div>

        {!finished && (
          <div className="button-row run-actions">
            {run.state === 'running' && next && (
              <button type="button" className="button primary" aria-disabled={active || starting} onClick={() => void runItem()}>
                {(active || starting) && <Icon name="spinner" className="spin" />}
                Open the next approval
              </button>
            )}
            {run.state === 'running' ? (
              <button type="button" className="button" onClick={() => void act(() => request('plan.pause', { runId: run.id }))}>
                Pause
              </button>
            ) : (
              <button type="button" className="button primary" onClick={() => void act(() => request('plan.resume', { runId: run.id }))}>
                Resume
              </button>
            )}
            <button type="button" className="button subtle" onClick={() => setStopping('ask')}>
              Stop this plan…
            </button>
          </div>
        )}
        {run.state === 'cancelled' && (
          <div className="button-row run-actions">
            <span className="muted">Stopped {when(run.stateSince)}: nothing more is asked for.</span>
            <button type="button" className="button" onClick={() => void act(() => request('plan.reopen', { runId: run.id }))}>
              Reopen this plan
            </button>
          </div>
        )}
        <ConfirmDialog
          open={stopping !== null}
          title="Stop this plan?"
          confirmLabel="Stop the plan"
          busy={stopping === 'busy'}
          error={stopError}
          onCancel={() => {
            setStopping(null);
            setStopError(null);
          }}
          onConfirm={async () => {
            setStopping('busy');
            const r = await request('plan.cancel', { runId: run.id });
            if (!r.ok) {
              setStopping('ask');
              return setStopError(r.error.message);
            }
            setStopping(null);
            setStopError(null);
            onRun(r.value);
          }}
        >
          <p>
            {p.remaining + p.failed > 0
              ? `${plural(p.remaining + p.failed, 'approval')} not given yet will not be asked for${active ? ', and the sign-in waiting in the browser is cancelled' : ''}.`
              : 'Nothing is left to ask for.'}{' '}
            What was already reconnected stays reconnected.
          </p>
          <p className="muted">You can reopen the plan afterwards and carry on where it stopped.</p>
        </ConfirmDialog>
        {next && run.state === 'running' && !active && (
          <p className="muted next-hint">
            Next: {next.appName} for {next.organisations.filter((o) => o.state === 'queued').map((o) => o.name).join(', ')}, approved by{' '}
            {next.staffName || next.staffEmail}.
          </p>
        )}
        {run.state === 'paused' && <p className="muted">Paused. Nothing opens until you resume; Relink keeps the plan after a restart.</p>}
        {finished && <RunSummary run={run} />}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div role="status" aria-live="polite" className="reconnect-progress step-progress">
          {op && <StepStatus op={op} />}
        </div>
      </section>

      <section className="section" aria-labelledby="run-items">
        <h2 id="run-items">Approvals</h2>
        <div className="table-wrap">
          <DataTable className="run-table" columns={['App', 'Organisations', 'State', 'Why', ACTIONS]}>
            <tbody>
              {run.items.map((item) => (
                <ItemRow
                  key={item.id}
                  item={item}
                  run={run}
                  busy={active || starting}
                  onRun={runItem}
                  onSkip={(reason) => act(() => request('plan.skip', { runId: run.id, itemId: item.id, ...(reason ? { reason } : {}) }))}
                  onDisconnected={reload}
                />
              ))}
            </tbody>
          </DataTable>
        </div>
      </section>

      <section className="section" aria-labelledby="run-tracked">
        <h2 id="run-tracked">Third-party apps to reconnect</h2>
        <p className="muted">Relink holds no sign-in for these: reconnect each in the app itself, then tick it off here.</p>
        <TrackedChecklist items={run.tracked} headingId="run-tracked" onChanged={() => void reload()} />
      </section>
    </>
  );
}

/** The current step's progress (sign-in link and Cancel while waiting) and, at the end, main's result in words. */
function StepStatus({ op }: { op: Operation }) {
  const finished = !isActive(op);
  const tone =
    op.outcome === 'done' ? 'ok' : op.outcome === 'partial' || op.outcome === 'wrong-person' || op.outcome === 'unplanned' ? 'warn' : op.outcome === 'nothing-to-do' ? 'muted' : 'bad';
  // While it runs: the sign-in link and Cancel. Afterwards main's verdict on the step (which organisations are
  // back, which are still queued and why) says more than the consent's own report, which is about the whole app.
  if (!finished || !op.message) return <OperationStatus op={op} />;
  return (
    <div className={`operation operation-${op.state} step-status`}>
      <p className="step-message">
        <StatusText tone={tone} icon={op.outcome === 'done' ? 'check' : 'alert'} text={op.message} />
      </p>
      {op.report?.warning && <StatusText tone="warn" icon="alert" text={op.report.warning} />}
    </div>
  );
}

function ItemRow({
  item,
  run,
  busy,
  onRun,
  onSkip,
  onDisconnected,
}: {
  item: PlanItemView;
  run: ReconnectRunView;
  busy: boolean;
  onRun: (itemId: string) => Promise<void>;
  onSkip: (reason: string) => Promise<void>;
  onDisconnected: () => Promise<void>;
}) {
  const [skipping, setSkipping] = useState(false);
  const [reason, setReason] = useState('');
  const words = PLAN_ITEM_WORDS[item.state];
  const orgNames = item.organisations.map((o) => o.name).join(', ');
  const label = `${item.appName} for ${item.organisations.length === 1 ? orgNames : plural(item.organisations.length, 'organisation')}`;
  const canAct = run.state === 'running';
  const reasonId = `skip-${item.id}`;
  return (
    <tr>
      <th scope="row">
        <span className="cell-title">{item.appName}</span>
        <span className="cell-sub">{item.multiOrgConsent ? 'One approval for all' : 'One organisation per approval'}</span>
      </th>
      <td>
        <ul className="plain-list org-states">
          {item.organisations.map((o) => (
            <li key={o.tenantId}>
              {o.state === 'unplanned' || o.state === 'disconnected' ? (
                <>
                  <StatusText
                    tone={o.state === 'unplanned' ? 'warn' : 'muted'}
                    icon={o.state === 'unplanned' ? 'alert' : 'minus'}
                    text={`${o.name}: ${o.state === 'unplanned' ? 'connected, not planned' : 'not connected'}`}
                  />
                  {o.state === 'unplanned' && o.connectionId && (
                    <DisconnectButton connectionId={o.connectionId} organisation={o.name} appName={item.appName} onDone={onDisconnected} />
                  )}
                </>
              ) : (
                <StatusText tone={o.state === 'reconnected' ? 'ok' : 'muted'} icon={o.state === 'reconnected' ? 'check' : 'clock'} text={`${o.name}: ${o.state === 'reconnected' ? 'back' : 'queued'}`} />
              )}
            </li>
          ))}
        </ul>
      </td>
      <td>
        <StatusText tone={words.tone} icon={item.state === 'done' ? 'check' : item.state === 'failed' ? 'alert' : item.state === 'skipped' ? 'minus' : 'clock'} text={words.label} />
        {item.attempts > 0 && <span className="cell-sub">{plural(item.attempts, 'attempt')}</span>}
      </td>
      <td>
        {item.reason && <p className="item-reason">{item.reason}</p>}
        {item.warning && <StatusText tone="warn" icon="alert" text={item.warning} />}
        {item.approvedBy && item.state === 'done' && <span className="cell-sub">Approved by {item.approvedBy.name || item.approvedBy.email}</span>}
      </td>
      <td>
        {canAct && (item.state === 'pending' || item.state === 'failed') && (
          <div className="row-actions">
            <button type="button" className="button small" aria-label={`${item.state === 'failed' ? 'Retry' : 'Open this approval'}: ${label}`} aria-disabled={busy} onClick={() => void onRun(item.id)}>
              {item.state === 'failed' ? 'Retry' : 'Open this approval'}
            </button>
            {!skipping && (
              <button type="button" className="button small subtle" aria-label={`Skip: ${label}`} onClick={() => setSkipping(true)}>
                Skip…
              </button>
            )}
          </div>
        )}
        {skipping && (
          <form
            className="skip-form"
            onSubmit={async (e) => {
              e.preventDefault();
              await onSkip(reason.trim());
              setSkipping(false);
            }}
          >
            <div className="field">
              <label htmlFor={reasonId}>Why skip {label}?</label>
              <input id={reasonId} type="text" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} placeholder="e.g. client left the firm" />
            </div>
            <div className="button-row">
              <button type="submit" className="button small primary">
                Skip this approval
              </button>
              <button type="button" className="button small subtle" onClick={() => setSkipping(false)}>
                Keep it
              </button>
            </div>
          </form>
        )}
      </td>
    </tr>
  );
}
