import { useMemo } from 'react';
import { indexSnapshot, appName, staffName } from '../state/derive.js';
import { useRelink, useSnapshot } from '../state/store.js';
import { OperationStatus } from '../operations/OperationStatus.js';

/**
 * Every sign-in that is running or just finished, in one corner, whichever view the advisor moved on to: a
 * reconnect started from the Overview is still followed on the Staff view.
 */
export function OperationsTray() {
  const snapshot = useSnapshot();
  const index = useMemo(() => indexSnapshot(snapshot), [snapshot]);
  const ops = useRelink((s) => s.operations);
  const dismissed = useRelink((s) => s.dismissed);
  const claimed = useRelink((s) => s.claimed);
  const shown = ops.filter((o) => !dismissed.has(o.id) && !claimed.has(o.id)).slice(0, 3);
  if (shown.length === 0) return null;
  return (
    <aside className="operations-tray" aria-label="Sign-ins in progress">
      <h2 className="tray-title">Sign-ins</h2>
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
