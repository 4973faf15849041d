import { useMemo } from 'react';
import { indexSnapshot, appName, staffName } from '../state/derive.js';
import { dismissOperation, useRelink, useSnapshot } from '../state/store.js';
import { OperationStatus } from '../operations/OperationStatus.js';

/**
 * Every sign-in that is running or just finished, whichever view the advisor moved on to: a reconnect started
 * from the Overview is still followed on the Staff view. Docked below the view (never over its cards), and a
 * finished sign-in leaves it on its own after a while (store.ts, TRAY_KEEPS_MS): the Activity view has the history.
 */
export function OperationsTray() {
  const snapshot = useSnapshot();
  const index = useMemo(() => indexSnapshot(snapshot), [snapshot]);
  const ops = useRelink((s) => s.operations);
  const dismissed = useRelink((s) => s.dismissed);
  const claimed = useRelink((s) => s.claimed);
  const shown = ops.filter((o) => !dismissed.has(o.id) && !claimed.has(o.id)).slice(0, 3);
  if (shown.length === 0) return null;
  const finished = shown.filter((o) => o.finishedAt !== null);
  return (
    <aside className="operations-tray" aria-label="Sign-ins in progress">
      <div className="tray-head">
        <h2 className="tray-title">Sign-ins</h2>
        {finished.length > 1 && (
          <button type="button" className="link-button" onClick={() => finished.forEach((o) => dismissOperation(o.id))}>
            Dismiss the finished ones
          </button>
        )}
      </div>
      <ul className="plain-list">
        {shown.map((op) => {
          const org = op.tenantId ? index.rowsById.get(op.tenantId)?.name : null;
          const app = appName(index, op.appId);
          return (
            <li key={op.id} className="tray-item">
              <p className="tray-item-title">
                {app}
                {org ? ` for ${org}` : op.staffId ? ` as ${staffName(index, op.staffId)}` : ''}
              </p>
              <OperationStatus op={op} compact appName={app} />
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
