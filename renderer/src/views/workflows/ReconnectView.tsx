import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Operation } from '../../../../shared/api.js';
import type { PlanConsent, PlanItemView, ReconnectPlan, ReconnectRunView } from '../../../../shared/workflows.js';
import { isActive } from '../../state/operations.js';
import { href, navigate, type Route } from '../../state/router.js';
import { refreshSnapshot, request, startPlanStep, useClaimOperations, useRelink, useSnapshot } from '../../state/store.js';
import { OperationStatus } from '../../operations/OperationStatus.js';
import { Icon } from '../../ui/Icon.js';
import { Busy, StatusText } from '../../ui/Status.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { when } from '../../ui/format.js';
import { consentsSentence, plural, PLAN_ITEM_WORDS, RUN_STATE_WORDS } from '../../ui/words.js';
import { TrackedChecklist } from './TrackedChecklist.js';
import { ACTIONS, DataTable } from '../../ui/DataTable.js';

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
  const [plan, setPlan] = useState<ReconnectPlan | null>(null);
  const [run, setRun] = useState<ReconnectRunView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  // The run on screen stays on screen once it finishes (the unfinished-run lookup would no longer find it).
  const shownRun = useRef<string | null>(null);
  shownRun.current = run?.id ?? null;

  const load = useCallback(async () => {
    if (!staffId) return;
    const wanted = runParam ?? shownRun.current;
    const runs = await request('plan.runs', {});
    if (!runs.ok) {
      setError(runs.error.message);
      setLoading(false);
      return;
    }
    const mine = runs.value
      .filter((r) => (wanted ? r.id === wanted : r.staffId === staffId && (r.state === 'running' || r.state === 'paused')))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
    if (mine) {
      setRun(mine);
      setLoading(false);
      return;
    }
    const p = await request('plan.get', { staffId });
    setLoading(false);
    if (p.ok) {
      setPlan(p.value);
      setError(null);
    } else setError(p.error.message);
  }, [staffId, runParam]);

  useEffect(() => {
    void load();
  }, [load]);

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
      {plan.triggers.length > 0 && (
        <ul className="plain-list trigger-list" aria-label="Why">
          {plan.triggers.map((t, i) => (
            <li key={i}>
              <StatusText tone="warn" icon="alert" text={t.summary} /> <span className="muted">({when(t.at)})</span>
            </li>
          ))}
        </ul>
      )}
      <section className="callout plan-summary" aria-labelledby="plan-count">
        <h2 id="plan-count" className="plan-count">
          {plan.totals.consents === 0 ? 'Nothing to reconnect' : consentsSentence(plan.totals.consents, plan.totals.organisations)}
        </h2>
        <p>
          {plan.totals.consents === 0
            ? `None of ${name}'s Xero connections needs reconnecting.`
            : `${plural(plan.totals.apps, 'app')}, ${plural(plan.totals.connections, 'connection')}. Apps that can connect several organisations at once need one approval each; the others need one approval per organisation.`}
          {plan.totals.tracked > 0 && ` Then ${plural(plan.totals.tracked, 'third-party app')} to reconnect in their own settings.`}
        </p>
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
                : `This app connects one organisation at a time: ${plural(consents.length, 'approval')}, one per organisation.`}
            </p>
            <ol className="consent-list">
              {consents.map((c) => (
                <li key={c.id}>
                  <span className="cell-title">
                    Approval as {c.staffName || c.staffEmail}: {plural(c.orgIds.length, 'organisation')}
                  </span>
                  <span className="cell-sub">{c.organisations.map((o) => o.name).join(', ')}</span>
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
  const mine = ops.filter((o) => o.kind === 'plan-step' && o.runId === run.id);
  const op = mine[0] ?? null;
  const active = !!op && isActive(op);
  // Every step of this run shows here (the latest in place, earlier ones in the table), so the tray leaves them out.
  useClaimOperations((o) => o.kind === 'plan-step' && o.runId === run.id);

  // When a step finishes, read the run again: main has verified it and updated every item.
  const lastState = useRef(op?.state);
  useEffect(() => {
    const was = lastState.current;
    lastState.current = op?.state;
    if (op && was && was !== op.state && !isActive(op)) {
      void reload();
      void refreshSnapshot();
    }
  }, [op, op?.state, reload]);

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
            <button type="button" className="button subtle" onClick={() => void act(() => request('plan.cancel', { runId: run.id }))}>
              Stop this plan
            </button>
          </div>
        )}
        {next && run.state === 'running' && !active && (
          <p className="muted next-hint">
            Next: {next.appName} for {next.organisations.filter((o) => o.state === 'queued').map((o) => o.name).join(', ')}, approved by{' '}
            {next.staffName || next.staffEmail}.
          </p>
        )}
        {run.state === 'paused' && <p className="muted">Paused. Nothing opens until you resume; Relink keeps the plan after a restart.</p>}
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
                <ItemRow key={item.id} item={item} run={run} busy={active || starting} onRun={runItem} onSkip={(reason) => act(() => request('plan.skip', { runId: run.id, itemId: item.id, ...(reason ? { reason } : {}) }))} />
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
  const tone = op.outcome === 'done' ? 'ok' : op.outcome === 'partial' || op.outcome === 'wrong-person' ? 'warn' : op.outcome === 'nothing-to-do' ? 'muted' : 'bad';
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
}: {
  item: PlanItemView;
  run: ReconnectRunView;
  busy: boolean;
  onRun: (itemId: string) => Promise<void>;
  onSkip: (reason: string) => Promise<void>;
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
              <StatusText tone={o.state === 'reconnected' ? 'ok' : 'muted'} icon={o.state === 'reconnected' ? 'check' : 'clock'} text={`${o.name}: ${o.state === 'reconnected' ? 'back' : 'queued'}`} />
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
