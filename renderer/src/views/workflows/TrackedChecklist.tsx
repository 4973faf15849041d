import { useState } from 'react';
import type { PlanTracked } from '../../../../shared/workflows.js';
import { request, useRelink } from '../../state/store.js';
import { StatusText } from '../../ui/Status.js';
import { TRACKED_STATE_WORDS } from '../../ui/words.js';

/**
 * Where to reconnect a third-party app: the address as copyable text, and in browser mode a link too. The
 * desktop window opens only addresses main allows (Xero's and the help pages), so there it stays text.
 */
export function ReconnectAddress({ url, app, organisation }: { url: string | null; app: string; organisation: string }) {
  const host = useRelink((s) => s.session?.host);
  if (!url) return <span className="muted">No address recorded: reconnect it in {app}'s own settings.</span>;
  return (
    <span className="reconnect-address">
      <code>{url}</code>
      {host === 'browser' && (
        <a href={url} target="_blank" rel="noreferrer" aria-label={`Open ${app}'s reconnect page for ${organisation} (new tab)`}>
          Open
        </a>
      )}
    </span>
  );
}

/** The third-party apps a person authorised: each with where to reconnect it, ticked off by the advisor. */
export function TrackedChecklist({ items, onChanged, headingId }: { items: PlanTracked[]; onChanged: () => void; headingId: string }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<{ id: string; message: string } | null>(null);
  if (items.length === 0) return <p className="empty">No third-party apps are recorded for this person.</p>;
  return (
    <ul className="checklist" aria-labelledby={headingId}>
      {items.map((t) => {
        const words = TRACKED_STATE_WORDS[t.state];
        const done = t.state === 'reconnected';
        return (
          <li key={t.id} className="checklist-item card">
            <div className="checklist-head">
              <span className="cell-title">
                {t.app} <span className="muted">for</span> {t.organisation}
              </span>
              <StatusText tone={words.tone} icon={done ? 'check' : t.state === 'ok' ? 'check' : 'unlink'} text={words.label} />
            </div>
            {t.reason && <p className="muted checklist-reason">{t.reason}</p>}
            <p className="checklist-where">
              <span className="report-label">Where to reconnect: </span>
              <ReconnectAddress url={t.reconnectUrl} app={t.app} organisation={t.organisation} />
            </p>
            {!done && (
              <button
                type="button"
                className="button small"
                aria-label={`Mark reconnected: ${t.app} for ${t.organisation}`}
                aria-disabled={busy === t.id}
                onClick={async () => {
                  if (busy) return;
                  setBusy(t.id);
                  setError(null);
                  const r = await request('tracked.confirm', { id: t.id });
                  setBusy(null);
                  if (!r.ok) setError({ id: t.id, message: r.error.message });
                  else onChanged();
                }}
              >
                Mark reconnected
              </button>
            )}
            {error?.id === t.id && (
              <p className="field-error" role="alert">
                {error.message}
              </p>
            )}
          </li>
        );
      })}
    </ul>
  );
}
