import { useCallback, useState } from 'react';
import type { TrackedImportPreview, TrackedImportResult, TrackedView as Tracked } from '../../../../shared/workflows.js';
import { request, saveTextFile } from '../../state/store.js';
import { useResource } from '../../state/resource.js';
import { Busy, StatusText } from '../../ui/Status.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { when } from '../../ui/format.js';
import { plural, TRACKED_STATE_WORDS } from '../../ui/words.js';
import { ReconnectAddress } from '../workflows/TrackedChecklist.js';
import { ACTIONS, DataTable } from '../../ui/DataTable.js';
import { ConfirmDialog } from '../../ui/ConfirmDialog.js';

const TRACKED_TOPICS = ['incident'] as const;

/**
 * Third-party apps (payroll, receipts, e-commerce, CRM) connected to clients' Xero organisations that Relink holds
 * no sign-in for. They break on the same events as Relink's own connections, so advisors record who authorised
 * each, and tick them off when reconnected.
 */
export function TrackedView() {
  // A tracked app's health is inferred from what happens to the person who authorised it: an incident opening or
  // closing can change it.
  const list = useResource('tracked.list', {}, { topics: TRACKED_TOPICS });
  const items = list.data;
  const [actionError, setActionError] = useState<string | null>(null);
  const error = actionError ?? list.error?.message ?? null;
  const [notice, setNotice] = useState<string | null>(null);
  const reloadList = list.reload;
  const load = useCallback(async () => {
    await reloadList();
    setActionError(null);
  }, [reloadList]);

  return (
    <>
      <ViewHeading description="Apps connected to clients' Xero organisations that Relink does not sign in for. They break when the person who authorised them changes their password or leaves; Relink flags them and you tick them off once reconnected.">
        Third-party apps
      </ViewHeading>
      <div className="button-row tracked-toolbar">
        <button
          type="button"
          className="button"
          onClick={async () => {
            const r = await request('tracked.export', {});
            if (!r.ok) return setActionError(r.error.message);
            const saved = await saveTextFile(r.value.fileName, r.value.csv);
            if (!saved.ok) setActionError(saved.error.message);
          }}
        >
          Export CSV
        </button>
      </div>
      <div role="status" aria-live="polite" className="result-count">
        {notice}
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <section className="section" aria-labelledby="tracked-list">
        <h2 id="tracked-list" className="visually-hidden">
          Recorded third-party apps
        </h2>
        {!items ? (
          !error && <Busy text="Loading…" />
        ) : items.length === 0 ? (
          <p className="empty">No third-party apps recorded yet. Add one below, or import a CSV.</p>
        ) : (
          <TrackedTable items={items} onChanged={load} onError={setActionError} onNotice={setNotice} />
        )}
      </section>
      <div className="tracked-forms">
        <ImportTracked
          onImported={async (r) => {
            setNotice(r.message);
            await load();
          }}
        />
        <AddTrackedForm
          onAdded={async (t) => {
            setNotice(`Added ${t.app} for ${t.organisation}.`);
            await load();
          }}
        />
      </div>
    </>
  );
}

