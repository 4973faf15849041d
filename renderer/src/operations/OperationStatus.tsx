import { useState } from 'react';
import type { ConnectReport, Operation } from '../../../shared/api.js';
import { cancelOperation, dismissOperation, useRelink } from '../state/store.js';
import { Icon } from '../ui/Icon.js';
import { Busy, StatusText } from '../ui/Status.js';
import { candidateWords, listWords, orgNames, staffLabel, takeoverCandidates } from './consent-scope.js';
import { DisconnectButton } from './DisconnectButton.js';
import { OrgNames } from '../ui/OrgNames.js';

/**
 * Where a sign-in in the browser stands, in the advisor's words: waiting for approval (with the sign-in page
 * to open again and Cancel), checking what came back, and then which organisations are back and which are
 * still missing, and why.
 */
export function OperationStatus({ op, who, appName, compact = false }: { op: Operation; who?: string; appName?: string; compact?: boolean }) {
  const [cancelError, setCancelError] = useState<string | null>(null);
  const finished = op.state === 'succeeded' || op.state === 'failed' || op.state === 'cancelled';
  return (
    <div className={`operation operation-${op.state}${compact ? ' compact' : ''}`}>
      {op.state === 'waiting-for-approval' && (
        <>
          <Busy text="Waiting for approval in your browser…" />
          {!compact && <ConsentHint op={op} {...(who ? { who } : {})} {...(appName ? { appName } : {})} />}
          <div className="operation-actions">
            {op.authorizeUrl && (
              <a className="link-button" href={op.authorizeUrl} target="_blank" rel="noreferrer">
                Open the sign-in page again
                <Icon name="external" className="inline-icon" />
              </a>
            )}
            <button
              type="button"
              className="button small"
              onClick={async () => {
                setCancelError(null);
                const r = await cancelOperation(op.id);
                if (!r.ok) setCancelError(r.error.message);
              }}
            >
              Cancel
            </button>
          </div>
          {cancelError && <p className="field-error">{cancelError}</p>}
        </>
      )}
      {op.state === 'verifying' && <Busy text="Approved. Checking which organisations came back…" />}
      {op.state === 'succeeded' && op.report && <ReportView report={op.report} intended={op.tenantIds} />}
      {op.state === 'succeeded' && !op.report && <StatusText tone="ok" icon="check" text="Connected." />}
      {op.state === 'failed' && (
        <>
          <StatusText tone="bad" icon="alert" text="The sign-in did not finish." />
          {op.error && <p className="operation-message">{op.error.message}</p>}
        </>
      )}
      {op.state === 'cancelled' && <StatusText tone="muted" icon="minus" text="Cancelled. Nothing was changed." />}
      {finished && (
        <button type="button" className="link-button dismiss" onClick={() => dismissOperation(op.id)}>
          Dismiss
        </button>
      )}
    </div>
  );
}

/**
 * What one consent brought back. When the sign-in was started for named organisations (`intended`), an
 * organisation it connected for the first time that is not among them is one the advisor did not set out to
 * connect — a wrong box ticked on Xero's page connects a new client — so it is flagged with an offer to
 * disconnect it, and the headline never says plain "Done".
 */
