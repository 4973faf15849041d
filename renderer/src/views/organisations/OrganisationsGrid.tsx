import { defaultRangeExtractor, useVirtualizer, type Range } from '@tanstack/react-virtual';
import { flexRender, type Table } from '@tanstack/react-table';
import { memo, useCallback, useImperativeHandle, useLayoutEffect, useRef, useState, type KeyboardEvent, type Ref } from 'react';
import type { Operation } from '../../../../shared/api.js';
import type { AppView, ConnectionView, OrgRow } from '../../state/derive.js';
import { activeFor } from '../../state/operations.js';
import { useRelink } from '../../state/store.js';
import { Icon } from '../../ui/Icon.js';
import { Busy, HealthBadge } from '../../ui/Status.js';
import { CAUSE_WORDS, CONFIDENCE_WORDS, HEALTH_WORDS } from '../../ui/words.js';

/**
 * The organisations × apps grid: an ARIA grid with one row per organisation (named by it, its name in the row
 * header) and one cell per app. Only the rows in view are in the DOM (TanStack Virtual); aria-rowcount and
 * aria-rowindex tell assistive technology where they sit in the whole list. One cell is in the tab order;
 * arrow keys, Home/End, PageUp/PageDown move between cells and Enter opens the organisation.
 */

const ROW_HEIGHT = 52;
const OVERSCAN = 8;

export interface GridHandle {
  /** Put focus back on the active cell (after the detail panel closes). */
  focus(): void;
}

interface Props {
  /** Columns, headers and sort state. */
  table: Table<OrgRow>;
  /** The organisations to show, filtered and in order. */
  rows: OrgRow[];
  apps: AppView[];
  selectedId: string | null;
  onOpen: (orgId: string) => void;
  handle: Ref<GridHandle>;
}

export function OrganisationsGrid({ table, rows, apps, selectedId, onOpen, handle }: Props) {
  const colCount = apps.length + 1;
  const scrollRef = useRef<HTMLDivElement>(null);
  const gridRef = useRef<HTMLDivElement>(null);
  const [active, setActive] = useState({ row: 0, col: 0 });
  const focusAfterRender = useRef(false);
  const operations = useRelink((s) => s.operations);

  // Keep the active cell inside the list when filtering shrinks it.
  const activeRow = rows.length === 0 ? -1 : Math.min(active.row, rows.length - 1);
  const activeCol = Math.min(active.col, colCount - 1);

  // The active row always stays mounted, even when scrolled out of view, so the grid keeps its tab stop.
  const rangeExtractor = useCallback(
    (range: Range) => {
      const indexes = defaultRangeExtractor(range);
      if (activeRow >= 0 && !indexes.includes(activeRow)) {
        indexes.push(activeRow);
        indexes.sort((a, b) => a - b);
      }
      return indexes;
    },
    [activeRow],
  );

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: OVERSCAN,
    rangeExtractor,
  });

  // A stable click handler so memoised rows do not re-render for a new closure on every grid render.
  const onOpenRef = useRef(onOpen);
  useLayoutEffect(() => {
    onOpenRef.current = onOpen;
  });
  const onCellClick = useCallback((row: number, col: number, orgId: string) => {
    setActive({ row, col });
    onOpenRef.current(orgId);
  }, []);

  const focusActive = useCallback(() => {
    gridRef.current?.querySelector<HTMLElement>('[data-active="true"]')?.focus({ preventScroll: true });
  }, []);

  useImperativeHandle(handle, () => ({ focus: focusActive }), [focusActive]);

  useLayoutEffect(() => {
    if (!focusAfterRender.current) return;
    focusAfterRender.current = false;
    focusActive();
  });

  const moveTo = (row: number, col: number) => {
    const r = Math.max(0, Math.min(rows.length - 1, row));
    const c = Math.max(0, Math.min(colCount - 1, col));
    setActive({ row: r, col: c });
    virtualizer.scrollToIndex(r, { align: 'auto' });
    focusAfterRender.current = true;
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const target = e.target as HTMLElement;
    // Keys in the header's sort buttons keep their usual meaning.
    if (!target.dataset.cell || activeRow < 0) return;
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? ROW_HEIGHT * 10) / ROW_HEIGHT) - 1);
    const handled: Record<string, () => void> = {
      ArrowDown: () => moveTo(activeRow + 1, activeCol),
      ArrowUp: () => moveTo(activeRow - 1, activeCol),
      ArrowRight: () => moveTo(activeRow, activeCol + 1),
      ArrowLeft: () => moveTo(activeRow, activeCol - 1),
      PageDown: () => moveTo(activeRow + page, activeCol),
      PageUp: () => moveTo(activeRow - page, activeCol),
      Home: () => (e.ctrlKey || e.metaKey ? moveTo(0, activeCol) : moveTo(activeRow, 0)),
      End: () => (e.ctrlKey || e.metaKey ? moveTo(rows.length - 1, activeCol) : moveTo(activeRow, colCount - 1)),
      Enter: () => {
        const row = rows[activeRow];
        if (row) onOpen(row.id);
      },
      ' ': () => {
        const row = rows[activeRow];
        if (row) onOpen(row.id);
      },
    };
    const action = handled[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  };

  const headerGroup = table.getHeaderGroups()[0];
  const gridStyle = {
    ['--grid-min' as string]: `${11 + apps.length * 9}rem`,
    ['--grid-cols' as string]: `minmax(11rem, 1.6fr) repeat(${apps.length}, minmax(9rem, 1fr))`,
  };

  return (
    <div
      ref={gridRef}
      role="grid"
      aria-label="Organisations"
      aria-rowcount={rows.length + 1}
      aria-colcount={colCount}
      className="org-grid"
      style={gridStyle}
      onKeyDown={onKeyDown}
    >
      <div role="rowgroup" className="org-grid-head">
        <div role="row" aria-rowindex={1} className="org-grid-row">
          {headerGroup?.headers.map((header, i) => {
            const sorted = header.column.getIsSorted();
            return (
              <div
                key={header.id}
                role="columnheader"
                aria-colindex={i + 1}
                aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none'}
                className={i === 0 ? 'org-grid-colhead first' : 'org-grid-colhead'}
              >
                <button
                  type="button"
                  className="sort-button"
                  onClick={header.column.getToggleSortingHandler()}
                  title={i === 0 ? 'Sort by name' : 'Sort by health: needs attention first'}
                >
                  {flexRender(header.column.columnDef.header, header.getContext())}
                  <Icon name={sorted === 'asc' ? 'sort-up' : sorted === 'desc' ? 'sort-down' : 'sort'} className="sort-icon" />
                </button>
              </div>
            );
          })}
        </div>
      </div>
      <div ref={scrollRef} className="org-grid-scroll">
        <div role="rowgroup" className="org-grid-body" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            return (
              // Keyed by position, not organisation: a keystroke in the search box then updates the rows
              // already on screen instead of tearing down and rebuilding their DOM.
              <GridRow
                key={item.index}
                org={row}
                rowIndex={item.index}
                start={item.start}
                apps={apps}
                activeCol={item.index === activeRow ? activeCol : -1}
                selected={row.id === selectedId}
                operations={operations}
                onCellClick={onCellClick}
              />
            );
          })}
        </div>
      </div>
    </div>
  );
}