function TrackedTable({ items, onChanged, onError, onNotice }: { items: Tracked[]; onChanged: () => Promise<void>; onError: (m: string) => void; onNotice: (m: string) => void }) {
  // "Remove" asks first, in the window's one confirmation dialog.
  const [removing, setRemoving] = useState<Tracked | null>(null);
  const [busy, setBusy] = useState(false);
  const [removeError, setRemoveError] = useState<string | null>(null);
  const removingLabel = removing ? `${removing.app} for ${removing.organisation}` : '';
  return (
    <div className="table-wrap">
      <ConfirmDialog
        open={removing !== null}
        title={`Stop tracking ${removingLabel}?`}
        confirmLabel="Stop tracking"
        busy={busy}
        error={removeError}
        onCancel={() => {
          setRemoving(null);
          setRemoveError(null);
        }}
        onConfirm={async () => {
          if (!removing) return;
          setBusy(true);
          const r = await request('tracked.remove', { id: removing.id });
          setBusy(false);
          if (!r.ok) return setRemoveError(r.error.message);
          setRemoving(null);
          setRemoveError(null);
          onNotice(`${removingLabel} removed from the list.`);
          await onChanged();
        }}
      >
        <p>Relink forgets this entry and stops reminding you to reconnect it. This does not disconnect anything in Xero or in {removing?.app}.</p>
        <p className="muted">To track it again, add it again (or import it).</p>
      </ConfirmDialog>
      <DataTable className="tracked-table" label="Third-party apps" columns={['Organisation', 'App', 'Authorised by', 'State', 'Where to reconnect', 'Confirmed', ACTIONS]}>
        <tbody>
          {items.map((t) => {
            const w = TRACKED_STATE_WORDS[t.state];
            const who = t.authorisedBy.name || t.authorisedBy.email || t.authorisedBy.ref;
            const label = `${t.app} for ${t.organisation}`;
            return (
              <tr key={t.id}>
                <th scope="row">{t.organisation}</th>
                <td>
                  <span className="cell-title">{t.app}</span>
                  {t.notes && <span className="cell-sub">{t.notes}</span>}
                </td>
                <td>
                  <span className="cell-title">{who}</span>
                  {t.authorisedBy.status && t.authorisedBy.status !== 'active' && <span className="cell-sub">{t.authorisedBy.status === 'leaving' ? 'Leaving' : 'Removed'}</span>}
                </td>
                <td>
                  <StatusText tone={w.tone} icon={t.state === 'needs-reconnect' ? 'unlink' : 'check'} text={w.label} />
                  {t.reason && <span className="cell-sub">{t.reason}</span>}
                </td>
                <td>
                  <ReconnectAddress url={t.reconnectUrl} app={t.app} organisation={t.organisation} />
                </td>
                <td>{t.confirmedAt ? when(t.confirmedAt) : <span className="muted">Never</span>}</td>
                <td>
                  <div className="row-actions">
                    {t.state === 'needs-reconnect' && (
                      <button
                        type="button"
                        className="button small"
                        aria-label={`Mark reconnected: ${label}`}
                        onClick={async () => {
                          const r = await request('tracked.confirm', { id: t.id });
                          if (!r.ok) return onError(r.error.message);
                          onNotice(`${label} marked reconnected.`);
                          await onChanged();
                        }}
                      >
                        Mark reconnected
                      </button>
                    )}
                    <button
                      type="button"
                      className="button small subtle"
                      aria-label={`Remove: ${label}`}
                      onClick={() => setRemoving(t)}
                    >
                      Remove…
                    </button>
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </DataTable>
    </div>
  );
}

const EMPTY = { organisation: '', app: '', authorisedBy: '', reconnectUrl: '', notes: '' };
type FormKey = keyof typeof EMPTY;

function AddTrackedForm({ onAdded }: { onAdded: (t: Tracked) => Promise<void> }) {
  const [values, setValues] = useState(EMPTY);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const field = (key: FormKey, label: string, help?: string, type = 'text') => (
    <div className="field">
      <label htmlFor={`tracked-${key}`}>{label}</label>
      {help && (
        <p className="field-help" id={`tracked-${key}-help`}>
          {help}
        </p>
      )}
      <input
        id={`tracked-${key}`}
        type={type}
        value={values[key]}
        aria-describedby={help ? `tracked-${key}-help` : undefined}
        onChange={(e) => setValues((v) => ({ ...v, [key]: e.target.value }))}
      />
    </div>
  );
  return (
    <section className="section card" aria-labelledby="tracked-add">
      <h2 id="tracked-add">Add a third-party app</h2>
      <form
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          if (busy) return;
          setBusy(true);
          setError(null);
          const r = await request('tracked.add', {
            organisation: values.organisation,
            app: values.app,
            authorisedBy: values.authorisedBy,
            reconnectUrl: values.reconnectUrl.trim() ? values.reconnectUrl.trim() : null,
            ...(values.notes ? { notes: values.notes } : {}),
          });
          setBusy(false);
          if (!r.ok) return setError(r.error.message);
          setValues(EMPTY);
          await onAdded(r.value);
        }}
      >
        {field('organisation', 'Organisation', 'Its name as in Xero, or its Xero organisation id.')}
        {field('app', 'App', 'For example Gusto, Dext, Shopify.')}
        {field('authorisedBy', 'Authorised by', "The staff member's email.", 'email')}
        {field('reconnectUrl', 'Where to reconnect (optional)', 'The https address of the app page where it connects to Xero.', 'url')}
        {field('notes', 'Notes (optional)')}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="button primary" aria-disabled={busy}>
            Add
          </button>
        </div>
      </form>
    </section>
  );
}

function ImportTracked({ onImported }: { onImported: (r: TrackedImportResult) => Promise<void> }) {
  const [csv, setCsv] = useState<string | null>(null);
  const [fileName, setFileName] = useState('');
  const [preview, setPreview] = useState<TrackedImportPreview | null>(null);
  const [result, setResult] = useState<TrackedImportResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const doImport = async (skipInvalid: boolean) => {
    if (!csv || busy) return;
    setBusy(true);
    setError(null);
    const r = await request('tracked.import', { csv, skipInvalid });
    setBusy(false);
    if (!r.ok) return setError(r.error.message);
    setResult(r.value);
    if (r.value.committed) {
      setPreview(null);
      setCsv(null);
      await onImported(r.value);
    } else setPreview(r.value);
  };

  const valid = preview?.accepted.length ?? 0;
  const invalid = preview?.rejected.length ?? 0;
  return (
    <section className="section card wide" aria-labelledby="tracked-import">
      <h2 id="tracked-import">Import from a CSV file</h2>
      <p className="muted">
        The first line must be <code>organisation,app,authorised_by,reconnect_url,notes</code>. Organisations by name or Xero organisation id, authorised_by by email. Relink checks every row
        first and imports nothing until you say so.
      </p>
      <div className="field">
        <label htmlFor="tracked-file">CSV file</label>
        <input
          id="tracked-file"
          type="file"
          accept=".csv,text/csv"
          onChange={async (e) => {
            const file = e.target.files?.[0];
            setResult(null);
            setPreview(null);
            setError(null);
            if (!file) return;
            setFileName(file.name);
            const text = await file.text();
            setCsv(text);
            const r = await request('tracked.preview', { csv: text });
            if (r.ok) setPreview(r.value);
            else setError(r.error.message);
          }}
        />
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <p role="status" className={result.committed ? '' : 'form-error'}>
          {result.message}
        </p>
      )}
      {preview && (
        <div className="import-preview" aria-labelledby="import-preview-title">
          <h3 id="import-preview-title">
            {fileName}: {plural(preview.rows, 'row')} read, {valid} valid, {invalid} rejected
          </h3>
          {preview.fileError && (
            <p className="form-error" role="alert">
              {preview.fileError}
            </p>
          )}
          {invalid > 0 && (
            <>
              <h4>Rejected rows</h4>
              <DataTable className="import-table" label="Rejected rows" columns={['Line', 'Row', 'Why']}>
                <tbody>
                  {preview.rejected.map((r) => (
                    <tr key={`${r.line}-${r.row}`}>
                      <th scope="row">Line {r.line}</th>
                      <td>
                        <code>{r.cells.join(', ')}</code>
                      </td>
                      <td>
                        <ul className="plain-list">
                          {r.reasons.map((why, i) => (
                            <li key={i}>
                              <StatusText tone={r.duplicate ? 'warn' : 'bad'} icon="alert" text={why} />
                            </li>
                          ))}
                        </ul>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </DataTable>
            </>
          )}
          {valid > 0 && (
            <>
              <h4>Rows to import</h4>
              <DataTable className="import-table" label="Rows to import" columns={['Line', 'Organisation', 'App', 'Authorised by']}>
                <tbody>
                  {preview.accepted.map((a) => (
                    <tr key={a.line}>
                      <th scope="row">Line {a.line}</th>
                      <td>{a.organisation}</td>
                      <td>{a.app}</td>
                      <td>{a.authorisedBy.name || a.authorisedBy.email}</td>
                    </tr>
                  ))}
                </tbody>
              </DataTable>
            </>
          )}
          <div className="form-actions">
            {!preview.fileError && valid > 0 && invalid === 0 && (
              <button type="button" className="button primary" aria-disabled={busy} onClick={() => void doImport(false)}>
                Import {plural(valid, 'row')}
              </button>
            )}
            {!preview.fileError && valid > 0 && invalid > 0 && (
              <button type="button" className="button primary" aria-disabled={busy} onClick={() => void doImport(true)}>
                Import the {valid} valid {valid === 1 ? 'row' : 'rows'} and skip {invalid}
              </button>
            )}
            {(preview.fileError || valid === 0) && <p className="muted">Nothing can be imported from this file: correct it and choose it again.</p>}
          </div>
        </div>
      )}
    </section>
  );
}
