import type { ReactNode } from 'react';

/** The visually hidden heading of a column of buttons: screen readers still hear what the column holds. */
export const ACTIONS = { hidden: 'Actions' } as const;

type Column = string | typeof ACTIONS;

/**
 * The window's tables: a header row of column headings (scope="col", so every cell is announced with its
 * heading) above the caller's body. `before` holds what must precede the header inside the table, such as a
 * colgroup.
 */
export function DataTable({
  className,
  label,
  columns,
  before,
  children,
}: {
  className?: string;
  label?: string;
  columns: Column[];
  before?: ReactNode;
  children: ReactNode;
}) {
  return (
    <table className={className ? `data-table ${className}` : 'data-table'} {...(label ? { 'aria-label': label } : {})}>
      {before}
      <thead>
        <tr>
          {columns.map((c) =>
            typeof c === 'string' ? (
              <th key={c} scope="col">
                {c}
              </th>
            ) : (
              <th key={c.hidden} scope="col">
                <span className="visually-hidden">{c.hidden}</span>
              </th>
            ),
          )}
        </tr>
      </thead>
      {children}
    </table>
  );
}