function ReportView({ report, intended }: { report: ConnectReport; intended: string[] }) {
  const snapshot = useRelink((s) => s.snapshot);
  const app = snapshot?.apps.find((a) => a.id === report.appId)?.name ?? 'the app';
  const planned = new Set(intended);
  const unintended = planned.size > 0 ? report.connected.filter((o) => !planned.has(o.tenantId)) : [];
  const expectedNew = report.connected.filter((o) => !unintended.includes(o));
  const back = report.reconnected.length;
  const fresh = expectedNew.length;
  const missing = report.stillMissing.length;
  const extra = unintended.length;
  const headline =
    missing > 0
      ? `Partly done: ${countOrgs(back + fresh)} connected, ${countOrgs(missing)} still missing.`
      : extra > 0
        ? `Connected, and ${countOrgs(extra)} more than you set out to connect.`
        : back + fresh > 0
          ? `Done: ${countOrgs(back + fresh)} connected as ${report.staff.name || report.staff.email}.`
          : 'Xero approved the sign-in, but no organisations were included.';
  const ok = missing === 0 && extra === 0 && back + fresh > 0;
  return (
    <div className="report">
      <StatusText tone={ok ? 'ok' : 'warn'} icon={ok ? 'check' : 'alert'} text={headline} />
      {back > 0 && <OrgNames label="Back again" names={report.reconnected.map((o) => o.name)} className="report-line" />}
      {fresh > 0 && <OrgNames label="Connected for the first time" names={expectedNew.map((o) => o.name)} className="report-line" />}
      {extra > 0 && (
        <div className="report-missing">
          <p className="report-label">Not what you set out to connect</p>
          <ul className="plain-list">
            {unintended.map((o) => {
              const connection = snapshot?.connections.find((c) => c.appId === report.appId && c.grantId === report.grantId && c.orgId === o.tenantId);
              return (
                <li key={o.tenantId}>
                  <strong>{o.name}</strong>: ticked on Xero's page, so {app} now reaches it too.{' '}
                  {connection ? (
                    <DisconnectButton connectionId={connection.id} organisation={o.name} appName={app} onDone={async () => undefined} />
                  ) : (
                    <>If that was a mistake, disconnect it in Xero ({o.name} → Settings → Connected apps).</>
                  )}
                </li>
              );
            })}
          </ul>
        </div>
      )}
      {missing > 0 && (
        <div className="report-missing">
          <p className="report-label">Still missing</p>
          <ul className="plain-list">
            {report.stillMissing.map((o) => (
              <li key={o.tenantId}>
                <strong>{o.name}</strong>: {o.reason}
              </li>
            ))}
          </ul>
        </div>
      )}
      {report.warning && (
        <p className="report-warning">
          <StatusText tone="warn" icon="alert" text={report.warning} />
        </p>
      )}
    </div>
  );
}

/** Most names a sentence lists before the rest go in a list of their own. */
const NAMED_INLINE = 6;

/**
 * What to do on Xero's pages, exactly: whom to sign in as (the name and email the sign-in page lists), and
 * which organisations to tick by name — Xero's page lists every organisation that person can reach.
 */
function ConsentHint({ op, who, appName }: { op: Operation; who?: string; appName?: string }) {
  const snapshot = useRelink((s) => s.snapshot);
  const names = orgNames(snapshot, op.tenantIds);
  const app = appName ?? snapshot?.apps.find((a) => a.id === op.appId)?.name ?? 'the app';
  const multi = snapshot?.apps.find((a) => a.id === op.appId)?.multiOrgConsent ?? true;
  const person = staffLabel(snapshot, op.staffId) ?? who ?? null;
  let signIn: string;
  if (person) signIn = `Sign in to Xero as ${person}.`;
  else if (names.length > 0) {
    const candidates = takeoverCandidates(snapshot, op.tenantIds, null);
    const them = names.length === 1 ? 'it' : 'them';
    signIn = `Sign in to Xero as an advisor who has access to ${them}.${
      candidates.length ? ` At Relink's last check, working connections to ${them} were signed in as ${candidateWords(candidates, names.length)}.` : ''
    }`;
  } else signIn = 'Sign in to Xero as the person whose access these connections should use.';
  const choose = multi ? 'Tick' : 'Choose';
  return (
    <>
      <p className="hint consent-who">{signIn}</p>
      {names.length === 0 && <p className="hint consent-orgs">{choose} the organisations for {app} and press Allow access.</p>}
      {names.length > 0 && names.length <= NAMED_INLINE && (
        <p className="hint consent-orgs">
          {names.length === 1 ? `${choose} ${names[0]}` : `Tick these ${names.length} organisations: ${listWords(names)}`} for {app} and press Allow access.
          {' '}Leave any others on Xero's page as they are.
        </p>
      )}
      {names.length > NAMED_INLINE && (
        <div className="hint consent-orgs">
          <p>
            Tick these {names.length} organisations for {app} and press Allow access. Leave any others on Xero's page as they are.
          </p>
          <ul className="plain-list columns" aria-label="Organisations to tick">
            {names.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </div>
      )}
    </>
  );
}

function countOrgs(n: number): string {
  return `${n} organisation${n === 1 ? '' : 's'}`;
}