interface RowProps {
  org: OrgRow;
  rowIndex: number;
  start: number;
  apps: AppView[];
  /** The active column when this row holds the grid's tab stop, else -1. */
  activeCol: number;
  selected: boolean;
  operations: readonly Operation[];
  onCellClick: (row: number, col: number, orgId: string) => void;
}

// Rows re-render only when their own data, position or focus changes; scrolling renders just the new ones.
const GridRow = memo(function GridRow({ org, rowIndex, start, apps, activeCol, selected, operations, onCellClick }: RowProps) {
  return (
    <div
      role="row"
      aria-rowindex={rowIndex + 2}
      aria-label={org.name}
      className={selected ? 'org-grid-row selected' : 'org-grid-row'}
      style={{ transform: `translateY(${start}px)`, height: ROW_HEIGHT }}
    >
      <div
        role="rowheader"
        aria-colindex={1}
        tabIndex={activeCol === 0 ? 0 : -1}
        data-cell="0"
        data-active={activeCol === 0}
        className="org-grid-cell org-name"
        title={org.name}
        onClick={() => onCellClick(rowIndex, 0, org.id)}
      >
        <span className="org-name-text">{org.name}</span>
        {org.broken > 0 && <span className="org-broken">{org.broken === 1 ? '1 needs attention' : `${org.broken} need attention`}</span>}
      </div>
      {apps.map((app, i) => (
        <Cell
          key={app.id}
          app={app}
          org={org}
          connection={org.cells[i] ?? null}
          count={org.cellCounts[i] ?? 0}
          col={i + 1}
          active={activeCol === i + 1}
          operations={operations}
          onClick={() => onCellClick(rowIndex, i + 1, org.id)}
        />
      ))}
    </div>
  );
});

function Cell({
  app,
  org,
  connection,
  count,
  col,
  active,
  operations,
  onClick,
}: {
  app: AppView;
  org: OrgRow;
  connection: ConnectionView | null;
  /** Connections this cell stands for (two people may each have connected the app). */
  count: number;
  col: number;
  active: boolean;
  operations: readonly Operation[];
  onClick: () => void;
}) {
  const running = connection ? activeFor(operations, app.id, org.id, connection.staffId) : null;
  const common = {
    role: 'gridcell',
    'aria-colindex': col + 1,
    tabIndex: active ? 0 : -1,
    'data-cell': String(col),
    'data-active': active,
    onClick,
  } as const;

  if (!connection) {
    return (
      <div {...common} className="org-grid-cell not-connected" title={`${app.name} is not connected to ${org.name}`}>
        <span aria-hidden="true">—</span>
        <span className="visually-hidden">Not connected</span>
      </div>
    );
  }
  const words = HEALTH_WORDS[connection.health];
  const why = connection.cause ? CAUSE_WORDS[connection.cause] : null;
  const tooltip = [
    `${app.name}: ${words.label}.`,
    why ? `Why: ${why}${connection.confidence ? ` (${CONFIDENCE_WORDS[connection.confidence]})` : ''}.` : words.meaning,
    connection.fix ?? '',
    count > 1 ? `${count} people's sign-ins reach this organisation; this is the one that most needs attention.` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <div {...common} className={`org-grid-cell tone-cell-${words.tone}`} title={tooltip}>
      {running ? (
        <Busy text={running.state === 'verifying' ? 'Checking…' : 'Reconnecting…'} />
      ) : (
        <>
          <HealthBadge health={connection.health} short />
          {why && connection.health !== 'healthy' ? (
            <span className="cell-why">
              {why}
              {count > 1 && ` · ${count} sign-ins`}
            </span>
          ) : (
            count > 1 && <span className="cell-why">{count} sign-ins</span>
          )}
        </>
      )}
    </div>
  );
}
