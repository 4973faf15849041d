import { getCoreRowModel, useReactTable, type ColumnDef, type SortingState } from '@tanstack/react-table';
import { useEffect, useMemo, useRef, useState } from 'react';
import { indexSnapshot, sortedRows, type OrgRow } from '../../state/derive.js';
import { href, navigate, type Route } from '../../state/router.js';
import { useSnapshot } from '../../state/store.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { OrganisationDetail } from './OrganisationDetail.js';
import { OrganisationFilters } from './OrganisationFilters.js';
import { OrganisationsGrid, type GridHandle } from './OrganisationsGrid.js';
import { filterRows, filtersFromParams, filtersToParams, hasFilters, type OrgFilters } from './filterRows.js';

/** The table model holds columns and sort state only; rows come pre-sorted per snapshot (see sortedRows). */
const NO_DATA: OrgRow[] = [];

/**
 * Every client organisation and every app, with search and filters; the organisation detail opens beside
 * the grid (`#/organisations/<id>`), so the list and the filters stay where they were.
 */
export function OrganisationsView({ route }: { route: Route }) {
  const snapshot = useSnapshot();
  const index = useMemo(() => indexSnapshot(snapshot), [snapshot]);
  const paramsKey = route.params.toString();
  const [filters, setFilters] = useState<OrgFilters>(() => filtersFromParams(route.params));
  const [sorting, setSorting] = useState<SortingState>([{ id: 'name', desc: false }]);
  const grid = useRef<GridHandle>(null);
  const [focusDetail, setFocusDetail] = useState(false);

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
  const close = () => {
    navigate(href('organisations', null, query(filters)));
    // The grid is still mounted; give focus back to the cell the advisor came from.
    requestAnimationFrame(() => grid.current?.focus());
  };

  const total = index.rows.length;
  const shown = rows.length;

  return (
    <div className={route.id ? 'orgs-layout with-detail' : 'orgs-layout'}>
      <div className="orgs-main">
        <ViewHeading>Organisations</ViewHeading>
        <OrganisationFilters index={index} filters={filters} onChange={updateFilters} />
        <p className="result-count" role="status" aria-live="polite">
          {hasFilters(filters)
            ? `Showing ${shown.toLocaleString()} of ${total.toLocaleString()} organisations`
            : `${total.toLocaleString()} organisations`}
        </p>
        {total === 0 ? (
          <p className="empty">No organisations are connected yet. Connect one from the Apps view.</p>
        ) : (
          <>
            <OrganisationsGrid table={table} rows={rows} apps={index.apps} selectedId={route.id} onOpen={open} handle={grid} />
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
