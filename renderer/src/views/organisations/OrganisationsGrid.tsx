import { defaultRangeExtractor, useVirtualizer, type Range } from '@tanstack/react-virtual';
import { flexRender, type Table } from '@tanstack/react-table';
import { memo, useCallback, useImperativeHandle, useLayoutEffect, useRef, useState, type KeyboardEvent, type Ref } from 'react';
import type { Operation } from '../../../../shared/api.js';
import type { AppView, ConnectionView, GrantView, OrgRow } from '../../state/derive.js';
import { activeFor } from '../../state/operations.js';
import { useRelink } from '../../state/store.js';
import { Icon } from '../../ui/Icon.js';
import { Busy, HealthBadge } from '../../ui/Status.js';
import { CAUSE_WORDS, CONFIDENCE_WORDS, daysLeftWords, HEALTH_WORDS, needAttention, plural } from '../../ui/words.js';

/**
 * The organisations × apps grid: an ARIA grid with one row per organisation (named by it, its name in the row
 * header) and one cell per app. Only the rows in view are in the DOM (TanStack Virtual); aria-rowcount and
 * aria-rowindex tell assistive technology where they sit in the whole list. One cell is in the tab order;
 * arrow keys, Home/End, PageUp/PageDown move between cells, Enter opens the organisation and Space selects its
 * row (aria-selected; the grid is aria-multiselectable) for the bulk actions above the grid. A click on a row's
 * tick box does the same; Shift+click selects every row in between.
 */

/** One line per organisation: at 1366×768 about 14 organisations fit (two-line rows fitted nine). */
export const ROW_HEIGHT = 36;
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
  grants: ReadonlyMap<string, GrantView>;
  /** The organisation open in the detail panel. */
  openId: string | null;
  onOpen: (orgId: string) => void;
  /** Organisations ticked for a bulk action. */
  selected: ReadonlySet<string>;
  /** Ticks or unticks `orgIds` (one row, a Shift+click range, or every row shown). */
  onSelect: (orgIds: string[], on: boolean) => void;
  handle: Ref<GridHandle>;
}

