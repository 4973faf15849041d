import { useEffect, useState } from 'react';
import type { AuditReport } from '../../../../shared/workflows.js';
import { href, type Route } from '../../state/router.js';
import { request, savePagePdf, useClaimOperations } from '../../state/store.js';
import { Busy } from '../../ui/Status.js';
import { day, when } from '../../ui/format.js';
import { HEALTH_WORDS, STAFF_STATUS_WORDS, TRACKED_STATE_WORDS, VERDICT_WORDS } from '../../ui/words.js';

/**
 * The offboarding report a partner files: a plain page built from the audit (firm, date, staff member, who takes
 * over, each dependency with its state and who moved it when, the verdict and its reasons). Its print styles
 * drop the window around it, so Electron's printToPDF and a browser's "Save as PDF" give the same document.
 */
export function OffboardingReport({ route }: { route: Route }) {
  const staffId = route.id === 'offboarding' ? route.sub : null;
  const [audit, setAudit] = useState<AuditReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A printable page: sign-in progress stays out of it (the audit shows it).
  useClaimOperations((o) => o.kind === 'offboarding-move' && o.leaverId === staffId);
  useEffect(() => {
    if (!staffId) return;
    void request('audit.get', { staffId }).then((r) => (r.ok ? setAudit(r.value) : setError(r.error.message)));
  }, [staffId]);

  if (!staffId) return <p className="empty">No such report.</p>;
  if (error)
    return (
      <p className="form-error" role="alert">
        {error}
      </p>
    );
  if (!audit) return <Busy text="Preparing the report…" />;

  const name = audit.staff.name || audit.staff.email;
  const verdict = VERDICT_WORDS[audit.verdict];
  const file = `relink-offboarding-${(audit.staff.email || name).replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${audit.generatedAt.slice(0, 10)}.pdf`;
  const movedCell = (m: { movedTo: { name: string; email: string } | null; movedBy: string | null; movedAt: string | null }) =>
    m.movedAt ? `${m.movedTo ? `To ${m.movedTo.name || m.movedTo.email}. ` : ''}${m.movedBy ? `${capitalise(m.movedBy)}, ` : ''}${when(m.movedAt)}` : '—';
  const stateWord = (s: 'depends' | 'moved') => (s === 'moved' ? 'Moved' : 'Still depends on them');

  return (
    <article className="report-page" aria-labelledby="report-title">
      <div className="report-toolbar no-print">
        <a className="button subtle" href={href('offboarding', staffId)}>
          Back to the audit
        </a>
        <button
          type="button"
          className="button primary"
          onClick={async () => {
            const r = await savePagePdf(file);
            if (!r.ok) setError(r.error.message);
          }}
        >
          Save as PDF
        </button>
      </div>
      <header className="report-header">
        <p className="report-firm">{audit.firmName}</p>
        <h1 id="report-title" tabIndex={-1}>
          Offboarding report: {name}
        </h1>
        <dl className="facts">
          <div>
            <dt>Date</dt>
            <dd>{day(audit.generatedAt)}</dd>
          </div>
          <div>
            <dt>Staff member</dt>
            <dd>
              {name} ({audit.staff.email}), {STAFF_STATUS_WORDS[audit.staff.status].label.toLowerCase()}
            </dd>
          </div>
          <div>
            <dt>Taken over by</dt>
            <dd>{audit.target ? `${audit.target.name || audit.target.email} (${audit.target.email})` : 'Not chosen yet'}</dd>
          </div>
          <div>
            <dt>Progress</dt>
            <dd>
              {audit.progress.moved} of {audit.progress.total} moved, {audit.progress.remaining} remaining
            </dd>
          </div>
        </dl>
      </header>

      <section className={`report-verdict verdict-${audit.verdict}`} aria-labelledby="report-verdict">
        <h2 id="report-verdict">Verdict: {verdict.label}</h2>
        {audit.reasons.length > 0 ? (
          <ul>
            {audit.reasons.map((r, i) => (
              <li key={i}>{r}</li>
            ))}
          </ul>
        ) : (
          <p>Nothing depends on {name} any more.</p>
        )}
      </section>

      <section aria-labelledby="report-connections">
        <h2 id="report-connections">Xero connections</h2>
        <table className="report-table">
          <thead>
            <tr>
              <th scope="col">Organisation</th>
              <th scope="col">App</th>
              <th scope="col">Health</th>
              <th scope="col">State</th>
              <th scope="col">Moved</th>
            </tr>
          </thead>
          <tbody>
            {audit.connections.length === 0 && (
              <tr>
                <td colSpan={5}>None.</td>
              </tr>
            )}
            {audit.connections.map((c) => (
              <tr key={c.connectionId}>
                <td>{c.organisation}</td>
                <td>{c.appName}</td>
                <td>{HEALTH_WORDS[c.health].label}</td>
                <td>{stateWord(c.state)}</td>
                <td>{movedCell(c)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="report-apps">
        <h2 id="report-apps">Apps created in Xero's developer portal</h2>
        <table className="report-table">
          <thead>
            <tr>
              <th scope="col">App</th>
              <th scope="col">Organisations</th>
              <th scope="col">State</th>
              <th scope="col">Moved</th>
            </tr>
          </thead>
          <tbody>
            {audit.appsCreated.length === 0 && (
              <tr>
                <td colSpan={4}>None recorded.</td>
              </tr>
            )}
            {audit.appsCreated.map((a) => (
              <tr key={a.appId}>
                <td>{a.appName}</td>
                <td>{a.organisations}</td>
                <td>{a.state === 'moved' && a.how ? (a.how === 'transferred' ? 'Transferred' : 'Recreated') : stateWord(a.state)}</td>
                <td>{movedCell(a)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="report-tracked">
        <h2 id="report-tracked">Third-party apps</h2>
        <table className="report-table">
          <thead>
            <tr>
              <th scope="col">App</th>
              <th scope="col">Organisation</th>
              <th scope="col">Health</th>
              <th scope="col">State</th>
              <th scope="col">Moved</th>
            </tr>
          </thead>
          <tbody>
            {audit.tracked.length === 0 && (
              <tr>
                <td colSpan={5}>None recorded.</td>
              </tr>
            )}
            {audit.tracked.map((t) => (
              <tr key={t.id}>
                <td>{t.app}</td>
                <td>{t.organisation}</td>
                <td>{TRACKED_STATE_WORDS[t.health].label}</td>
                <td>{stateWord(t.state)}</td>
                <td>{movedCell(t)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      {audit.warnings.length > 0 && (
        <section aria-labelledby="report-warnings">
          <h2 id="report-warnings">Warnings</h2>
          <ul>
            {audit.warnings.map((w, i) => (
              <li key={i}>
                {when(w.at)}: {w.message}
              </li>
            ))}
          </ul>
        </section>
      )}
      <p className="report-footer">Generated by Relink on {when(audit.generatedAt)}.</p>
    </article>
  );
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
