import { useState } from 'react';
import { request, refreshSnapshot } from '../state/store.js';
import { ConfirmDialog } from '../ui/ConfirmDialog.js';

/**
 * "Disconnect…" for a connection an approval made that nobody asked for (a box ticked by mistake on Xero's consent
 * page). Xero removes it at once and it cannot be undone, so the dialog says so before anything happens.
 */
export function DisconnectButton({ connectionId, organisation, appName, onDone }: { connectionId: string; organisation: string; appName: string; onDone: () => Promise<void> }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <button type="button" className="button small subtle" aria-label={`Disconnect ${organisation} from ${appName}…`} onClick={() => setAsking(true)}>
        Disconnect…
      </button>
      <ConfirmDialog
        open={asking}
        tone="danger"
        title={`Disconnect ${organisation} from ${appName}?`}
        confirmLabel={`Disconnect ${organisation}`}
        busy={busy}
        error={error}
        onCancel={() => {
          setAsking(false);
          setError(null);
        }}
        onConfirm={async () => {
          setBusy(true);
          setError(null);
          const r = await request('connections.disconnect', { connectionId });
          setBusy(false);
          if (!r.ok) return setError(r.error.message);
          setAsking(false);
          await onDone();
          void refreshSnapshot();
        }}
      >
        <p>
          Xero removes {appName}'s connection to {organisation} at once, and {appName} stops working there.
        </p>
        <p>
          <strong>This cannot be undone.</strong> To connect {organisation} again, someone with access to it must approve {appName} for it in Xero.
        </p>
      </ConfirmDialog>
    </>
  );
}
