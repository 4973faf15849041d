import { useMemo, useState } from 'react';
import { appName, compareNames, indexSnapshot, staffName } from '../../state/derive.js';
import { request, saveTextFile, useSnapshot } from '../../state/store.js';
import { useResource } from '../../state/resource.js';
import { Busy } from '../../ui/Status.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { endOfDay, inputDay, isoDay, startOfDay, when } from '../../ui/format.js';
import { ACTIVITY_ACTION_WORDS, activityActionWords, activityDetailWords, ACTOR_WORDS, plural } from '../../ui/words.js';
import { DataTable } from '../../ui/DataTable.js';

const ACTIVITY_TOPICS = ['incident'] as const;

/**
 * What Relink and the advisors did, newest first, filtered by what, when, who and which app. The export takes
 * exactly those filters, and its file is named by the days it really covers. A From after the Until says so
 * instead of showing an empty list.
 */
export function ActivityView() {
  const snapshot = useSnapshot();
  const index = useMemo(() => indexSnapshot(snapshot), [snapshot]);
  const [action, setAction] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [staffId, setStaffId] = useState('');
  const [appId, setAppId] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [exportNote, setExportNote] = useState<string | null>(null);
  // yyyy-mm-dd strings compare as dates.
  const impossible = from !== '' && to !== '' && from > to;
  // New incidents and recoveries are written to the log; it is read again when main announces one. While other
  // filters' answer is on its way the list on screen stays (no flash of "Loading").
  const list = useResource(
    'activity.list',
    impossible
      ? null
      : {
          limit: 500,
          ...(action ? { action } : {}),
          ...(from ? { from: startOfDay(from) } : {}),
          ...(to ? { to: endOfDay(to) } : {}),
          ...(staffId ? { staffId } : {}),
          ...(appId ? { appId } : {}),
        },
    { topics: ACTIVITY_TOPICS, keepPrevious: true },
  );
  const entries = useMemo(() => (list.data ? [...list.data].reverse() : null), [list.data]);
  const loading = list.loading;
  const listError = list.error?.message ?? null;

  const exportCsv = async () => {
    setExportNote(null);
    setError(null);
    if (impossible) return;
    // The same filters as the list (the list shows the newest 500; the export has every matching entry).
    const r = await request('activity.exportCsv', {
      from: from ? startOfDay(from) : '1970-01-01T00:00:00.000Z',
      to: to ? endOfDay(to) : '2999-12-31T00:00:00.000Z',
      ...(action ? { action } : {}),
      ...(staffId ? { staffId } : {}),
      ...(appId ? { appId } : {}),
    });
    if (!r.ok) return setError(r.error.message);
    if (r.value.count === 0 || !r.value.first || !r.value.last) return setExportNote('Nothing to export: no activity matches these filters.');
    // Named by the days it covers, on this computer's calendar (the one the From and Until boxes use).
    const first = from || isoDay(r.value.first);
    const last = to || isoDay(r.value.last);
    const fileName = `relink-activity-${first}-to-${last}.csv`;
    const saved = await saveTextFile(fileName, r.value.csv);
    if (!saved.ok) setError(saved.error.message);
    else if (saved.value.saved)
      setExportNote(`Exported ${plural(r.value.count, 'entry', 'entries')} from ${inputDay(first)} to ${inputDay(last)} as ${fileName}.`);
  };

  const actions = useMemo(() => {
    const seen = new Set(Object.keys(ACTIVITY_ACTION_WORDS));
    for (const e of entries ?? []) seen.add(e.action);
    if (action) seen.add(action);
    return [...seen].sort((a, b) => compareNames(activityActionWords(a), activityActionWords(b)));
  }, [entries, action]);
  const staff = [...index.staffById.values()].sort((a, b) => compareNames(a.name, b.name));

  return (
    <>
      <ViewHeading description="Everything Relink and your team did with the firm's connections. Nothing secret is ever written here.">Activity</ViewHeading>
      <form className="filters" aria-label="Filter activity" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="act-action">What happened</label>
          <select id="act-action" value={action} onChange={(e) => setAction(e.target.value)}>
            <option value="">Anything</option>
            {actions.map((a) => (
              <option key={a} value={a}>
                {activityActionWords(a)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="act-from">From</label>
          <input id="act-from" type="date" value={from} max={to || undefined} onChange={(e) => setFrom(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="act-to">Until</label>
          <input id="act-to" type="date" value={to} min={from || undefined} onChange={(e) => setTo(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="act-staff">Staff member</label>
          <select id="act-staff" value={staffId} onChange={(e) => setStaffId(e.target.value)}>
            <option value="">Anyone</option>
            {staff.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name || s.email}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="act-app">App</label>
          <select id="act-app" value={appId} onChange={(e) => setAppId(e.target.value)}>
            <option value="">Any app</option>
            {index.apps.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </div>
        <button type="button" className="button subtle filters-clear" onClick={() => void list.reload()}>
          Refresh
        </button>
        <button type="button" className="button" aria-describedby="act-export-help" aria-disabled={impossible} onClick={() => void exportCsv()}>
          Export CSV
        </button>
        <p id="act-export-help" className="field-help export-help">
          Exports every entry these filters match.
        </p>
      </form>
      {impossible && (
        <p className="form-error" role="alert">
          The From date ({inputDay(from)}) is after the Until date ({inputDay(to)}), so nothing can match. Change one of them.
        </p>
      )}
      {exportNote && (
        <p className="muted" role="status">
          {exportNote}
        </p>
      )}

      <div role="status" aria-live="polite" className="result-count">
        {loading && !entries ? <Busy text="Loading activity…" /> : entries ? `${plural(entries.length, 'entry', 'entries')}, newest first` : ''}
      </div>
      {(error ?? listError) && (
        <p className="form-error" role="alert">
          {error ?? listError}
        </p>
      )}
      {entries && entries.length === 0 && <p className="empty">Nothing recorded for these filters.</p>}
      {entries && entries.length > 0 && (
        <div className="table-wrap">
          {/* App and staff member share a column, so the table fits a narrow window without scrolling sideways. */}
          <DataTable className="activity-table" columns={['When', 'What happened', 'By', 'App and staff member', 'Details']}>
            <tbody>
              {entries.map((e, i) => (
                <tr key={`${e.ts}-${i}`}>
                  <td className="nowrap">{when(e.ts)}</td>
                  <td>{activityActionWords(e.action)}</td>
                  <td>{e.person ?? ACTOR_WORDS[e.actor]}</td>
                  <td>
                    {e.appId && <span className="cell-line">{appName(index, e.appId)}</span>}
                    {e.staffId && <span className="cell-sub">{staffName(index, e.staffId)}</span>}
                  </td>
                  <td>
                    {activityDetailWords(e.action, e.detail)}
                    {e.tenantIds && e.tenantIds.length > 0 && (
                      <span className="cell-sub">{plural(e.tenantIds.length, 'organisation')}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </DataTable>
        </div>
      )}
    </>
  );
}
