import { useEffect, useId, useState } from 'react';
import type { Operation, StatusSnapshot } from '../../../shared/api.js';
import { KEYCHAIN_STATE_WORDS } from '../../../shared/plain-words.js';
import { isActive, latestForTarget } from '../state/operations.js';
import { href } from '../state/router.js';
import { claimOperation, connect, useRelink, type ConnectTarget } from '../state/store.js';
import { OperationStatus } from './OperationStatus.js';
import { Icon } from '../ui/Icon.js';

/**
 * One-click reconnect: a button that opens Xero's sign-in in the system browser, then the progress and result
 * of that sign-in right under it. `operation` lets a caller show a sign-in started elsewhere for the same
 * connection (an incident's Reconnect also covers the organisation open in the detail panel).
 *
 * A sign-in Relink knows would fail is not offered: when Xero already rejects the app's credentials the
 * advisor would approve in Xero only to be told `invalid_client` at the last step, and without a keychain the
 * new sign-in could not be kept. The button stays (disabled, focusable) with the reason and the fix under it;
 * main refuses such a sign-in too.
 */

/** Why a sign-in for this app cannot work now, and where the fix is; null when it can. */
export function connectRefusal(snapshot: StatusSnapshot | null, appId: string): { reason: string; fix: { text: string; href: string } } | null {
  if (!snapshot) return null;
  if (snapshot.keychain !== 'available') {
    return {
      reason: `The keychain is ${KEYCHAIN_STATE_WORDS[snapshot.keychain]}, so Relink could not keep a new sign-in.`,
      fix: { text: 'Open keychain settings', href: href('settings') },
    };
  }
  const app = snapshot.apps.find((a) => a.id === appId);
  if (app?.credentialState !== 'rejected') return null;
  // Xero's own answer, for support ("400 invalid_client").
  const answer = snapshot.grants.find((g) => g.appId === app.id && g.health === 'app-broken' && g.lastFailure)?.lastFailure;
  const code = answer ? ` (${answer})` : '';
  return app.authType === 'web'
    ? {
        reason: `Xero rejects ${app.name}'s credentials${code}, so this sign-in would fail at its last step. Update the app's secret first.`,
        fix: { text: `Enter ${app.name}'s new secret in Apps`, href: href('apps') },
      }
    : {
        reason: `Xero rejects ${app.name}'s client id${code}, so this sign-in would fail at its last step. Check the app in Xero's developer portal first.`,
        fix: { text: `Review ${app.name} in Apps`, href: href('apps') },
      };
}

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
  const snapshot = useRelink((s) => s.snapshot);
  const reasonId = useId();
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const op = operation !== undefined ? operation : latestForTarget(ops, target.appId, target.staffId, target.tenantId);
  const shown = op && !dismissed.has(op.id) ? op : null;
  const busy = starting || (!!shown && isActive(shown));
  const refused = busy ? null : connectRefusal(snapshot, target.appId);
  const shownId = shown?.id;
  // Shown here, so the corner tray leaves it out (one Cancel per sign-in on screen).
  useEffect(() => (shownId ? claimOperation(shownId) : undefined), [shownId]);

  return (
    <div className="reconnect">
      <button
        type="button"
        className={primary ? 'button primary' : 'button'}
        aria-label={ariaLabel}
        // aria-disabled rather than disabled, so keyboard focus stays on the button while the sign-in runs,
        // and a refused one can still be reached to read why.
        aria-disabled={busy || refused !== null}
        {...(refused ? { 'aria-describedby': reasonId } : {})}
        onClick={async () => {
          if (busy || refused) return;
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
      {refused && (
        <p className="reconnect-refused" id={reasonId}>
          {refused.reason} <a href={refused.fix.href}>{refused.fix.text}</a>
        </p>
      )}
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
