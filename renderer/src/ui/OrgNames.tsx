/** How many organisation names are shown before the rest fold away behind "and N more". */
const SHOWN = 6;

/** A labelled list of organisation names: all of them when few, otherwise the first few and a fold for the rest. */
export function OrgNames({ label, names, className }: { label: string; names: string[]; className: string }) {
  if (names.length <= SHOWN) {
    return (
      <p className={className}>
        <span className="report-label">{label}: </span>
        {names.join(', ')}
      </p>
    );
  }
  return (
    <details className={className}>
      <summary>
        <span className="report-label">{label}: </span>
        {names.slice(0, SHOWN).join(', ')} and {names.length - SHOWN} more
      </summary>
      <ul className="plain-list columns">
        {names.map((n) => (
          <li key={n}>{n}</li>
        ))}
      </ul>
    </details>
  );
}
