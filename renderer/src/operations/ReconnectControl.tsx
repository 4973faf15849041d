import { useEffect, useState } from 'react';
import type { Operation } from '../../../shared/api.js';
import { isActive, latestForTarget } from '../state/operations.js';
import { claimOperation, connect, useRelink, type ConnectTarget } from '../state/store.js';
import { OperationStatus } from './OperationStatus.js';
import { Icon } from '../ui/Icon.js';

/**
 * One-click reconnect: a button that opens Xero's sign-in in the system browser, then the progress and result
 * of that sign-in right under it. `operation` lets a caller show a sign-in started elsewhere for the same
 * connection (an incident's Reconnect also covers the organisation open in the detail panel).
 */
export function ReconnectControl({
  target,
  label,
  ariaLabel,
  who,
  appName,
  primary = true,
  operation,
}: {
  target: ConnectTarget;
  label: string;
  ariaLabel: string;
  who?: string;
  appName?: string;
  primary?: boolean;
  operation?: Operation | null;
}) {
  const ops = useRelink((s) => s.operations);
  const dismissed = useRelink((s) => s.dismissed);
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const op = operation !== undefined ? operation : latestForTarget(ops, target.appId, target.staffId, target.tenantId);
  const shown = op && !dismissed.has(op.id) ? op : null;
  const busy = starting || (!!shown && isActive(shown));
  const shownId = shown?.id;
  // Shown here, so the corner tray leaves it out (one Cancel per sign-in on screen).
  useEffect(() => (shownId ? claimOperation(shownId) : undefined), [shownId]);

  return (
    <div className="reconnect">
      <button
        type="button"
        className={primary ? 'button primary' : 'button'}
        aria-label={ariaLabel}
        // aria-disabled rather than disabled, so keyboard focus stays on the button while the sign-in runs.
        aria-disabled={busy}
        onClick={async () => {
          if (busy) return;
          setError(null);
          setStarting(true);
          const r = await connect(target);
          setStarting(false);
          if (!r.ok) setError(r.error.message);
        }}
      >
        {/* The words stay put while a sign-in runs (the name must keep matching them); progress shows below. */}
        {busy && <Icon name="spinner" className="spin" />}
        {label}
      </button>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <div role="status" aria-live="polite" className="reconnect-progress">
        {shown && <OperationStatus op={shown} {...(who ? { who } : {})} {...(appName ? { appName } : {})} />}
      </div>
    </div>
  );
}