export function OrganisationsGrid({ table, rows, apps, grants, openId, onOpen, selected, onSelect, handle }: Props) {
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

  // Selection: the tick box toggles its row; Shift+click ticks (or unticks) every row from the last one clicked.
  const rowsRef = useRef(rows);
  const selectedRef = useRef(selected);
  const onSelectRef = useRef(onSelect);
  const anchor = useRef<number | null>(null);
  useLayoutEffect(() => {
    rowsRef.current = rows;
    selectedRef.current = selected;
    onSelectRef.current = onSelect;
  });
  const onTick = useCallback((rowIndex: number, shift: boolean) => {
    const all = rowsRef.current;
    const row = all[rowIndex];
    if (!row) return;
    const on = !selectedRef.current.has(row.id);
    const from = shift && anchor.current !== null ? Math.min(anchor.current, rowIndex) : rowIndex;
    const to = shift && anchor.current !== null ? Math.max(anchor.current, rowIndex) : rowIndex;
    anchor.current = rowIndex;
    onSelectRef.current(all.slice(from, to + 1).map((r) => r.id), on);
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
      ' ': () => onTick(activeRow, e.shiftKey),
    };
    const action = handled[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  };

  const headerGroup = table.getHeaderGroups()[0];
  const gridStyle = {
    ['--grid-min' as string]: `${14 + apps.length * 9}rem`,
    ['--grid-cols' as string]: `minmax(14rem, 1.6fr) repeat(${apps.length}, minmax(9rem, 1fr))`,
  };
  const allShownSelected = rows.length > 0 && rows.every((r) => selected.has(r.id));
  const someShownSelected = !allShownSelected && rows.some((r) => selected.has(r.id));

  return (
    <div
      ref={gridRef}
      role="grid"
      aria-label="Organisations"
      aria-rowcount={rows.length + 1}
      aria-colcount={colCount}
      aria-multiselectable="true"
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
                {i === 0 && (
                  <SelectAll
                    checked={allShownSelected}
                    mixed={someShownSelected}
                    count={rows.length}
                    onChange={(on) => onSelect(rows.map((r) => r.id), on)}
                  />
                )}
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
                open={row.id === openId}
                selected={selected.has(row.id)}
                grants={grants}
                operations={operations}
                onCellClick={onCellClick}
                onTick={onTick}
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
  /** Open in the detail panel. */
  open: boolean;
  /** Ticked for a bulk action. */
  selected: boolean;
  grants: ReadonlyMap<string, GrantView>;
  operations: readonly Operation[];
  onCellClick: (row: number, col: number, orgId: string) => void;
  onTick: (row: number, shift: boolean) => void;
}

// Rows re-render only when their own data, position or focus changes; scrolling renders just the new ones.
const GridRow = memo(function GridRow({ org, rowIndex, start, apps, activeCol, open, selected, grants, operations, onCellClick, onTick }: RowProps) {
  return (
    <div
      role="row"
      aria-rowindex={rowIndex + 2}
      aria-label={org.name}
      aria-selected={selected}
      className={`org-grid-row${open ? ' open' : ''}${selected ? ' ticked' : ''}`}
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
        {/* The row's selection is its aria-selected (Space toggles it); the box is the pointer's way in. */}
        <span
          className={selected ? 'row-tick on' : 'row-tick'}
          aria-hidden="true"
          title={selected ? `Untick ${org.name}` : `Tick ${org.name} for a bulk action`}
          onClick={(e) => {
            e.stopPropagation();
            onTick(rowIndex, e.shiftKey);
          }}
        >
          {selected && <Icon name="tick" />}
        </span>
        <span className="org-name-text">{org.name}</span>
        {org.broken > 0 && (
          <span className="org-broken" title={needAttention(org.broken)}>
            {org.broken.toLocaleString()}
            <span className="org-broken-words">{needAttention(org.broken).slice(org.broken.toLocaleString().length)}</span>
          </span>
        )}
      </div>
      {apps.map((app, i) => (
        <Cell
          key={app.id}
          app={app}
          org={org}
          connection={org.cells[i] ?? null}
          count={org.cellCounts[i] ?? 0}
          grant={grantOf(grants, org.cells[i] ?? null)}
          col={i + 1}
          active={activeCol === i + 1}
          operations={operations}
          onClick={() => onCellClick(rowIndex, i + 1, org.id)}
        />
      ))}
    </div>
  );
});

function grantOf(grants: ReadonlyMap<string, GrantView>, c: ConnectionView | null): GrantView | undefined {
  return c ? grants.get(c.grantId) : undefined;
}

/** The header's tick box: every organisation shown (after filters), or none. */
function SelectAll({ checked, mixed, count, onChange }: { checked: boolean; mixed: boolean; count: number; onChange: (on: boolean) => void }) {
  const ref = useRef<HTMLInputElement>(null);
  useLayoutEffect(() => {
    if (ref.current) ref.current.indeterminate = mixed;
  }, [mixed]);
  return (
    <input
      ref={ref}
      type="checkbox"
      className="select-all"
      checked={checked}
      disabled={count === 0}
      aria-label={checked ? `Untick all ${plural(count, 'organisation')} shown` : `Tick all ${plural(count, 'organisation')} shown`}
      onChange={(e) => onChange(e.target.checked)}
    />
  );
}

function Cell({
  app,
  org,
  connection,
  count,
  grant,
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
  /** The sign-in behind the connection shown (for the days an expiring one has left). */
  grant: GrantView | undefined;
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
  // An expiring connection says how long it has: that is what the advisor must plan around.
  const left = connection.health === 'expiring' && grant ? daysLeftWords(grant.daysLeft) : null;
  const extra = [left ?? (why && connection.health !== 'healthy' ? why : null), count > 1 ? plural(count, 'sign-in') : null].filter(Boolean).join(' · ');
  const tooltip = [
    `${app.name}: ${words.label}${left ? `, ${left}` : ''}.`,
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
          {/* The "·" before it is the stylesheet's (.cell-why::before), so the cell reads "Needs reconnect · why". */}
          {extra && <span className="cell-why">{extra}</span>}
        </>
      )}
    </div>
  );
}
