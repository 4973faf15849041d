import { getCoreRowModel, useReactTable, type ColumnDef, type SortingState } from '@tanstack/react-table';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { indexSnapshot, sortedRows, type OrgRow } from '../../state/derive.js';
import { href, navigate, type Route } from '../../state/router.js';
import { useSnapshot } from '../../state/store.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { plural } from '../../ui/words.js';
import { BulkActions } from './BulkActions.js';
import { OrganisationDetail } from './OrganisationDetail.js';
import { OrganisationFilters } from './OrganisationFilters.js';
import { OrganisationsGrid, type GridHandle } from './OrganisationsGrid.js';
import { filterRows, filtersFromParams, filtersToParams, hasFilters, type OrgFilters } from './filterRows.js';

/** The table model holds columns and sort state only; rows come pre-sorted per snapshot (see sortedRows). */
const NO_DATA: OrgRow[] = [];

/**
 * Every client organisation and every app, with search and filters; the organisation detail opens beside
 * the grid (`#/organisations/<id>`), or over it in a narrow window, so the list and the filters stay where
 * they were. Escape closes the detail from anywhere in the window. Organisations ticked in the grid get the
 * bulk actions above it.
 */
export function OrganisationsView({ route }: { route: Route }) {
  const snapshot = useSnapshot();
  const index = useMemo(() => indexSnapshot(snapshot), [snapshot]);
  const paramsKey = route.params.toString();
  const [filters, setFilters] = useState<OrgFilters>(() => filtersFromParams(route.params));
  const [sorting, setSorting] = useState<SortingState>([{ id: 'name', desc: false }]);
  const grid = useRef<GridHandle>(null);
  const [focusDetail, setFocusDetail] = useState(false);
  const [ticked, setTicked] = useState<ReadonlySet<string>>(() => new Set());

  // Links from elsewhere (the Overview's counts, back/forward) set the filters through the URL.
  const lastParams = useRef(paramsKey);
  useEffect(() => {
    if (paramsKey === lastParams.current) return;
    lastParams.current = paramsKey;
    setFilters(filtersFromParams(new URLSearchParams(paramsKey)));
  }, [paramsKey]);

  const columns = useMemo<ColumnDef<OrgRow>[]>(
    () => [
      // accessorFn makes a column sortable in TanStack's model; the values themselves are never read.
      { id: 'name', header: 'Organisation', accessorFn: (r) => r.name, sortDescFirst: false },
      // Ascending is "needs attention first", which is what a first click on an app should show.
      ...index.apps.map<ColumnDef<OrgRow>>((app) => ({ id: app.id, header: app.name, accessorFn: () => null, sortDescFirst: false })),
    ],
    [index.apps],
  );

  // TanStack Table owns the columns, headers and sort state; sorting and filtering happen on rows indexed
  // once per snapshot (manualSorting), because building 2,000 row models per keystroke is what made typing
  // lag. Filtering keeps the sorted order, so a keystroke costs one pass over the list.
  const table = useReactTable({
    data: NO_DATA,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    manualSorting: true,
    enableSortingRemoval: false,
  });
  const sort = sorting[0];
  const ordered = useMemo(
    () => sortedRows(index, sort && sort.id !== 'name' ? sort.id : null, !!sort?.desc),
    [index, sort],
  );

  // Filtered synchronously: with rows indexed and sorted once per snapshot a keystroke costs a few
  // milliseconds for 2,000 organisations, and useDeferredValue measured slower here (its time-sliced
  // second render lands a frame or two later).
  const rows = useMemo(() => filterRows(index, ordered, filters), [index, ordered, filters]);

  const query = (f: OrgFilters) => filtersToParams(f);
  const updateFilters = (next: OrgFilters) => {
    const onlyTyping =
      next.health === filters.health && next.appId === filters.appId && next.staffId === filters.staffId && next.cause === filters.cause;
    setFilters(next);
    // Keystrokes in the search box stay local (the URL catches up when a detail opens or closes), so typing
    // re-renders only this view, not the whole window.
    if (onlyTyping) return;
    const target = href('organisations', route.id, query(next));
    lastParams.current = new URLSearchParams(target.split('?')[1] ?? '').toString();
    navigate(target, { replace: true });
  };

  const open = (orgId: string) => {
    setFocusDetail(true);
    navigate(href('organisations', orgId, query(filters)));
  };
  const close = useCallback(() => {
    navigate(href('organisations', null, filtersToParams(filters)));
    // The grid is still mounted; give focus back to the cell the advisor came from.
    requestAnimationFrame(() => grid.current?.focus());
  }, [filters]);

  // Escape closes the detail wherever focus is (the filters, the grid, the panel), except where Escape already
  // means something: clearing a search box with text in it, or a control that handled it itself.
  const openId = route.id;
  useEffect(() => {
    if (!openId) return;
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented) return;
      const t = e.target as HTMLElement | null;
      if (t instanceof HTMLInputElement && t.type === 'search' && t.value !== '') return;
      e.preventDefault();
      close();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [openId, close]);

  const onSelect = useCallback((orgIds: string[], on: boolean) => {
    setTicked((prev) => {
      const next = new Set(prev);
      for (const id of orgIds) {
        if (on) next.add(id);
        else next.delete(id);
      }
      return next;
    });
  }, []);
  // A ticked organisation that is no longer connected to anything leaves the selection.
  const selected = useMemo(() => {
    const live = [...ticked].filter((id) => index.rowsById.has(id));
    return live.length === ticked.size ? ticked : new Set(live);
  }, [ticked, index]);
  const hiddenTicked = useMemo(() => {
    if (selected.size === 0) return 0;
    const shownIds = new Set(rows.map((r) => r.id));
    return [...selected].filter((id) => !shownIds.has(id)).length;
  }, [selected, rows]);

  const total = index.rows.length;
  const shown = rows.length;
  const attentionOrgs = useMemo(() => index.rows.filter((r) => r.broken > 0).length, [index]);
  const onlyAttention = filters.health === 'attention';

  return (
    <div className={route.id ? 'orgs-layout with-detail' : 'orgs-layout'}>
      <div className="orgs-main">
        <div className="orgs-head">
          <ViewHeading>Organisations</ViewHeading>
          <p className="result-count" role="status" aria-live="polite">
            {hasFilters(filters)
              ? `Showing ${shown.toLocaleString()} of ${plural(total, 'organisation')}`
              : plural(total, 'organisation')}
          </p>
        </div>
        <OrganisationFilters
          index={index}
          filters={filters}
          onChange={updateFilters}
          attention={{
            pressed: onlyAttention,
            count: attentionOrgs,
            toggle: () => updateFilters({ ...filters, health: onlyAttention ? '' : 'attention' }),
          }}
        />
        {selected.size > 0 && <BulkActions index={index} selected={selected} hidden={hiddenTicked} onClear={() => setTicked(new Set())} />}
        {total === 0 ? (
          <p className="empty">No organisations are connected yet. Connect one from the Apps view.</p>
        ) : (
          <>
            <OrganisationsGrid
              table={table}
              rows={rows}
              apps={index.apps}
              grants={index.grantsById}
              openId={route.id}
              onOpen={open}
              selected={selected}
              onSelect={onSelect}
              handle={grid}
            />
            {shown === 0 && <p className="empty">No organisations match these filters.</p>}
          </>
        )}
      </div>
      {route.id && (
        <OrganisationDetail orgId={route.id} index={index} now={snapshot.generatedAt} focusOnOpen={focusDetail} onClose={close} />
      )}
    </div>
  );
}
