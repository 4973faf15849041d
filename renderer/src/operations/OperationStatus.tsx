import { useState } from 'react';
import type { ConnectReport, Operation } from '../../../shared/api.js';
import { cancelOperation, dismissOperation } from '../state/store.js';
import { Icon } from '../ui/Icon.js';
import { Busy, StatusText } from '../ui/Status.js';

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
          {!compact && (
            <p className="hint">
              {who ? `Sign in to Xero as ${who}` : 'Sign in to Xero'}
              {appName ? `, tick the organisations for ${appName}` : ', tick the organisations'} and press Allow access.
            </p>
          )}
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
      {op.state === 'succeeded' && op.report && <ReportView report={op.report} />}
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

function ReportView({ report }: { report: ConnectReport }) {
  const back = report.reconnected.length;
  const fresh = report.connected.length;
  const missing = report.stillMissing.length;
  const headline =
    missing > 0
      ? `Partly done: ${countOrgs(back + fresh)} connected, ${countOrgs(missing)} still missing.`
      : back + fresh > 0
        ? `Done: ${countOrgs(back + fresh)} connected as ${report.staff.name || report.staff.email}.`
        : 'Xero approved the sign-in, but no organisations were included.';
  return (
    <div className="report">
      <StatusText tone={missing > 0 ? 'warn' : back + fresh > 0 ? 'ok' : 'warn'} icon={missing > 0 ? 'alert' : 'check'} text={headline} />
      {back > 0 && <OrgNames label="Back again" names={report.reconnected.map((o) => o.name)} />}
      {fresh > 0 && <OrgNames label="Connected for the first time" names={report.connected.map((o) => o.name)} />}
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

function countOrgs(n: number): string {
  return `${n} organisation${n === 1 ? '' : 's'}`;
}

const SHOWN = 6;

function OrgNames({ label, names }: { label: string; names: string[] }) {
  if (names.length <= SHOWN) {
    return (
      <p className="report-line">
        <span className="report-label">{label}: </span>
        {names.join(', ')}
      </p>
    );
  }
  return (
    <details className="report-line">
      <summary>
        <span className="report-label">{label}: </span>
        {names.slice(0, SHOWN).join(', ')} and {names.length - SHOWN} more
      </summary>
      <ul className="plain-list columns">
        {names.map((n) => (
          <li key={n}>{n}</li>
        ))}
      </ul>
    </details>
  );
}
