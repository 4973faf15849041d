import { useState, type ReactNode } from 'react';
import { href, type Route } from '../../state/router.js';
import { savePagePdf, useClaimOperations } from '../../state/store.js';
import { useResource } from '../../state/resource.js';
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
  // Read once when the page opens: a document being filed does not change under the advisor's eyes.
  const report = useResource('audit.get', staffId ? { staffId } : null);
  const audit = report.data;
  const [saveError, setError] = useState<string | null>(null);
  const error = saveError ?? report.error?.message ?? null;
  // A printable page: sign-in progress stays out of it (the audit shows it).
  useClaimOperations((o) => o.kind === 'offboarding-move' && o.leaverId === staffId);

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
  const stateWord = (s: 'depends' | 'moved' | 'overridden') => (s === 'moved' ? 'Moved' : s === 'overridden' ? 'Overridden — not verified by Relink' : 'Still depends on them');
  const p = audit.progress;

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
              {p.moved} of {p.total} moved{p.overridden ? `, ${p.overridden} overridden (not verified)` : ''}, {p.remaining} remaining
            </dd>
          </div>
        </dl>
      </header>

      <section className={`report-verdict verdict-${audit.verdict}`} aria-labelledby="report-verdict">
        <h2 id="report-verdict">Verdict: {verdict.label}</h2>
        {audit.reasons.length > 0 && (
          <ul>
            {audit.reasons.map((r, i) => (
              <li key={i}>{r}</li>
            ))}
          </ul>
        )}
        {audit.overrides.length > 0 && (
          <>
            <p>
              <strong>Overrides</strong> — resolved on an advisor's word, not verified by Relink:
            </p>
            <ul>
              {audit.overrides.map((r, i) => (
                <li key={i}>{r}</li>
              ))}
            </ul>
          </>
        )}
        {audit.verdict === 'safe-to-remove' && <p>Relink verified that nothing depends on {name} any more.</p>}
      </section>

      <ReportTable
        id="report-connections"
        title="Xero connections"
        columns={['Organisation', 'App', 'Health', 'State', 'Moved']}
        empty="None."
        rows={audit.connections.map((c) => ({
          key: c.connectionId,
          cells: [c.organisation, c.appName, HEALTH_WORDS[c.health].label, stateWord(c.state), movedCell(c)],
        }))}
      />
      <ReportTable
        id="report-apps"
        title="Apps created in Xero's developer portal"
        columns={['App', 'Organisations', 'State', 'Moved']}
        empty="None recorded."
        rows={audit.appsCreated.map((a) => ({
          key: a.appId,
          cells: [
            a.appName,
            a.organisations,
            a.state === 'overridden'
              ? `${a.how === 'transferred' ? 'Transferred' : 'Recreated'}: ${stateWord(a.state)}`
              : a.state === 'moved' && a.replacement
                ? `Replaced by ${a.replacement.appName} (verified)`
                : a.state === 'depends' && a.replacement
                  ? `${stateWord(a.state)}: ${a.replacement.organisations.filter((o) => !o.reached).length} of ${a.replacement.organisations.length} not reached through ${a.replacement.appName}`
                  : stateWord(a.state),
            a.override ? `${a.movedBy}. ${when(a.override.at)}: "${a.override.reason}"` : movedCell(a),
          ],
        }))}
      />
      <ReportTable
        id="report-tracked"
        title="Third-party apps"
        columns={['App', 'Organisation', 'Health', 'State', 'Moved']}
        empty="None recorded."
        rows={audit.tracked.map((t) => ({
          key: t.id,
          cells: [t.app, t.organisation, TRACKED_STATE_WORDS[t.health].label, stateWord(t.state), movedCell(t)],
        }))}
      />

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

/** One section of the report: a titled table of dependencies, or a line saying there are none. */
function ReportTable({ id, title, columns, empty, rows }: { id: string; title: string; columns: string[]; empty: string; rows: Array<{ key: string; cells: ReactNode[] }> }) {
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <table className="report-table">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colSpan={columns.length}>{empty}</td>
            </tr>
          )}
          {rows.map((r) => (
            <tr key={r.key}>
              {r.cells.map((cell, i) => (
                <td key={i}>{cell}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
